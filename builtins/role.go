package builtins

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"go.starlark.net/starlark"

	"github.com/fabplan/fabplan/engine"
	"github.com/fabplan/fabplan/fabric"
)

// fabric.role_assignment

// workspaceRoles are Fabric's workspace roles. A function, not a package variable, so that no
// caller can change the enum every evaluation checks against.
func workspaceRoles() []string { return []string{"Admin", "Member", "Contributor", "Viewer"} }

type roleAssignmentBuiltin struct{}

func (roleAssignmentBuiltin) Spec() Spec {
	return Spec{
		Name: "fabric.role_assignment",
		Doc:  "Gives a principal a role in a workspace; one assignment per (workspace, principal).",
		Params: []Param{
			{Name: "workspace", Type: "workspace", Required: true, Doc: "The workspace, from fabric.workspace(...)."},
			{Name: "principal", Type: "principal", Required: true, Doc: "From principal.user/group/service_principal(...)."},
			{Name: "role", Type: "string", Required: true, Enum: workspaceRoles(), Doc: "Workspace role."},
		},
		Updatable: []string{"role"},
	}
}

func (roleAssignmentBuiltin) Interpret(ev *evaluation, c *call) (starlark.Value, error) {
	ws := c.handle("workspace")
	p := c.handle("principal").data.(*principalValue)
	r := &roleResource{
		addr:      ws.addr.Join(engine.Segment("role", p.Type, p.key())),
		pos:       c.pos,
		workspace: ws.addr,
		principal: *p,
		role:      c.str("role"),
	}
	ev.add(r)
	return newHandle("role_assignment", r.addr, starlark.StringDict{"role": starlark.String(r.role)}, r), nil
}

type roleResource struct {
	addr      engine.Addr
	pos       engine.Pos
	workspace engine.Addr
	principal principalValue
	role      string
}

var _ engine.Resource = (*roleResource)(nil)

func (r *roleResource) Addr() engine.Addr                          { return r.addr }
func (r *roleResource) Kind() string                               { return "role_assignment" }
func (r *roleResource) Pos() engine.Pos                            { return r.pos }
func (r *roleResource) Deps() []engine.Addr                        { return []engine.Addr{r.workspace} }
func (r *roleResource) Validate(*engine.Graph) []engine.Diagnostic { return nil }

func rolesMemoKey(wsID string) string { return "roles:" + wsID }

// Refresh resolves the principal (through Microsoft Graph when the plan named it) and finds its
// assignment. The resolved id travels in Live.Attrs["principal_id"], also when nothing exists yet.
func (r *roleResource) Refresh(ctx context.Context, rt *engine.Runtime) (engine.Live, error) {
	pid, err := r.principal.resolve(ctx)
	if err != nil {
		return engine.Live{}, err
	}
	live := engine.Live{Attrs: map[string]string{"principal_id": pid}}
	wsID := rt.ID(r.workspace)
	if wsID == "" {
		return live, nil
	}
	v, err := rt.Memo(rolesMemoKey(wsID), func() (any, error) { return rt.Client.ListRoleAssignments(ctx, wsID) })
	if err != nil {
		return engine.Live{}, err
	}
	for _, ra := range v.([]fabric.RoleAssignment) {
		if strings.EqualFold(ra.Principal.ID, pid) {
			live.Exists, live.ID, live.Data = true, ra.ID, ra
			live.Attrs["role"] = ra.Role
			return live, nil
		}
	}
	return live, nil
}

// principalLabel shows the principal as the plan names it and, when it was looked up, the id it
// resolved to: "Group Data Engineers -> 2b3c...". A principal the plan names by an id (a service
// principal's app id, an object id) also shows its display name when Graph, the principals file or
// Fabric's assignment gave one: "ServicePrincipal deployer (app id 6d7e...) -> 7d8e...".
func (r *roleResource) principalLabel(live engine.Live) string {
	p := r.principal
	label := p.Type + " " + p.key()
	if name := r.principalName(live); name != "" && p.UPN == "" && p.Name == "" {
		what := "id"
		if p.AppID != "" {
			what = "app id"
		}
		label = fmt.Sprintf("%s %s (%s %s)", p.Type, name, what, p.key())
	}
	if id := live.Attrs["principal_id"]; id != "" && p.ID == "" {
		label += " -> " + id
	}
	return label
}

