package builtins

import (
	"context"
	"fmt"
	"strings"

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
			{Name: "description", Type: "string", Doc: "Description (at most 4,000 characters); omitted: not managed (a new workspace gets none, an existing one keeps its own)."},
			{Name: "capacity", Type: "capacity", Doc: "Capacity to assign, from fabric.capacity(...)."},
			{Name: "identity", Type: "bool", Doc: "True: provision the workspace identity (a managed service principal); False: deprovision it; absent: leave it as it is."},
			{Name: "prune", Type: "bool", Doc: "Delete items fabplan created here that the plan no longer declares (after every other change; undo recreates them)."},
			{Name: "allow_destroy", Type: "bool", Doc: "Let prune delete data-bearing items (Lakehouse, Warehouse, Eventhouse, KQLDatabase, SQLDatabase); irreversible."},
		},
		Attributes: map[string][]Attribute{"": WorkspaceAttributes},
		Updatable:  []string{"description", "capacity_id", "identity"},
	}
}

func (workspaceBuiltin) Interpret(ev *evaluation, c *call) (starlark.Value, error) {
	name := c.str("name")
	if name == "" {
		return nil, fmt.Errorf("fabric.workspace: name must not be empty")
	}
	r := &workspaceResource{
		addr:           engine.Addr(engine.Segment("workspace", name)),
		pos:            c.pos,
		name:           name,
		description:    c.str("description"),
		manageDesc:     c.has("description"),
		manageIdentity: c.has("identity"),
		identity:       c.boolean("identity"),
		prune:          c.boolean("prune"),
		allowDestroy:   c.boolean("allow_destroy"),
		attrUse:        &attributeUse{},
	}
	if h := c.handle("capacity"); h != nil {
		r.capacity = h.addr
	}
	ev.add(r)
	return newHandle("workspace", r.addr, starlark.StringDict{
		"name":        starlark.String(name),
		"description": starlark.String(r.description),
	}, r).withAttributes("a workspace", WorkspaceAttributes, r.attrUse), nil
}

type workspaceResource struct {
	addr        engine.Addr
	pos         engine.Pos
	name        string
	description string
	// manageDesc is set when the plan gives a description: an omitted one is left as it is.
	manageDesc bool
	capacity   engine.Addr // "" = leave as is
	// manageIdentity is set when the plan says identity=True or False; identity is what it wants.
	manageIdentity bool
	identity       bool
	prune          bool
	// allowDestroy lets prune delete data-bearing items.
	allowDestroy bool
	// attrUse says which attributes the plan reads.
	attrUse *attributeUse
}

func (r *workspaceResource) outputs() []Attribute { return r.attrUse.used(WorkspaceAttributes) }

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

func (r *workspaceResource) Validate(*engine.Graph) []engine.Diagnostic { return validateWorkspace(r) }

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
		// Fabric compares workspace names without regard to case.
		if !strings.EqualFold(ws.DisplayName, r.name) {
			continue
		}
		live := engine.Live{Exists: true, ID: ws.ID, Data: workspaceLive{Workspace: ws}, Attrs: map[string]string{
			"name": ws.DisplayName, "description": ws.Description, "capacity_id": ws.CapacityID,
		}}
		if r.manageIdentity {
			// Only a plan that manages the identity pays for the per-workspace read it needs.
			id, err := rt.Client.GetWorkspaceIdentity(ctx, ws.ID)
			if err != nil {
				return engine.Live{}, err
			}
			live.Data = workspaceLive{Workspace: ws, Identity: id}
			live.Attrs["identity"] = identityState(id != nil)
		}
		if live.Outputs, err = readWorkspaceOutputs(ctx, rt, ws.ID, r.outputs()); err != nil {
			return engine.Live{}, err
		}
		return live, nil
	}
	return engine.Live{}, nil
}

// workspaceLive is a workspace's pre-image.
type workspaceLive struct {
	Workspace fabric.Workspace
	Identity  *fabric.WorkspaceIdentity
}

func identityState(provisioned bool) string {
	if provisioned {
		return "provisioned"
	}
	return "none"
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
		ch := engine.Change{Action: engine.Create, Attrs: []engine.AttrChange{{Name: "name", New: r.name}}}
		if r.manageDesc {
			ch.Attrs = append(ch.Attrs, engine.AttrChange{Name: "description", New: r.description})
		}
		ch.Attrs = append(ch.Attrs, engine.AttrChange{Name: "id", Unknown: true})
		if r.capacity != "" {
			ch.Attrs = append(ch.Attrs, engine.AttrChange{Name: "capacity_id", New: capID, Unknown: !capKnown})
		}
		if r.manageIdentity {
			ch.Attrs = append(ch.Attrs, engine.AttrChange{Name: "identity", New: identityState(r.identity)})
		}
		ch.Attrs = append(ch.Attrs, outputAttrs(r.outputs(), live)...)
		return ch
	}
	// Omitted optional attributes are not managed: they are neither compared nor sent.
	ch := engine.Change{Action: engine.NoOp, Attrs: []engine.AttrChange{{Name: "name", Old: r.name, New: r.name}}}
	if r.manageDesc {
		ch.Attrs = append(ch.Attrs, engine.AttrChange{Name: "description", Old: live.Attrs["description"], New: r.description})
	}
	if r.capacity != "" {
		ch.Attrs = append(ch.Attrs, engine.AttrChange{Name: "capacity_id", Old: live.Attrs["capacity_id"], New: capID, Unknown: !capKnown})
	}
	if r.manageIdentity {
		ch.Attrs = append(ch.Attrs, engine.AttrChange{Name: "identity", Old: live.Attrs["identity"], New: identityState(r.identity)})
	}
	ch.Attrs = append(ch.Attrs, outputAttrs(r.outputs(), live)...)
	return engine.Compare(ch.Attrs)
}

