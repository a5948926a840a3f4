package builtins

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fabplan/fabplan/emulator"
	"github.com/fabplan/fabplan/engine"
	"github.com/fabplan/fabplan/engine/journal"
	"github.com/fabplan/fabplan/fabric"
	statestore "github.com/fabplan/fabplan/state"
)

// startEmulator starts an in-process emulator and a client signed in as its service principal,
// through the real azidentity path.
func startEmulator(tb testing.TB, opts emulator.Options) (*emulator.Emulator, *fabric.Client) {
	tb.Helper()
	opts.Dir = tb.TempDir()
	emu, err := emulator.Start(opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { emu.Close() })
	id, secret := emu.ServicePrincipal()
	cred, err := fabric.NewCredential(fabric.AuthConfig{TenantID: emu.TenantID(), ClientID: id, ClientSecret: secret,
		AuthorityHost: emu.AuthorityHost(), HTTPClient: emu.HTTPClient()})
	if err != nil {
		tb.Fatal(err)
	}
	client, err := fabric.New(fabric.Config{BaseURL: emu.FabricURL(), Credential: cred, HTTPClient: emu.HTTPClient(), NoRetry: true})
	if err != nil {
		tb.Fatal(err)
	}
	return emu, client
}

// deploy evaluates and applies a plan, rolling back on failure, as `fabplan run` does.
func deploy(tb testing.TB, client *fabric.Client, stateDir, plan string, parallelism int) error {
	tb.Helper()
	return deployBetween(tb, client, stateDir, plan, parallelism, nil)
}

// deployBetween is deploy with between (when not nil) run after refresh and before apply: where
// another actor's change races the run.
func deployBetween(tb testing.TB, client *fabric.Client, stateDir, plan string, parallelism int, between func()) error {
	tb.Helper()
	g, err := Evaluate(context.Background(), EvalOptions{File: plan})
	if err != nil {
		tb.Fatal(err)
	}
	owned, err := journal.Owned(context.Background(), statestore.NewLocal(stateDir))
	if err != nil {
		tb.Fatal(err)
	}
	rt := engine.NewRuntime(client)
	rt.Owned = owned
	p, err := engine.Refresh(context.Background(), g, rt, parallelism)
	if err != nil {
		return err
	}
	if between != nil {
		between()
	}
	runs, _ := journal.List(context.Background(), statestore.NewLocal(stateDir))
	j, err := journal.Create(context.Background(), statestore.NewLocal(stateDir), fmt.Sprintf("run%03d", len(runs)), plan, "test")
	if err != nil {
		tb.Fatal(err)
	}
	defer j.Close()
	return engine.Apply(context.Background(), g, p, rt, engine.ApplyOptions{Parallelism: parallelism, Journal: j, Undo: UndoRegistry()})
}

func state(tb testing.TB, emu *emulator.Emulator) []byte {
	tb.Helper()
	b, err := emu.State()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

const multiWorkspacePlan = `
cap = fabric.capacity(name = "demo-capacity")
for w in ["sales", "finance"]:
    ws = fabric.workspace(name = w, description = "the " + w + " estate", capacity = cap)
    fabric.role_assignment(workspace = ws, principal = principal.user(id = %q), role = "Contributor")
    f = fabric.folder(workspace = ws, name = "etl")
    lake = fabric.item(workspace = ws, type = "Lakehouse", name = "lake")
    fabric.item(workspace = ws, type = "Notebook", name = "load", folder = f, depends_on = [lake],
                definition = fabric.definition(path = "nb"))
`

// TestFailureAtEachStepRestoresState fails each mutating call of a multi-workspace plan in turn;
// after the rollback the emulator's state must equal its state before the run.
func TestFailureAtEachStepRestoresState(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"plan.star":              fmt.Sprintf(multiWorkspacePlan, emulator.DefaultUserID),
		"nb/notebook-content.py": "# Fabric notebook source\nprint(1)\n",
	})
	plan := filepath.Join(dir, "plan.star")
	steps := []struct {
		path  string
		count int
	}{
		{"/v1/workspaces", 2},
		{"/v1/workspaces/*/roleAssignments", 2},
		{"/v1/workspaces/*/folders", 2},
		{"/v1/workspaces/*/items", 4},
	}
	for _, s := range steps {
		for n := 1; n <= s.count; n++ {
			t.Run(fmt.Sprintf("%s#%d", s.path, n), func(t *testing.T) {
				emu, client := startEmulator(t, emulator.Options{ImmediateTypes: ItemTypes})
				before := state(t, emu)
				if err := emu.AddFault(emulator.FaultRule{Method: "POST", Path: s.path, Nth: n, Status: 400, ErrorCode: "InvalidInput"}); err != nil {
					t.Fatal(err)
				}
				err := deploy(t, client, t.TempDir(), plan, 4)
				var ae *engine.ApplyError
				if !errAs(err, &ae) || ae.Rollback == nil || !ae.Rollback.OK() {
					t.Fatalf("want a failed, fully rolled back run; got %v", err)
				}
				if after := state(t, emu); !bytes.Equal(after, before) {
					t.Errorf("state after rollback differs from before the run:\nbefore %s\nafter  %s", before, after)
				}
			})
		}
	}
}

