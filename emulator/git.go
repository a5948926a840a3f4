package emulator

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// gitConnection is a workspace's Git connection and what it last synced.
type gitConnection struct {
	Provider    gitProviderDetails   `json:"provider"`
	Head        string               `json:"head,omitempty"` // commit the workspace last synced with
	Initialized bool                 `json:"initialized"`
	Synced      map[string]*gitEntry `json:"synced,omitempty"` // by logical id, as of Head
	LastSync    time.Time            `json:"lastSync"`
}

type gitProviderDetails struct {
	GitProviderType  string `json:"gitProviderType"`
	OrganizationName string `json:"organizationName,omitempty"`
	ProjectName      string `json:"projectName,omitempty"`
	OwnerName        string `json:"ownerName,omitempty"`
	CustomDomainName string `json:"customDomainName,omitempty"`
	RepositoryName   string `json:"repositoryName"`
	BranchName       string `json:"branchName"`
	DirectoryName    string `json:"directoryName"`
}

type gitCredentials struct {
	Source       string `json:"source"`
	ConnectionID string `json:"connectionId,omitempty"`
}

// gitRemote is the simulated repository branch directory: a list of commits, each a full snapshot.
type gitRemote struct {
	Commits []*gitCommit `json:"commits"`
}

type gitCommit struct {
	Hash    string               `json:"hash"`
	Comment string               `json:"comment,omitempty"`
	Items   map[string]*gitEntry `json:"items"` // by logical id
}

// gitEntry is an item as the repository holds it.
type gitEntry struct {
	LogicalID   string `json:"logicalId"`
	Type        string `json:"type"`
	DisplayName string `json:"displayName"`
	Description string `json:"description,omitempty"`
	Format      string `json:"format,omitempty"`
	Parts       []part `json:"parts,omitempty"`
}

func (a *gitEntry) equal(b *gitEntry) bool {
	if a.Type != b.Type || a.DisplayName != b.DisplayName || a.Description != b.Description || a.Format != b.Format ||
		len(a.Parts) != len(b.Parts) {
		return false
	}
	for i := range a.Parts {
		if a.Parts[i].Path != b.Parts[i].Path || !bytes.Equal(a.Parts[i].Payload, b.Parts[i].Payload) {
			return false
		}
	}
	return true
}

func (r *gitRemote) head() *gitCommit {
	if len(r.Commits) == 0 {
		return nil
	}
	return r.Commits[len(r.Commits)-1]
}

func (r *gitRemote) headHash() string {
	if h := r.head(); h != nil {
		return h.Hash
	}
	return ""
}

func (r *gitRemote) headItems() map[string]*gitEntry {
	if h := r.head(); h != nil {
		return h.Items
	}
	return map[string]*gitEntry{}
}

// remoteKey names the simulated repository directory a connection points at.
func (p gitProviderDetails) remoteKey() string {
	owner := p.OrganizationName + "/" + p.ProjectName
	if p.GitProviderType == "GitHub" {
		owner = p.OwnerName
		if p.CustomDomainName != "" {
			owner = p.CustomDomainName + "/" + owner
		}
	}
	return strings.ToLower(fmt.Sprintf("%s:%s/%s@%s:%s", p.GitProviderType, owner, p.RepositoryName, p.BranchName,
		strings.Trim(p.DirectoryName, "/")))
}

func (e *Emulator) remote(ws *workspace) *gitRemote {
	key := ws.Git.Provider.remoteKey()
	r := e.st.Remotes[key]
	if r == nil {
		r = &gitRemote{}
		e.st.Remotes[key] = r
	}
	return r
}

// snapshot is the workspace's items as Git sees them (items owned by another item are not tracked).
func (ws *workspace) snapshot() map[string]*gitEntry {
	out := map[string]*gitEntry{}
	for _, it := range ws.Items {
		if it.ParentID != "" {
			continue
		}
		out[it.LogicalID] = &gitEntry{LogicalID: it.LogicalID, Type: it.Type, DisplayName: it.DisplayName,
			Description: it.Description, Format: it.Format, Parts: it.Parts}
	}
	return out
}

func (ws *workspace) itemByLogicalID(id string) *item {
	for _, it := range ws.Items {
		if it.LogicalID == id && it.ParentID == "" {
			return it
		}
	}
	return nil
}

