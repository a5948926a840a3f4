package builtins

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/fabplan/fabplan/emulator"
	"github.com/fabplan/fabplan/engine/journal"
	"github.com/fabplan/fabplan/fabric"
	statestore "github.com/fabplan/fabplan/state"
)

// intentWatch sees every request the client sends. Before each mutating Fabric call it reads the
// newest journal back from disk, as a crash at that instant would leave it, and notes a call that
// no open intent (an intent with no done or failed after it) announces.
type intentWatch struct {
	base        http.RoundTripper
	stateDir    string
	mu          sync.Mutex
	calls       int
	unannounced []string
}

func (w *intentWatch) RoundTrip(req *http.Request) (*http.Response, error) {
	p := req.URL.Path
	if req.Method != http.MethodGet && strings.HasPrefix(p, "/v1/") && !strings.HasSuffix(p, "/getDefinition") {
		w.check(req.Method + " " + p)
	}
	return w.base.RoundTrip(req)
}

func (w *intentWatch) check(call string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls++
	open := false
	st := statestore.NewLocal(w.stateDir)
	if runs, err := journal.List(context.Background(), st); err == nil && len(runs) > 0 {
		recs, _ := journal.Read(context.Background(), st, runs[len(runs)-1].ID)
		last := map[string]journal.Type{}
		for _, r := range recs {
			switch r.Type {
			case journal.Intent, journal.Done, journal.Failed:
				last[r.Step] = r.Type
			}
		}
		for _, t := range last {
			open = open || t == journal.Intent
		}
	}
	if !open {
		w.unannounced = append(w.unannounced, call)
	}
}

// intentClient starts an emulator and returns a client of it whose every mutating call is checked
// against the journals in the state directory it returns.
func intentClient(t *testing.T) (*fabric.Client, *intentWatch, string) {
	emu, err := emulator.Start(emulator.Options{Dir: t.TempDir(), ImmediateTypes: ItemTypes})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	stateDir := t.TempDir()
	watch := &intentWatch{base: emu.HTTPClient().Transport, stateDir: stateDir}
	id, secret := emu.ServicePrincipal()
	cred, err := fabric.NewCredential(fabric.AuthConfig{TenantID: emu.TenantID(), ClientID: id, ClientSecret: secret,
		AuthorityHost: emu.AuthorityHost(), HTTPClient: emu.HTTPClient()})
	if err != nil {
		t.Fatal(err)
	}
	client, err := fabric.New(fabric.Config{BaseURL: emu.FabricURL(), Credential: cred,
		HTTPClient: &http.Client{Transport: watch}, NoRetry: true})
	if err != nil {
		t.Fatal(err)
	}
	return client, watch, stateDir
}

// Every builtin journals its intent, synced, before its first mutating call: creates, updates,
// replaces (a Git connection re-pointed), role and capacity changes, and prune deletes.
func TestEveryMutatingCallFollowsItsIntentOnDisk(t *testing.T) {
	client, watch, stateDir := intentClient(t)
	plan := func(v, role, branch string, old bool) string {
		s := fmt.Sprintf(`
ws = fabric.workspace(name = "w", description = %[1]q, capacity = fabric.capacity(name = "demo-capacity"), prune = True)
fabric.role_assignment(workspace = ws, principal = principal.user(id = %[2]q), role = %[3]q)
f = fabric.folder(workspace = ws, name = "etl")
fabric.item(workspace = ws, type = "Notebook", name = "nb", folder = f, description = %[1]q,
            definition = fabric.definition(path = %[1]q))
fabric.git_connection(workspace = ws, provider = "AzureDevOps", organization = "o", project = "p", repository = "r",
                      branch = %[4]q, connection_id = %[5]q, initialize = "PreferWorkspace")
`, v, emulator.DefaultUserID, role, branch, emulator.DefaultConnectionID)
		if old {
			s += `fabric.item(workspace = ws, type = "Notebook", name = "old")` + "\n"
		}
		return s
	}
	dir := writeTree(t, map[string]string{
		"v1.star":                "# v1\n" + plan("v1", "Viewer", "main", true),
		"v2.star":                "# v2\n" + plan("v2", "Member", "dev", false),
		"v1/notebook-content.py": "# Fabric notebook source\nprint(1)\n",
		"v2/notebook-content.py": "# Fabric notebook source\nprint(2)\n",
	})
	for _, v := range []string{"v1.star", "v2.star"} {
		if err := deploy(t, client, stateDir, filepath.Join(dir, v), 1); err != nil {
			t.Fatalf("%s: %v", v, err)
		}
	}
	t.Logf("%d mutating calls", watch.calls)
	if watch.calls < 10 {
		t.Fatalf("only %d mutating calls seen; the plans no longer exercise the builtins", watch.calls)
	}
	if len(watch.unannounced) > 0 {
		t.Errorf("mutating calls with no open intent on disk:\n%s", strings.Join(watch.unannounced, "\n"))
	}
}
