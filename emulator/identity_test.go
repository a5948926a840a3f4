package emulator

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/golang-jwt/jwt/v5"
	"github.com/microsoft/fabric-sdk-go/fabric/core"
)

func clientOptions(e *Emulator) azcore.ClientOptions {
	return azcore.ClientOptions{
		Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: e.AuthorityHost()},
		Transport: e.HTTPClient(),
	}
}

func TestDeviceCodeSignIn(t *testing.T) {
	e := start(t, Options{})
	prompts := 0
	cred, err := azidentity.NewDeviceCodeCredential(&azidentity.DeviceCodeCredentialOptions{
		ClientOptions:            clientOptions(e),
		TenantID:                 e.TenantID(),
		DisableInstanceDiscovery: true,
		UserPrompt: func(_ context.Context, m azidentity.DeviceCodeMessage) error {
			if !strings.Contains(m.Message, m.UserCode) || !strings.HasPrefix(m.VerificationURL, e.URL()) {
				t.Errorf("device code message = %+v", m)
			}
			prompts++
			return e.ApproveDeviceCode(m.UserCode, DefaultUserUPN, false)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ws := sdkAs(t, e, cred).NewWorkspacesClient()
	created, err := ws.CreateWorkspace(ctx, core.CreateWorkspaceRequest{DisplayName: to.Ptr("alice's")}, nil)
	if err != nil {
		t.Fatalf("create as Alice: %v", err)
	}
	ras, err := ws.ListWorkspaceRoleAssignments(ctx, *created.ID, nil)
	if err != nil || len(ras) != 1 || *ras[0].ID != DefaultUserID {
		t.Errorf("Alice should be the only Admin: %v %v", ras, err)
	}
	// The refresh token gets a Graph token for the same user without another prompt. EnableCAE as
	// azcore's bearer policy asks: azidentity keeps CAE and non-CAE tokens in separate caches.
	if _, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"https://graph.microsoft.com/.default"}, EnableCAE: true}); err != nil {
		t.Errorf("graph token through the refresh token: %v", err)
	}
	if prompts != 1 {
		t.Errorf("%d device-code prompts, want 1: the Graph token must come from the refresh token", prompts)
	}
	refreshed := 0
	for _, r := range e.Requests() {
		if r.Method == "POST" && strings.HasSuffix(r.Path, "/oauth2/v2.0/token") && r.Status == 200 {
			refreshed++
		}
	}
	if refreshed != 2 {
		t.Errorf("%d successful token requests, want 2 (device code, then refresh)", refreshed)
	}
}

// azCLIClientID is the public client id the Azure CLI signs users in with.
const azCLIClientID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"

type deviceCodeStart struct {
	DeviceCode string `json:"device_code"`
	UserCode   string `json:"user_code"`
}

// startDeviceCode begins a device-code sign-in for a Fabric token by raw HTTP; it returns the token URL
// prefix (".../oauth2/v2.0/") and the codes.
func startDeviceCode(t *testing.T, e *Emulator) (string, deviceCodeStart) {
	t.Helper()
	tokenURL := e.AuthorityHost() + e.TenantID() + "/oauth2/v2.0/"
	resp, err := e.HTTPClient().PostForm(tokenURL+"devicecode", url.Values{"client_id": {azCLIClientID}, "scope": {"https://api.fabric.microsoft.com/.default offline_access"}})
	if err != nil {
		t.Fatal(err)
	}
	var dc deviceCodeStart
	decodeBody(t, resp, &dc)
	return tokenURL, dc
}

func TestDeviceCodePendingAndDeclined(t *testing.T) {
	e := start(t, Options{})
	hc := e.HTTPClient()
	tokenURL, dc := startDeviceCode(t, e)
	poll := func() map[string]any {
		r, err := hc.PostForm(tokenURL+"token", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"},
			"device_code": {dc.DeviceCode}, "client_id": {azCLIClientID}, "scope": {"https://api.fabric.microsoft.com/.default"}})
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		decodeBody(t, r, &body)
		return body
	}
	if b := poll(); b["error"] != "authorization_pending" || !strings.HasPrefix(b["error_description"].(string), "AADSTS70016") {
		t.Errorf("pending poll = %v", b)
	}
	if len(e.DeviceCodes()) != 1 {
		t.Errorf("pending codes = %v", e.DeviceCodes())
	}
	if err := e.ApproveDeviceCode(dc.UserCode, "", true); err != nil {
		t.Fatal(err)
	}
	if b := poll(); b["error"] != "authorization_declined" {
		t.Errorf("declined poll = %v", b)
	}
}