// connectedWorkspace resolves a workspace connected to Git and on a capacity.
func (c *call) connectedWorkspace(min role) (*workspace, error) {
	ws, err := c.workspace(min)
	if err != nil {
		return nil, err
	}
	if ws.Git == nil {
		return nil, badRequest("WorkspaceNotConnectedToGit", "The workspace is not connected to Git")
	}
	if ws.CapacityID == "" {
		return nil, badRequest("WorkspaceHasNoCapacityAssigned", "No capacity is assigned to the workspace")
	}
	return ws, nil
}

type gitConnectRequest struct {
	GitProviderDetails *gitProviderDetails `json:"gitProviderDetails"`
	MyGitCredentials   *gitCredentials     `json:"myGitCredentials"`
}

func (e *Emulator) gitConnect(c *call) (*response, error) {
	ws, err := c.workspace(roleAdmin)
	if err != nil {
		return nil, err
	}
	var req gitConnectRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if ws.Git != nil {
		return nil, errf(http.StatusConflict, "WorkspaceAlreadyConnectedToGit", "The workspace is already connected to Git")
	}
	if ws.CapacityID == "" {
		return nil, badRequest("WorkspaceHasNoCapacityAssigned", "No capacity is assigned to the workspace")
	}
	p := req.GitProviderDetails
	if p == nil {
		return nil, invalidInput("The gitProviderDetails field is required")
	}
	if err := checkProvider(p); err != nil {
		return nil, err
	}
	creds := req.MyGitCredentials
	if creds == nil {
		creds = &gitCredentials{Source: "Automatic"}
	}
	if err := e.checkGitCredentials(c, p, creds); err != nil {
		return nil, err
	}
	ws.Git = &gitConnection{Provider: *p}
	if ws.GitCreds == nil {
		ws.GitCreds = map[string]*gitCredentials{}
	}
	ws.GitCreds[c.who.ID] = creds
	return emptyOK()
}

func checkProvider(p *gitProviderDetails) error {
	need := func(name, v string, limit int) error {
		if strings.TrimSpace(v) == "" {
			return invalidInput("gitProviderDetails.%s is required", name)
		}
		if utf8.RuneCountInString(v) > limit {
			return invalidInput("gitProviderDetails.%s cannot contain more than %d characters", name, limit)
		}
		return nil
	}
	switch p.GitProviderType {
	case "AzureDevOps":
		if err := need("organizationName", p.OrganizationName, 100); err != nil {
			return err
		}
		if err := need("projectName", p.ProjectName, 100); err != nil {
			return err
		}
	case "GitHub":
		if err := need("ownerName", p.OwnerName, 100); err != nil {
			return err
		}
	default:
		return invalidInput("gitProviderDetails.gitProviderType must be AzureDevOps or GitHub, not '%s'", truncate(p.GitProviderType, 32))
	}
	if err := need("repositoryName", p.RepositoryName, 128); err != nil {
		return err
	}
	if err := need("branchName", p.BranchName, 250); err != nil {
		return err
	}
	return need("directoryName", p.DirectoryName, 256)
}

// checkGitCredentials applies the documented rules: Automatic is blocked for GitHub and for service
// principals; ConfiguredConnection must name a known connection.
func (e *Emulator) checkGitCredentials(c *call, p *gitProviderDetails, cr *gitCredentials) error {
	switch cr.Source {
	case "Automatic":
		if p.GitProviderType == "GitHub" {
			return invalidInput("GitHub connections need ConfiguredConnection credentials")
		}
		if c.who.Type != PrincipalUser {
			return badRequest("PrincipalTypeNotSupported", "Automatic Git credentials are not supported for service principals; use ConfiguredConnection")
		}
	case "ConfiguredConnection":
		id, err := guid("connectionId", cr.ConnectionID)
		if err != nil {
			return err
		}
		if e.st.Connections[id] == nil {
			return notFound("ConnectionNotFound", "Connection", id)
		}
		cr.ConnectionID = id
	case "None":
	default:
		return invalidInput("myGitCredentials.source must be Automatic, ConfiguredConnection or None, not '%s'", truncate(cr.Source, 32))
	}
	return nil
}

