package view

import (
	"bytes"
	"strings"
	"testing"

	"github.com/fabplan/fabplan/engine"
	"github.com/fabplan/fabplan/fabric"
)

// The kinds no script produces yet (replace, delete of a pruned item, sensitive values, binary
// parts) are drawn here from a plan built by hand.
func TestPlanEveryAction(t *testing.T) {
	pos := engine.Pos{File: "p.star", Line: 4, Col: 1}
	live := []fabric.Part{{Path: "logo.png", Payload: []byte{0x89, 0, 1}}, {Path: "gone.sql", Payload: []byte("select 1\n")}}
	plan := []fabric.Part{{Path: "logo.png", Payload: []byte{0x89, 0, 2, 3}}}
	p := &engine.Plan{
		Changes: []engine.Change{
			{Addr: "workspace.w", Kind: "workspace", Action: engine.NoOp, Pos: pos, Attrs: []engine.AttrChange{{Name: "name", Old: "w", New: "w"}}},
			{Addr: "workspace.w/git", Kind: "git_connection", Action: engine.Replace, Pos: pos, Reason: "provider cannot change in place",
				Attrs: []engine.AttrChange{
					{Name: "branch", Old: "main", New: "main"},
					{Name: "provider", Old: "GitHub", New: "AzureDevOps", ForcesReplace: true},
					{Name: "token", Old: "old-secret", New: "new-secret", Sensitive: true},
				}},
			{Addr: "workspace.w/item.Report.r", Kind: "item", Action: engine.Update, Pos: pos,
				Attrs: []engine.AttrChange{{Name: "definition", Old: engine.DefinitionDigest(live), New: engine.DefinitionDigest(plan), Parts: engine.DiffParts(live, plan)}}},
			{Addr: "workspace.w/item.Notebook.old", Kind: "item", Action: engine.Delete, Reason: "pruned: created by fabplan, no longer declared",
				Attrs: []engine.AttrChange{{Name: "name", Old: "old"}}},
		},
		Unmanaged: []engine.Unmanaged{{Addr: "workspace.w/item.Notebook.scratch", Workspace: "workspace.w", Kind: "item", Type: "Notebook", Name: "scratch", Reason: "not created by fabplan"}},
	}
	var buf bytes.Buffer
	Plan(&buf, p, PlanOptions{})
	want := `-/+ workspace.w/git (git_connection replace, p.star:4:1) # provider cannot change in place
      provider: "GitHub" -> "AzureDevOps" # forces replacement
      token: (sensitive) -> (sensitive)
      # (1 unchanged attribute hidden)
~   workspace.w/item.Report.r (item update, p.star:4:1)
      definition: "` + engine.DefinitionDigest(live) + `" -> "` + engine.DefinitionDigest(plan) + `"
        - gone.sql
            --- live/gone.sql
            +++ plan/gone.sql
            @@ -1 +0,0 @@
            -select 1
        ~ logo.png (binary): 3 bytes sha256:` + sha(live[0]) + ` -> 4 bytes sha256:` + sha(plan[0]) + `
-   workspace.w/item.Notebook.old (item delete, not declared) # pruned: created by fabplan, no longer declared
      name = "old"
Not managed (in a workspace of the plan, but not declared by it; left as they are):
    workspace.w/item.Notebook.scratch (not created by fabplan)
Plan: 0 to add, 1 to change, 1 to replace, 1 to destroy.
`
	if buf.String() != want {
		t.Errorf("plan:\n%s\nwant:\n%s", buf.String(), want)
	}
	if strings.Contains(buf.String(), "secret") {
		t.Error("a sensitive value was printed")
	}
}

func sha(p fabric.Part) string {
	return engine.PlannedParts([]fabric.Part{p})[0].New.SHA256[:12]
}

func TestPlanColour(t *testing.T) {
	p := &engine.Plan{Changes: []engine.Change{{Addr: "workspace.w", Kind: "workspace", Action: engine.Create,
		Attrs: []engine.AttrChange{{Name: "name", New: "w"}}}}}
	var plain, coloured bytes.Buffer
	Plan(&plain, p, PlanOptions{})
	Plan(&coloured, p, PlanOptions{Styles: NewStyles(true)})
	if strings.Contains(plain.String(), "\x1b[") {
		t.Errorf("colour without a terminal: %q", plain.String())
	}
	if !strings.Contains(coloured.String(), "\x1b[32m+  \x1b[0m workspace.w") {
		t.Errorf("no green + on a terminal: %q", coloured.String())
	}
}
