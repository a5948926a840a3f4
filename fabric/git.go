package fabric

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// GitProviderDetails says where a workspace's Git repository is. GitProviderType is AzureDevOps
// (with OrganizationName and ProjectName) or GitHub (with OwnerName, optionally CustomDomainName).
type GitProviderDetails struct {
	GitProviderType  string `json:"gitProviderType"`
	RepositoryName   string `json:"repositoryName"`
	BranchName       string `json:"branchName"`
	DirectoryName    string `json:"directoryName"`
	OrganizationName string `json:"organizationName,omitempty"`
	ProjectName      string `json:"projectName,omitempty"`
	OwnerName        string `json:"ownerName,omitempty"`
	CustomDomainName string `json:"customDomainName,omitempty"`
}

// GitCredentials says how Fabric signs in to the provider: Source Automatic, ConfiguredConnection
// (with the Fabric ConnectionID; GitHub needs it) or None.
type GitCredentials struct {
	Source       string `json:"source"`
	ConnectionID string `json:"connectionId,omitempty"`
}

// GitSyncDetails is the last synchronisation of a connected workspace.
type GitSyncDetails struct {
	Head         string `json:"head"`
	LastSyncTime string `json:"lastSyncTime"`
}

// GitConnection is a workspace's Git connection. GitConnectionState is NotConnected, Connected or
// ConnectedAndInitialized.
type GitConnection struct {
	GitProviderDetails *GitProviderDetails `json:"gitProviderDetails"`
	GitSyncDetails     *GitSyncDetails     `json:"gitSyncDetails"`
	GitConnectionState string              `json:"gitConnectionState"`
}

// GitInitialization is the answer of InitializeGitConnection. RequiredAction is None, UpdateFromGit
// or CommitToGit.
type GitInitialization struct {
	RequiredAction   string `json:"requiredAction"`
	WorkspaceHead    string `json:"workspaceHead"`
	RemoteCommitHash string `json:"remoteCommitHash"`
}

// GitItemIdentifier names an item in Git operations.
type GitItemIdentifier struct {
	ObjectID  string `json:"objectId,omitempty"`
	LogicalID string `json:"logicalId,omitempty"`
}

// GitItemMetadata describes an item of a Git status.
type GitItemMetadata struct {
	ItemIdentifier GitItemIdentifier `json:"itemIdentifier"`
	ItemType       string            `json:"itemType"`
	DisplayName    string            `json:"displayName"`
}

// GitChange is one difference between workspace and repository. WorkspaceChange and RemoteChange
// are Added, Deleted or Modified (or empty); ConflictType None, Conflict or SameChanges.
type GitChange struct {
	ItemMetadata    GitItemMetadata `json:"itemMetadata"`
	WorkspaceChange string          `json:"workspaceChange,omitempty"`
	RemoteChange    string          `json:"remoteChange,omitempty"`
	ConflictType    string          `json:"conflictType"`
}

// GitStatus compares a workspace with its branch.
type GitStatus struct {
	WorkspaceHead    string      `json:"workspaceHead"`
	RemoteCommitHash string      `json:"remoteCommitHash"`
	Changes          []GitChange `json:"changes"`
}

// GitCommit is the body of CommitToGit; Mode is All or Selective (with Items).
type GitCommit struct {
	Mode          string              `json:"mode"`
	WorkspaceHead string              `json:"workspaceHead,omitempty"`
	Comment       string              `json:"comment,omitempty"`
	Items         []GitItemIdentifier `json:"items,omitempty"`
}

// GitConflictResolution picks a side when workspace and branch both changed an item; Policy is
// PreferRemote or PreferWorkspace.
type GitConflictResolution struct {
	Type   string `json:"conflictResolutionType"`
	Policy string `json:"conflictResolutionPolicy"`
}

// GitUpdate is the body of UpdateFromGit.
type GitUpdate struct {
	RemoteCommitHash   string                 `json:"remoteCommitHash"`
	WorkspaceHead      string                 `json:"workspaceHead,omitempty"`
	ConflictResolution *GitConflictResolution `json:"conflictResolution,omitempty"`
	Options            *GitUpdateOptions      `json:"options,omitempty"`
}