func (e *Emulator) gitDisconnect(c *call) (*response, error) {
	ws, err := c.workspace(roleAdmin)
	if err != nil {
		return nil, err
	}
	if ws.Git == nil {
		return nil, badRequest("WorkspaceNotConnectedToGit", "The workspace is not connected to Git")
	}
	ws.Git, ws.GitCreds = nil, nil
	return emptyOK()
}

type gitConnectionJSON struct {
	GitProviderDetails *gitProviderDetails `json:"gitProviderDetails,omitempty"`
	GitSyncDetails     *gitSyncDetails     `json:"gitSyncDetails,omitempty"`
	GitConnectionState string              `json:"gitConnectionState"`
}

type gitSyncDetails struct {
	Head         string `json:"head"`
	LastSyncTime string `json:"lastSyncTime"`
}

func (e *Emulator) gitGetConnection(c *call) (*response, error) {
	ws, err := c.workspace(roleContributor)
	if err != nil {
		return nil, err
	}
	if ws.Git == nil {
		return ok(gitConnectionJSON{GitConnectionState: "NotConnected"})
	}
	p := ws.Git.Provider
	out := gitConnectionJSON{GitProviderDetails: &p, GitConnectionState: "Connected"}
	if ws.Git.Initialized {
		out.GitConnectionState = "ConnectedAndInitialized"
		if ws.Git.Head != "" {
			out.GitSyncDetails = &gitSyncDetails{Head: ws.Git.Head, LastSyncTime: fabricTime(ws.Git.LastSync)}
		}
	}
	return ok(out)
}

type initializeRequest struct {
	InitializationStrategy string `json:"initializationStrategy"`
}

type initializeResponse struct {
	RequiredAction   string `json:"requiredAction"`
	WorkspaceHead    string `json:"workspaceHead,omitempty"`
	RemoteCommitHash string `json:"remoteCommitHash,omitempty"`
}

func (e *Emulator) gitInitialize(c *call) (*response, error) {
	ws, err := c.connectedWorkspace(roleAdmin)
	if err != nil {
		return nil, err
	}
	var req initializeRequest
	if err := c.decodeOptional(&req); err != nil {
		return nil, err
	}
	switch req.InitializationStrategy {
	case "", "None", "PreferRemote", "PreferWorkspace":
	default:
		return nil, invalidInput("initializationStrategy must be None, PreferRemote or PreferWorkspace")
	}
	r := e.remote(ws)
	remoteItems, local := r.headItems(), ws.snapshot()
	action := "None"
	switch {
	case len(remoteItems) == 0 && len(local) > 0:
		action = "CommitToGit"
	case len(remoteItems) > 0 && len(local) == 0:
		action = "UpdateFromGit"
	case len(remoteItems) > 0 && len(local) > 0:
		switch req.InitializationStrategy {
		case "PreferRemote":
			action = "UpdateFromGit"
		case "PreferWorkspace":
			action = "CommitToGit"
		default:
			return nil, badRequest("MissingInitializationPolicy", "Both the workspace and the branch have content; choose PreferRemote or PreferWorkspace")
		}
	}
	// The spec allows 200 or a 202 operation; a slow emulator (--lro-delay) takes the long way, so that
	// clients meet both.
	return c.finish(e.opts.LRODelay == 0, http.StatusOK, func() any {
		ws.Git.Initialized = true
		ws.Git.LastSync = c.now
		if action == "CommitToGit" || len(remoteItems) == 0 {
			// The workspace starts from the branch head: what it has beyond that is its uncommitted change.
			ws.Git.Head, ws.Git.Synced = r.headHash(), remoteItems
		} else {
			ws.Git.Head, ws.Git.Synced = "", map[string]*gitEntry{}
		}
		return initializeResponse{RequiredAction: action, WorkspaceHead: ws.Git.Head, RemoteCommitHash: r.headHash()}
	})
}

type gitChange struct {
	ItemMetadata    gitItemMetadata `json:"itemMetadata"`
	WorkspaceChange string          `json:"workspaceChange,omitempty"`
	RemoteChange    string          `json:"remoteChange,omitempty"`
	ConflictType    string          `json:"conflictType"`
}

type gitItemMetadata struct {
	ItemIdentifier struct {
		ObjectID  string `json:"objectId,omitempty"`
		LogicalID string `json:"logicalId,omitempty"`
	} `json:"itemIdentifier"`
	ItemType    string `json:"itemType"`
	DisplayName string `json:"displayName"`
}

