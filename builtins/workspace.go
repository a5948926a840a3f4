package builtins

import (
	"context"
	"fmt"

	"go.starlark.net/starlark"

	"github.com/fabplan/fabplan/engine"
	"github.com/fabplan/fabplan/fabric"
)

// fabric.workspace

type workspaceBuiltin struct{}

func (workspaceBuiltin) Spec() Spec {
	return Spec{
		Name: "fabric.workspace",
		Doc:  "A workspace, identified by its display name (unique in the tenant).",
		Params: []Param{
			{Name: "name", Type: "string", Required: true, Doc: "Display name; unique in the tenant."},
			{Name: "description", Type: "string", Doc: "Description (at most 4,000 characters)."},
			{Name: "capacity", Type: "capacity", Doc: "Capacity to assign, from fabric.capacity(...)."},
			{Name: "identity", Type: "bool", Doc: "Provision a workspace identity."},
			{Name: "prune", Type: "bool", Doc: "Delete items fabplan created here that the plan no longer declares (after every other change; undo recreates them)."},
			{Name: "allow_destroy", Type: "bool", Doc: "Let prune delete data-bearing items (Lakehouse, Warehouse, Eventhouse, KQLDatabase, SQLDatabase); irreversible."},
		},
	}
}

func (workspaceBuiltin) Interpret(ev *evaluation, c *call) (starlark.Value, error) {
	name := c.str("name")
	if name == "" {
		return nil, fmt.Errorf("fabric.workspace: name must not be empty")
	}
	r := &workspaceResource{
		addr:         engine.Addr(engine.Segment("workspace", name)),
		pos:          c.pos,
		name:         name,
		description:  c.str("description"),
		identity:     c.boolean("identity"),
		prune:        c.boolean("prune"),
		allowDestroy: c.boolean("allow_destroy"),
	}
	if h := c.handle("capacity"); h != nil {
		r.capacity = h.addr
	}
	ev.add(r)
	return newHandle("workspace", r.addr, starlark.StringDict{
		"name":        starlark.String(name),
		"description": starlark.String(r.description),
	}, r), nil
}

type workspaceResource struct {
	addr        engine.Addr
	pos         engine.Pos
	name        string
	description string
	capacity    engine.Addr // "" = leave as is
	identity    bool
	prune       bool
	// allowDestroy lets prune delete data-bearing items.
	allowDestroy bool
}

var _ engine.Resource = (*workspaceResource)(nil)

func (r *workspaceResource) Addr() engine.Addr { return r.addr }
func (r *workspaceResource) Kind() string      { return "workspace" }
func (r *workspaceResource) Pos() engine.Pos   { return r.pos }
func (r *workspaceResource) Deps() []engine.Addr {
	if r.capacity != "" {
		return []engine.Addr{r.capacity}
	}
	return nil
}

func (r *workspaceResource) Validate(*engine.Graph) []engine.Diagnostic {
	var ds []engine.Diagnostic
	if len(r.name) > 256 {
		ds = append(ds, engine.Diagnostic{Pos: r.pos, Message: "workspace name is longer than 256 characters"})
	}
	if len(r.description) > 4000 {
		ds = append(ds, engine.Diagnostic{Pos: r.pos, Message: "workspace description is longer than 4,000 characters"})
	}
	return ds
}

const memoWorkspaces = "workspaces"

func listWorkspaces(ctx context.Context, rt *engine.Runtime) ([]fabric.Workspace, error) {
	v, err := rt.Memo(memoWorkspaces, func() (any, error) { return rt.Client.ListWorkspaces(ctx) })
	if err != nil {
		return nil, err
	}
	return v.([]fabric.Workspace), nil
}

func (r *workspaceResource) Refresh(ctx context.Context, rt *engine.Runtime) (engine.Live, error) {
	all, err := listWorkspaces(ctx, rt)
	if err != nil {
		return engine.Live{}, err
	}
	for _, ws := range all {
		if ws.DisplayName == r.name {
			return engine.Live{Exists: true, ID: ws.ID, Data: ws, Attrs: map[string]string{
				"name": ws.DisplayName, "description": ws.Description, "capacity_id": ws.CapacityID,
			}}, nil
		}
	}
	return engine.Live{}, nil
}

func (r *workspaceResource) wantCapacity(rt *engine.Runtime) (id string, known bool) {
	if r.capacity == "" {
		return "", true
	}
	id = rt.ID(r.capacity)
	return id, id != ""
}

