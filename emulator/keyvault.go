package emulator

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
)

var secretName = regexp.MustCompile(`^[0-9A-Za-z-]{1,127}$`)

func writeVaultError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg}})
}

// vaultChallenge is the 401 that starts azsecrets' challenge flow; it names this emulator's tenant.
func (e *Emulator) vaultChallenge(w http.ResponseWriter, msg string) {
	w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer authorization="%s%s", resource="%s"`,
		e.AuthorityHost(), e.fix.TenantID, audienceVault))
	writeVaultError(w, http.StatusUnauthorized, "Unauthorized", msg)
}

// putSecretLocked adds a new version of a secret and returns it.
func (e *Emulator) putSecretLocked(name, value string) *secretVersion {
	v := &secretVersion{Version: strings.ReplaceAll(e.newID(), "-", ""), Value: value, Created: e.now().UTC(), Enabled: true}
	e.st.Secrets[name] = append(e.st.Secrets[name], v)
	return v
}

// SetSecret stores a new version of a Key Vault secret (as PUT /_emulator/secrets/{name} does).
func (e *Emulator) SetSecret(name, value string) error {
	if !secretName.MatchString(name) {
		return fmt.Errorf("emulator: secret name %q must be 1-127 letters, digits and dashes", name)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.putSecretLocked(name, value)
	e.dirty = true
	return e.saveLocked()
}

func (e *Emulator) getSecret(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") == "" {
		e.vaultChallenge(w, "AKV10000: Request is missing a Bearer or PoP token.")
		return
	}
	_, who, aerr := e.authenticate(r, audienceVault)
	if aerr != nil {
		e.vaultChallenge(w, "AKV10022: Invalid audience, issuer or expired token: "+aerr.Message)
		return
	}
	recordOf(r).Principal = who.label()
	if r.URL.Query().Get("api-version") == "" {
		writeVaultError(w, http.StatusBadRequest, "BadParameter", "The request URI contains an invalid or missing api-version.")
		return
	}
	if !who.SecretsRead {
		writeJSON(w, http.StatusForbidden, map[string]any{"error": map[string]any{
			"code": "Forbidden",
			"message": fmt.Sprintf("Caller is not authorized to perform action on resource. Caller: appid=%s;oid=%s "+
				"Action: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'", who.AppID, who.ID),
			"innererror": map[string]any{"code": "ForbiddenByRbac"},
		}})
		return
	}
	name := r.PathValue("name")
	version := strings.Trim(r.PathValue("version"), "/")
	e.mu.Lock()
	vs := e.st.Secrets[name]
	var found *secretVersion
	if version == "" {
		if len(vs) > 0 {
			found = vs[len(vs)-1]
		}
	} else {
		for _, v := range vs {
			if v.Version == version {
				found = v
			}
		}
	}
	var sv secretVersion
	if found != nil {
		sv = *found
	}
	e.mu.Unlock()
	if found == nil {
		id := name
		if version != "" {
			id += "/" + version
		}
		writeVaultError(w, http.StatusNotFound, "SecretNotFound",
			fmt.Sprintf("A secret with (name/id) %s was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182", truncate(id, 200)))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"value": sv.Value,
		"id":    e.base + "/secrets/" + name + "/" + sv.Version,
		"attributes": map[string]any{
			"enabled": sv.Enabled, "created": sv.Created.Unix(), "updated": sv.Created.Unix(),
			"recoveryLevel": "Recoverable+Purgeable", "recoverableDays": 90,
		},
		"tags": map[string]string{},
	})
}

func (e *Emulator) ctlPutSecret(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Value *string `json:"value"`
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err == nil {
		err = strictJSON(b, &body)
	}
	if err != nil || body.Value == nil {
		ctlError(w, r, 400, "want a JSON body {\"value\": \"...\"}")
		return
	}
	if err := e.SetSecret(r.PathValue("name"), *body.Value); err != nil {
		ctlError(w, r, 400, "%v", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