type gitStatusJSON struct {
	WorkspaceHead    string      `json:"workspaceHead"`
	RemoteCommitHash string      `json:"remoteCommitHash"`
	Changes          []gitChange `json:"changes"`
}

func changeKind(base, now *gitEntry) string {
	switch {
	case base == nil && now != nil:
		return "Added"
	case base != nil && now == nil:
		return "Deleted"
	case base != nil && !base.equal(now):
		return "Modified"
	}
	return ""
}

// gitChanges compares the workspace and the branch head against what the workspace last synced.
func (e *Emulator) gitChanges(ws *workspace) []gitChange {
	r := e.remote(ws)
	synced, local, remote := ws.Git.Synced, ws.snapshot(), r.headItems()
	ids := map[string]bool{}
	for _, m := range []map[string]*gitEntry{synced, local, remote} {
		for id := range m {
			ids[id] = true
		}
	}
	var out []gitChange
	for id := range ids {
		wc, rc := changeKind(synced[id], local[id]), changeKind(synced[id], remote[id])
		if wc == "" && rc == "" {
			continue
		}
		ch := gitChange{WorkspaceChange: wc, RemoteChange: rc, ConflictType: "None"}
		if wc != "" && rc != "" {
			ch.ConflictType = "Conflict"
			if (local[id] == nil && remote[id] == nil) || (local[id] != nil && remote[id] != nil && local[id].equal(remote[id])) {
				ch.ConflictType = "SameChanges"
			}
		}
		ref := local[id]
		if ref == nil {
			ref = remote[id]
		}
		if ref == nil {
			ref = synced[id]
		}
		ch.ItemMetadata.ItemIdentifier.LogicalID = id
		if it := ws.itemByLogicalID(id); it != nil {
			ch.ItemMetadata.ItemIdentifier.ObjectID = it.ID
		}
		ch.ItemMetadata.ItemType, ch.ItemMetadata.DisplayName = ref.Type, ref.DisplayName
		out = append(out, ch)
	}
	slices.SortFunc(out, func(a, b gitChange) int {
		return strings.Compare(a.ItemMetadata.ItemType+"/"+a.ItemMetadata.DisplayName, b.ItemMetadata.ItemType+"/"+b.ItemMetadata.DisplayName)
	})
	return out
}

func (e *Emulator) gitStatus(c *call) (*response, error) {
	ws, err := c.connectedWorkspace(roleContributor)
	if err != nil {
		return nil, err
	}
	changes := e.gitChanges(ws)
	if changes == nil {
		changes = []gitChange{}
	}
	// 200 at once, or (with --lro-delay) a 202 operation whose result is the status, as the spec allows.
	st := gitStatusJSON{WorkspaceHead: ws.Git.Head, RemoteCommitHash: e.remote(ws).headHash(), Changes: changes}
	return c.finish(e.opts.LRODelay == 0, http.StatusOK, func() any { return st })
}

type commitRequest struct {
	Mode          string `json:"mode"`
	WorkspaceHead string `json:"workspaceHead"`
	Comment       string `json:"comment"`
	Items         []struct {
		ObjectID  string `json:"objectId"`
		LogicalID string `json:"logicalId"`
	} `json:"items"`
}

