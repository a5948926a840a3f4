package emulator

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// managedIdentityPath is the App Service style managed identity endpoint; azidentity's
// ManagedIdentityCredential uses it when IDENTITY_ENDPOINT and IDENTITY_HEADER are set.
const managedIdentityPath = "/msi/token"

// ManagedIdentityEnv is the environment (KEY=value) under which azidentity's ManagedIdentityCredential gets
// its tokens from the emulator.
func (e *Emulator) ManagedIdentityEnv() []string {
	return []string{"IDENTITY_ENDPOINT=" + e.base + managedIdentityPath, "IDENTITY_HEADER=" + e.identityHeader}
}

// managedIdentityToken answers GET /msi/token?api-version=2019-08-01&resource=...[&client_id|object_id=...]
// for principals marked managedIdentity in the fixtures.
func (e *Emulator) managedIdentityToken(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if subtle.ConstantTimeCompare([]byte(r.Header.Get("X-IDENTITY-HEADER")), []byte(e.identityHeader)) != 1 {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"statusCode": 401, "message": "The X-IDENTITY-HEADER header is missing or wrong."})
		return
	}
	if q.Get("api-version") == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"statusCode": 400, "message": "The api-version parameter is required."})
		return
	}
	resource, ok := resourceOf(strings.TrimSuffix(q.Get("resource"), "/") + "/.default")
	if !ok {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_resource",
			"error_description": fmt.Sprintf("AADSTS500011: The resource principal named %s was not found in the tenant.", truncate(q.Get("resource"), 128))})
		return
	}
	var mi *Principal
	for i := range e.fix.Principals {
		p := &e.fix.Principals[i]
		if !p.ManagedIdentity {
			continue
		}
		id, oid := q.Get("client_id"), q.Get("object_id")
		if (id == "" && oid == "") || strings.EqualFold(id, p.AppID) || strings.EqualFold(oid, p.ID) {
			mi = p
			break
		}
	}
	if mi == nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"statusCode": 400, "message": "No managed identity matches the request."})
		return
	}
	recordOf(r).Principal = mi.label()
	tok, err := e.mint(mi, resource, mi.AppID)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]any{"statusCode": 500, "message": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": tok,
		"expires_on":   strconv.FormatInt(e.now().Add(e.opts.TokenLifetime).Unix(), 10),
		"resource":     q.Get("resource"),
		"token_type":   "Bearer",
		"client_id":    mi.AppID,
	})
}
