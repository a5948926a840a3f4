package emulator

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// Audiences (resource URIs) the emulator issues tokens for. Fabric also accepts the Power BI resource, as the
// real service does.
const (
	audienceFabric  = "https://api.fabric.microsoft.com"
	audiencePowerBI = "https://analysis.windows.net/powerbi/api"
	audienceGraph   = "https://graph.microsoft.com"
	audienceVault   = "https://vault.azure.net"
)

// tokenClaims are the claims of an access token, named as Entra names them.
type tokenClaims struct {
	jwt.RegisteredClaims
	OID   string `json:"oid"`
	AppID string `json:"appid,omitempty"`
	TID   string `json:"tid"`
	IDTyp string `json:"idtyp"`
	UPN   string `json:"upn,omitempty"`
	Scp   string `json:"scp,omitempty"`
}

// DeviceCode is a pending device-code sign-in.
type DeviceCode struct {
	DeviceCode string    `json:"-"`
	UserCode   string    `json:"userCode"`
	ClientID   string    `json:"clientId"`
	Scope      string    `json:"scope"`
	Expires    time.Time `json:"expires"`
	Approved   bool      `json:"approved"`
	Declined   bool      `json:"declined"`
	UserID     string    `json:"-"`
	Polls      int       `json:"polls"`
}

// refreshToken is what an issued (opaque) refresh token stands for.
type refreshToken struct {
	ClientID, UserID, Scope string
	Expires                 time.Time
}

// tokenCache remembers verified tokens so that a busy client does not pay an ECDSA verification per request.
type tokenCache struct {
	mu sync.Mutex
	m  map[string]*tokenClaims
}

func newTokenCache() *tokenCache { return &tokenCache{m: map[string]*tokenClaims{}} }

func (t *tokenCache) get(tok string) *tokenClaims {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.m[tok]
}

func (t *tokenCache) put(tok string, c *tokenClaims) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.m) >= 10000 {
		clear(t.m)
	}
	t.m[tok] = c
}

func (e *Emulator) issuer() string { return e.base + "/" + e.fix.TenantID + "/v2.0" }

