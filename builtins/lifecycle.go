package builtins

import (
	"fmt"
	"slices"
	"strings"

	"go.starlark.net/starlark"

	"github.com/fabplan/fabplan/engine"
)

// Lifecycle options: every builtin that declares resources (one with undo operations) takes them,
// added here to its Spec, checked and recorded in the one registration path (wrap), and carried
// out by the engine for every kind alike.

// declaresResources reports whether a builtin declares resources fabplan changes.
func declaresResources(b builtin) bool {
	_, ok := b.(undoer)
	return ok
}

// specOf is a builtin's Spec as plans see it: its own parameters, then the lifecycle options when
// it declares resources.
func specOf(b builtin) Spec {
	s := b.Spec()
	if !declaresResources(b) {
		return s
	}
	which := "none for this kind"
	if len(s.Updatable) > 0 {
		which = strings.Join(s.Updatable, ", ")
	}
	s.Params = append(slices.Clone(s.Params),
		Param{Name: "ignore_changes", Type: "list", Doc: "Attributes (as plans show them; " + which +
			") whose live value is kept once the object exists: a change made outside fabplan is not planned back. A create still sets them."},
		Param{Name: "prevent_destroy", Type: "bool", Doc: "True: refuse any plan that would delete the object: a replace, or a prune once the declaration is removed (until a run declares it without prevent_destroy). Rolling back a run that created it still deletes it."},
	)
	return s
}

// lifecycle reads a call's lifecycle options; problems (an attribute the kind does not have) are
// reported with the call's position.
func (c *call) lifecycle() (engine.Lifecycle, []string) {
	l := engine.Lifecycle{PreventDestroy: c.boolean("prevent_destroy")}
	names, err := stringList(c.value("ignore_changes"))
	if err != nil {
		return l, []string{fmt.Sprintf("%s: ignore_changes: %v", c.spec.Name, err)}
	}
	var problems []string
	allowed := c.spec.Updatable
	for _, n := range names {
		if !slices.Contains(allowed, n) {
			choose := "it has none"
			if len(allowed) > 0 {
				choose = "choose from " + strings.Join(allowed, ", ")
			}
			problems = append(problems, fmt.Sprintf("%s: ignore_changes: %q is not an attribute %s changes; %s%s",
				c.spec.Name, n, c.spec.Name, choose, suggest(n, allowed)))
			continue
		}
		l.IgnoreChanges = append(l.IgnoreChanges, n)
	}
	return l, problems
}

// recordLifecycle attaches a call's lifecycle options to the resource its handle names.
func (ev *evaluation) recordLifecycle(c *call, v starlark.Value) {
	if !c.has("ignore_changes") && !c.has("prevent_destroy") {
		return
	}
	l, problems := c.lifecycle()
	for _, msg := range problems {
		ev.diags = append(ev.diags, engine.Diagnostic{Pos: c.pos, Message: msg})
	}
	if h, ok := v.(*Handle); ok && h.addr != "" {
		ev.graph.SetLifecycle(h.addr, l)
	}
}
