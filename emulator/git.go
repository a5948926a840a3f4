package emulator

import "time"

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

type dumpGit struct {
	Provider  string `json:"provider"`
	Repo      string `json:"repository"`
	Connected string `json:"state"`
}

type dumpRemote struct {
	Repository string   `json:"repository"`
	Commits    int      `json:"commits"`
	Items      []string `json:"items"`
}

func (e *Emulator) dumpGitLocked(ws *workspace, o StateOptions) *dumpGit { return nil }

func (e *Emulator) dumpRemotesLocked() []dumpRemote { return nil }
