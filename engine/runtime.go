package engine

import (
	"context"
	"sync"

	"github.com/fabplan/fabplan/fabric"
	"github.com/fabplan/fabplan/telemetry"
)

// Runtime is what resources use while refreshing, applying and undoing: the Fabric client, the
// live ids of resources resolved so far, and a per-run memo so that collections are listed once.
type Runtime struct {
	Client *fabric.Client
	// Owned holds the ids of objects fabplan created (from the journals); only those may be
	// pruned.
	Owned map[string]bool
	// Sensitive holds the ids of objects whose content held secret values when fabplan last wrote
	// them; their content is never copied into a journal.
	Sensitive map[string]bool
	// CredentialDigests holds, per connection id, the digest of the credentials fabplan last sent
	// it (from the journals); a connection absent here has credentials fabplan does not know.
	CredentialDigests map[string]string
	// Resolve reads a secret's current value by name, for an undo that must send a credential
	// again (a connection recreated or its credentials restored); nil = no secret source.
	Resolve func(ctx context.Context, name string) (string, error)
	// Protected holds the ids of objects a committed run declared with prevent_destroy=True (from
	// the journals); a plan that would delete one is refused.
	Protected map[string]bool
	// Telemetry receives the spans of the phases and steps; nil = none.
	Telemetry *telemetry.Telemetry

	mu      sync.Mutex
	ids     map[Addr]string
	outputs map[Addr]map[string]string
	memo    map[string]*memoEntry
	sched   SchedStats
}

type memoEntry struct {
	once sync.Once
	val  any
	err  error
}

// NewRuntime returns a runtime around a client.
func NewRuntime(c *fabric.Client) *Runtime {
	return &Runtime{Client: c, ids: map[Addr]string{}, outputs: map[Addr]map[string]string{}, memo: map[string]*memoEntry{}}
}

// ID returns the live id of a resource, or "" when it does not exist (yet).
func (rt *Runtime) ID(a Addr) string {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.ids[a]
}

// SetID records the live id of a resource.
func (rt *Runtime) SetID(a Addr, id string) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.ids[a] = id
}

// Output returns an attribute of a resource known once it exists: "id", or one of the outputs its
// refresh or apply recorded; "" when it is not known (yet).
func (rt *Runtime) Output(a Addr, name string) string {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if name == "id" {
		return rt.ids[a]
	}
	return rt.outputs[a][name]
}

// SetOutputs records the outputs of a resource; nil keeps those recorded before.
func (rt *Runtime) SetOutputs(a Addr, outputs map[string]string) {
	if outputs == nil {
		return
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.outputs[a] = outputs
}

// Memo runs fn once per key for the whole run, even when called concurrently, and returns its
// result to every caller. Refreshes use it so that, for example, a workspace's items are listed
// once, not once per item.
func (rt *Runtime) Memo(key string, fn func() (any, error)) (any, error) {
	rt.mu.Lock()
	e, ok := rt.memo[key]
	if !ok {
		e = &memoEntry{}
		rt.memo[key] = e
	}
	rt.mu.Unlock()
	e.once.Do(func() { e.val, e.err = fn() })
	return e.val, e.err
}

// Forget drops a memoized result after a change made it stale.
func (rt *Runtime) Forget(key string) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	delete(rt.memo, key)
}
