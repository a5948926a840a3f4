package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// state is everything a client can change. It is guarded by Emulator.mu, serialised whole to the state file,
// and never handed out: responses are built from copies.
type state struct {
	Workspaces map[string]*workspace       `json:"workspaces"`
	Operations map[string]*operation       `json:"operations"`
	Reserved   []reservation               `json:"reserved,omitempty"`
	Secrets    map[string][]*secretVersion `json:"secrets,omitempty"` // oldest first
	Remotes    map[string]*gitRemote       `json:"remotes,omitempty"`
	// Connections are the tenant's cloud connections, seeded from the fixtures.
	Connections map[string]*connection `json:"connections"`
	IDCount     uint64                 `json:"idCount"`
	Seq         uint64                 `json:"seq"`
}

type workspace struct {
	ID            string                     `json:"id"`
	Seq           uint64                     `json:"seq"`
	DisplayName   string                     `json:"displayName"`
	Description   string                     `json:"description"`
	Type          string                     `json:"type"`
	CapacityID    string                     `json:"capacityId,omitempty"`
	Progress      string                     `json:"capacityAssignmentProgress"`
	ProgressUntil time.Time                  `json:"progressUntil"`
	Identity      *workspaceIdentity         `json:"identity,omitempty"`
	Roles         []*roleAssignment          `json:"roles"`
	Items         map[string]*item           `json:"items"`
	Folders       map[string]*folder         `json:"folders"`
	Git           *gitConnection             `json:"git,omitempty"`
	GitCreds      map[string]*gitCredentials `json:"gitCredentials,omitempty"` // by principal object id
}

type workspaceIdentity struct {
	ApplicationID      string `json:"applicationId"`
	ServicePrincipalID string `json:"servicePrincipalId"`
}

type roleAssignment struct {
	PrincipalID   string `json:"principalId"`
	PrincipalType string `json:"principalType"`
	Role          string `json:"role"`
	Seq           uint64 `json:"seq"`
}

type item struct {
	ID          string `json:"id"`
	Seq         uint64 `json:"seq"`
	Type        string `json:"type"`
	DisplayName string `json:"displayName"`
	Description string `json:"description"`
	FolderID    string `json:"folderId,omitempty"`
	LogicalID   string `json:"logicalId"`
	Format      string `json:"format,omitempty"`
	Parts       []part `json:"parts,omitempty"` // never includes .platform; that part is generated
	ParentID    string `json:"parentId,omitempty"`

	Created time.Time        `json:"created"`
	Updated time.Time        `json:"updated"`
	Payload *creationPayload `json:"creationPayload,omitempty"`
	// ActiveValueSet is a variable library's active value set ("" = the default one).
	ActiveValueSet string `json:"activeValueSet,omitempty"`
	// Env is an environment's staged and published libraries and Spark compute.
	Env *environment `json:"environment,omitempty"`
	// Shortcuts are a lakehouse's OneLake shortcuts.
	Shortcuts []*shortcut `json:"shortcuts,omitempty"`
	// Schedules are the item's job schedules.
	Schedules []*schedule `json:"schedules,omitempty"`
}

// part is a definition part with its payload decoded.
type part struct {
	Path    string `json:"path"`
	Payload []byte `json:"payload"`
}

type folder struct {
	ID          string `json:"id"`
	Seq         uint64 `json:"seq"`
	DisplayName string `json:"displayName"`
	ParentID    string `json:"parentFolderId,omitempty"`
}

type reservation struct {
	WorkspaceID string    `json:"workspaceId"`
	Type        string    `json:"type"`
	Name        string    `json:"name"`
	Until       time.Time `json:"until"`
}

type secretVersion struct {
	Version string    `json:"version"`
	Value   string    `json:"value"`
	Created time.Time `json:"created"`
	Enabled bool      `json:"enabled"`
}

func newState() *state {
	return &state{
		Workspaces: map[string]*workspace{},
		Operations: map[string]*operation{},
		Secrets:    map[string][]*secretVersion{},
		Remotes:    map[string]*gitRemote{},
	}
}