func (r *workspaceResource) Diff(live engine.Live, rt *engine.Runtime) engine.Change {
	capID, capKnown := r.wantCapacity(rt)
	if !live.Exists {
		ch := engine.Change{Action: engine.Create, Attrs: []engine.AttrChange{
			{Name: "name", New: r.name},
			{Name: "description", New: r.description},
			{Name: "id", Unknown: true},
		}}
		if r.capacity != "" {
			ch.Attrs = append(ch.Attrs, engine.AttrChange{Name: "capacity_id", New: capID, Unknown: !capKnown})
		}
		return ch
	}
	ch := engine.Change{Action: engine.NoOp, Attrs: []engine.AttrChange{
		{Name: "name", Old: r.name, New: r.name},
		{Name: "description", Old: live.Attrs["description"], New: r.description},
	}}
	if r.capacity != "" {
		ch.Attrs = append(ch.Attrs, engine.AttrChange{Name: "capacity_id", Old: live.Attrs["capacity_id"], New: capID, Unknown: !capKnown})
	}
	return engine.Compare(ch.Attrs)
}

// workspaceUndo is the argument of the workspace undo operations.
type workspaceUndo struct {
	ID          string `json:"id,omitempty"`
	Name        string `json:"name,omitempty"`
	Description string `json:"description"`
	CapacityID  string `json:"capacity_id"`
}

func (r *workspaceResource) Apply(ctx context.Context, rt *engine.Runtime, ch *engine.Change, intent func(engine.Undo) error) (engine.Applied, error) {
	capID, _ := r.wantCapacity(rt)
	defer rt.Forget(memoWorkspaces)
	switch ch.Action {
	case engine.Create:
		if err := intent(engine.NewUndo("workspace.delete", workspaceUndo{Name: r.name})); err != nil {
			return engine.Applied{}, err
		}
		ws, err := rt.Client.CreateWorkspace(ctx, fabric.WorkspaceCreate{DisplayName: r.name, Description: r.description, CapacityID: capID})
		if err != nil {
			return engine.Applied{}, err
		}
		return engine.Applied{ID: ws.ID, Undo: engine.NewUndo("workspace.delete", workspaceUndo{ID: ws.ID, Name: r.name})}, nil
	case engine.Update:
		before := ch.Live.Data.(fabric.Workspace)
		undo := engine.NewUndo("workspace.restore", workspaceUndo{ID: before.ID, Description: before.Description, CapacityID: before.CapacityID})
		if err := intent(undo); err != nil {
			return engine.Applied{}, err
		}
		if before.Description != r.description {
			desc := r.description
			if _, err := rt.Client.UpdateWorkspace(ctx, before.ID, fabric.WorkspaceUpdate{Description: &desc}); err != nil {
				return engine.Applied{}, err
			}
		}
		if r.capacity != "" && before.CapacityID != capID {
			if err := rt.Client.AssignCapacity(ctx, before.ID, capID); err != nil {
				return engine.Applied{}, err
			}
		}
		return engine.Applied{ID: before.ID, Undo: undo}, nil
	}
	return engine.Applied{}, fmt.Errorf("workspace: cannot %s", ch.Action)
}

func (workspaceBuiltin) UndoOps() engine.UndoRegistry {
	return engine.UndoRegistry{
		"workspace.delete": undoOp(func(ctx context.Context, rt *engine.Runtime, u workspaceUndo) error {
			return deleteCreated(u.ID, func() (string, bool, error) {
				ws, ok, err := rt.Client.FindWorkspace(ctx, u.Name)
				return ws.ID, ok, err
			}, func(id string) error { return rt.Client.DeleteWorkspace(ctx, id) })
		}),
		"workspace.restore": undoOp(func(ctx context.Context, rt *engine.Runtime, u workspaceUndo) error {
			ws, err := rt.Client.GetWorkspace(ctx, u.ID)
			if err != nil {
				return err
			}
			if ws.Description != u.Description {
				if _, err := rt.Client.UpdateWorkspace(ctx, u.ID, fabric.WorkspaceUpdate{Description: &u.Description}); err != nil {
					return err
				}
			}
			switch {
			case ws.CapacityID == u.CapacityID:
			case u.CapacityID == "":
				return rt.Client.UnassignCapacity(ctx, u.ID)
			default:
				return rt.Client.AssignCapacity(ctx, u.ID, u.CapacityID)
			}
			return nil
		}),
	}
}
