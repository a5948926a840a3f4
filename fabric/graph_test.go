package fabric_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/fabplan/fabplan/emulator"
	"github.com/fabplan/fabplan/fabric"
	"github.com/fabplan/fabplan/fabric/fabrictest"
)

func TestGraphLookups(t *testing.T) {
	emu, c := emulatorClient(t, directoryFixtures(), "", "")
	g, err := c.Graph(emu.GraphURL())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	users, err := g.UsersByUPN(ctx, emulator.DefaultUserUPN)
	if err != nil || len(users) != 1 || users[0].ID != emulator.DefaultUserID {
		t.Fatalf("UsersByUPN = %+v, %v; want Alice", users, err)
	}
	if users, err := g.UsersByUPN(ctx, "nobody@fabplan.test"); err != nil || len(users) != 0 {
		t.Fatalf("unknown user = %+v, %v; want none", users, err)
	}
	groups, err := g.GroupsByName(ctx, "Analysts")
	if err != nil || len(groups) != 2 {
		t.Fatalf("GroupsByName(Analysts) = %+v, %v; want both groups of that name", groups, err)
	}
	if groups, err := g.GroupsByName(ctx, "O'Brien's team"); err != nil || len(groups) != 1 {
		t.Fatalf("a name with quotes = %+v, %v; want one group (OData quote doubling)", groups, err)
	}
	if users, err := g.UsersByUPN(ctx, "bob_contoso.com#EXT#@fabplan.test"); err != nil || len(users) != 1 || users[0].ID != "3c4d5e6f-0000-4000-8000-00000000a004" {
		t.Fatalf("a guest's UPN = %+v, %v; want Bob (# encoded as %%23, not cut off as a fragment)", users, err)
	}
	sps, err := g.ServicePrincipalsByAppID(ctx, emulator.DefaultClientID)
	if err != nil || len(sps) != 1 || sps[0].ID != emulator.DefaultSPObjectID {
		t.Fatalf("ServicePrincipalsByAppID = %+v, %v; want the deployer's object id", sps, err)
	}
}

func TestGraphForbidden(t *testing.T) {
	emu, c := emulatorClient(t, nil, readerID, readerSecret)
	g, err := c.Graph(emu.GraphURL())
	if err != nil {
		t.Fatal(err)
	}
	_, err = g.GroupsByName(context.Background(), "Data Engineers")
	var fe *fabric.Error
	if !errors.As(err, &fe) || fe.StatusCode != 403 || fe.ErrorCode != "Authorization_RequestDenied" || fe.RequestID == "" {
		t.Fatalf("reader: %v; want 403 Authorization_RequestDenied with the request id", err)
	}
}

func TestTokenClaims(t *testing.T) {
	_, c := emulatorClient(t, nil, "", "")
	cl, err := fabric.Token(context.Background(), c.Credential(), fabric.GraphScope)
	if err != nil {
		t.Fatal(err)
	}
	if cl.IsUser() || cl.AppID != emulator.DefaultClientID || cl.ObjectID != emulator.DefaultSPObjectID {
		t.Fatalf("claims = %+v; want the deployer as an app", cl)
	}
}

func TestTokenClaimsIdentityType(t *testing.T) {
	for _, tc := range []struct {
		c    fabric.TokenClaims
		user bool
	}{
		{fabric.TokenClaims{IDType: "app", AppID: "a"}, false},
		{fabric.TokenClaims{AppID: "a"}, false},
		{fabric.TokenClaims{IDType: "user", UPN: "u@x"}, true},
		{fabric.TokenClaims{Scope: "user_impersonation"}, true},
		{fabric.TokenClaims{Username: "u@x"}, true},
	} {
		if got := tc.c.IsUser(); got != tc.user {
			t.Errorf("%+v: IsUser = %v", tc.c, got)
		}
	}
}

// TestTokenErrorsCondensed: a credential that gets no token gives one line naming the credential
// and the explanation of Entra or of the managed identity endpoint, without the HTTP exchange.
func TestTokenErrorsCondensed(t *testing.T) {
	emu := fabrictest.Start(t, nil)
	for _, kv := range emu.ManagedIdentityEnv() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	for _, tc := range []struct {
		name string
		cfg  fabric.AuthConfig
		want string
	}{
		{"wrong client secret", fabric.AuthConfig{TenantID: emu.TenantID(), ClientID: emulator.DefaultClientID, ClientSecret: "wrong-secret"},
			"ClientSecretCredential authentication failed. AADSTS7000215: Invalid client secret provided."},
		{"unknown managed identity", fabric.AuthConfig{Mode: fabric.AuthManagedIdentity, ClientID: "00000000-0000-4000-8000-00000000dead"},
			"ManagedIdentityCredential authentication failed. No managed identity matches the request."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.AuthorityHost, tc.cfg.HTTPClient = emu.AuthorityHost(), emu.HTTPClient()
			cred, err := fabric.NewCredential(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, err = fabric.Token(context.Background(), cred, fabric.KeyVaultScope)
			var fe *fabric.Error
			if !errors.As(err, &fe) || !fe.AuthenticationFailed() || !strings.Contains(fe.Message, tc.want) ||
				strings.Contains(err.Error(), "RESPONSE") || strings.Contains(err.Error(), "wrong-secret") {
				t.Fatalf("got %v; want one AuthenticationFailed line with %q", err, tc.want)
			}
		})
	}
}