// workspaceUndo is the argument of the workspace undo operations.
type workspaceUndo struct {
	ID          string `json:"id,omitempty"`
	Name        string `json:"name,omitempty"`
	Description string `json:"description"`
	CapacityID  string `json:"capacity_id"`
	// Identity is whether the workspace had an identity, when the plan changed it. A re-provisioned
	// identity is a new service principal: undo restores that there is one, not the old one.
	Identity *bool `json:"identity,omitempty"`
}

func (r *workspaceResource) Apply(ctx context.Context, rt *engine.Runtime, ch *engine.Change, intent func(engine.Undo) error) (engine.Applied, error) {
	capID, _ := r.wantCapacity(rt)
	defer rt.Forget(memoWorkspaces)
	switch ch.Action {
	case engine.Create:
		sent := workspaceUndo{Name: r.name, Description: r.description, CapacityID: capID}
		ws, err := createJournalled(intent, engine.NewUndo("workspace.delete", sent), func() (fabric.Workspace, error) {
			return rt.Client.CreateWorkspace(ctx, fabric.WorkspaceCreate{DisplayName: r.name, Description: r.description, CapacityID: capID})
		})
		if err != nil {
			return engine.Applied{}, err
		}
		sent.ID = ws.ID
		applied := engine.Applied{ID: ws.ID, Undo: engine.NewUndo("workspace.delete", sent)}
		if r.manageIdentity && r.identity {
			// Deleting the workspace (the undo) removes its identity with it.
			if _, err := rt.Client.ProvisionIdentity(ctx, ws.ID); err != nil {
				return engine.Applied{}, err
			}
		}
		outputs, err := readWorkspaceOutputs(ctx, rt, ws.ID, r.outputs())
		if err != nil {
			return engine.Applied{}, fmt.Errorf("created %s (id %s), but reading its attributes failed: %w", r.addr, ws.ID, err)
		}
		applied.Outputs = outputs
		return applied, nil
	case engine.Update:
		pre := ch.Live.Data.(workspaceLive)
		before := pre.Workspace
		u := workspaceUndo{ID: before.ID, Description: before.Description, CapacityID: before.CapacityID}
		if r.manageIdentity {
			had := pre.Identity != nil
			u.Identity = &had
		}
		undo := engine.NewUndo("workspace.restore", u)
		if err := intent(undo); err != nil {
			return engine.Applied{}, err
		}
		if ch.Wants("description") && before.Description != r.description {
			desc := r.description
			if _, err := rt.Client.UpdateWorkspace(ctx, before.ID, fabric.WorkspaceUpdate{Description: &desc}); err != nil {
				return engine.Applied{}, err
			}
		}
		if ch.Wants("capacity_id") && before.CapacityID != capID {
			if err := rt.Client.AssignCapacity(ctx, before.ID, capID); err != nil {
				return engine.Applied{}, err
			}
		}
		if ch.Wants("identity") && r.identity != (pre.Identity != nil) {
			if err := setIdentity(ctx, rt, before.ID, r.identity); err != nil {
				return engine.Applied{}, err
			}
		}
		return engine.Applied{ID: before.ID, Undo: undo}, nil
	}
	return engine.Applied{}, fmt.Errorf("workspace: cannot %s", ch.Action)
}

// setIdentity provisions or deprovisions a workspace's identity.
func setIdentity(ctx context.Context, rt *engine.Runtime, wsID string, want bool) error {
	if want {
		_, err := rt.Client.ProvisionIdentity(ctx, wsID)
		return err
	}
	return rt.Client.DeprovisionIdentity(ctx, wsID)
}

func (workspaceBuiltin) UndoOps() engine.UndoRegistry {
	return engine.UndoRegistry{
		"workspace.delete": undoOp(func(ctx context.Context, rt *engine.Runtime, u workspaceUndo) error {
			return deleteCreated("DeleteWorkspace", fmt.Sprintf("workspace %q", u.Name), u.ID, func() (string, string, bool, error) {
				ws, ok, err := rt.Client.FindWorkspace(ctx, u.Name)
				sent := fabric.WorkspaceCreate{DisplayName: u.Name, Description: u.Description, CapacityID: u.CapacityID}
				return ws.ID, sent.Mismatch(ws), ok, err
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
				if err := rt.Client.UnassignCapacity(ctx, u.ID); err != nil {
					return err
				}
			default:
				if err := rt.Client.AssignCapacity(ctx, u.ID, u.CapacityID); err != nil {
					return err
				}
			}
			if u.Identity != nil {
				id, err := rt.Client.GetWorkspaceIdentity(ctx, u.ID)
				if err != nil {
					return err
				}
				if (id != nil) != *u.Identity {
					return setIdentity(ctx, rt, u.ID, *u.Identity)
				}
			}
			return nil
		}),
	}
}
