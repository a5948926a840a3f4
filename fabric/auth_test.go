package fabric

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// Each mode signs in through azidentity against the fake Entra, then lists capacities with its token.
func TestAuthModes(t *testing.T) {
	f := newFakeFabric(t)
	base := AuthConfig{TenantID: fakeTenant, ClientID: "app", AuthorityHost: f.srv.URL, HTTPClient: f.srv.Client()}
	tokenFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokenFile, []byte("federated-jwt"), 0o600)

	bin := t.TempDir()
	os.WriteFile(filepath.Join(bin, "az"), []byte("#!/bin/sh\necho '{\"accessToken\":\"tok-cli\",\"expiresOn\":\"2099-01-01 00:00:00.000000\",\"expires_on\":4070908800,\"tokenType\":\"Bearer\"}'\n"), 0o755)
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))

	var prompted string
	for _, tc := range []struct {
		mode string
		mod  func(*AuthConfig)
	}{
		{AuthClientSecret, func(a *AuthConfig) { a.ClientSecret = "s3cr3t-value" }},
		{AuthWorkloadIdentity, func(a *AuthConfig) { a.TokenFile = tokenFile }},
		{AuthAzureCLI, nil},
		{AuthDefault, func(a *AuthConfig) { a.TokenFile = tokenFile }},
		{AuthDeviceCode, func(a *AuthConfig) { a.DeviceCodePrompt = func(m string) { prompted = m } }},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			cfg := base
			cfg.Mode = tc.mode
			if tc.mod != nil {
				tc.mod(&cfg)
			}
			signInAndList(t, f, cfg)
		})
	}
	if !strings.Contains(prompted, "ABCD") {
		t.Errorf("device code prompt got %q", prompted)
	}
}

// signInAndList builds the credential a says and lists capacities with it.
func signInAndList(t *testing.T, f *fakeFabric, a AuthConfig) {
	t.Helper()
	cred, err := NewCredential(a)
	if err != nil {
		t.Fatal(err)
	}
	c := newTestClient(t, Config{BaseURL: f.srv.URL, Credential: cred, HTTPClient: f.srv.Client()}, nil)
	if _, err := c.ListCapacities(bg); err != nil {
		t.Fatal(err)
	}
}

func TestCredentialSettingsErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  AuthConfig
		want string
	}{
		{AuthConfig{TenantID: "t"}, "client-secret auth needs AZURE_CLIENT_ID, AZURE_CLIENT_SECRET to be set"},
		{AuthConfig{Mode: "workload-identity", ClientID: "c"}, "workload-identity auth needs AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE"},
		{AuthConfig{Mode: "kerberos"}, `unknown auth mode "kerberos"`},
		{AuthConfig{Mode: "device-code"}, "DeviceCodePrompt"},
		{AuthConfig{TenantID: "t", ClientID: "c", ClientSecret: "s", AuthorityHost: "http://127.0.0.1:1"}, "must be an https URL"},
	} {
		_, err := NewCredential(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

func TestEnvironment(t *testing.T) {
	env := map[string]string{"FABPLAN_AUTH": "workload-identity", "AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c",
		"AZURE_FEDERATED_TOKEN_FILE": "/f", "FABPLAN_AUTHORITY_HOST": "https://e/", "FABPLAN_FABRIC_URL": "https://f",
		"FEATURE_USE_RETRY_LOGIC": "false", "FEATURE_USE_CIRCUIT_BREAKER": "0", "FEATURE_USE_THROTTLE": "true"}
	a := AuthConfigFromEnv(func(k string) string { return env[k] })
	if a.Mode != "workload-identity" || a.TenantID != "t" || a.ClientID != "c" || a.TokenFile != "/f" || a.AuthorityHost != "https://e/" {
		t.Errorf("auth %+v", a)
	}
	cfg, err := ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil || cfg.BaseURL != "https://f" || !cfg.NoRetry || !cfg.NoBreaker || cfg.NoThrottle {
		t.Errorf("config %+v %v", cfg, err)
	}
	env["FEATURE_USE_THROTTLE"] = "sometimes"
	if _, err := ConfigFromEnv(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "FEATURE_USE_THROTTLE") {
		t.Errorf("bad switch: %v", err)
	}
}

// countingCredential hands out tok-1, tok-2, ... valid for an hour, and counts requests per scope.
type countingCredential struct {
	mu    sync.Mutex
	n     int
	calls map[string]int
}

func (c *countingCredential) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	if c.calls == nil {
		c.calls = map[string]int{}
	}
	c.calls[strings.Join(o.Scopes, " ")]++
	return azcore.AccessToken{Token: "tok-" + string(rune('0'+c.n)), ExpiresOn: time.Now().Add(time.Hour)}, nil
}

func TestTokensCachedPerScope(t *testing.T) {
	inner := &countingCredential{}
	tc := newTokenCache(inner)
	for range 3 {
		for _, s := range []string{FabricScope, GraphScope, KeyVaultScope} {
			if _, err := tc.GetToken(bg, policy.TokenRequestOptions{Scopes: []string{s}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if inner.calls[FabricScope] != 1 || inner.calls[GraphScope] != 1 || inner.calls[KeyVaultScope] != 1 {
		t.Fatalf("token requests per scope %v, want one each", inner.calls)
	}
}

// A token the service calls expired is dropped and the request sent once more with a new one.
func TestTokenExpiredIsRefreshed(t *testing.T) {
	f := newFakeFabric(t)
	inner := &countingCredential{}
	c, err := New(Config{BaseURL: f.srv.URL, Credential: newTokenCache(inner), HTTPClient: f.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListCapacities(bg); err != nil {
		t.Fatal(err)
	}
	f.validToken = func(tok string) bool { return tok != "tok-1" } // the server now says tok-1 expired
	if _, err := c.ListCapacities(bg); err != nil {
		t.Fatal(err)
	}
	if inner.n != 2 {
		t.Fatalf("%d tokens requested, want 2", inner.n)
	}
}

// Through azidentity: tokens that live one second expire during the run and are renewed unseen.
func TestTokenExpiryMidRun(t *testing.T) {
	f := newFakeFabric(t)
	f.tokenTTL = 1
	var issued sync.Map // token -> time issued (approximated by first use)
	f.validToken = func(tok string) bool {
		at, _ := issued.LoadOrStore(tok, time.Now())
		return time.Since(at.(time.Time)) < 300*time.Millisecond
	}
	c := f.client(t, nil)
	for range 3 {
		if _, err := c.ListCapacities(bg); err != nil {
			t.Fatal(err)
		}
		time.Sleep(350 * time.Millisecond)
	}
	if f.tokens.Load() < 3 {
		t.Fatalf("%d tokens issued, want a new one per expiry", f.tokens.Load())
	}
}

var _ azcore.TokenCredential = (*countingCredential)(nil)

// Managed identity through the App Service endpoint azidentity finds in IDENTITY_ENDPOINT.
func TestManagedIdentity(t *testing.T) {
	f := newFakeFabric(t)
	var resource string
	msi := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-IDENTITY-HEADER") != "secret-header" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		resource = r.URL.Query().Get("resource")
		writeJSON(w, 200, map[string]any{"access_token": "tok-mi", "expires_on": fmt.Sprint(time.Now().Add(time.Hour).Unix()),
			"resource": resource, "token_type": "Bearer"})
	}))
	defer msi.Close()
	t.Setenv("IDENTITY_ENDPOINT", msi.URL+"/msi/token")
	t.Setenv("IDENTITY_HEADER", "secret-header")
	signInAndList(t, f, AuthConfig{Mode: AuthManagedIdentity})
	if resource != "https://api.fabric.microsoft.com" {
		t.Errorf("token asked for resource %q", resource)
	}
}
