package builtins

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"go.starlark.net/starlark"

	"github.com/fabplan/fabplan/engine"
	"github.com/fabplan/fabplan/fabric"
)

// fabric.capacity: a lookup, resolved against live state.

type capacityBuiltin struct{}

func (capacityBuiltin) Spec() Spec {
	return Spec{
		Name: "fabric.capacity",
		Doc:  "Looks up a capacity the identity may use, by display name or id. Read-only.",
		Params: []Param{
			{Name: "name", Type: "string", Doc: "Capacity display name."},
			{Name: "id", Type: "string", Doc: "Capacity id (GUID)."},
		},
		OneOf: [][]string{{"name", "id"}},
	}
}

func (capacityBuiltin) Interpret(ev *evaluation, c *call) (starlark.Value, error) {
	r := &capacityResource{pos: c.pos, name: c.str("name"), id: c.str("id")}
	key := r.name
	if key == "" {
		key = r.id
	}
	r.addr = engine.Addr(engine.Segment("capacity", key))
	if prev, ok := ev.graph.Get(r.addr); ok {
		// Looking the same capacity up twice is harmless: share one lookup.
		return newHandle("capacity", prev.Addr(), starlark.StringDict{"name": starlark.String(key)}, prev), nil
	}
	ev.add(r)
	return newHandle("capacity", r.addr, starlark.StringDict{"name": starlark.String(key)}, r), nil
}

type capacityResource struct {
	addr     engine.Addr
	pos      engine.Pos
	name, id string
}

var _ engine.Resource = (*capacityResource)(nil)

func (r *capacityResource) Addr() engine.Addr                          { return r.addr }
func (r *capacityResource) Kind() string                               { return "capacity" }
func (r *capacityResource) Pos() engine.Pos                            { return r.pos }
func (r *capacityResource) Deps() []engine.Addr                        { return nil }
func (r *capacityResource) Validate(*engine.Graph) []engine.Diagnostic { return nil }

func (r *capacityResource) Refresh(ctx context.Context, rt *engine.Runtime) (engine.Live, error) {
	v, err := rt.Memo("capacities", func() (any, error) { return rt.Client.ListCapacities(ctx) })
	if err != nil {
		return engine.Live{}, err
	}
	caps := v.([]fabric.Capacity)
	var names []string
	for _, c := range caps {
		if (r.name != "" && c.DisplayName == r.name) || (r.id != "" && strings.EqualFold(c.ID, r.id)) {
			if c.State != "" && c.State != "Active" {
				return engine.Live{}, fmt.Errorf("capacity %s is %s; resume it in the Azure portal or pick an Active capacity", c.DisplayName, c.State)
			}
			return engine.Live{Exists: true, ID: c.ID, Data: c, Attrs: map[string]string{
				"name": c.DisplayName, "sku": c.SKU, "region": c.Region, "state": c.State,
			}}, nil
		}
		names = append(names, c.DisplayName)
	}
	sort.Strings(names)
	want := r.name
	if want == "" {
		want = r.id
	}
	if len(names) == 0 {
		return engine.Live{}, fmt.Errorf("capacity %q not found: the identity can use no capacity; ask a capacity admin to add it as a contributor", want)
	}
	return engine.Live{}, fmt.Errorf("capacity %q not found; the identity can use: %s", want, strings.Join(names, ", "))
}

func (r *capacityResource) Diff(live engine.Live, _ *engine.Runtime) engine.Change {
	return engine.Change{Action: engine.Read, Attrs: []engine.AttrChange{
		{Name: "name", Old: live.Attrs["name"], New: live.Attrs["name"]},
		{Name: "id", Old: live.ID, New: live.ID},
		{Name: "sku", Old: live.Attrs["sku"], New: live.Attrs["sku"]},
	}}
}

func (r *capacityResource) Apply(context.Context, *engine.Runtime, *engine.Change, func(engine.Undo) error) (engine.Applied, error) {
	return engine.Applied{}, fmt.Errorf("capacity: lookups change nothing")
}
