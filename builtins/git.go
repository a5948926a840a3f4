package builtins

import (
	"context"
	"fmt"

	"go.starlark.net/starlark"

	"github.com/fabplan/fabplan/engine"
	"github.com/fabplan/fabplan/fabric"
)

// fabric.git_connection: connect a workspace to a Git repository, initialize, then update or
// commit as Fabric asks.

// GitProviders and GitInitializations are the accepted enum values.
var (
	GitProviders       = []string{"AzureDevOps", "GitHub"}
	GitInitializations = []string{"PreferRemote", "PreferWorkspace", "None"}
)

type gitConnectionBuiltin struct{}

func (gitConnectionBuiltin) Spec() Spec {
	return Spec{
		Name: "fabric.git_connection",
		Doc:  "Connects a workspace to a branch and directory of a Git repository (Azure DevOps or GitHub), then initializes the connection and brings the two sides in line.",
		Params: []Param{
			{Name: "workspace", Type: "workspace", Required: true, Doc: "The workspace, from fabric.workspace(...); it needs a capacity."},
			{Name: "provider", Type: "string", Required: true, Enum: GitProviders, Doc: "Git provider."},
			{Name: "repository", Type: "string", Required: true, Doc: "Repository name."},
			{Name: "branch", Type: "string", Required: true, Doc: "Branch name."},
			{Name: "directory", Type: "string", Doc: "Directory in the repository (default /)."},
			{Name: "organization", Type: "string", Doc: "Azure DevOps organization."},
			{Name: "project", Type: "string", Doc: "Azure DevOps project."},
			{Name: "owner", Type: "string", Doc: "GitHub owner (user or organization)."},
			{Name: "custom_domain", Type: "string", Doc: "GitHub Enterprise custom domain (ghe.com)."},
			{Name: "connection_id", Type: "string", Doc: "Fabric connection holding the Git credentials (required for GitHub; ConfiguredConnection)."},
			{Name: "credentials", Type: "string", Enum: []string{"user", "connection"}, Doc: "Whose credentials Fabric uses for Git: \"user\" (Automatic: the signed-in user's own, which service principals cannot use; fabplan run then needs a user identity, e.g. --auth device-code) or \"connection\" (connection_id). Default: connection when connection_id is given, else user."},
			{Name: "initialize", Type: "string", Enum: GitInitializations, Doc: "Initialization strategy when the two sides differ (default PreferRemote)."},
		},
		Updatable: gitAttrOrder,
	}
}

func (gitConnectionBuiltin) Interpret(ev *evaluation, c *call) (starlark.Value, error) {
	ws := c.handle("workspace")
	r := &gitResource{
		addr:      ws.addr.Join("git"),
		pos:       c.pos,
		workspace: ws.addr,
		graph:     ev.graph,
		details: fabric.GitProviderDetails{
			GitProviderType:  c.str("provider"),
			RepositoryName:   c.str("repository"),
			BranchName:       c.str("branch"),
			DirectoryName:    c.str("directory"),
			OrganizationName: c.str("organization"),
			ProjectName:      c.str("project"),
			OwnerName:        c.str("owner"),
			CustomDomainName: c.str("custom_domain"),
		},
		connectionID: c.str("connection_id"),
		initialize:   c.str("initialize"),
	}
	if r.details.DirectoryName == "" {
		r.details.DirectoryName = "/"
	}
	if r.initialize == "" {
		r.initialize = "PreferRemote"
	}
	switch c.str("credentials") {
	case "user":
		if r.connectionID != "" {
			return nil, fmt.Errorf("fabric.git_connection: credentials = \"user\" uses the signed-in user's own Git credentials; drop connection_id, or use credentials = \"connection\"")
		}
	case "connection":
		if r.connectionID == "" {
			return nil, fmt.Errorf("fabric.git_connection: credentials = \"connection\" needs connection_id (a Fabric connection holding the Git credentials)")
		}
	}
	switch r.details.GitProviderType {
	case "AzureDevOps":
		if r.details.OrganizationName == "" || r.details.ProjectName == "" {
			return nil, fmt.Errorf("fabric.git_connection: provider AzureDevOps needs organization and project")
		}
	case "GitHub":
		if r.details.OwnerName == "" {
			return nil, fmt.Errorf("fabric.git_connection: provider GitHub needs owner")
		}
		if r.connectionID == "" {
			return nil, fmt.Errorf("fabric.git_connection: provider GitHub needs connection_id (a Fabric connection holding a GitHub token); Automatic credentials are not available for GitHub")
		}
	}
	ev.add(r)
	return newHandle("git_connection", r.addr, nil, r), nil
}

