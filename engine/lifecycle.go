package engine

import (
	"fmt"
	"slices"
	"strings"

	"github.com/fabplan/fabplan/engine/journal"
)

// Lifecycle are the options every resource takes besides its own (lifecycle options in plans):
// attributes whose live value wins over the plan's once the object exists, and a refusal to
// delete the object.
type Lifecycle struct {
	// IgnoreChanges names attributes (as plans show them) that refresh never plans to change on
	// an object that exists: drift in them is left as it is. A create still sends them.
	IgnoreChanges []string
	// PreventDestroy refuses any plan that would delete the object, by replace or otherwise.
	PreventDestroy bool
}

// SetLifecycle records the lifecycle options of a resource.
func (g *Graph) SetLifecycle(a Addr, l Lifecycle) {
	if g.lifecycles == nil {
		g.lifecycles = map[Addr]Lifecycle{}
	}
	g.lifecycles[a] = l
}

// Lifecycle returns the lifecycle options of a resource (of the whole plan under --target).
func (g *Graph) Lifecycle(a Addr) Lifecycle {
	if g.whole != nil {
		return g.whole.Lifecycle(a)
	}
	return g.lifecycles[a]
}

// ignoreChanges leaves the ignored attributes of an existing object's change as they are live: their
// new value becomes the old one, marked Ignored, and a change left with nothing else to do is a
// no-op.
func (l Lifecycle) ignoreChanges(ch Change) Change {
	if len(l.IgnoreChanges) == 0 || ch.Action == Create || ch.Action == Delete || ch.Action == Read {
		return ch
	}
	attrs := slices.Clone(ch.Attrs)
	ignored := false
	for i, a := range attrs {
		if slices.Contains(l.IgnoreChanges, a.Name) && a.Changed() {
			attrs[i].New, attrs[i].Unknown, attrs[i].Parts, attrs[i].Ignored = a.Old, false, nil, true
			attrs[i].ForcesReplace = false
			ignored = true
		}
	}
	ch.Attrs = attrs
	// A change made only of ignored attributes is none; one with other reasons (other attributes,
	// a connection left half-initialized) keeps its action.
	if ignored && (ch.Action == Update || ch.Action == Replace) &&
		!slices.ContainsFunc(attrs, func(a AttrChange) bool { return a.Changed() }) {
		ch.Action, ch.Reason = NoOp, ""
	}
	return ch
}

// Wants reports whether applying the change is to set an attribute: it is in the change, differs
// from live and is not ignored (ignore_changes). Apply functions ask it before each update call,
// so that what ignore_changes keeps is never sent.
func (c *Change) Wants(name string) bool {
	for _, a := range c.Attrs {
		if a.Name == name {
			return a.Changed() && !a.Ignored
		}
	}
	return false
}

// protectedDeletes returns a diagnostic for each change that would delete an object whose plan
// says prevent_destroy=True, or that a committed run protected and the plan no longer declares
// (prune).
func protectedDeletes(g *Graph, p *Plan, rt *Runtime) Diagnostics {
	var ds Diagnostics
	for _, c := range p.Changes {
		if c.Action == Delete && c.ID != "" && rt.Protected[c.ID] && !g.Lifecycle(c.Addr).PreventDestroy {
			ds = append(ds, Diagnostic{Pos: c.Pos, Message: fmt.Sprintf(
				"%s was declared with prevent_destroy=True when fabplan last ran a plan declaring it; prune would delete it now "+
					"that the plan no longer does. Declare it again, or run the plan once with it declared without prevent_destroy, "+
					"then remove it", c.Addr)})
			continue
		}
		if c.Action != Delete && c.Action != Replace || !g.Lifecycle(c.Addr).PreventDestroy {
			continue
		}
		why := "delete it"
		if c.Action == Replace {
			why = "replace it (delete, then create)"
		}
		if c.Reason != "" {
			why += ": " + c.Reason
		}
		ds = append(ds, Diagnostic{Pos: c.Pos, Message: fmt.Sprintf(
			"%s has prevent_destroy=True, but the plan would %s; change the plan so it keeps the object, or remove prevent_destroy if it is meant to go",
			c.Addr, strings.TrimSuffix(why, "."))})
	}
	return ds
}

// CommitRecord is the journal record that ends a run whose changes stand. It carries the
// protection the plan gives: the ids of the objects it declares with prevent_destroy=True, and of
// those an earlier run protected that it now declares without, so that prune keeps protecting
// an object after its declaration is removed, until a plan releases it.
func CommitRecord(g *Graph, p *Plan, rt *Runtime) journal.Record {
	rec := journal.Record{Type: journal.Commit}
	for _, c := range p.Changes {
		if c.Action == Delete || c.Action == Read {
			continue // a prune, or an object the plan only reads
		}
		id := rt.ID(c.Addr)
		if id == "" {
			id = c.ID
		}
		if id == "" {
			continue
		}
		switch {
		case g.Lifecycle(c.Addr).PreventDestroy:
			rec.Protected = append(rec.Protected, id)
		case rt.Protected[id]:
			rec.Released = append(rec.Released, id)
		}
	}
	return rec
}
