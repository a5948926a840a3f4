package emulator

import (
	"encoding/base64"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// role is a workspace role, ordered by what it allows.
type role int

const (
	roleNone role = iota
	roleViewer
	roleContributor
	roleMember
	roleAdmin
)

// roleNames is a function rather than a package array, so that nothing can rename a role at run time.
func roleNames() [5]string { return [...]string{"", "Viewer", "Contributor", "Member", "Admin"} }

func (r role) String() string { return roleNames()[r] }

func parseRole(s string) (role, bool) {
	for i, n := range roleNames() {
		if i > 0 && strings.EqualFold(n, s) {
			return role(i), true
		}
	}
	return roleNone, false
}

// roleOf is the caller's effective role: the highest of its own and its groups' assignments.
func (e *Emulator) roleOf(ws *workspace, p *Principal) role {
	best := roleNone
	groups := e.fix.groupsOf(p.ID)
	for _, ra := range ws.Roles {
		if ra.PrincipalID == p.ID || slices.Contains(groups, ra.PrincipalID) {
			if r, _ := parseRole(ra.Role); r > best {
				best = r
			}
		}
	}
	return best
}

// workspace resolves the {workspaceId} of the path and checks that the caller holds at least min.
// A caller without any role gets 403 InsufficientPrivileges; one whose role is too low 403
// InsufficientWorkspaceRole. Nothing is changed in either case.
func (c *call) workspace(min role) (*workspace, error) {
	id, err := c.pathID("workspaceId")
	if err != nil {
		return nil, err
	}
	ws := c.e.st.Workspaces[id]
	if ws == nil {
		return nil, notFound("WorkspaceNotFound", "Workspace", id)
	}
	r := c.e.roleOf(ws, c.who)
	if r == roleNone {
		return nil, forbidden("InsufficientPrivileges", "The caller does not have sufficient permissions to access the requested resource")
	}
	if r < min {
		return nil, insufficientRole()
	}
	c.e.settleCapacity(ws, c)
	return ws, nil
}

// settleCapacity moves a finished capacity assignment to Completed.
func (e *Emulator) settleCapacity(ws *workspace, c *call) {
	if ws.Progress == "InProgress" && !c.now.Before(ws.ProgressUntil) {
		ws.Progress = "Completed"
	}
}

type workspaceJSON struct {
	ID             string `json:"id"`
	DisplayName    string `json:"displayName"`
	Description    string `json:"description"`
	Type           string `json:"type"`
	CapacityID     string `json:"capacityId,omitempty"`
	CapacityRegion string `json:"capacityRegion,omitempty"`
	// WorkspaceInfo only
	CapacityAssignmentProgress string             `json:"capacityAssignmentProgress,omitempty"`
	WorkspaceIdentity          *workspaceIdentity `json:"workspaceIdentity,omitempty"`
	OneLakeEndpoints           *oneLakeEndpoints  `json:"oneLakeEndpoints,omitempty"`
}

type oneLakeEndpoints struct {
	BlobEndpoint string `json:"blobEndpoint"`
	DfsEndpoint  string `json:"dfsEndpoint"`
}

func (e *Emulator) workspaceView(ws *workspace, info bool) workspaceJSON {
	v := workspaceJSON{ID: ws.ID, DisplayName: ws.DisplayName, Description: ws.Description, Type: ws.Type,
		CapacityID: ws.CapacityID}
	if cp := e.fix.capacity(ws.CapacityID); cp != nil {
		v.CapacityRegion = cp.Region
	}
	if info {
		v.CapacityAssignmentProgress = ws.Progress
		if ws.Identity != nil {
			id := *ws.Identity
			v.WorkspaceIdentity = &id
		}
		v.OneLakeEndpoints = &oneLakeEndpoints{
			BlobEndpoint: e.base + "/onelake/blob",
			DfsEndpoint:  e.base + "/onelake/dfs",
		}
	}
	return v
}

// reservedWorkspaceName is the name Fabric keeps for the admin monitoring workspace.
const reservedWorkspaceName = "Admin monitoring"

func (e *Emulator) checkWorkspaceName(name, self string) error {
	name = strings.TrimSpace(name)
	if name == "" {
		return invalidInput("The workspace display name must not be empty")
	}
	if utf8.RuneCountInString(name) > 256 {
		return invalidInput("The workspace display name cannot contain more than 256 characters")
	}
	if strings.EqualFold(name, reservedWorkspaceName) {
		return badRequest("WorkspaceNameIsReserved", "'%s' is a reserved workspace name", reservedWorkspaceName)
	}
	for _, ws := range e.st.Workspaces {
		if ws.ID != self && strings.EqualFold(ws.DisplayName, name) {
			return errf(http.StatusConflict, "WorkspaceNameAlreadyExists", "Workspace name '%s' already exists", name)
		}
	}
	return nil
}

func checkDescription(d string, limit int) error {
	if utf8.RuneCountInString(d) > limit {
		return invalidInput("The description cannot contain more than %d characters", limit)
	}
	return nil
}

func (e *Emulator) listWorkspaces(c *call) (*response, error) {
	var want []role
	if rs := c.r.URL.Query().Get("roles"); rs != "" {
		for _, s := range strings.Split(rs, ",") {
			r, ok := parseRole(strings.TrimSpace(s))
			if !ok {
				return nil, badRequest("InvalidParameter", "The value '%s' of parameter 'roles' is not a workspace role", truncate(s, 32))
			}
			want = append(want, r)
		}
	}
	var out []workspaceJSON
	for _, ws := range e.st.sortedWorkspaces() {
		r := e.roleOf(ws, c.who)
		if r == roleNone || (len(want) > 0 && !containsRole(want, r)) {
			continue
		}
		out = append(out, e.workspaceView(ws, false))
	}
	return paged(c, out)
}

func containsRole(rs []role, r role) bool {
	for _, x := range rs {
		if x == r {
			return true
		}
	}
	return false
}

func (e *Emulator) getWorkspace(c *call) (*response, error) {
	ws, err := c.workspace(roleViewer)
	if err != nil {
		return nil, err
	}
	return ok(e.workspaceView(ws, true))
}

type createWorkspaceRequest struct {
	DisplayName *string `json:"displayName"`
	Description string  `json:"description"`
	CapacityID  string  `json:"capacityId"`
	DomainID    string  `json:"domainId"`
}

func (e *Emulator) createWorkspace(c *call) (*response, error) {
	var req createWorkspaceRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if req.DisplayName == nil {
		return nil, invalidInput("The displayName field is required")
	}
	if c.who.NoWorkspaceCreate {
		return nil, insufficientPrivileges()
	}
	name := strings.TrimSpace(*req.DisplayName)
	if err := e.checkWorkspaceName(name, ""); err != nil {
		return nil, err
	}
	if err := checkDescription(req.Description, 4000); err != nil {
		return nil, err
	}
	ws := &workspace{
		ID: e.newID(), Seq: e.nextSeq(), DisplayName: name, Description: req.Description, Type: "Workspace",
		Progress: "Completed", Items: map[string]*item{}, Folders: map[string]*folder{},
	}
	if req.CapacityID != "" {
		cp, err := e.usableCapacity(c, req.CapacityID)
		if err != nil {
			return nil, err
		}
		ws.CapacityID = cp.ID
		// A capacity given at create is assigned like assignToCapacity's: in progress for the delay.
		if e.opts.CapacityAssignDelay > 0 {
			ws.Progress, ws.ProgressUntil = "InProgress", c.now.Add(e.opts.CapacityAssignDelay)
		}
	}
	ws.Roles = []*roleAssignment{{PrincipalID: c.who.ID, PrincipalType: c.who.Type, Role: "Admin", Seq: e.nextSeq()}}
	e.st.Workspaces[ws.ID] = ws
	return &response{
		status: http.StatusCreated,
		header: http.Header{"Location": {e.base + "/v1/workspaces/" + ws.ID}},
		body:   e.workspaceView(ws, false),
	}, nil
}

type updateWorkspaceRequest struct {
	DisplayName *string `json:"displayName"`
	Description *string `json:"description"`
}

func (e *Emulator) updateWorkspace(c *call) (*response, error) {
	ws, err := c.workspace(roleAdmin)
	if err != nil {
		return nil, err
	}
	var req updateWorkspaceRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if req.DisplayName != nil {
		if err := e.checkWorkspaceName(*req.DisplayName, ws.ID); err != nil {
			return nil, err
		}
	}
	if req.Description != nil {
		if err := checkDescription(*req.Description, 4000); err != nil {
			return nil, err
		}
	}
	if req.DisplayName != nil {
		ws.DisplayName = strings.TrimSpace(*req.DisplayName)
	}
	if req.Description != nil {
		ws.Description = *req.Description
	}
	return ok(e.workspaceView(ws, false))
}

func (e *Emulator) deleteWorkspace(c *call) (*response, error) {
	ws, err := c.workspace(roleAdmin)
	if err != nil {
		return nil, err
	}
	delete(e.st.Workspaces, ws.ID)
	kept := e.st.Reserved[:0]
	for _, r := range e.st.Reserved {
		if r.WorkspaceID != ws.ID {
			kept = append(kept, r)
		}
	}
	e.st.Reserved = kept
	return emptyOK()
}

// usableCapacity returns the capacity if it exists, is Active and the caller may assign workspaces to it.
func (e *Emulator) usableCapacity(c *call, id string) (*Capacity, error) {
	id, err := guid("capacityId", id)
	if err != nil {
		return nil, err
	}
	cp := e.fix.capacity(id)
	if cp == nil {
		return nil, notFound("CapacityNotFound", "Capacity", id)
	}
	if !e.mayUseCapacity(cp, c.who) {
		return nil, forbidden("InsufficientPermissionsOverCapacity", "The caller does not have permission to assign workspaces to this capacity")
	}
	if cp.State != "Active" {
		return nil, badRequest("CapacityNotActive", "The capacity '%s' is not active", cp.DisplayName)
	}
	return cp, nil
}

func (e *Emulator) mayUseCapacity(cp *Capacity, p *Principal) bool {
	if cp.allows(p.ID) {
		return true
	}
	for _, g := range e.fix.groupsOf(p.ID) {
		if cp.allows(g) {
			return true
		}
	}
	return false
}

type assignCapacityRequest struct {
	CapacityID *string `json:"capacityId"`
}

func (e *Emulator) assignToCapacity(c *call) (*response, error) {
	ws, err := c.workspace(roleAdmin)
	if err != nil {
		return nil, err
	}
	var req assignCapacityRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if req.CapacityID == nil {
		return nil, invalidInput("The capacityId field is required")
	}
	cp, err := e.usableCapacity(c, *req.CapacityID)
	if err != nil {
		return nil, err
	}
	ws.CapacityID = cp.ID
	ws.Progress, ws.ProgressUntil = "InProgress", c.now.Add(e.opts.CapacityAssignDelay)
	return &response{status: http.StatusAccepted}, nil
}

func (e *Emulator) unassignFromCapacity(c *call) (*response, error) {
	ws, err := c.workspace(roleAdmin)
	if err != nil {
		return nil, err
	}
	if ws.Git != nil {
		return nil, badRequest("WorkspaceConnectedToGit", "A workspace connected to Git cannot be unassigned from its capacity")
	}
	ws.CapacityID = ""
	ws.Progress, ws.ProgressUntil = "InProgress", c.now.Add(e.opts.CapacityAssignDelay)
	return &response{status: http.StatusAccepted}, nil
}

func (e *Emulator) provisionIdentity(c *call) (*response, error) {
	ws, err := c.workspace(roleAdmin)
	if err != nil {
		return nil, err
	}
	if ws.CapacityID == "" {
		return nil, badRequest("WorkspaceHasNoCapacityAssigned", "The workspace must be assigned to a capacity to provision its identity")
	}
	return c.finish(false, http.StatusOK, func() any {
		if ws.Identity == nil {
			ws.Identity = &workspaceIdentity{ApplicationID: e.newID(), ServicePrincipalID: e.newID()}
		}
		id := *ws.Identity
		return id
	})
}

func (e *Emulator) deprovisionIdentity(c *call) (*response, error) {
	ws, err := c.workspace(roleAdmin)
	if err != nil {
		return nil, err
	}
	if ws.Identity == nil {
		return nil, badRequest("WorkspaceIdentityNotFound", "The workspace has no identity")
	}
	return c.finish(false, http.StatusOK, func() any {
		ws.Identity = nil
		return nil
	})
}

type capacityJSON struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	SKU         string `json:"sku"`
	Region      string `json:"region"`
	State       string `json:"state"`
}

