package fabrictest

import (
	"testing"
	"time"

	"github.com/fabplan/fabplan/emulator"
	"github.com/fabplan/fabplan/fabric"
)

// ReaderID and ReaderSecret sign in as the emulator's seeded service principal without Graph, Key Vault or capacity rights.
const ReaderID, ReaderSecret = "6d7e8f90-0000-4000-8000-0000000be11b", "emulator-only-reader-secret"

// Start starts an emulator with fx (nil = the default tenant), closed when the test ends.
func Start(t testing.TB, fx *emulator.Fixtures) *emulator.Emulator {
	t.Helper()
	// StrictRequests: a misspelt field in a request body fails the test instead of being dropped.
	emu, err := emulator.Start(emulator.Options{Fixtures: fx, StrictRequests: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	return emu
}

// Client returns a client acting as the service principal clientID/secret ("" = the seeded
// deployer, who may do everything), with short retry waits.
func Client(t testing.TB, emu *emulator.Emulator, clientID, secret string) *fabric.Client {
	t.Helper()
	if clientID == "" {
		clientID, secret = emu.ServicePrincipal()
	}
	cred, err := fabric.NewCredential(fabric.AuthConfig{TenantID: emu.TenantID(), ClientID: clientID, ClientSecret: secret,
		AuthorityHost: emu.AuthorityHost(), HTTPClient: emu.HTTPClient()})
	if err != nil {
		t.Fatal(err)
	}
	c, err := fabric.New(fabric.Config{BaseURL: emu.FabricURL(), Credential: cred, HTTPClient: emu.HTTPClient(),
		BackoffInitial: 10 * time.Millisecond, BackoffMax: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