// principalName is the principal's display name: from the lookup that resolved it, else from the
// existing assignment. It stays out of Live.Attrs: renaming a principal in Entra is no change.
func (r *roleResource) principalName(live engine.Live) string {
	if r.principal.resolver != nil && r.principal.ID == "" {
		if name := r.principal.resolver.Name(r.principal.lookup()); name != "" {
			return name
		}
	}
	if ra, ok := live.Data.(fabric.RoleAssignment); ok {
		return ra.Principal.DisplayName
	}
	return ""
}

func (r *roleResource) Diff(live engine.Live, _ *engine.Runtime) engine.Change {
	label := r.principalLabel(live)
	if !live.Exists {
		return engine.Change{Action: engine.Create, Attrs: []engine.AttrChange{
			{Name: "principal", New: label},
			{Name: "role", New: r.role},
		}}
	}
	ch := engine.Change{Action: engine.NoOp, Attrs: []engine.AttrChange{
		{Name: "principal", Old: label, New: label},
		{Name: "role", Old: live.Attrs["role"], New: r.role},
	}}
	if live.Attrs["role"] != r.role {
		ch.Action = engine.Update
	}
	return ch
}

// roleUndo is the argument of the role undo operations: the assignment, and the role (with the
// principal's type) the create gave or the update replaced.
type roleUndo struct {
	WorkspaceID   string `json:"workspace_id"`
	ID            string `json:"id,omitempty"`
	PrincipalID   string `json:"principal_id"`
	PrincipalType string `json:"principal_type,omitempty"`
	Role          string `json:"role,omitempty"`
}

func (r *roleResource) Apply(ctx context.Context, rt *engine.Runtime, ch *engine.Change, intent func(engine.Undo) error) (engine.Applied, error) {
	wsID := rt.ID(r.workspace)
	defer rt.Forget(rolesMemoKey(wsID))
	pid := ch.Live.Attrs["principal_id"]
	if pid == "" {
		return engine.Applied{}, fmt.Errorf("role assignment: the principal %s was not resolved during refresh", r.principal.key())
	}
	switch ch.Action {
	case engine.Create:
		sent := roleUndo{WorkspaceID: wsID, PrincipalID: pid, PrincipalType: r.principal.Type, Role: r.role}
		ra, err := createJournalled(intent, engine.NewUndo("role.delete", sent), func() (fabric.RoleAssignment, error) {
			return rt.Client.AddRoleAssignment(ctx, wsID, fabric.Principal{ID: pid, Type: r.principal.Type}, r.role)
		})
		if err != nil {
			return engine.Applied{}, err
		}
		return engine.Applied{ID: ra.ID, Undo: engine.NewUndo("role.delete", roleUndo{WorkspaceID: wsID, ID: ra.ID, PrincipalID: pid})}, nil
	case engine.Update:
		before := ch.Live.Data.(fabric.RoleAssignment)
		undo := engine.NewUndo("role.restore", roleUndo{WorkspaceID: wsID, ID: before.ID, PrincipalID: pid, Role: before.Role})
		if err := intent(undo); err != nil {
			return engine.Applied{}, err
		}
		if _, err := rt.Client.UpdateRoleAssignment(ctx, wsID, before.ID, r.role); err != nil {
			return engine.Applied{}, err
		}
		return engine.Applied{ID: before.ID, Undo: undo}, nil
	}
	return engine.Applied{}, fmt.Errorf("role assignment: cannot %s", ch.Action)
}

func (roleAssignmentBuiltin) UndoOps() engine.UndoRegistry {
	return engine.UndoRegistry{
		"role.delete": undoOp(func(ctx context.Context, rt *engine.Runtime, u roleUndo) error {
			what := fmt.Sprintf("the role assignment of %s in workspace %s", u.PrincipalID, u.WorkspaceID)
			return deleteCreated("DeleteRoleAssignment", what, u.ID, func() (string, string, bool, error) {
				ra, ok, err := rt.Client.FindRoleAssignment(ctx, u.WorkspaceID, u.PrincipalID)
				return ra.ID, fabric.RoleMismatch(ra, fabric.Principal{ID: u.PrincipalID, Type: u.PrincipalType}, u.Role), ok, err
			}, func(id string) error { return rt.Client.DeleteRoleAssignment(ctx, u.WorkspaceID, id) })
		}),
		"role.restore": func(ctx context.Context, rt *engine.Runtime, raw json.RawMessage) error {
			var u roleUndo
			if err := json.Unmarshal(raw, &u); err != nil {
				return err
			}
			_, err := rt.Client.UpdateRoleAssignment(ctx, u.WorkspaceID, u.ID, u.Role)
			return err
		},
	}
}
