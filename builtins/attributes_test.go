package builtins

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fabplan/fabplan/emulator"
	"github.com/fabplan/fabplan/engine"
)

// Only the objects whose attributes the plan reads pay for reading them: one type-specific GET per
// such item at refresh and after create, none for the others.
func TestAttributesReadOnlyWhenUsed(t *testing.T) {
	emu, client := startEmulator(t, emulator.Options{})
	dir := t.TempDir()
	plan := filepath.Join(dir, "plan.star")
	os.MkdirAll(filepath.Join(dir, "nb.Notebook"), 0o755)
	os.WriteFile(filepath.Join(dir, "nb.Notebook", "notebook-content.py"), []byte("x = '{{EP}}'\n"), 0o644)
	os.WriteFile(plan, []byte(`ws = fabric.workspace(name = "w")
used = fabric.item(workspace = ws, type = "Lakehouse", name = "used")
fabric.item(workspace = ws, type = "Lakehouse", name = "unused")
fabric.item(workspace = ws, type = "Notebook", name = "nb",
    definition = fabric.definition(path = "nb.Notebook", replace = {"{{EP}}": used.sql_endpoint_id}))
`), 0o644)
	lakeGets := func() (n int) {
		for _, r := range emu.Requests() {
			if r.Method == "GET" && strings.Contains(r.Path, "/lakehouses/") {
				n++
			}
		}
		return n
	}
	if err := deploy(t, client, t.TempDir(), plan, 4); err != nil {
		t.Fatal(err)
	}
	if n := lakeGets(); n != 1 {
		t.Fatalf("apply read lakehouse properties %d times, want once (the used one, after create)", n)
	}
	g, err := Evaluate(context.Background(), EvalOptions{File: plan})
	if err != nil {
		t.Fatal(err)
	}
	p, err := engine.Refresh(context.Background(), g, engine.NewRuntime(client), 4)
	if err != nil {
		t.Fatal(err)
	}
	if n := lakeGets(); n != 2 {
		t.Fatalf("refresh read lakehouse properties %d times in all, want 2", n)
	}
	if p.HasChanges() {
		t.Fatalf("refresh after apply plans changes: %+v", p.Changes)
	}
	for _, c := range p.Changes {
		if strings.HasSuffix(string(c.Addr), "Lakehouse.used") && (len(c.Live.Outputs["sql_endpoint_id"]) != 36) {
			t.Fatalf("refresh outputs of the used lakehouse: %v", c.Live.Outputs)
		}
	}
}

// Reading an attribute a handle does not have stops evaluation at that line, listing the ones it has.
func TestUnknownAttributeNamesLineAndChoices(t *testing.T) {
	dir := t.TempDir()
	plan := filepath.Join(dir, "plan.star")
	os.WriteFile(plan, []byte("ws = fabric.workspace(name = \"w\")\nwh = fabric.item(workspace = ws, type = \"Warehouse\", name = \"wh\")\n"+
		"x = wh.sql_endpoint_id\n"), 0o644)
	_, err := Evaluate(context.Background(), EvalOptions{File: plan, Offline: true})
	want := plan + `:3:7: item(workspace.w/item.Warehouse.wh) has no attribute "sql_endpoint_id"; a Warehouse has: address, ` +
		`connection_string, id, name, type, workspace (sql_endpoint_id is an attribute of Lakehouse, MirroredDatabase)`
	if err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
}
