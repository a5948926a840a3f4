package engine

import (
	"strings"
	"testing"
)

func TestIgnoreChanges(t *testing.T) {
	l := Lifecycle{IgnoreChanges: []string{"description"}}
	drift := Change{Action: Update, Attrs: []AttrChange{{Name: "name", Old: "n", New: "n"},
		{Name: "description", Old: "portal", New: "plan"}}}
	got := l.ignoreChanges(drift)
	if got.Action != NoOp || got.Attrs[1].New != "portal" || !got.Attrs[1].Ignored || got.Wants("description") {
		t.Fatalf("only ignored drift: %+v", got)
	}
	if drift.Attrs[1].New != "plan" {
		t.Fatal("ignoreChanges changed its argument")
	}
	both := Change{Action: Update, Attrs: []AttrChange{{Name: "description", Old: "portal", New: "plan"},
		{Name: "definition", Old: "sha256:a", New: "sha256:b"}}}
	got = l.ignoreChanges(both)
	if got.Action != Update || got.Wants("description") || !got.Wants("definition") {
		t.Fatalf("ignored and managed drift: %+v", got)
	}
	create := Change{Action: Create, Attrs: []AttrChange{{Name: "description", New: "plan"}}}
	if got = l.ignoreChanges(create); got.Attrs[0].New != "plan" || got.Attrs[0].Ignored {
		t.Fatalf("a create must still send ignored attributes: %+v", got)
	}
	// A change with another reason than its attributes keeps its action.
	other := Change{Action: Update, Reason: "the connection is not initialized", Attrs: []AttrChange{{Name: "branch", Old: "b", New: "b"}}}
	if got = (Lifecycle{IgnoreChanges: []string{"branch"}}).ignoreChanges(other); got.Action != Update {
		t.Fatalf("update for another reason became %s", got.Action)
	}
}

func TestPreventDestroyRefusesDeleteAndReplace(t *testing.T) {
	g := NewGraph()
	g.SetLifecycle("a", Lifecycle{PreventDestroy: true})
	g.SetLifecycle("b", Lifecycle{PreventDestroy: true})
	p := &Plan{Changes: []Change{
		{Addr: "a", Action: Replace, Reason: "the branch changed", Pos: Pos{File: "p.star", Line: 3, Col: 1}},
		{Addr: "b", Action: Update},
		{Addr: "c", Action: Delete},
	}}
	ds := protectedDeletes(g, p, NewRuntime(nil))
	if len(ds) != 1 || !strings.HasPrefix(ds.Error(), "p.star:3:1: a has prevent_destroy=True, but the plan would replace it") {
		t.Fatalf("got %v", ds)
	}
	sub, _ := g.Subgraph(nil)
	if !sub.Lifecycle("a").PreventDestroy {
		t.Fatal("a --target subgraph lost the lifecycle")
	}
}
