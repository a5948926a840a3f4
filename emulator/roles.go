package emulator

import (
	"net/http"
)

// maxRoleAssignments is Fabric's limit of principals in workspace roles.
const maxRoleAssignments = 1000

type principalJSON struct {
	ID                             string                   `json:"id"`
	DisplayName                    string                   `json:"displayName,omitempty"`
	Type                           string                   `json:"type"`
	UserDetails                    *userDetails             `json:"userDetails,omitempty"`
	GroupDetails                   *groupDetails            `json:"groupDetails,omitempty"`
	ServicePrincipalDetails        *servicePrincipalDetails `json:"servicePrincipalDetails,omitempty"`
	ServicePrincipalProfileDetails *profileDetails          `json:"servicePrincipalProfileDetails,omitempty"`
}

type userDetails struct {
	UserPrincipalName string `json:"userPrincipalName"`
}

type groupDetails struct {
	GroupType string `json:"groupType"`
}

type servicePrincipalDetails struct {
	AADAppID string `json:"aadAppId"`
}

type profileDetails struct {
	ParentPrincipal *principalJSON `json:"parentPrincipal,omitempty"`
}

type roleAssignmentJSON struct {
	ID        string        `json:"id"`
	Principal principalJSON `json:"principal"`
	Role      string        `json:"role"`
}

func (e *Emulator) principalView(id, typ string) principalJSON {
	v := principalJSON{ID: id, Type: typ}
	p := e.fix.principal(id)
	if p == nil {
		return v
	}
	v.DisplayName = p.DisplayName
	switch p.Type {
	case PrincipalUser:
		v.UserDetails = &userDetails{UserPrincipalName: p.UserPrincipalName}
	case PrincipalGroup:
		gt := p.GroupType
		if gt == "" {
			gt = "SecurityGroup"
		}
		v.GroupDetails = &groupDetails{GroupType: gt}
	case PrincipalServicePrincipal:
		v.ServicePrincipalDetails = &servicePrincipalDetails{AADAppID: p.AppID}
	case PrincipalServicePrincipalProfile:
		d := &profileDetails{}
		if parent := e.fix.principal(p.ParentID); parent != nil {
			pv := principalJSON{ID: parent.ID, DisplayName: parent.DisplayName, Type: parent.Type}
			d.ParentPrincipal = &pv
		}
		v.ServicePrincipalProfileDetails = d
	}
	return v
}

// roleAssignment ids equal the principal id, as in every example of the spec.
func (e *Emulator) roleAssignmentView(ra *roleAssignment) roleAssignmentJSON {
	return roleAssignmentJSON{ID: ra.PrincipalID, Principal: e.principalView(ra.PrincipalID, ra.PrincipalType), Role: ra.Role}
}

// workspaceRoleAssignment resolves {workspaceId}/{roleAssignmentId} for a caller holding at least min.
func (c *call) workspaceRoleAssignment(min role) (*workspace, *roleAssignment, error) {
	ws, err := c.workspace(min)
	if err != nil {
		return nil, nil, err
	}
	id, err := c.pathID("roleAssignmentId")
	if err != nil {
		return nil, nil, err
	}
	for _, ra := range ws.Roles {
		if ra.PrincipalID == id {
			return ws, ra, nil
		}
	}
	return nil, nil, notFound("WorkspaceRoleAssignmentNotFound", "WorkspaceRoleAssignment", id)
}

func (ws *workspace) admins() int {
	n := 0
	for _, ra := range ws.Roles {
		if ra.Role == roleAdmin.String() {
			n++
		}
	}
	return n
}

func lastAdmin() error {
	return badRequest("LastAdminCannotBeRemoved", "The workspace must keep at least one Admin")
}

func (e *Emulator) listRoleAssignments(c *call) (*response, error) {
	ws, err := c.workspace(roleMember)
	if err != nil {
		return nil, err
	}
	out := make([]roleAssignmentJSON, 0, len(ws.Roles))
	for _, ra := range ws.Roles {
		out = append(out, e.roleAssignmentView(ra))
	}
	return paged(c, out)
}