// TestRolledBackUpdateRestoresDefinitionsByteForByte updates a definition and a description in a
// run that then fails: rollback must put back the old parts exactly.
func TestRolledBackUpdateRestoresDefinitionsByteForByte(t *testing.T) {
	oldNB := "# Fabric notebook source\r\n# CELL\r\nprint('v1')  \n\n"
	dir := writeTree(t, map[string]string{
		"v1.star":                   "ws = fabric.workspace(name = \"w\")\nfabric.item(workspace = ws, type = \"Notebook\", name = \"nb\", description = \"v1\", definition = fabric.definition(path = \"v1\"))\n",
		"v2.star":                   "ws = fabric.workspace(name = \"w\")\nnb = fabric.item(workspace = ws, type = \"Notebook\", name = \"nb\", description = \"v2\", definition = fabric.definition(path = \"v2\"))\nfabric.item(workspace = ws, type = \"Notebook\", name = \"later\", depends_on = [nb])\n",
		"v1/notebook-content.py":    oldNB,
		"v2/notebook-content.py":    "# Fabric notebook source\nprint('v2')\n",
		"v2/extra/resources/a.json": `{"b": 1, "a": 2}`,
	})
	emu, client := startEmulator(t, emulator.Options{ImmediateTypes: ItemTypes})
	stateDir := t.TempDir()
	if err := deploy(t, client, stateDir, filepath.Join(dir, "v1.star"), 4); err != nil {
		t.Fatal(err)
	}
	before := state(t, emu)
	emu.AddFault(emulator.FaultRule{Method: "POST", Path: "/v1/workspaces/*/items", Nth: 1, Status: 400, ErrorCode: "InvalidInput"})
	if err := deploy(t, client, stateDir, filepath.Join(dir, "v2.star"), 4); err == nil {
		t.Fatal("v2 should fail at the later item")
	}
	if after := state(t, emu); !bytes.Equal(after, before) {
		t.Errorf("state differs after rollback:\nbefore %s\nafter  %s", before, after)
	}
	ws, _, err := client.FindWorkspace(context.Background(), "w")
	if err != nil {
		t.Fatal(err)
	}
	it, _, err := client.FindItem(context.Background(), ws.ID, "Notebook", "nb")
	if err != nil {
		t.Fatal(err)
	}
	def, err := client.GetItemDefinition(context.Background(), ws.ID, it.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	var got []byte
	var paths []string
	for _, p := range def.Parts {
		paths = append(paths, p.Path)
		if p.Path == "notebook-content.py" {
			got = p.Payload
		}
	}
	if !bytes.Equal(got, []byte(oldNB)) {
		t.Errorf("restored notebook = %q, want %q (parts %v)", got, oldNB, paths)
	}
	if it.Description != "v1" {
		t.Errorf("description = %q, want v1", it.Description)
	}
}

// TestEveryBuiltinIsIdempotent applies a plan using every resource builtin, then applies it again:
// the second run must plan no change and send no mutating request.
func TestEveryBuiltinIsIdempotent(t *testing.T) {
	gitPart := fmt.Sprintf(`
gws = fabric.workspace(name = "git-managed", capacity = cap)
fabric.role_assignment(workspace = gws, principal = principal.group(id = %q), role = "Viewer")
sub = fabric.folder(workspace = gws, name = "child", parent = fabric.folder(workspace = gws, name = "parent"))
fabric.item(workspace = gws, type = "DataPipeline", name = "copy", folder = sub)
fabric.git_connection(workspace = gws, provider = "AzureDevOps", organization = "o", project = "p", repository = "r",
                      branch = "main", connection_id = %q, initialize = "PreferWorkspace")
`, emulator.DefaultGroupID, emulator.DefaultConnectionID)
	dir := writeTree(t, map[string]string{
		"plan.star":              fmt.Sprintf(multiWorkspacePlan, emulator.DefaultUserID) + gitPart,
		"nb/notebook-content.py": "# Fabric notebook source\nprint(1)\n",
	})
	emu, client := startEmulator(t, emulator.Options{ImmediateTypes: ItemTypes})
	stateDir := t.TempDir()
	plan := filepath.Join(dir, "plan.star")
	if err := deploy(t, client, stateDir, plan, 8); err != nil {
		t.Fatal(err)
	}
	mutating := func() int {
		n := 0
		for _, r := range emu.Requests() {
			if r.Method != "GET" && !bytes.HasSuffix([]byte(r.Path), []byte("/getDefinition")) && bytes.HasPrefix([]byte(r.Path), []byte("/v1/")) {
				n++
			}
		}
		return n
	}
	first := mutating()
	g, err := Evaluate(context.Background(), EvalOptions{File: plan})
	if err != nil {
		t.Fatal(err)
	}
	p, err := engine.Refresh(context.Background(), g, engine.NewRuntime(client), 8)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range p.Changes {
		if c.Action.Mutates() {
			t.Errorf("second plan wants to %s %s: %+v", c.Action, c.Addr, c.Attrs)
		}
	}
	if err := deploy(t, client, stateDir, plan, 8); err != nil {
		t.Fatal(err)
	}
	if n := mutating(); n != first {
		t.Errorf("the second run sent %d mutating request(s)", n-first)
	}
}

func errAs(err error, target **engine.ApplyError) bool { return errors.As(err, target) }

// TestRolledBackUpdatesRestoreRoleAndCapacity changes a role and moves a workspace to another
// capacity in a run that then fails: rollback must put back the old role and capacity.
func TestRolledBackUpdatesRestoreRoleAndCapacity(t *testing.T) {
	fx := emulator.DefaultFixtures()
	second := fx.Capacities[0]
	second.ID, second.DisplayName = "5e6f7a8b-0000-4000-8000-0000000ca9a2", "second-capacity"
	fx.Capacities = append(fx.Capacities, second)
	plan := func(capacity, role string) string {
		return fmt.Sprintf(`
ws = fabric.workspace(name = "w", capacity = fabric.capacity(name = %q))
ra = fabric.role_assignment(workspace = ws, principal = principal.user(id = %q), role = %q)
fabric.item(workspace = ws, type = "Notebook", name = "later")
`, capacity, emulator.DefaultUserID, role)
	}
	dir := writeTree(t, map[string]string{
		"v1.star": plan("demo-capacity", "Viewer"),
		"v2.star": plan("second-capacity", "Member"),
	})
	emu, client := startEmulator(t, emulator.Options{ImmediateTypes: ItemTypes, Fixtures: fx})
	stateDir := t.TempDir()
	v1 := filepath.Join(dir, "v1.star")
	// v1 without its item, so that v2's only create is the one that fails.
	os.WriteFile(v1, []byte(strings.Replace(plan("demo-capacity", "Viewer"), `fabric.item(workspace = ws, type = "Notebook", name = "later")`, "", 1)), 0o644)
	if err := deploy(t, client, stateDir, v1, 4); err != nil {
		t.Fatal(err)
	}
	before := state(t, emu)
	for _, want := range []string{`"Viewer"`, `"demo-capacity"`} {
		if !bytes.Contains(before, []byte(want)) {
			t.Fatalf("the emulator state does not show %s, so it cannot prove the restore:\n%s", want, before)
		}
	}
	emu.AddFault(emulator.FaultRule{Method: "POST", Path: "/v1/workspaces/*/items", Nth: 1, Status: 400, ErrorCode: "InvalidInput"})
	err := deploy(t, client, stateDir, filepath.Join(dir, "v2.star"), 1)
	var ae *engine.ApplyError
	if !errAs(err, &ae) || !ae.Rollback.OK() || ae.Rollback.Undone != 2 {
		t.Fatalf("want v2 to fail and roll back the role and capacity changes, got %v", err)
	}
	if after := state(t, emu); !bytes.Equal(after, before) {
		t.Errorf("state differs after rollback:\nbefore %s\nafter  %s", before, after)
	}
}