func TestClientAssertion(t *testing.T) {
	fix := DefaultFixtures()
	fix.Principals[0].FederatedSubject = "repo:contoso/fabric:ref:refs/heads/main"
	e := start(t, Options{Fixtures: fix})
	id, _ := e.ServicePrincipal()
	assertion := func(sub string) func(context.Context) (string, error) {
		return func(context.Context) (string, error) {
			return jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": sub, "iss": "https://token.actions.example",
				"aud": "api://AzureADTokenExchange", "exp": time.Now().Add(time.Hour).Unix()}).SignedString([]byte("ci-signing-key"))
		}
	}
	cred, err := azidentity.NewClientAssertionCredential(e.TenantID(), id, assertion(fix.Principals[0].FederatedSubject),
		&azidentity.ClientAssertionCredentialOptions{ClientOptions: clientOptions(e), DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sdkAs(t, e, cred).NewWorkspacesClient().ListWorkspaces(context.Background(), nil); err != nil {
		t.Fatalf("workload identity: %v", err)
	}
	bad, _ := azidentity.NewClientAssertionCredential(e.TenantID(), id, assertion("repo:evil/fork"),
		&azidentity.ClientAssertionCredentialOptions{ClientOptions: clientOptions(e), DisableInstanceDiscovery: true})
	_, err = bad.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{"https://api.fabric.microsoft.com/.default"}})
	if err == nil || !strings.Contains(err.Error(), "AADSTS700213") {
		t.Errorf("wrong subject: %v", err)
	}
}

func TestTokenEndpointErrors(t *testing.T) {
	e := start(t, Options{})
	hc := e.HTTPClient()
	post := func(tenant string, form url.Values) (int, map[string]any) {
		r, err := hc.PostForm(e.AuthorityHost()+tenant+"/oauth2/v2.0/token", form)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		decodeBody(t, r, &body)
		return r.StatusCode, body
	}
	id, secret := e.ServicePrincipal()
	fabricScope := "https://api.fabric.microsoft.com/.default"
	cases := []struct {
		tenant string
		form   url.Values
		status int
		code   string
		aadsts string
	}{
		{DefaultClientID, url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}, "scope": {fabricScope}}, 400, "invalid_request", "AADSTS90002"},
		{e.TenantID(), url.Values{"grant_type": {"client_credentials"}, "client_id": {DefaultTenantID}, "client_secret": {secret}, "scope": {fabricScope}}, 400, "unauthorized_client", "AADSTS700016"},
		{e.TenantID(), url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {"nope"}, "scope": {fabricScope}}, 401, "invalid_client", "AADSTS7000215"},
		{e.TenantID(), url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}, "scope": {"https://example.com/.default"}}, 400, "invalid_scope", "AADSTS70011"},
		{e.TenantID(), url.Values{"grant_type": {"password"}, "client_id": {id}, "scope": {fabricScope}}, 400, "unsupported_grant_type", "AADSTS70003"},
	}
	for _, c := range cases {
		status, body := post(c.tenant, c.form)
		desc, _ := body["error_description"].(string)
		if status != c.status || body["error"] != c.code || !strings.HasPrefix(desc, c.aadsts+":") || body["trace_id"] == nil || body["correlation_id"] == nil {
			t.Errorf("%v: %d %v", c.form.Get("client_id"), status, body)
		}
	}
	status, body := post(e.TenantID(), url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}, "scope": {fabricScope}})
	if status != 200 || body["token_type"] != "Bearer" || body["expires_in"].(float64) != 3600 {
		t.Fatalf("token = %d %v", status, body)
	}
	var claims tokenClaims
	if _, _, err := jwt.NewParser().ParseUnverified(body["access_token"].(string), &claims); err != nil {
		t.Fatal(err)
	}
	if claims.OID != DefaultSPObjectID || claims.AppID != id || claims.TID != e.TenantID() || claims.Audience[0] != audienceFabric || claims.IssuedAt == nil {
		t.Errorf("claims = %+v", claims)
	}
}

