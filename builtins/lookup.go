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

// fabric.lookup.*: objects the plan uses but does not manage (a shared workspace, a lakehouse
// another team owns, a connection an admin made). A lookup is refreshed like any resource, so its
// id is known to what depends on it, but its change is always a read: it is never applied,
// journalled, undone or pruned. Its address starts with "lookup." so that it can never be mistaken
// for, or collide with, a resource the plan manages.

// lookupKey is what a lookup matched on, for the plan and for errors.
func lookupKey(c *call) (by, value string) {
	for _, p := range []string{"id", "name"} {
		if c.has(p) {
			return p, c.str(p)
		}
	}
	return "", ""
}

// lookupFailed is the error of a lookup that found nothing: it names what was looked for and what
// there is, so that a typo is obvious.
func lookupFailed(what, by, value string, candidates []string) error {
	sort.Strings(candidates)
	const show = 20
	list := strings.Join(candidates, ", ")
	if len(candidates) > show {
		list = strings.Join(candidates[:show], ", ") + fmt.Sprintf(", ... (%d more)", len(candidates)-show)
	}
	msg := fmt.Sprintf("lookup: no %s with %s %q", what, by, value)
	if by == "id" {
		return fmt.Errorf("%s that the identity can see; check the id and that the identity has access to it", msg)
	}
	if len(candidates) == 0 {
		return fmt.Errorf("%s (the identity sees none); check the name and that the identity has access to it", msg)
	}
	return fmt.Errorf("%s; the identity sees: %s%s", msg, list, suggest(value, candidates))
}

// change is a lookup's change: a read showing what was found.
func (r *lookupResource) change(live engine.Live, names ...string) engine.Change {
	ch := engine.Change{Action: engine.Read, Lookup: &engine.Lookup{By: r.by, Value: r.value}}
	for _, n := range names {
		ch.Attrs = append(ch.Attrs, engine.AttrChange{Name: n, Old: live.Attrs[n], New: live.Attrs[n]})
	}
	ch.Attrs = append(ch.Attrs, engine.AttrChange{Name: "id", Old: live.ID, New: live.ID})
	ch.Attrs = append(ch.Attrs, outputAttrs(r.outputs(), live)...)
	return ch
}

// lookupResource is what every lookup shares: identity, position and the refusal to change.
type lookupResource struct {
	addr  engine.Addr
	pos   engine.Pos
	kind  string
	by    string // "name" or "id"
	value string
	what  string // for errors: "workspace", "Lakehouse"
	// attrs are the attributes known after apply its kind has (a lakehouse's SQL endpoint); use says
	// which ones the plan reads, so that only those are read.
	attrs []Attribute
	use   *attributeUse
}

func (r *lookupResource) lookup() *lookupResource { return r }
func (r *lookupResource) outputs() []Attribute    { return r.use.used(r.attrs) }

func (r *lookupResource) Addr() engine.Addr { return r.addr }
func (r *lookupResource) Kind() string      { return r.kind }
func (r *lookupResource) Pos() engine.Pos   { return r.pos }

func (r *lookupResource) Apply(context.Context, *engine.Runtime, *engine.Change, func(engine.Undo) error) (engine.Applied, error) {
	return engine.Applied{}, fmt.Errorf("%s: a lookup is read-only; fabplan never changes it", r.addr)
}

// nameOrID are the parameters of a lookup by display name or id.
func nameOrID(nameDoc, idDoc string) []Param {
	return []Param{{Name: "name", Type: "string", Doc: nameDoc}, {Name: "id", Type: "string", Doc: idDoc}}
}

// fabric.lookup.workspace

type lookupWorkspaceBuiltin struct{}

func (lookupWorkspaceBuiltin) Spec() Spec {
	return Spec{
		Name: "fabric.lookup.workspace",
		Doc: "Looks up an existing workspace the plan does not manage, by display name or id. Read-only: " +
			"usable wherever a workspace is (items, folders, role assignments in it), with the attributes of " +
			"fabric.workspace; never changed, journalled or pruned.",
		Params:     nameOrID("Workspace display name (compared without regard to case, as Fabric does).", "Workspace id (GUID)."),
		OneOf:      [][]string{{"name", "id"}},
		Attributes: map[string][]Attribute{"": WorkspaceAttributes},
	}
}

func (lookupWorkspaceBuiltin) Interpret(ev *evaluation, c *call) (starlark.Value, error) {
	return ev.lookupByNameOrID(c, "workspace", WorkspaceAttributes, func(l lookupResource) looker { return &lookupWorkspaceResource{l} })
}