// newID returns the next id of the seeded sequence, so that a run with the same seed and the same requests
// hands out the same ids.
func (e *Emulator) newID() string {
	var u uuid.UUID
	a, b := e.ids.Uint64(), e.ids.Uint64()
	for i := range 8 {
		u[i] = byte(a >> (8 * i))
		u[8+i] = byte(b >> (8 * i))
	}
	u[6] = (u[6] & 0x0f) | 0x40
	u[8] = (u[8] & 0x3f) | 0x80
	e.st.IDCount++
	return u.String()
}

func (e *Emulator) nextSeq() uint64 {
	e.st.Seq++
	return e.st.Seq
}

// loadState reads the state file when there is one and replays the id sequence past the ids it holds.
func (e *Emulator) loadState() error {
	if e.opts.StateFile == "" {
		e.seedState()
		return nil
	}
	b, err := os.ReadFile(e.opts.StateFile)
	if errors.Is(err, fs.ErrNotExist) {
		e.seedState()
		return nil
	}
	if err != nil {
		return fmt.Errorf("emulator: read state file: %w", err)
	}
	st := newState()
	if err := json.Unmarshal(b, st); err != nil {
		return fmt.Errorf("emulator: state file %s: %w (delete it to start fresh)", e.opts.StateFile, err)
	}
	for _, ws := range st.Workspaces {
		if ws.Items == nil {
			ws.Items = map[string]*item{}
		}
		if ws.Folders == nil {
			ws.Folders = map[string]*folder{}
		}
	}
	for range st.IDCount {
		e.ids.Uint64()
		e.ids.Uint64()
	}
	e.st = st
	if st.Connections == nil { // a state file from before connections could change
		e.seedConnections()
	}
	return nil
}

// seedState puts the fixtures' secrets and connections into a fresh state.
func (e *Emulator) seedState() {
	for _, s := range e.fix.Secrets {
		e.putSecretLocked(s.Name, s.Value)
	}
	e.seedConnections()
}

// saveLocked writes the state file atomically (temp file + rename) when something changed.
func (e *Emulator) saveLocked() error {
	if e.opts.StateFile == "" || !e.dirty {
		return nil
	}
	b, err := json.Marshal(e.st)
	if err != nil {
		return err
	}
	dir := filepath.Dir(e.opts.StateFile)
	f, err := os.CreateTemp(dir, ".emulator-state-*")
	if err != nil {
		return fmt.Errorf("emulator: save state: %w", err)
	}
	// Synced before the rename, so that a crash leaves the old state or the new one, never a
	// renamed file whose content did not reach the disk.
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return fmt.Errorf("emulator: save state: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("emulator: save state: %w", err)
	}
	if err := os.Rename(f.Name(), e.opts.StateFile); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("emulator: save state: %w", err)
	}
	e.dirty = false
	return nil
}

// sortedWorkspaces returns the workspaces in creation order (the order lists page through).
func (st *state) sortedWorkspaces() []*workspace {
	out := make([]*workspace, 0, len(st.Workspaces))
	for _, ws := range st.Workspaces {
		out = append(out, ws)
	}
	slices.SortFunc(out, func(a, b *workspace) int { return cmpSeq(a.Seq, b.Seq) })
	return out
}

func (ws *workspace) sortedItems() []*item {
	out := make([]*item, 0, len(ws.Items))
	for _, it := range ws.Items {
		out = append(out, it)
	}
	slices.SortFunc(out, func(a, b *item) int { return cmpSeq(a.Seq, b.Seq) })
	return out
}

func (ws *workspace) sortedFolders() []*folder {
	out := make([]*folder, 0, len(ws.Folders))
	for _, f := range ws.Folders {
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b *folder) int { return cmpSeq(a.Seq, b.Seq) })
	return out
}

func cmpSeq(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// folderPath is the slash-joined path of a folder from the workspace root ("" for the root).
func (ws *workspace) folderPath(id string) string {
	var names []string
	for seen := 0; id != "" && seen <= len(ws.Folders); seen++ {
		f := ws.Folders[id]
		if f == nil {
			break
		}
		names = append(names, f.DisplayName)
		id = f.ParentID
	}
	slices.Reverse(names)
	return strings.Join(names, "/")
}