func TestGraphLookups(t *testing.T) {
	e := start(t, Options{})
	c := raw(t, e, "")
	c.token, _ = e.AccessToken(DefaultSPObjectID, audienceGraph)
	g := "/graph/v1.0"
	var user map[string]any
	wantStatus(t, c.do("GET", g+"/users/"+url.PathEscape(DefaultUserUPN), nil), 200)
	c.do("GET", g+"/users/"+DefaultUserID+"?$select=id,displayName", nil).json(t, &user)
	if user["displayName"] != "Alice Example" || user["userPrincipalName"] != nil {
		t.Errorf("user with $select = %v", user)
	}
	var list struct {
		Context string           `json:"@odata.context"`
		Value   []map[string]any `json:"value"`
	}
	c.do("GET", g+"/users?$filter="+url.QueryEscape("userPrincipalName eq 'ALICE@fabplan.test'"), nil).json(t, &list)
	if len(list.Value) != 1 || list.Value[0]["id"] != DefaultUserID || !strings.HasPrefix(list.Context, e.GraphURL()) {
		t.Errorf("filter by UPN = %+v", list)
	}
	c.do("GET", g+"/users?$filter="+url.QueryEscape("mail eq 'nobody@x'"), nil).json(t, &list)
	if len(list.Value) != 0 {
		t.Errorf("no match = %+v", list.Value)
	}
	c.do("GET", g+"/groups?$filter="+url.QueryEscape("displayName eq 'Data Engineers'"), nil).json(t, &list)
	if len(list.Value) != 1 || list.Value[0]["id"] != DefaultGroupID {
		t.Errorf("group = %+v", list.Value)
	}
	c.do("GET", g+"/servicePrincipals?$filter="+url.QueryEscape("appId eq '"+DefaultClientID+"'"), nil).json(t, &list)
	if len(list.Value) != 1 || list.Value[0]["id"] != DefaultSPObjectID {
		t.Errorf("service principal = %+v", list.Value)
	}
	var sp map[string]any
	c.do("GET", g+"/servicePrincipals(appId='"+DefaultClientID+"')", nil).json(t, &sp)
	if sp["id"] != DefaultSPObjectID {
		t.Errorf("servicePrincipals(appId=) = %v", sp)
	}
	graphError := func(r rawResponse, status int, code string) {
		t.Helper()
		var body struct {
			Error struct {
				Code       string         `json:"code"`
				Message    string         `json:"message"`
				InnerError map[string]any `json:"innerError"`
			} `json:"error"`
		}
		r.json(t, &body)
		if r.status != status || body.Error.Code != code || body.Error.InnerError["request-id"] == nil {
			t.Errorf("graph error: %d %s", r.status, r.body)
		}
	}
	graphError(c.do("GET", g+"/users/nobody@fabplan.test", nil), 404, "Request_ResourceNotFound")
	graphError(c.do("GET", g+"/users?$filter="+url.QueryEscape("startswith(displayName,'A')"), nil), 400, "Request_UnsupportedQuery")
	reader := raw(t, e, "")
	reader.token, _ = e.AccessToken(readerObjectID, audienceGraph)
	graphError(reader.do("GET", g+"/users/"+DefaultUserID, nil), 403, "Authorization_RequestDenied")
	graphError(raw(t, e, DefaultSPObjectID).do("GET", g+"/users/"+DefaultUserID, nil), 401, "InvalidAuthenticationToken")
}

