package engine

import "encoding/json"

// Action is what a change does. The symbols are what users see.
type Action int

const (
	NoOp    Action = iota // live state already matches the plan
	Read                  // a lookup (capacity, principal) resolved against live state
	Create                // +
	Update                // ~ in place
	Replace               // -/+
	Delete                // -
)

var actionNames = [...]string{"no-op", "read", "create", "update", "replace", "delete"}
var actionSymbols = [...]string{" ", "<=", "+", "~", "-/+", "-"}

func (a Action) String() string { return actionNames[a] }

// Symbol is the prefix shown in plans: + ~ -/+ - <=.
func (a Action) Symbol() string { return actionSymbols[a] }

// Mutates reports whether applying the action changes anything in Fabric.
func (a Action) Mutates() bool { return a >= Create }

// MarshalText writes the action's name; JSON plans carry names, never numbers.
func (a Action) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText reads an action name.
func (a *Action) UnmarshalText(b []byte) error {
	for i, n := range actionNames {
		if n == string(b) {
			*a = Action(i)
			return nil
		}
	}
	return &json.UnsupportedValueError{Str: string(b)}
}

// AttrChange is one attribute of a change.
type AttrChange struct {
	Name string `json:"name"`
	Old  string `json:"old,omitempty"`
	New  string `json:"new,omitempty"`
	// Unknown means the new value is known only after apply (an id).
	Unknown bool `json:"unknown,omitempty"`
	// Sensitive values are never shown.
	Sensitive bool `json:"sensitive,omitempty"`
	// ForcesReplace marks the attribute whose change makes the resource a Replace.
	ForcesReplace bool `json:"forces_replace,omitempty"`
	// Ignored marks an attribute whose live value differs from the plan's but is kept
	// (ignore_changes): Old holds the live value, New the same.
	Ignored bool `json:"ignored,omitempty"`
	// Parts are the per-part differences of a definition attribute (see DiffParts).
	Parts []PartDiff `json:"parts,omitempty"`
}

// Changed reports whether the attribute differs.
func (c AttrChange) Changed() bool { return c.Old != c.New || c.Unknown }

// Change is what the plan will do to one resource.
type Change struct {
	Addr   Addr         `json:"address"`
	Kind   string       `json:"kind"`
	Action Action       `json:"action"`
	Pos    Pos          `json:"pos"`
	ID     string       `json:"id,omitempty"` // live id when the object exists
	Attrs  []AttrChange `json:"attributes,omitempty"`
	Reason string       `json:"reason,omitempty"` // why a replace or delete is needed
	Deps   []Addr       `json:"depends_on,omitempty"`
	// Lookup is set on the read of an object the plan uses but does not manage (fabric.lookup.*).
	Lookup *Lookup `json:"lookup,omitempty"`
	// Live is the refreshed state the change was computed from; Apply uses its pre-image.
	Live Live `json:"-"`
}

// Lookup says how a lookup found its object: by "name" or "id", and the value it matched.
type Lookup struct {
	By    string `json:"by"`
	Value string `json:"value"`
}

// Plan is the list of changes a run will make, in dependency order.
type Plan struct {
	Changes []Change
	// Unmanaged are live objects in workspaces the plan manages that the plan does not declare
	// (see Inventory). They are reported, never changed, unless a Delete change names them.
	Unmanaged []Unmanaged
}

// Unmanaged is a live object the plan does not declare.
type Unmanaged struct {
	Addr      Addr   // the address it would have if the plan declared it
	Workspace Addr   // the workspace it is in
	Kind      string // "item"
	Type      string // item type
	Name      string
	ID        string
	// Reason says why it is not pruned (not created by fabplan, data-bearing, prune off).
	Reason string
}

// Counts returns how many changes of each mutating kind the plan holds.
func (p *Plan) Counts() (add, change, replace, destroy int) {
	for _, c := range p.Changes {
		switch c.Action {
		case Create:
			add++
		case Update:
			change++
		case Replace:
			replace++
		case Delete:
			destroy++
		}
	}
	return
}

// Mutations counts the changes that apply makes (no-ops and reads aside).
func (p *Plan) Mutations() int {
	n := 0
	for _, c := range p.Changes {
		if c.Action.Mutates() {
			n++
		}
	}
	return n
}

// HasChanges reports whether applying the plan would change anything.
func (p *Plan) HasChanges() bool {
	for _, c := range p.Changes {
		if c.Action.Mutates() {
			return true
		}
	}
	return false
}

// Compare is the change for an object that exists: an update in place when any attribute differs,
// else a no-op.
func Compare(attrs []AttrChange) Change {
	ch := Change{Action: NoOp, Attrs: attrs}
	for _, a := range attrs {
		if a.Changed() {
			ch.Action = Update
			break
		}
	}
	return ch
}