// GitUpdateOptions are the options of UpdateFromGit.
type GitUpdateOptions struct {
	AllowOverrideItems bool `json:"allowOverrideItems"`
}

func gitPath(ws, verb string) string { return "/v1/workspaces/" + url.PathEscape(ws) + "/git/" + verb }

// gitCall sends one Git request and follows the operation it may start; out nil = no result.
func (c *Client) gitCall(ctx context.Context, op, method, ws, verb string, body, out any) error {
	ctx = withCall(ctx, op)
	resp, err := c.send(ctx, method, gitPath(ws, verb), body)
	if err != nil {
		return err
	}
	return c.await(ctx, resp, out)
}

// GetGitConnection reads a workspace's Git connection.
func (c *Client) GetGitConnection(ctx context.Context, ws string) (GitConnection, error) {
	var out GitConnection
	err := c.gitCall(ctx, "GetGitConnection", http.MethodGet, ws, "connection", nil, &out)
	return out, err
}

// ConnectGit connects a workspace to a branch (no synchronisation yet); creds may be nil. Connecting
// twice is refused (WorkspaceAlreadyConnectedToGit), so a lost answer is reconciled like a create: the
// workspace's connection is read, and one to the same branch and directory is the success it hid;
// one to another target is another actor's (OwnershipConflict).
func (c *Client) ConnectGit(ctx context.Context, ws string, provider GitProviderDetails, creds *GitCredentials) error {
	body := struct {
		GitProviderDetails GitProviderDetails `json:"gitProviderDetails"`
		MyGitCredentials   *GitCredentials    `json:"myGitCredentials,omitempty"`
	}{provider, creds}
	return c.gitReconciled(ctx, "ConnectGit", ws, "connect", body, func(ctx context.Context) (bool, error) {
		conn, err := c.GetGitConnection(ctx, ws)
		return err == nil && conn.GitConnectionState != "NotConnected" && conn.GitProviderDetails != nil, err
	}, func(ctx context.Context) (string, error) {
		conn, err := c.GetGitConnection(ctx, ws)
		if err != nil {
			return "", err
		}
		return GitMismatch(conn, provider), nil
	})
}

// GitMismatch says how a connection differs from one to want; "" when it is connected to want.
func GitMismatch(conn GitConnection, want GitProviderDetails) string {
	switch {
	case conn.GitConnectionState == "NotConnected" || conn.GitProviderDetails == nil:
		return "the workspace is not connected to Git"
	case !sameGitTarget(*conn.GitProviderDetails, want):
		d := conn.GitProviderDetails
		return fmt.Sprintf("it is connected to %s %s branch %q directory %q, where this run connects %s %s branch %q directory %q",
			d.GitProviderType, d.RepositoryName, d.BranchName, d.DirectoryName,
			want.GitProviderType, want.RepositoryName, want.BranchName, want.DirectoryName)
	}
	return ""
}

// sameGitTarget reports whether two provider details name the same branch directory; Fabric compares
// names without regard to case and writes the directory with or without its slashes.
func sameGitTarget(a, b GitProviderDetails) bool {
	dir := func(d string) string { return strings.Trim(d, "/") }
	return strings.EqualFold(a.GitProviderType, b.GitProviderType) && strings.EqualFold(a.OrganizationName, b.OrganizationName) &&
		strings.EqualFold(a.ProjectName, b.ProjectName) && strings.EqualFold(a.OwnerName, b.OwnerName) &&
		strings.EqualFold(a.RepositoryName, b.RepositoryName) && a.BranchName == b.BranchName &&
		strings.EqualFold(dir(a.DirectoryName), dir(b.DirectoryName))
}

// DisconnectGit removes a workspace's Git connection.
func (c *Client) DisconnectGit(ctx context.Context, ws string) error {
	return c.gitCall(ctx, "DisconnectGit", http.MethodPost, ws, "disconnect", struct{}{}, nil)
}

// InitializeGitConnection initializes a connected workspace; strategy is None, PreferRemote or
// PreferWorkspace ("" = the service default).
func (c *Client) InitializeGitConnection(ctx context.Context, ws, strategy string) (GitInitialization, error) {
	body := map[string]string{}
	if strategy != "" {
		body["initializationStrategy"] = strategy
	}
	var out GitInitialization
	err := c.gitCall(ctx, "InitializeGitConnection", http.MethodPost, ws, "initializeConnection", body, &out)
	return out, err
}