type gitResource struct {
	addr         engine.Addr
	pos          engine.Pos
	workspace    engine.Addr
	graph        *engine.Graph
	details      fabric.GitProviderDetails
	connectionID string
	initialize   string
}

var _ engine.Resource = (*gitResource)(nil)

func (r *gitResource) Addr() engine.Addr { return r.addr }
func (r *gitResource) Kind() string      { return "git_connection" }
func (r *gitResource) Pos() engine.Pos   { return r.pos }

// Deps puts the connection after everything else in its workspace, prune deletes included:
// initializing commits or updates the workspace as a whole, so it must see the deployed items and
// not the pruned ones.
func (r *gitResource) Deps() []engine.Addr {
	deps := []engine.Addr{r.workspace}
	for _, o := range r.graph.Resources() {
		if o.Addr() != r.addr && o.Addr() != r.workspace && o.Addr().Root() == r.workspace {
			deps = append(deps, o.Addr())
		}
	}
	return deps
}

func (r *gitResource) Validate(*engine.Graph) []engine.Diagnostic { return nil }

func (r *gitResource) Refresh(ctx context.Context, rt *engine.Runtime) (engine.Live, error) {
	wsID := rt.ID(r.workspace)
	if wsID == "" {
		return engine.Live{}, nil
	}
	conn, err := rt.Client.GetGitConnection(ctx, wsID)
	if err != nil {
		return engine.Live{}, err
	}
	if conn.GitConnectionState == "NotConnected" || conn.GitProviderDetails == nil {
		return engine.Live{}, nil
	}
	return engine.Live{Exists: true, ID: wsID, Data: conn, Attrs: gitAttrs(*conn.GitProviderDetails)}, nil
}

func gitAttrs(d fabric.GitProviderDetails) map[string]string {
	return map[string]string{
		"provider": d.GitProviderType, "repository": d.RepositoryName, "branch": d.BranchName,
		"directory": d.DirectoryName, "organization": d.OrganizationName, "project": d.ProjectName,
		"owner": d.OwnerName,
	}
}

var gitAttrOrder = []string{"provider", "organization", "project", "owner", "repository", "branch", "directory"}

func (r *gitResource) Diff(live engine.Live, _ *engine.Runtime) engine.Change {
	want := gitAttrs(r.details)
	ch := engine.Change{Action: engine.NoOp}
	if !live.Exists {
		ch.Action = engine.Create
	}
	for _, k := range gitAttrOrder {
		if want[k] == "" && live.Attrs[k] == "" {
			continue
		}
		a := engine.AttrChange{Name: k, Old: live.Attrs[k], New: want[k]}
		if live.Exists && a.Changed() {
			// Fabric has no way to re-point a connection: disconnect, then connect.
			ch.Action, ch.Reason = engine.Replace, "the "+k+" changed"
			a.ForcesReplace = true
		}
		ch.Attrs = append(ch.Attrs, a)
	}
	if live.Exists && live.Data.(fabric.GitConnection).GitConnectionState == "Connected" && ch.Action == engine.NoOp {
		// Connected but never initialized (a previous run stopped half-way): finish the job.
		ch.Action, ch.Reason = engine.Update, "the connection is not initialized"
	}
	return ch
}

// gitUndo is the argument of the Git undo operations: the connection a replace or update found
// (Previous), or the one a create made (Sent), which disconnect requires as evidence.
type gitUndo struct {
	WorkspaceID string                     `json:"workspace_id"`
	Previous    *fabric.GitProviderDetails `json:"previous,omitempty"`
	Sent        *fabric.GitProviderDetails `json:"sent,omitempty"`
}

func (r *gitResource) Apply(ctx context.Context, rt *engine.Runtime, ch *engine.Change, intent func(engine.Undo) error) (engine.Applied, error) {
	wsID := rt.ID(r.workspace)
	connect := func() (struct{}, error) {
		return struct{}{}, rt.Client.ConnectGit(ctx, wsID, r.details, r.credentials())
	}
	var undo engine.Undo
	switch ch.Action {
	case engine.Create:
		undo = engine.NewUndo("git.disconnect", gitUndo{WorkspaceID: wsID, Sent: &r.details})
		if _, err := createJournalled(intent, undo, connect); err != nil {
			return engine.Applied{}, err
		}
	default:
		prev := ch.Live.Data.(fabric.GitConnection).GitProviderDetails
		undo = engine.NewUndo("git.restore", gitUndo{WorkspaceID: wsID, Previous: prev})
		if err := intent(undo); err != nil {
			return engine.Applied{}, err
		}
		if ch.Action == engine.Replace {
			if err := rt.Client.DisconnectGit(ctx, wsID); err != nil {
				return engine.Applied{}, err
			}
			if _, err := connect(); err != nil {
				return engine.Applied{}, err
			}
		}
	}
	if err := r.initializeAndSync(ctx, rt.Client, wsID); err != nil {
		return engine.Applied{}, err
	}
	return engine.Applied{ID: wsID, Undo: undo}, nil
}

