package drift

import (
	"fmt"
	"slices"
	"strings"

	"github.com/fabplan/fabplan/engine"
)

// Policy says which kinds of change a reconcile may apply. The zero Policy allows nothing.
type Policy struct{ allow []engine.Action }

// DefaultPolicy applies updates in place only: it never creates, replaces or deletes, so that a
// reconcile cannot destroy data or undo a deliberate removal.
var DefaultPolicy = Policy{allow: []engine.Action{engine.Update}}

// ParsePolicy reads a --reconcile-policy value: a comma-separated list of create, update, replace
// and delete, or all.
func ParsePolicy(s string) (Policy, error) {
	var p Policy
	for _, w := range strings.Split(s, ",") {
		w = strings.TrimSpace(w)
		var as []engine.Action
		switch w {
		case "all":
			as = []engine.Action{engine.Create, engine.Update, engine.Replace, engine.Delete}
		case "create":
			as = []engine.Action{engine.Create}
		case "update":
			as = []engine.Action{engine.Update}
		case "replace":
			as = []engine.Action{engine.Replace}
		case "delete":
			as = []engine.Action{engine.Delete}
		default:
			return Policy{}, fmt.Errorf("--reconcile-policy %q: %q is not create, update, replace, delete or all", s, w)
		}
		for _, a := range as {
			if !slices.Contains(p.allow, a) {
				p.allow = append(p.allow, a)
			}
		}
	}
	slices.Sort(p.allow)
	return p, nil
}

// Allows reports whether the policy applies changes of this action.
func (p Policy) Allows(a engine.Action) bool { return slices.Contains(p.allow, a) }

func (p Policy) String() string {
	var ws []string
	for _, a := range p.allow {
		ws = append(ws, a.String())
	}
	return strings.Join(ws, ",")
}

// allowed lists the addresses of the document's changes the policy applies, and of those it holds
// back for a person.
func (p Policy) split(d *engine.Document) (allowed, held []engine.Addr) {
	for _, c := range d.Changes {
		switch {
		case !c.Action.Mutates():
		case p.Allows(c.Action):
			allowed = append(allowed, c.Address)
		default:
			held = append(held, c.Address)
		}
	}
	return allowed, held
}

// Limit makes every change the policy does not allow a no-op, in place, so that applying the plan
// makes only the allowed ones. The change stays in the plan (with its live id) rather than being
// dropped: dependents of a held-back replace still find the object they depend on.
func (p Policy) Limit(plan *engine.Plan) (applied, held []engine.Addr) {
	for i := range plan.Changes {
		c := &plan.Changes[i]
		switch {
		case !c.Action.Mutates():
		case p.Allows(c.Action):
			applied = append(applied, c.Addr)
		default:
			held = append(held, c.Addr)
			c.Action, c.Attrs, c.Reason = engine.NoOp, nil, ""
		}
	}
	return applied, held
}