// lookupByNameOrID interprets a lookup of a top-level object by name or id.
func (ev *evaluation) lookupByNameOrID(c *call, kind string, outputs []Attribute, mk func(lookupResource) looker) (starlark.Value, error) {
	by, value := lookupKey(c)
	if value == "" {
		return nil, fmt.Errorf("fabric.lookup.%s: %s must not be empty", kind, by)
	}
	r := mk(lookupResource{addr: engine.Addr(engine.Segment("lookup."+kind, value)), pos: c.pos, kind: kind, by: by, value: value,
		what: kind, attrs: outputs, use: &attributeUse{}})
	attrs := starlark.StringDict{}
	if by == "name" {
		attrs["name"] = starlark.String(value)
	}
	return ev.addLookup(r, attrs), nil
}

// looker is every lookup resource.
type looker interface {
	engine.Resource
	lookup() *lookupResource
}

// addLookup adds a lookup to the graph, or shares the one already there: looking the same object up
// twice is harmless.
func (ev *evaluation) addLookup(r looker, attrs starlark.StringDict) *Handle {
	if prev, ok := ev.graph.Get(r.Addr()); ok {
		if same, ok := prev.(looker); ok {
			r = same
		}
	} else {
		ev.add(r)
	}
	l := r.lookup()
	return newHandle(l.kind, r.Addr(), attrs, r).withAttributes("a looked-up "+l.what, l.attrs, l.use)
}

type lookupWorkspaceResource struct{ lookupResource }

var _ engine.Resource = (*lookupWorkspaceResource)(nil)

func (r *lookupWorkspaceResource) Deps() []engine.Addr { return nil }

// Validate refuses a workspace the plan both manages and looks up: the two would disagree about
// who owns it.
func (r *lookupWorkspaceResource) Validate(g *engine.Graph) []engine.Diagnostic {
	if r.by != "name" {
		return nil
	}
	for _, o := range g.Resources() {
		if ws, ok := o.(*workspaceResource); ok && strings.EqualFold(ws.name, r.value) {
			return []engine.Diagnostic{{Pos: r.pos, Related: ws.pos, Message: fmt.Sprintf(
				"%s: workspace %q is also declared by fabric.workspace (%s); use that handle, "+
					"or remove the declaration to leave the workspace unmanaged",
				r.addr, r.value, ws.addr)}}
		}
	}
	return nil
}

func (r *lookupWorkspaceResource) Refresh(ctx context.Context, rt *engine.Runtime) (engine.Live, error) {
	all, err := listWorkspaces(ctx, rt)
	if err != nil {
		return engine.Live{}, err
	}
	var names []string
	for _, ws := range all {
		if (r.by == "name" && strings.EqualFold(ws.DisplayName, r.value)) || (r.by == "id" && strings.EqualFold(ws.ID, r.value)) {
			outputs, err := readWorkspaceOutputs(ctx, rt, ws.ID, r.outputs())
			if err != nil {
				return engine.Live{}, err
			}
			return engine.Live{Exists: true, ID: ws.ID, Data: workspaceLive{Workspace: ws}, Outputs: outputs, Attrs: map[string]string{
				"name": ws.DisplayName, "description": ws.Description, "capacity_id": ws.CapacityID,
			}}, nil
		}
		names = append(names, ws.DisplayName)
	}
	return engine.Live{}, lookupFailed("workspace", r.by, r.value, names)
}

func (r *lookupWorkspaceResource) Diff(live engine.Live, _ *engine.Runtime) engine.Change {
	return r.change(live, "name", "capacity_id")
}

// fabric.lookup.item

type lookupItemBuiltin struct{}

func (lookupItemBuiltin) Spec() Spec {
	return Spec{
		Name: "fabric.lookup.item",
		Doc: "Looks up an existing item the plan does not manage, by (workspace, type, name). Read-only: usable " +
			"wherever an item is (depends_on, a definition's replace), with the attributes of a declared item of " +
			"its type; never changed, journalled or pruned.",
		Params: []Param{
			{Name: "workspace", Type: "workspace", Required: true, Doc: "The workspace, from fabric.workspace(...) or fabric.lookup.workspace(...)."},
			{Name: "type", Type: "string", Required: true, Enum: ItemTypes, Doc: "Fabric item type."},
			{Name: "name", Type: "string", Required: true, Doc: "Display name."},
		},
		Attributes: ItemAttributes,
	}
}

func (lookupItemBuiltin) Interpret(ev *evaluation, c *call) (starlark.Value, error) {
	ws := c.handle("workspace")
	typ, name := c.str("type"), c.str("name")
	if name == "" {
		return nil, fmt.Errorf("fabric.lookup.item: name must not be empty")
	}
	r := &lookupItemResource{lookupResource: lookupResource{addr: ws.addr.Join(engine.Segment("lookup.item", typ, name)),
		pos: c.pos, kind: "item", by: "name", value: name, what: typ, attrs: ItemAttributes[typ], use: &attributeUse{}},
		workspace: ws.addr, typ: typ}
	return ev.addLookup(r, starlark.StringDict{
		"name": starlark.String(name), "type": starlark.String(typ), "workspace": ws,
	}), nil
}

