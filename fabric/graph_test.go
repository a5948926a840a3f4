package fabric_test

import (
	"context"
	"errors"
	"testing"

	"github.com/fabplan/fabplan/emulator"
	"github.com/fabplan/fabplan/fabric"
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
