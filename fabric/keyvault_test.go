package fabric_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fabplan/fabplan/emulator"
	"github.com/fabplan/fabplan/fabric"
	"github.com/fabplan/fabplan/fabric/fabrictest"
)

// directoryFixtures is the default tenant plus two groups that share a name.
func directoryFixtures() *emulator.Fixtures {
	fx := emulator.DefaultFixtures()
	fx.Principals = append(fx.Principals,
		emulator.Principal{ID: "3c4d5e6f-0000-4000-8000-00000000a001", Type: emulator.PrincipalGroup, DisplayName: "Analysts"},
		emulator.Principal{ID: "3c4d5e6f-0000-4000-8000-00000000a002", Type: emulator.PrincipalGroup, DisplayName: "Analysts"},
		emulator.Principal{ID: "3c4d5e6f-0000-4000-8000-00000000a003", Type: emulator.PrincipalGroup, DisplayName: "O'Brien's team"},
		emulator.Principal{ID: "3c4d5e6f-0000-4000-8000-00000000a004", Type: emulator.PrincipalUser, DisplayName: "Guest Bob",
			UserPrincipalName: "bob_contoso.com#EXT#@fabplan.test"},
	)
	return fx
}

// emulatorClient starts an emulator and returns a client acting as clientID ("" = the deployer).
func emulatorClient(t *testing.T, fx *emulator.Fixtures, clientID, secret string) (*emulator.Emulator, *fabric.Client) {
	emu := fabrictest.Start(t, fx)
	return emu, fabrictest.Client(t, emu, clientID, secret)
}

const readerID, readerSecret = fabrictest.ReaderID, fabrictest.ReaderSecret

func TestKeyVaultGetSecret(t *testing.T) {
	emu, c := emulatorClient(t, nil, "", "")
	if err := emu.SetSecret("db-password", "v1-value"); err != nil {
		t.Fatal(err)
	}
	if err := emu.SetSecret("db-password", "v2-value"); err != nil {
		t.Fatal(err)
	}
	kv, err := c.KeyVault(fabric.KeyVaultConfig{URL: emu.KeyVaultURL()})
	if err != nil {
		t.Fatal(err)
	}
	got, err := kv.GetSecret(context.Background(), "db-password")
	if err != nil || got != "v2-value" {
		t.Fatalf("GetSecret = %q, %v; want the latest version v2-value", got, err)
	}
	_, err = kv.GetSecret(context.Background(), "nope")
	var fe *fabric.Error
	if !errors.As(err, &fe) || fe.StatusCode != 404 || fe.ErrorCode != "SecretNotFound" || !strings.Contains(fe.Message, "nope") {
		t.Fatalf("missing secret: %v; want a 404 SecretNotFound *fabric.Error naming it", err)
	}
}

func TestKeyVaultForbidden(t *testing.T) {
	emu, c := emulatorClient(t, nil, readerID, readerSecret)
	kv, err := c.KeyVault(fabric.KeyVaultConfig{URL: emu.KeyVaultURL()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = kv.GetSecret(context.Background(), "demo-secret")
	var fe *fabric.Error
	if !errors.As(err, &fe) || fe.StatusCode != 403 || fe.ErrorCode != "Forbidden" || !strings.Contains(fe.Message, "ForbiddenByRbac") {
		t.Fatalf("reader: %v; want 403 Forbidden (ForbiddenByRbac)", err)
	}
}

// TestKeyVaultNoToken: an identity that cannot sign in is an authentication failure, told apart from
// a vault that failed, in one line with Entra's explanation, and never carries the client secret.
func TestKeyVaultNoToken(t *testing.T) {
	emu, c := emulatorClient(t, nil, emulator.DefaultClientID, "SENTINEL-wrong-client-secret")
	kv, err := c.KeyVault(fabric.KeyVaultConfig{URL: emu.KeyVaultURL()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = kv.GetSecret(context.Background(), "demo-secret")
	var fe *fabric.Error
	if !errors.As(err, &fe) || !fe.AuthenticationFailed() || fe.StatusCode != 0 {
		t.Fatalf("bad client secret: %v; want an AuthenticationFailed *fabric.Error without status", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "AADSTS7000215") || strings.Contains(msg, "RESPONSE 401") || strings.Contains(msg, "SENTINEL") {
		t.Fatalf("message %q; want Entra's AADSTS7000215 in one line, no response dump, no client secret", msg)
	}
}

func TestKeyVaultDown(t *testing.T) {
	_, c := emulatorClient(t, nil, "", "")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	kv, err := c.KeyVault(fabric.KeyVaultConfig{URL: "https://" + addr + "/keyvault", Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = kv.GetSecret(context.Background(), "demo-secret")
	var fe *fabric.Error
	if !errors.As(err, &fe) || fe.StatusCode != 0 {
		t.Fatalf("vault down: %v; want a *fabric.Error without status", err)
	}
}

func TestKeyVaultRefusesHTTP(t *testing.T) {
	_, c := emulatorClient(t, nil, "", "")
	if _, err := c.KeyVault(fabric.KeyVaultConfig{URL: "http://127.0.0.1:1/keyvault"}); err == nil || !strings.Contains(err.Error(), "https") {
		t.Fatalf("http vault: %v; want a refusal naming https", err)
	}
}

// TestKeyVaultVerifiesChallengeOffLoopback: only a loopback vault skips azsecrets' check that the
// challenge's resource matches the vault's host. The same emulator reached under another name
// (vault.example.test, dialled to the emulator) must be refused.
func TestKeyVaultVerifiesChallengeOffLoopback(t *testing.T) {
	emu := fabrictest.Start(t, nil)
	id, secret := emu.ServicePrincipal()
	addr := strings.TrimPrefix(emu.URL(), "https://")
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
		TLSClientConfig: &tls.Config{RootCAs: emu.CertPool(), ServerName: "127.0.0.1"},
	}
	hc := &http.Client{Transport: tr}
	cred, err := fabric.NewCredential(fabric.AuthConfig{TenantID: emu.TenantID(), ClientID: id, ClientSecret: secret,
		AuthorityHost: emu.AuthorityHost(), HTTPClient: emu.HTTPClient()})
	if err != nil {
		t.Fatal(err)
	}
	c, err := fabric.New(fabric.Config{BaseURL: emu.FabricURL(), Credential: cred, HTTPClient: hc, NoRetry: true})
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(addr)
	kv, err := c.KeyVault(fabric.KeyVaultConfig{URL: "https://vault.example.test:" + port + "/keyvault"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = kv.GetSecret(context.Background(), "demo-secret")
	if err == nil || !strings.Contains(err.Error(), "doesn't match the requested domain") {
		t.Fatalf("a non-loopback vault answered with a vault.azure.net challenge: %v; want azsecrets' domain check to refuse it", err)
	}
}