type lookupItemResource struct {
	lookupResource
	workspace engine.Addr
	typ       string
}

var _ engine.Resource = (*lookupItemResource)(nil)

func (r *lookupItemResource) Deps() []engine.Addr { return []engine.Addr{r.workspace} }

// Validate refuses an item the plan both declares and looks up.
func (r *lookupItemResource) Validate(g *engine.Graph) []engine.Diagnostic {
	declared := r.workspace.Join(engine.Segment("item", r.typ, r.value))
	if o, ok := g.Get(declared); ok {
		return []engine.Diagnostic{{Pos: r.pos, Related: o.Pos(), Message: fmt.Sprintf(
			"%s: the plan also declares this item as %s; use that handle, or remove the declaration to leave it unmanaged", r.addr, declared)}}
	}
	return nil
}

func (r *lookupItemResource) Refresh(ctx context.Context, rt *engine.Runtime) (engine.Live, error) {
	wsID := rt.ID(r.workspace)
	if wsID == "" {
		return engine.Live{}, fmt.Errorf("lookup: workspace %s does not exist yet (this run creates it), so it holds no %s %q to look up",
			r.workspace, r.typ, r.value)
	}
	v, err := rt.Memo(itemsMemoKey(wsID), func() (any, error) { return rt.Client.ListItems(ctx, wsID, "") })
	if err != nil {
		return engine.Live{}, err
	}
	var names []string
	for _, it := range v.([]fabric.Item) {
		if it.Type != r.typ {
			continue
		}
		if it.DisplayName == r.value {
			outputs, err := readItemOutputs(ctx, rt, wsID, r.typ, it.ID, r.outputs())
			if err != nil {
				return engine.Live{}, err
			}
			return engine.Live{Exists: true, ID: it.ID, Data: itemLive{Item: it}, Outputs: outputs, Attrs: map[string]string{
				"type": it.Type, "name": it.DisplayName, "description": it.Description, "folder_id": it.FolderID,
			}}, nil
		}
		names = append(names, it.DisplayName)
	}
	return engine.Live{}, lookupFailed(r.typ+" in "+string(r.workspace), "name", r.value, names)
}

func (r *lookupItemResource) Diff(live engine.Live, _ *engine.Runtime) engine.Change {
	return r.change(live, "type", "name")
}

// fabric.lookup.connection

type lookupConnectionBuiltin struct{}

func (lookupConnectionBuiltin) Spec() Spec {
	return Spec{
		Name: "fabric.lookup.connection",
		Doc: "Looks up an existing connection (Manage connections and gateways) by display name or id. Read-only: " +
			"its id can go into a definition's replace or a parameter taking a connection; its credentials are never read.",
		Params: nameOrID("Connection display name.", "Connection id (GUID)."),
		OneOf:  [][]string{{"name", "id"}},
	}
}

func (lookupConnectionBuiltin) Interpret(ev *evaluation, c *call) (starlark.Value, error) {
	return ev.lookupByNameOrID(c, "connection", nil, func(l lookupResource) looker { return &lookupConnectionResource{l} })
}

type lookupConnectionResource struct{ lookupResource }

var _ engine.Resource = (*lookupConnectionResource)(nil)

func (r *lookupConnectionResource) Deps() []engine.Addr                        { return nil }
func (r *lookupConnectionResource) Validate(*engine.Graph) []engine.Diagnostic { return nil }

func (r *lookupConnectionResource) Refresh(ctx context.Context, rt *engine.Runtime) (engine.Live, error) {
	v, err := rt.Memo("connections", func() (any, error) { return rt.Client.ListConnections(ctx) })
	if err != nil {
		return engine.Live{}, err
	}
	var names []string
	for _, cn := range v.([]fabric.Connection) {
		if (r.by == "name" && cn.DisplayName == r.value) || (r.by == "id" && strings.EqualFold(cn.ID, r.value)) {
			return engine.Live{Exists: true, ID: cn.ID, Data: cn, Attrs: map[string]string{
				"name": cn.DisplayName, "type": cn.Type, "path": cn.Path, "connectivity_type": cn.ConnectivityType,
			}}, nil
		}
		if cn.DisplayName != "" {
			names = append(names, cn.DisplayName)
		}
	}
	return engine.Live{}, lookupFailed("connection", r.by, r.value, names)
}

func (r *lookupConnectionResource) Diff(live engine.Live, _ *engine.Runtime) engine.Change {
	return r.change(live, "name", "type", "path")
}
