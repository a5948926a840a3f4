package fabric

import (
	"context"
	"fmt"
	"strings"

	"github.com/microsoft/fabric-sdk-go/fabric/core"
)

// Principal is an Entra object: Type is User, Group, ServicePrincipal or ServicePrincipalProfile;
// ID is its object id (for a service principal the service principal's id, not the app id).
// DisplayName is what Fabric answers with (read only; never sent).
type Principal struct{ ID, Type, DisplayName string }

// RoleAssignment gives a principal a workspace role (Admin, Member, Contributor, Viewer).
type RoleAssignment struct {
	ID        string
	Principal Principal
	Role      string
}

func fromSDKRole(r core.WorkspaceRoleAssignment) RoleAssignment {
	ra := RoleAssignment{ID: str(r.ID), Role: str(r.Role)}
	if r.Principal != nil {
		if p := r.Principal.GetPrincipal(); p != nil {
			ra.Principal = Principal{ID: str(p.ID), Type: str(p.Type), DisplayName: str(p.DisplayName)}
		}
	}
	return ra
}

// ListRoleAssignments lists a workspace's role assignments.
func (c *Client) ListRoleAssignments(ctx context.Context, ws string) ([]RoleAssignment, error) {
	list, err := c.workspaces.ListWorkspaceRoleAssignments(withCall(ctx, "ListRoleAssignments"), ws, nil)
	return convertAll(list, err, fromSDKRole)
}

// FindRoleAssignment looks up the assignment of a principal, the natural key of role assignments.
func (c *Client) FindRoleAssignment(ctx context.Context, ws, principalID string) (RoleAssignment, bool, error) {
	all, err := c.ListRoleAssignments(ctx, ws)
	return findFirst(all, err, func(ra RoleAssignment) bool { return strings.EqualFold(ra.Principal.ID, principalID) })
}

// RoleMismatch says how the assignment found differs from giving p the role; "" when it is that.
func RoleMismatch(found RoleAssignment, p Principal, role string) string {
	return mismatch(field{"principal type", p.Type, found.Principal.Type, true}, field{"role", role, found.Role, true})
}

// AddRoleAssignment gives p the role; after a lost or failed answer the principal's assignment is
// looked up instead of sending the add again blindly, and taken only if it gives the same role.
func (c *Client) AddRoleAssignment(ctx context.Context, ws string, p Principal, role string) (RoleAssignment, error) {
	pt, wr := core.PrincipalType(p.Type), core.WorkspaceRole(role)
	return createReconciled(ctx, c, "AddRoleAssignment", fmt.Sprintf("the role assignment of %s %s in workspace %s", p.Type, p.ID, ws),
		func(ctx context.Context) (RoleAssignment, bool, error) { return c.FindRoleAssignment(ctx, ws, p.ID) },
		func(_ context.Context, ra RoleAssignment) (string, error) { return RoleMismatch(ra, p, role), nil },
		func(ctx context.Context) (RoleAssignment, error) {
			r, err := c.workspaces.AddWorkspaceRoleAssignment(ctx, ws, core.AddWorkspaceRoleAssignmentRequest{
				Principal: &core.Principal{ID: &p.ID, Type: &pt}, Role: &wr}, nil)
			if err != nil {
				return RoleAssignment{}, err
			}
			return fromSDKRole(r.WorkspaceRoleAssignment), nil
		})
}

// UpdateRoleAssignment changes the role of an assignment.
func (c *Client) UpdateRoleAssignment(ctx context.Context, ws, id, role string) (RoleAssignment, error) {
	wr := core.WorkspaceRole(role)
	r, err := c.workspaces.UpdateWorkspaceRoleAssignment(withCall(ctx, "UpdateRoleAssignment"), ws, id,
		core.UpdateWorkspaceRoleAssignmentRequest{Role: &wr}, nil)
	if err != nil {
		return RoleAssignment{}, err
	}
	return fromSDKRole(r.WorkspaceRoleAssignment), nil
}

// DeleteRoleAssignment removes an assignment.
func (c *Client) DeleteRoleAssignment(ctx context.Context, ws, id string) error {
	_, err := c.workspaces.DeleteWorkspaceRoleAssignment(withCall(ctx, "DeleteRoleAssignment"), ws, id, nil)
	return err
}