func (e *Emulator) gitCommit(c *call) (*response, error) {
	ws, err := c.connectedWorkspace(roleContributor)
	if err != nil {
		return nil, err
	}
	var req commitRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if req.Mode != "All" && req.Mode != "Selective" {
		return nil, invalidInput("mode must be All or Selective")
	}
	if utf8.RuneCountInString(req.Comment) > 300 {
		return nil, invalidInput("comment cannot contain more than 300 characters")
	}
	r := e.remote(ws)
	if req.WorkspaceHead != "" && req.WorkspaceHead != ws.Git.Head {
		return nil, badRequest("WorkspaceHeadMismatch", "workspaceHead '%s' does not match the workspace head", truncate(req.WorkspaceHead, 64))
	}
	if r.headHash() != ws.Git.Head {
		return nil, badRequest("WorkspaceHeadMismatch", "The branch has commits the workspace has not synced; update from Git first")
	}
	local := ws.snapshot()
	selected := func(id string) bool { return true }
	if req.Mode == "Selective" {
		if len(req.Items) == 0 {
			return nil, invalidInput("Selective commits need items")
		}
		pick := map[string]bool{}
		for _, x := range req.Items {
			if x.LogicalID != "" {
				pick[strings.ToLower(x.LogicalID)] = true
			}
			if it := ws.Items[strings.ToLower(x.ObjectID)]; it != nil {
				pick[it.LogicalID] = true
			}
		}
		selected = func(id string) bool { return pick[id] }
	}
	next := map[string]*gitEntry{}
	for id, en := range ws.Git.Synced {
		next[id] = en
	}
	changed := 0
	for _, ch := range e.gitChanges(ws) {
		id := ch.ItemMetadata.ItemIdentifier.LogicalID
		if ch.WorkspaceChange == "" || !selected(id) {
			continue
		}
		changed++
		if local[id] == nil {
			delete(next, id)
		} else {
			next[id] = local[id]
		}
	}
	if changed == 0 {
		return nil, badRequest("NoChangesToCommit", "There are no workspace changes to commit")
	}
	return c.finish(false, http.StatusOK, func() any {
		h := sha1.New()
		fmt.Fprintf(h, "%s\x00%s\x00%d\x00%s\x00%d", ws.Git.Provider.remoteKey(), r.headHash(), len(r.Commits), req.Comment, c.now.UnixNano())
		for _, id := range sortedKeys(next) {
			fmt.Fprintf(h, "\x00%s:%s:%s:%d", id, next[id].Type, next[id].DisplayName, len(next[id].Parts))
		}
		commit := &gitCommit{Hash: hex.EncodeToString(h.Sum(nil)), Comment: req.Comment, Items: next}
		r.Commits = append(r.Commits, commit)
		ws.Git.Head, ws.Git.Synced, ws.Git.LastSync = commit.Hash, next, c.now
		return nil
	})
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

type updateFromGitRequest struct {
	RemoteCommitHash   string `json:"remoteCommitHash"`
	WorkspaceHead      string `json:"workspaceHead"`
	ConflictResolution *struct {
		ConflictResolutionType   string `json:"conflictResolutionType"`
		ConflictResolutionPolicy string `json:"conflictResolutionPolicy"`
	} `json:"conflictResolution"`
	Options *struct {
		AllowOverrideItems bool `json:"allowOverrideItems"`
	} `json:"options"`
}

func (e *Emulator) gitUpdate(c *call) (*response, error) {
	ws, err := c.connectedWorkspace(roleContributor)
	if err != nil {
		return nil, err
	}
	var req updateFromGitRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	r := e.remote(ws)
	if req.RemoteCommitHash == "" {
		return nil, invalidInput("remoteCommitHash is required")
	}
	if req.RemoteCommitHash != r.headHash() {
		return nil, badRequest("InvalidRemoteCommitHash", "remoteCommitHash '%s' is not the head of the branch", truncate(req.RemoteCommitHash, 64))
	}
	if req.WorkspaceHead != "" && req.WorkspaceHead != ws.Git.Head {
		return nil, badRequest("WorkspaceHeadMismatch", "workspaceHead '%s' does not match the workspace head", truncate(req.WorkspaceHead, 64))
	}
	preferWorkspace := false
	if cr := req.ConflictResolution; cr != nil {
		switch cr.ConflictResolutionPolicy {
		case "PreferRemote":
		case "PreferWorkspace":
			preferWorkspace = true
		default:
			return nil, invalidInput("conflictResolutionPolicy must be PreferRemote or PreferWorkspace")
		}
	}
	changes := e.gitChanges(ws)
	remote := r.headItems()
	for _, ch := range changes {
		if ch.ConflictType == "Conflict" && req.ConflictResolution == nil {
			return nil, badRequest("WorkspaceHasConflicts", "'%s' changed in both the workspace and the branch; give a conflictResolution", ch.ItemMetadata.DisplayName)
		}
		id := ch.ItemMetadata.ItemIdentifier.LogicalID
		if en := remote[id]; ch.RemoteChange == "Added" && en != nil && ws.itemByLogicalID(id) == nil {
			for _, it := range ws.Items {
				if it.Type == en.Type && strings.EqualFold(it.DisplayName, en.DisplayName) && it.LogicalID != id {
					return nil, badRequest("DuplicateDisplayNameAndType", "The workspace already has a %s named '%s'", en.Type, en.DisplayName)
				}
			}
		}
	}
	return c.finish(false, http.StatusOK, func() any {
		for _, ch := range changes {
			if ch.RemoteChange == "" || (ch.ConflictType == "Conflict" && preferWorkspace) {
				continue
			}
			e.applyRemote(c, ws, ch.ItemMetadata.ItemIdentifier.LogicalID, remote[ch.ItemMetadata.ItemIdentifier.LogicalID])
		}
		ws.Git.Head, ws.Git.Synced, ws.Git.LastSync = r.headHash(), remote, c.now
		return nil
	})
}

// applyRemote makes the workspace's item with the logical id match the branch entry (nil = delete it).
func (e *Emulator) applyRemote(c *call, ws *workspace, id string, en *gitEntry) {
	it := ws.itemByLogicalID(id)
	switch {
	case en == nil && it != nil:
		for _, dep := range ws.dependents(it) {
			e.removeItem(c, ws, dep)
		}
		e.removeItem(c, ws, it)
	case en != nil && it == nil:
		it = &item{ID: e.newID(), Seq: e.nextSeq(), Type: en.Type, DisplayName: en.DisplayName, Description: en.Description,
			LogicalID: id, Format: en.Format, Parts: en.Parts}
		e.addItem(ws, it, c.now)
	case en != nil:
		it.DisplayName, it.Description, it.Format, it.Parts = en.DisplayName, en.Description, en.Format, en.Parts
	}
}

func (e *Emulator) gitGetCredentials(c *call) (*response, error) {
	ws, err := c.workspace(roleContributor)
	if err != nil {
		return nil, err
	}
	if ws.Git == nil {
		return nil, badRequest("WorkspaceNotConnectedToGit", "The workspace is not connected to Git")
	}
	if cr := ws.GitCreds[c.who.ID]; cr != nil {
		return ok(*cr)
	}
	return ok(gitCredentials{Source: "None"})
}

func (e *Emulator) gitUpdateCredentials(c *call) (*response, error) {
	ws, err := c.workspace(roleContributor)
	if err != nil {
		return nil, err
	}
	if ws.Git == nil {
		return nil, badRequest("WorkspaceNotConnectedToGit", "The workspace is not connected to Git")
	}
	var cr gitCredentials
	if err := c.decode(&cr); err != nil {
		return nil, err
	}
	if err := e.checkGitCredentials(c, &ws.Git.Provider, &cr); err != nil {
		return nil, err
	}
	if ws.GitCreds == nil {
		ws.GitCreds = map[string]*gitCredentials{}
	}
	ws.GitCreds[c.who.ID] = &cr
	return ok(cr)
}

type dumpGit struct {
	Repository string `json:"repository"`
	State      string `json:"state"`
	Synced     bool   `json:"synced"` // the workspace head is the branch head
	Head       string `json:"head,omitempty"`
}

type dumpRemote struct {
	Repository string   `json:"repository"`
	Commits    int      `json:"commits"`
	Items      []string `json:"items"` // Type/DisplayName at the head
}

func (e *Emulator) dumpGitLocked(ws *workspace, o StateOptions) *dumpGit {
	if ws.Git == nil {
		return nil
	}
	d := &dumpGit{Repository: ws.Git.Provider.remoteKey(), State: "Connected"}
	if ws.Git.Initialized {
		d.State = "ConnectedAndInitialized"
	}
	if r := e.st.Remotes[d.Repository]; r != nil {
		d.Synced = ws.Git.Initialized && r.headHash() == ws.Git.Head
	}
	if o.IDs {
		d.Head = ws.Git.Head
	}
	return d
}

func (e *Emulator) dumpRemotesLocked() []dumpRemote {
	var out []dumpRemote
	for _, key := range sortedKeys(e.st.Remotes) {
		r := e.st.Remotes[key]
		if len(r.Commits) == 0 {
			continue
		}
		d := dumpRemote{Repository: key, Commits: len(r.Commits), Items: []string{}}
		for _, en := range r.headItems() {
			d.Items = append(d.Items, en.Type+"/"+en.DisplayName)
		}
		slices.Sort(d.Items)
		out = append(out, d)
	}
	return out
}