func (e *Emulator) getRoleAssignment(c *call) (*response, error) {
	_, ra, err := c.workspaceRoleAssignment(roleMember)
	if err != nil {
		return nil, err
	}
	return ok(e.roleAssignmentView(ra))
}

type addRoleAssignmentRequest struct {
	Principal *struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	} `json:"principal"`
	Role string `json:"role"`
}

func (e *Emulator) addRoleAssignment(c *call) (*response, error) {
	ws, err := c.workspace(roleMember)
	if err != nil {
		return nil, err
	}
	var req addRoleAssignmentRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if req.Principal == nil {
		return nil, invalidInput("The principal field is required")
	}
	pid, err := guid("principal.id", req.Principal.ID)
	if err != nil {
		return nil, err
	}
	switch req.Principal.Type {
	case PrincipalUser, PrincipalGroup, PrincipalServicePrincipal, PrincipalServicePrincipalProfile:
	case "EntireTenant":
		return nil, badRequest("PrincipalTypeNotSupported", "Workspace roles cannot be granted to EntireTenant")
	default:
		return nil, invalidInput("The principal type '%s' is not valid", truncate(req.Principal.Type, 32))
	}
	r, okRole := parseRole(req.Role)
	if !okRole {
		return nil, invalidInput("The role '%s' is not a workspace role (Admin, Member, Contributor, Viewer)", truncate(req.Role, 32))
	}
	p := e.fix.principal(pid)
	if p == nil || p.Type != req.Principal.Type {
		return nil, badRequest("PrincipalNotFound", "No %s with id %s exists in the tenant", req.Principal.Type, pid)
	}
	if e.roleOf(ws, c.who) < roleAdmin && r > roleMember {
		return nil, forbidden("InsufficientWorkspaceRole", "Members can grant Member, Contributor or Viewer, not Admin")
	}
	for _, ra := range ws.Roles {
		if ra.PrincipalID == pid {
			return nil, errf(http.StatusConflict, "PrincipalAlreadyHasWorkspaceRolePermissions",
				"The principal already has the workspace role %s", ra.Role)
		}
	}
	if len(ws.Roles) >= maxRoleAssignments {
		return nil, badRequest("WorkspaceRoleAssignmentsLimitExceeded", "A workspace can have at most %d role assignments", maxRoleAssignments)
	}
	ra := &roleAssignment{PrincipalID: pid, PrincipalType: p.Type, Role: r.String(), Seq: e.nextSeq()}
	ws.Roles = append(ws.Roles, ra)
	return &response{
		status: http.StatusCreated,
		header: http.Header{"Location": {e.base + "/v1/workspaces/" + ws.ID + "/roleAssignments/" + pid}},
		body:   e.roleAssignmentView(ra),
	}, nil
}

type updateRoleAssignmentRequest struct {
	Role string `json:"role"`
}

func (e *Emulator) updateRoleAssignment(c *call) (*response, error) {
	ws, ra, err := c.workspaceRoleAssignment(roleAdmin)
	if err != nil {
		return nil, err
	}
	var req updateRoleAssignmentRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	r, okRole := parseRole(req.Role)
	if !okRole {
		return nil, invalidInput("The role '%s' is not a workspace role (Admin, Member, Contributor, Viewer)", truncate(req.Role, 32))
	}
	if ra.Role == roleAdmin.String() && r != roleAdmin && ws.admins() == 1 {
		return nil, lastAdmin()
	}
	ra.Role = r.String()
	return ok(e.roleAssignmentView(ra))
}

func (e *Emulator) deleteRoleAssignment(c *call) (*response, error) {
	ws, ra, err := c.workspaceRoleAssignment(roleAdmin)
	if err != nil {
		return nil, err
	}
	if ra.Role == roleAdmin.String() && ws.admins() == 1 {
		return nil, lastAdmin()
	}
	for i, x := range ws.Roles {
		if x == ra {
			ws.Roles = append(ws.Roles[:i], ws.Roles[i+1:]...)
			break
		}
	}
	return emptyOK()
}
