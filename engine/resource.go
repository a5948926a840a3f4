package engine

import (
	"context"
	"encoding/json"

	"github.com/fabplan/fabplan/engine/journal"
)

// Resource is one thing a plan declares. Builtins create resources during evaluation; the engine
// validates, refreshes, diffs and applies them. A Resource is immutable once evaluation ends.
type Resource interface {
	Addr() Addr
	// Kind is the resource type shown to users: "workspace", "item", "capacity", ...
	Kind() string
	Pos() Pos
	// Deps are the resources this one refers to; they are applied first.
	Deps() []Addr
	// Validate checks the resource against the whole graph, with no I/O.
	Validate(g *Graph) []Diagnostic
	// Refresh reads the live object, if any. Dependencies have been refreshed first, so
	// their live ids (when they exist) are available from rt.
	Refresh(ctx context.Context, rt *Runtime) (Live, error)
	// Diff compares what the plan wants with what is live. It does no I/O.
	Diff(live Live, rt *Runtime) Change
	// Apply carries out the change. Before the call it hands the journal an undo that is safe to
	// run whether or not the call took effect (reconcile by natural key); the returned Applied
	// carries the precise undo and the live id.
	Apply(ctx context.Context, rt *Runtime, ch *Change, intent func(Undo) error) (Applied, error)
}

// Live is what a refresh found.
type Live struct {
	Exists bool
	ID     string
	// Attrs are the user-visible attributes, for diffs.
	Attrs map[string]string
	// Data is resource-specific live state the resource's Diff and Apply use (pre-images).
	Data any
	// Outputs are the attributes Fabric assigns (a lakehouse's SQL endpoint connection string) that
	// the plan reads from this resource, by attribute name; see Runtime.Output.
	Outputs map[string]string
}

// Applied is the outcome of applying one change.
type Applied struct {
	ID   string
	Undo Undo
	// Sensitive marks an object whose content holds secret values (a definition with secret()
	// substitutions): the journal records it so that no later run keeps a copy of that content.
	Sensitive bool
	// Outputs are the attributes the plan reads from the resource, as the object has them after the
	// change (nil: those refresh read still hold).
	Outputs map[string]string
	// CredentialDigest is the digest of the credentials the change set (secrets.Digest), for
	// the journal's done record; "" when it set none.
	CredentialDigest string
}

// Undo is a serializable description of how to reverse one applied change. Ops are registered
// by builtins (see UndoRegistry) so that a later process can roll back from the journal alone.
type Undo = journal.Undo

// NewUndo builds an Undo with JSON-encoded args.
func NewUndo(op string, args any) Undo {
	b, err := json.Marshal(args)
	if err != nil {
		panic("engine: undo args must be JSON-encodable: " + err.Error())
	}
	return Undo{Op: op, Args: b}
}

// UndoFunc reverses one change. It must be idempotent: undoing something already undone, or
// never done, succeeds.
type UndoFunc func(ctx context.Context, rt *Runtime, args json.RawMessage) error

// UndoRegistry maps undo ops to their functions. It is built once by the builtins package.
type UndoRegistry map[string]UndoFunc