// GitStatus compares the workspace with its branch (a long-running operation at times).
func (c *Client) GitStatus(ctx context.Context, ws string) (GitStatus, error) {
	var out GitStatus
	err := c.gitCall(ctx, "GitStatus", http.MethodGet, ws, "status", nil, &out)
	return out, err
}

// CommitToGit commits workspace changes to the branch. Sent twice, a commit fails the second time
// (NoChangesToCommit, or WorkspaceHeadMismatch for a stale head), so a lost answer is reconciled: the
// commit happened if the Git status no longer shows the workspace changes it was to commit.
func (c *Client) CommitToGit(ctx context.Context, ws string, in GitCommit) error {
	return c.gitReconciled(ctx, "CommitToGit", ws, "commitToGit", in, c.gitStatusShows(ws, func(st GitStatus) bool {
		for _, ch := range st.Changes {
			if ch.WorkspaceChange != "" && (in.Mode != "Selective" || selected(in.Items, ch.ItemMetadata.ItemIdentifier)) {
				return false
			}
		}
		return true
	}), nil)
}

// UpdateFromGit brings the workspace to the branch's commit. Like a commit it cannot be sent twice,
// so a lost answer is reconciled: the update happened if the workspace head is that commit.
func (c *Client) UpdateFromGit(ctx context.Context, ws string, in GitUpdate) error {
	return c.gitReconciled(ctx, "UpdateFromGit", ws, "updateFromGit", in, c.gitStatusShows(ws, func(st GitStatus) bool {
		return in.RemoteCommitHash != "" && st.WorkspaceHead == in.RemoteCommitHash
	}), nil)
}

// gitReconciled sends a Git operation that must not be replayed blindly; done tells whether an
// operation whose answer was lost took effect, and claim (nil: nothing more to check) whether that
// effect is this call's.
func (c *Client) gitReconciled(ctx context.Context, op, ws, verb string, body any, done func(context.Context) (bool, error),
	claim func(context.Context) (string, error)) error {
	_, err := createReconciled(ctx, c, op, "the Git connection of workspace "+ws,
		func(ctx context.Context) (struct{}, bool, error) {
			ok, err := done(ctx)
			return struct{}{}, ok, err
		},
		func(ctx context.Context, _ struct{}) (string, error) {
			if claim == nil {
				return "", nil
			}
			return claim(ctx)
		},
		func(ctx context.Context) (struct{}, error) {
			resp, err := c.send(ctx, http.MethodPost, gitPath(ws, verb), body)
			if err != nil {
				return struct{}{}, err
			}
			return struct{}{}, c.await(ctx, resp, nil)
		})
	return err
}

// gitStatusShows reads the workspace's Git status and asks done about it.
func (c *Client) gitStatusShows(ws string, done func(GitStatus) bool) func(context.Context) (bool, error) {
	return func(ctx context.Context) (bool, error) {
		st, err := c.GitStatus(ctx, ws)
		return err == nil && done(st), err
	}
}

func selected(items []GitItemIdentifier, id GitItemIdentifier) bool {
	for _, it := range items {
		if it.ObjectID != "" && it.ObjectID == id.ObjectID || it.LogicalID != "" && it.LogicalID == id.LogicalID {
			return true
		}
	}
	return false
}

// GetMyGitCredentials reads the caller's Git credentials for the workspace.
func (c *Client) GetMyGitCredentials(ctx context.Context, ws string) (GitCredentials, error) {
	var out GitCredentials
	err := c.gitCall(ctx, "GetMyGitCredentials", http.MethodGet, ws, "myGitCredentials", nil, &out)
	return out, err
}

// UpdateMyGitCredentials sets the caller's Git credentials for the workspace.
func (c *Client) UpdateMyGitCredentials(ctx context.Context, ws string, in GitCredentials) (GitCredentials, error) {
	var out GitCredentials
	err := c.gitCall(ctx, "UpdateMyGitCredentials", http.MethodPatch, ws, "myGitCredentials", in, &out)
	return out, err
}