func (e *Emulator) openIDConfiguration(w http.ResponseWriter, r *http.Request) {
	tenant := r.PathValue("tenant")
	if !e.knownTenant(tenant) {
		e.writeAADError(w, http.StatusBadRequest, "invalid_tenant", "AADSTS90002",
			fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", truncate(tenant, 64)))
		return
	}
	base := e.base + "/" + tenant
	writeJSON(w, http.StatusOK, map[string]any{
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"device_authorization_endpoint":         base + "/oauth2/v2.0/devicecode",
		"issuer":                                e.issuer(),
		"jwks_uri":                              base + "/discovery/v2.0/keys",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"ES256"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"tenant_region_scope":                   "EU",
		"cloud_instance_name":                   "emulator",
	})
}

func (e *Emulator) knownTenant(t string) bool {
	return strings.EqualFold(t, e.fix.TenantID) || t == "organizations" || t == "common"
}

// token implements the v2.0 token endpoint for client_credentials (secret or assertion), device_code and
// refresh_token grants.
func (e *Emulator) token(w http.ResponseWriter, r *http.Request) {
	tenant := r.PathValue("tenant")
	if !strings.EqualFold(tenant, e.fix.TenantID) && tenant != "organizations" {
		e.writeAADError(w, http.StatusBadRequest, "invalid_request", "AADSTS90002",
			fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", truncate(tenant, 64)))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		e.writeAADError(w, http.StatusBadRequest, "invalid_request", "AADSTS900144", "The request body must be form-encoded.")
		return
	}
	f := r.PostForm
	grant := f.Get("grant_type")
	if grant == "" {
		e.writeAADError(w, http.StatusBadRequest, "invalid_request", "AADSTS900144",
			"The request body must contain the following parameter: 'grant_type'.")
		return
	}
	resource, ok := resourceOf(f.Get("scope"))
	if !ok && grant != "refresh_token" {
		e.writeAADError(w, http.StatusBadRequest, "invalid_scope", "AADSTS70011",
			fmt.Sprintf("The provided request must include a 'scope' input parameter naming a known resource (got '%s').", truncate(f.Get("scope"), 128)))
		return
	}
	switch grant {
	case "client_credentials":
		e.clientCredentials(w, r, f, resource)
	case "device_code", "urn:ietf:params:oauth:grant-type:device_code":
		e.deviceCodeGrant(w, f, resource)
	case "refresh_token":
		e.refreshGrant(w, f, resource)
	default:
		e.writeAADError(w, http.StatusBadRequest, "unsupported_grant_type", "AADSTS70003",
			fmt.Sprintf("The app requested an unsupported grant type '%s'.", truncate(grant, 64)))
	}
}

// resourceOf maps an OAuth scope list to the resource the token is for.
func resourceOf(scope string) (string, bool) {
	for _, s := range strings.Fields(scope) {
		switch s {
		case "openid", "profile", "offline_access", "email":
			continue
		}
		res := s
		if i := strings.LastIndex(s, "/"); i > len("https://") {
			res = s[:i]
		}
		res = strings.TrimSuffix(res, "/")
		switch strings.ToLower(res) {
		case audienceFabric, audiencePowerBI, audienceGraph, audienceVault:
			return strings.ToLower(res), true
		}
		return "", false
	}
	return "", false
}

func (e *Emulator) clientCredentials(w http.ResponseWriter, r *http.Request, f url.Values, resource string) {
	clientID := f.Get("client_id")
	if clientID == "" {
		e.writeAADError(w, http.StatusBadRequest, "invalid_request", "AADSTS900144",
			"The request body must contain the following parameter: 'client_id'.")
		return
	}
	p := e.fix.principalByAppID(clientID)
	if p != nil {
		recordOf(r).Principal = p.label()
	}
	if p == nil {
		e.writeAADError(w, http.StatusBadRequest, "unauthorized_client", "AADSTS700016",
			fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant.", truncate(clientID, 64), e.fix.TenantID))
		return
	}
	switch {
	case f.Get("client_secret") != "":
		if p.ClientSecret == "" || f.Get("client_secret") != p.ClientSecret {
			e.writeAADError(w, http.StatusUnauthorized, "invalid_client", "AADSTS7000215",
				fmt.Sprintf("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", p.AppID))
			return
		}
	case f.Get("client_assertion") != "":
		if msg := e.checkAssertion(p, f); msg != "" {
			e.writeAADError(w, http.StatusUnauthorized, "invalid_client", "AADSTS700213", msg)
			return
		}
	default:
		e.writeAADError(w, http.StatusUnauthorized, "invalid_client", "AADSTS7000218",
			"The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		return
	}
	tok, err := e.mint(p, resource, clientID)
	if err != nil {
		e.writeAADError(w, http.StatusInternalServerError, "server_error", "AADSTS50000", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, e.tokenResponse(tok))
}

// checkAssertion accepts a workload-identity or certificate assertion: a well-formed, unexpired JWT whose
// subject is the principal's federated subject (or its client id). Signatures of external issuers are not
// verified: the emulator has no access to them.
func (e *Emulator) checkAssertion(p *Principal, f url.Values) string {
	if f.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
		return "AADSTS50027: client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer."
	}
	var claims jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(f.Get("client_assertion"), &claims); err != nil {
		return "AADSTS50027: JWT token is invalid or malformed."
	}
	if claims.ExpiresAt != nil && !claims.ExpiresAt.After(e.now()) {
		return "AADSTS700024: Client assertion is not within its valid time range."
	}
	want := p.FederatedSubject
	if want == "" {
		want = p.AppID
	}
	if claims.Subject != want {
		return fmt.Sprintf("No matching federated identity record found for presented assertion subject '%s'.", truncate(claims.Subject, 128))
	}
	return ""
}

// mint signs an access token for principal p and resource.
func (e *Emulator) mint(p *Principal, resource, clientID string) (string, error) {
	now := e.now()
	c := tokenClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    e.issuer(),
			Subject:   p.ID,
			Audience:  jwt.ClaimStrings{resource},
			ExpiresAt: jwt.NewNumericDate(now.Add(e.opts.TokenLifetime)),
			NotBefore: jwt.NewNumericDate(now.Add(-5 * time.Minute)),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        uuid.NewString(),
		},
		OID:   p.ID,
		AppID: clientID,
		TID:   e.fix.TenantID,
		IDTyp: "app",
	}
	if p.Type == PrincipalUser {
		c.IDTyp = "user"
		c.UPN = p.UserPrincipalName
		c.Scp = "user_impersonation"
	}
	return jwt.NewWithClaims(jwt.SigningMethodES256, c).SignedString(e.signKey)
}

// AccessToken mints an access token for the principal with the given object id and resource (for example
// "https://api.fabric.microsoft.com"), as the token endpoint would. Tests use it to act as principals that
// have no secret.
func (e *Emulator) AccessToken(objectID, resource string) (string, error) {
	p := e.fix.principal(objectID)
	if p == nil {
		return "", fmt.Errorf("emulator: no principal with object id %s", objectID)
	}
	return e.mint(p, resource, p.AppID)
}

func (e *Emulator) tokenResponse(tok string) map[string]any {
	secs := int(e.opts.TokenLifetime / time.Second)
	return map[string]any{
		"token_type":     "Bearer",
		"expires_in":     secs,
		"ext_expires_in": secs,
		"access_token":   tok,
	}
}

func (e *Emulator) deviceCodeStart(w http.ResponseWriter, r *http.Request) {
	tenant := r.PathValue("tenant")
	if !e.knownTenant(tenant) {
		e.writeAADError(w, http.StatusBadRequest, "invalid_request", "AADSTS90002",
			fmt.Sprintf("Tenant '%s' not found.", truncate(tenant, 64)))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil || r.PostForm.Get("client_id") == "" {
		e.writeAADError(w, http.StatusBadRequest, "invalid_request", "AADSTS900144",
			"The request body must contain the following parameter: 'client_id'.")
		return
	}
	if _, ok := resourceOf(r.PostForm.Get("scope")); !ok {
		e.writeAADError(w, http.StatusBadRequest, "invalid_scope", "AADSTS70011",
			"The provided request must include a 'scope' input parameter naming a known resource.")
		return
	}
	d := &DeviceCode{
		DeviceCode: randomToken(32),
		UserCode:   userCode(),
		ClientID:   r.PostForm.Get("client_id"),
		Scope:      r.PostForm.Get("scope"),
		Expires:    e.now().Add(15 * time.Minute),
	}
	e.mu.Lock()
	e.devs[d.DeviceCode] = d
	e.mu.Unlock()
	verify := e.base + "/devicelogin"
	writeJSON(w, http.StatusOK, map[string]any{
		"device_code":      d.DeviceCode,
		"user_code":        d.UserCode,
		"verification_uri": verify,
		"expires_in":       900,
		"interval":         1,
		"message": fmt.Sprintf("To sign in, use a web browser to open the page %s and enter the code %s to authenticate.",
			verify, d.UserCode),
	})
}

func (e *Emulator) deviceCodeGrant(w http.ResponseWriter, f url.Values, resource string) {
	e.mu.Lock()
	d := e.devs[f.Get("device_code")]
	var user *Principal
	status, code, msg := 0, "", ""
	switch {
	case d == nil:
		status, code, msg = 400, "bad_verification_code", "AADSTS70019: Verification code is not recognized."
	case !e.now().Before(d.Expires):
		status, code, msg = 400, "expired_token", "AADSTS70020: The provided value for the input parameter 'device_code' is not valid. This device code has expired."
	case d.Declined:
		status, code, msg = 400, "authorization_declined", "AADSTS70000: The user declined the sign-in."
	default:
		d.Polls++
		if !d.Approved && e.opts.DeviceCodeAutoApprove > 0 && d.Polls > e.opts.DeviceCodeAutoApprove {
			e.approveLocked(d, "")
		}
		if !d.Approved {
			status, code, msg = 400, "authorization_pending", "AADSTS70016: OAuth 2.0 device flow error. Authorization is pending. Continue polling."
		} else {
			user = e.fix.principal(d.UserID)
			delete(e.devs, d.DeviceCode)
		}
	}
	e.mu.Unlock()
	if status != 0 {
		e.writeAADError(w, status, code, strings.SplitN(msg, ":", 2)[0], msg)
		return
	}
	if user == nil {
		e.writeAADError(w, 400, "invalid_grant", "AADSTS50034", "AADSTS50034: The user account does not exist in the directory.")
		return
	}
	e.userTokens(w, user, d.ClientID, resource)
}

// approveLocked approves a device code for the user with the UPN (empty = the fixtures' device-code user).
func (e *Emulator) approveLocked(d *DeviceCode, upn string) bool {
	if upn == "" {
		upn = e.fix.DeviceCodeUser
	}
	var u *Principal
	if upn != "" {
		u = e.fix.userByUPN(upn)
	} else {
		for i := range e.fix.Principals {
			if e.fix.Principals[i].Type == PrincipalUser {
				u = &e.fix.Principals[i]
				break
			}
		}
	}
	if u == nil {
		return false
	}
	d.Approved, d.UserID = true, u.ID
	return true
}

// refresh tokens are opaque; the emulator keeps them in memory only (a restart signs everyone out).
func (e *Emulator) refreshGrant(w http.ResponseWriter, f url.Values, resource string) {
	e.mu.Lock()
	d := e.rts[f.Get("refresh_token")]
	e.mu.Unlock()
	if d == nil || !e.now().Before(d.Expires) {
		e.writeAADError(w, 400, "invalid_grant", "AADSTS9002313", "AADSTS9002313: Invalid request. Request is malformed or invalid.")
		return
	}
	if resource == "" {
		resource, _ = resourceOf(d.Scope)
	}
	user := e.fix.principal(d.UserID)
	if user == nil {
		e.writeAADError(w, 400, "invalid_grant", "AADSTS50034", "AADSTS50034: The user account does not exist in the directory.")
		return
	}
	e.userTokens(w, user, d.ClientID, resource)
}

// userTokens answers a successful user sign-in: access token plus the refresh token, id token and client info
// MSAL builds its account from.
func (e *Emulator) userTokens(w http.ResponseWriter, user *Principal, clientID, resource string) {
	tok, err := e.mint(user, resource, clientID)
	if err != nil {
		e.writeAADError(w, 500, "server_error", "AADSTS50000", err.Error())
		return
	}
	rt := randomToken(32)
	e.mu.Lock()
	e.rts[rt] = &refreshToken{ClientID: clientID, UserID: user.ID, Scope: resource + "/.default", Expires: e.now().Add(24 * time.Hour)}
	e.mu.Unlock()
	now := e.now()
	idTok, err := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{
		"iss": e.issuer(), "aud": clientID, "tid": e.fix.TenantID, "oid": user.ID, "sub": user.ID,
		"preferred_username": user.UserPrincipalName, "name": user.DisplayName,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(e.opts.TokenLifetime).Unix(), "ver": "2.0",
	}).SignedString(e.signKey)
	if err != nil {
		e.writeAADError(w, 500, "server_error", "AADSTS50000", err.Error())
		return
	}
	info, _ := json.Marshal(map[string]string{"uid": user.ID, "utid": e.fix.TenantID})
	body := e.tokenResponse(tok)
	body["refresh_token"] = rt
	body["id_token"] = idTok
	body["client_info"] = base64.RawURLEncoding.EncodeToString(info)
	body["scope"] = resource + "/.default openid profile offline_access"
	writeJSON(w, http.StatusOK, body)
}

// writeAADError writes an Entra error body.
func (e *Emulator) writeAADError(w http.ResponseWriter, status int, code, aadsts, desc string) {
	if !strings.HasPrefix(desc, "AADSTS") {
		desc = aadsts + ": " + desc
	}
	trace := uuid.NewString()
	corr := uuid.NewString()
	num := 0
	fmt.Sscanf(strings.TrimPrefix(aadsts, "AADSTS"), "%d", &num)
	writeJSON(w, status, map[string]any{
		"error":             code,
		"error_description": fmt.Sprintf("%s Trace ID: %s Correlation ID: %s Timestamp: %s", desc, trace, corr, e.now().UTC().Format("2006-01-02 15:04:05Z")),
		"error_codes":       []int{num},
		"timestamp":         e.now().UTC().Format("2006-01-02 15:04:05Z"),
		"trace_id":          trace,
		"correlation_id":    corr,
	})
}

// authenticate verifies the bearer token of a request for the given audience and returns its principal.
func (e *Emulator) authenticate(r *http.Request, audience string) (*tokenClaims, *Principal, *apiError) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, nil, errf(http.StatusUnauthorized, "TokenIsMissing", "The access token is missing")
	}
	raw, found := strings.CutPrefix(h, "Bearer ")
	if !found || raw == "" {
		return nil, nil, errf(http.StatusUnauthorized, "InvalidToken", "The authorization header is not a bearer token")
	}
	c := e.tokens.get(raw)
	if c == nil {
		c = &tokenClaims{}
		_, err := jwt.ParseWithClaims(raw, c, func(*jwt.Token) (any, error) { return &e.signKey.PublicKey, nil },
			jwt.WithValidMethods([]string{"ES256"}), jwt.WithTimeFunc(e.now), jwt.WithIssuer(e.issuer()))
		switch {
		case errors.Is(err, jwt.ErrTokenExpired):
			return nil, nil, errf(http.StatusUnauthorized, "TokenExpired", "Access token has expired, resubmit with a new access token")
		case err != nil:
			return nil, nil, errf(http.StatusUnauthorized, "InvalidToken", "Access token is invalid")
		}
		e.tokens.put(raw, c)
	} else if c.ExpiresAt == nil || !e.now().Before(c.ExpiresAt.Time) {
		return nil, nil, errf(http.StatusUnauthorized, "TokenExpired", "Access token has expired, resubmit with a new access token")
	}
	if !audienceMatches(c.Audience, audience) {
		return nil, nil, errf(http.StatusUnauthorized, "InvalidToken", "Access token audience is not valid for this API")
	}
	if c.TID != e.fix.TenantID {
		return nil, nil, errf(http.StatusUnauthorized, "InvalidToken", "Access token was issued for another tenant")
	}
	p := e.fix.principal(c.OID)
	if p == nil {
		return nil, nil, errf(http.StatusUnauthorized, "InvalidToken", "The principal of the access token does not exist")
	}
	return c, p, nil
}