// RequiresUser: without connection_id Fabric connects with Automatic credentials, the caller's own
// identity, which it refuses for service principals (PrincipalTypeNotSupported).
func (r *gitResource) RequiresUser() string {
	if r.connectionID != "" {
		return ""
	}
	return "connects to " + r.details.GitProviderType + " with Automatic credentials (the caller's own identity), which Fabric refuses for service principals; sign in as a user, or give connection_id"
}

var _ UserStep = (*gitResource)(nil)

func (r *gitResource) credentials() *fabric.GitCredentials {
	if r.connectionID != "" {
		return &fabric.GitCredentials{Source: "ConfiguredConnection", ConnectionID: r.connectionID}
	}
	return nil
}

// initializeAndSync runs Fabric's connect flow: initialize, then update from Git or commit to Git
// as the required action says.
func (r *gitResource) initializeAndSync(ctx context.Context, c *fabric.Client, wsID string) error {
	init, err := c.InitializeGitConnection(ctx, wsID, r.initialize)
	if err != nil {
		return err
	}
	switch init.RequiredAction {
	case "UpdateFromGit":
		return c.UpdateFromGit(ctx, wsID, fabric.GitUpdate{
			RemoteCommitHash: init.RemoteCommitHash,
			WorkspaceHead:    init.WorkspaceHead,
			ConflictResolution: &fabric.GitConflictResolution{
				Type: "Workspace", Policy: policyFor(r.initialize),
			},
			Options: &fabric.GitUpdateOptions{AllowOverrideItems: true},
		})
	case "CommitToGit":
		return c.CommitToGit(ctx, wsID, fabric.GitCommit{Mode: "All", WorkspaceHead: init.WorkspaceHead, Comment: "Initial commit by fabplan"})
	}
	return nil
}

func policyFor(initialize string) string {
	if initialize == "PreferWorkspace" {
		return "PreferWorkspace"
	}
	return "PreferRemote"
}

func (gitConnectionBuiltin) UndoOps() engine.UndoRegistry {
	disconnect := func(ctx context.Context, rt *engine.Runtime, wsID string) error {
		err := rt.Client.DisconnectGit(ctx, wsID)
		if fabric.ErrorCode(err) == "WorkspaceNotConnectedToGit" {
			return nil
		}
		return ignoreNotFound(err)
	}
	return engine.UndoRegistry{
		"git.disconnect": undoOp(func(ctx context.Context, rt *engine.Runtime, u gitUndo) error {
			if u.Sent != nil {
				// Disconnect only the connection this run made: one elsewhere is another actor's.
				conn, err := rt.Client.GetGitConnection(ctx, u.WorkspaceID)
				if err != nil || conn.GitConnectionState == "NotConnected" || conn.GitProviderDetails == nil {
					return ignoreNotFound(err)
				}
				if why := fabric.GitMismatch(conn, *u.Sent); why != "" {
					return fabric.Conflict("DisconnectGit", "the Git connection of workspace "+u.WorkspaceID, why)
				}
			}
			return disconnect(ctx, rt, u.WorkspaceID)
		}),
		"git.restore": undoOp(func(ctx context.Context, rt *engine.Runtime, u gitUndo) error {
			conn, err := rt.Client.GetGitConnection(ctx, u.WorkspaceID)
			if err != nil {
				return err
			}
			if conn.GitProviderDetails != nil && u.Previous != nil && *conn.GitProviderDetails == *u.Previous {
				return nil
			}
			if err := disconnect(ctx, rt, u.WorkspaceID); err != nil {
				return err
			}
			if u.Previous == nil {
				return nil
			}
			// The previous connection's credentials are the caller's own (myGitCredentials); they
			// are not part of the connection and need not be restored.
			return rt.Client.ConnectGit(ctx, u.WorkspaceID, *u.Previous, nil)
		}),
	}
}