func TestKeyVaultWithAzsecrets(t *testing.T) {
	e := start(t, Options{})
	id, secret := e.ServicePrincipal()
	client := func(cred azcore.TokenCredential) *azsecrets.Client {
		c, err := azsecrets.NewClient(e.KeyVaultURL(), cred, &azsecrets.ClientOptions{
			ClientOptions:                        azcore.ClientOptions{Transport: e.HTTPClient()},
			DisableChallengeResourceVerification: true,
		})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ctx := context.Background()
	kv := client(credential(t, e, id, secret))
	got, err := kv.GetSecret(ctx, "demo-secret", "", nil)
	if err != nil {
		t.Fatalf("GetSecret: %v", err)
	}
	first := got.ID.Version()
	if *got.Value != "s3cr3t-from-the-emulator" || got.ID.Name() != "demo-secret" || first == "" {
		t.Errorf("secret = %v %s %s", *got.Value, got.ID.Name(), first)
	}
	if err := e.SetSecret("demo-secret", "rotated"); err != nil {
		t.Fatal(err)
	}
	got, _ = kv.GetSecret(ctx, "demo-secret", "", nil)
	if *got.Value != "rotated" {
		t.Errorf("latest = %q", *got.Value)
	}
	got, err = kv.GetSecret(ctx, "demo-secret", first, nil)
	if err != nil || *got.Value != "s3cr3t-from-the-emulator" {
		t.Errorf("by version = %v %v", got.Value, err)
	}
	_, err = kv.GetSecret(ctx, "missing", "", nil)
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != 404 || re.ErrorCode != "SecretNotFound" {
		t.Errorf("missing secret: %v", err)
	}
	_, err = client(credential(t, e, "6d7e8f90-0000-4000-8000-0000000be11b", "emulator-only-reader-secret")).GetSecret(ctx, "demo-secret", "", nil)
	if !errors.As(err, &re) || re.StatusCode != 403 || re.ErrorCode != "Forbidden" {
		t.Errorf("reader: %v", err)
	}
	if r := raw(t, e, "").do("GET", "/keyvault/secrets/demo-secret?api-version=7.5", nil); r.status != 401 ||
		!strings.Contains(r.header.Get("WWW-Authenticate"), `resource="https://vault.azure.net"`) {
		t.Errorf("challenge = %d %v", r.status, r.header)
	}
	r := raw(t, e, "").do("PUT", "/_emulator/secrets/new-one", map[string]string{"value": "v"})
	if r.status != 204 {
		t.Errorf("control PUT secret: %d %s", r.status, r.body)
	}
	if got, err := kv.GetSecret(ctx, "new-one", "", nil); err != nil || *got.Value != "v" {
		t.Errorf("secret set through the control endpoint: %v", err)
	}
}

func TestDeviceCodeAutoApprove(t *testing.T) {
	e := start(t, Options{DeviceCodeAutoApprove: 1})
	cred, err := azidentity.NewDeviceCodeCredential(&azidentity.DeviceCodeCredentialOptions{
		ClientOptions: clientOptions(e), TenantID: e.TenantID(), DisableInstanceDiscovery: true,
		UserPrompt: func(context.Context, azidentity.DeviceCodeMessage) error { return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{"https://api.fabric.microsoft.com/.default"}})
	if err != nil {
		t.Fatalf("auto-approved device code: %v", err)
	}
	var claims tokenClaims
	if _, _, err := jwt.NewParser().ParseUnverified(tok.Token, &claims); err != nil || claims.UPN != DefaultUserUPN || claims.IDTyp != "user" {
		t.Errorf("claims = %+v, %v", claims, err)
	}
	pending := 0
	for _, r := range e.Requests() {
		if strings.HasSuffix(r.Path, "/oauth2/v2.0/token") && r.Status == 400 {
			pending++
		}
	}
	if pending != 1 {
		t.Errorf("%d pending polls before approval, want 1", pending)
	}
}

func TestManagedIdentity(t *testing.T) {
	e := start(t, Options{})
	for _, kv := range e.ManagedIdentityEnv() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	cred, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{
		ClientOptions: azcore.ClientOptions{Transport: e.HTTPClient()},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	created, err := sdkAs(t, e, cred).NewWorkspacesClient().CreateWorkspace(ctx, core.CreateWorkspaceRequest{DisplayName: to.Ptr("mi")}, nil)
	if err != nil {
		t.Fatalf("create as the managed identity: %v", err)
	}
	st, _ := e.State()
	if !strings.Contains(string(st), `"principal": "fabplan-runner-identity"`) || *created.DisplayName != "mi" {
		t.Errorf("state:\n%s", st)
	}
	userAssigned, _ := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{
		ClientOptions: azcore.ClientOptions{Transport: e.HTTPClient()}, ID: azidentity.ClientID(DefaultClientID)})
	if _, err := userAssigned.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"https://api.fabric.microsoft.com/.default"}}); err == nil {
		t.Errorf("a service principal that is no managed identity got a managed-identity token")
	}
	r := raw(t, e, "").do("GET", "/msi/token?api-version=2019-08-01&resource=https://api.fabric.microsoft.com", nil)
	if r.status != 401 {
		t.Errorf("without X-IDENTITY-HEADER: %d %s", r.status, r.body)
	}
}