func audienceMatches(got jwt.ClaimStrings, want string) bool {
	for _, a := range got {
		if a == want || (want == audienceFabric && a == audiencePowerBI) {
			return true
		}
	}
	return false
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b)
}

func randomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// userCode is an eight-letter code without look-alike letters, shown to the user as ABCD-EFGH.
func userCode() string {
	const letters = "BCDFGHJKLMNPQRSTVWXZ"
	b := make([]byte, 8)
	rand.Read(b)
	out := make([]byte, 0, 9)
	for i, c := range b {
		if i == 4 {
			out = append(out, '-')
		}
		out = append(out, letters[int(c)%len(letters)])
	}
	return string(out)
}

// DeviceCodes lists the pending device-code sign-ins (user codes, client ids, poll counts).
func (e *Emulator) DeviceCodes() []DeviceCode {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []DeviceCode
	for _, d := range e.devs {
		if !d.Approved && !d.Declined {
			out = append(out, *d)
		}
	}
	return out
}

// ApproveDeviceCode signs the user with the UPN in on the device code with userCode ("" = every pending code;
// upn "" = the fixtures' device-code user); decline rejects it instead.
func (e *Emulator) ApproveDeviceCode(userCode, upn string, decline bool) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, d := range e.devs {
		if userCode != "" && !strings.EqualFold(d.UserCode, userCode) {
			continue
		}
		n++
		if decline {
			d.Declined = true
		} else if !e.approveLocked(d, upn) {
			return fmt.Errorf("emulator: no user %q to sign in", upn)
		}
	}
	if n == 0 {
		return fmt.Errorf("emulator: no pending device code %q", userCode)
	}
	return nil
}

func (e *Emulator) ctlDeviceCodes(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"deviceCodes": e.DeviceCodes()})
}

func (e *Emulator) ctlApproveDeviceCode(w http.ResponseWriter, r *http.Request) {
	var body struct {
		UserCode          string `json:"userCode"`
		UserPrincipalName string `json:"userPrincipalName"`
		Decline           bool   `json:"decline"`
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err == nil && len(bytes.TrimSpace(b)) > 0 {
		err = strictJSON(b, &body)
	}
	if err != nil {
		ctlError(w, r, 400, "want {\"userCode\": \"...\", \"userPrincipalName\": \"...\", \"decline\": false}: %v", err)
		return
	}
	if err := e.ApproveDeviceCode(body.UserCode, body.UserPrincipalName, body.Decline); err != nil {
		ctlError(w, r, 404, "%v", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