func capacityView(cp *Capacity) capacityJSON {
	return capacityJSON{ID: cp.ID, DisplayName: cp.DisplayName, SKU: cp.SKU, Region: cp.Region, State: cp.State}
}

func (e *Emulator) listCapacities(c *call) (*response, error) {
	var out []capacityJSON
	for i := range e.fix.Capacities {
		if cp := &e.fix.Capacities[i]; e.mayUseCapacity(cp, c.who) {
			out = append(out, capacityView(cp))
		}
	}
	return paged(c, out)
}

func (e *Emulator) getCapacity(c *call) (*response, error) {
	id, err := c.pathID("capacityId")
	if err != nil {
		return nil, err
	}
	cp := e.fix.capacity(id)
	if cp == nil || !e.mayUseCapacity(cp, c.who) {
		return nil, notFound("CapacityNotFound", "Capacity", id)
	}
	return ok(capacityView(cp))
}

// listBody is the spec's paginated response.
type listBody[T any] struct {
	Value             []T    `json:"value"`
	ContinuationToken string `json:"continuationToken,omitempty"`
	ContinuationURI   string `json:"continuationUri,omitempty"`
}

// paged answers one page of all; the continuation token is an opaque, URL-safe offset and continuationUri is
// absolute on the emulator's own base.
func paged[T any](c *call, all []T) (*response, error) {
	start := 0
	if tok := c.r.URL.Query().Get("continuationToken"); tok != "" {
		b, err := base64.RawURLEncoding.DecodeString(tok)
		n, perr := strconv.Atoi(strings.TrimPrefix(string(b), "o"))
		if err != nil || perr != nil || !strings.HasPrefix(string(b), "o") || n < 0 || n > len(all) {
			return nil, badRequest("InvalidContinuationToken", "The continuation token is not valid")
		}
		start = n
	}
	end := min(start+c.e.opts.PageSize, len(all))
	body := listBody[T]{Value: all[start:end:end]}
	if body.Value == nil {
		body.Value = []T{}
	}
	if end < len(all) {
		tok := base64.RawURLEncoding.EncodeToString([]byte("o" + strconv.Itoa(end)))
		q := c.r.URL.Query()
		q.Set("continuationToken", tok)
		body.ContinuationToken = tok
		body.ContinuationURI = c.e.base + c.r.URL.Path + "?" + q.Encode()
	}
	return ok(body)
}
