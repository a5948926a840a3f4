package emulator

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"
)

// control registers a /_emulator/ endpoint: no authentication, loopback callers only.
func (e *Emulator) control(pattern string, h http.HandlerFunc) {
	e.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			writeFabricError(w, recordOf(r).RequestID, forbidden("Forbidden", "Control endpoints answer loopback callers only"))
			return
		}
		h(w, r)
	})
}

func ctlError(w http.ResponseWriter, r *http.Request, status int, format string, args ...any) {
	writeFabricError(w, recordOf(r).RequestID, errf(status, defaultErrorCode(status), format, args...))
}

func (e *Emulator) ctlState(w http.ResponseWriter, r *http.Request) {
	b, err := e.StateWith(StateOptions{IDs: r.URL.Query().Get("ids") == "true"})
	if err != nil {
		ctlError(w, r, 500, "%v", err)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Write(b)
}

func (e *Emulator) ctlResetState(w http.ResponseWriter, r *http.Request) {
	if err := e.Reset(); err != nil {
		ctlError(w, r, 500, "%v", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// Reset forgets everything clients changed and starts again from the fixtures (the state file is rewritten);
// fault rules, the request log and issued tokens stay.
func (e *Emulator) Reset() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	ids := e.st.IDCount
	e.st = newState()
	e.st.IDCount = ids // ids already handed out stay unique
	e.seedState()
	e.dirty = true
	return e.saveLocked()
}

func (e *Emulator) ctlRequests(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"requests": e.Requests()})
}

func (e *Emulator) ctlClearRequests(w http.ResponseWriter, r *http.Request) {
	e.reqlog.reset()
	w.WriteHeader(http.StatusNoContent)
}

func (e *Emulator) ctlListFaults(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"rules": e.Faults(), "random": e.faults.config()})
}

// FaultsFile is the JSON form of a faults file (and of POST /_emulator/faults when it carries both parts).
type FaultsFile struct {
	Rules  []FaultRule  `json:"rules,omitempty"`
	Random *FaultConfig `json:"random,omitempty"`
}

// ParseFaults reads a rule, an array of rules, or a FaultsFile object.
func ParseFaults(b []byte) (FaultsFile, error) {
	b = bytes.TrimSpace(b)
	var ff FaultsFile
	switch {
	case len(b) == 0:
		return ff, fmt.Errorf("faults: empty input")
	case b[0] == '[':
		if err := strictJSON(b, &ff.Rules); err != nil {
			return ff, fmt.Errorf("faults: %w", err)
		}
	default:
		var probe map[string]json.RawMessage
		if err := json.Unmarshal(b, &probe); err != nil {
			return ff, fmt.Errorf("faults: %w", err)
		}
		_, hasRules := probe["rules"]
		_, hasRandom := probe["random"]
		if hasRules || hasRandom {
			if err := strictJSON(b, &ff); err != nil {
				return ff, fmt.Errorf("faults: %w", err)
			}
		} else {
			var r FaultRule
			if err := strictJSON(b, &r); err != nil {
				return ff, fmt.Errorf("faults: %w", err)
			}
			ff.Rules = []FaultRule{r}
		}
	}
	for i := range ff.Rules {
		if err := ff.Rules[i].normalize(); err != nil {
			return ff, err
		}
	}
	if ff.Random != nil {
		if err := ff.Random.validate(); err != nil {
			return ff, err
		}
	}
	return ff, nil
}

func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// ApplyFaults installs the rules of a faults file and, when present, its random configuration.
func (e *Emulator) ApplyFaults(ff FaultsFile) error {
	for _, r := range ff.Rules {
		if err := e.AddFault(r); err != nil {
			return err
		}
	}
	if ff.Random != nil {
		return e.SetFaultConfig(*ff.Random)
	}
	return nil
}

func (e *Emulator) ctlAddFaults(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		ctlError(w, r, 400, "%v", err)
		return
	}
	ff, err := ParseFaults(b)
	if err == nil {
		err = e.ApplyFaults(ff)
	}
	if err != nil {
		ctlError(w, r, 400, "%v", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"rules": e.Faults(), "random": e.faults.config()})
}

func (e *Emulator) ctlClearFaults(w http.ResponseWriter, r *http.Request) {
	e.ClearFaults()
	w.WriteHeader(http.StatusNoContent)
}

func (e *Emulator) ctlInfo(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, e.Info())
}

// Info is what a user needs to point a client at the emulator.
type Info struct {
	URL           string `json:"url"`
	FabricURL     string `json:"fabricUrl"`
	AuthorityHost string `json:"authorityHost"`
	GraphURL      string `json:"graphUrl"`
	KeyVaultURL   string `json:"keyVaultUrl"`
	CAFile        string `json:"caFile"`
	TenantID      string `json:"tenantId"`
	ClientID      string `json:"clientId"`
	ClientSecret  string `json:"clientSecret"`
	StateFile     string `json:"stateFile,omitempty"`
	// ManagedIdentityEnv points azidentity's ManagedIdentityCredential at the emulator.
	ManagedIdentityEnv []string `json:"managedIdentityEnv"`
}

// Info describes the running emulator.
func (e *Emulator) Info() Info {
	id, secret := e.ServicePrincipal()
	return Info{URL: e.URL(), FabricURL: e.FabricURL(), AuthorityHost: e.AuthorityHost(), GraphURL: e.GraphURL(),
		KeyVaultURL: e.KeyVaultURL(), CAFile: e.CAFile(), TenantID: e.TenantID(), ClientID: id, ClientSecret: secret,
		StateFile: e.opts.StateFile, ManagedIdentityEnv: e.ManagedIdentityEnv()}
}

// Banner is the text `fabplan emulator` prints: the base URLs, the CA file, the seeded service principal's
// credentials (emulator-only values), and the environment that points fabplan at it.
func (i Info) Banner() string {
	var b strings.Builder
	fmt.Fprintf(&b, "fabplan emulator listening on %s\n\n", i.URL)
	fmt.Fprintf(&b, "  Fabric API      %s/v1\n", i.FabricURL)
	fmt.Fprintf(&b, "  Entra ID        %s%s\n", i.AuthorityHost, i.TenantID)
	fmt.Fprintf(&b, "  Microsoft Graph %s\n", i.GraphURL)
	fmt.Fprintf(&b, "  Key Vault       %s\n", i.KeyVaultURL)
	fmt.Fprintf(&b, "  Control         %s/_emulator/{state,requests,faults}\n", i.URL)
	fmt.Fprintf(&b, "  CA certificate  %s\n", i.CAFile)
	if i.StateFile != "" {
		fmt.Fprintf(&b, "  State file      %s\n", i.StateFile)
	}
	fmt.Fprintf(&b, "\nSeeded service principal (emulator-only credentials):\n")
	fmt.Fprintf(&b, "  tenant id       %s\n  client id       %s\n  client secret   %s\n\n", i.TenantID, i.ClientID, i.ClientSecret)
	if len(i.ManagedIdentityEnv) > 0 {
		fmt.Fprintf(&b, "Managed identity (fabplan --auth managed-identity):\n")
		for _, kv := range i.ManagedIdentityEnv {
			fmt.Fprintf(&b, "  export %s\n", kv)
		}
		fmt.Fprintln(&b)
	}
	fmt.Fprintf(&b, "Environment for fabplan:\n")
	for _, kv := range i.Env() {
		fmt.Fprintf(&b, "  export %s\n", kv)
	}
	return b.String()
}

// Env is the environment (KEY=value) that points fabplan and the Azure SDK at the emulator.
func (i Info) Env() []string {
	return []string{
		"FABPLAN_FABRIC_URL=" + i.FabricURL,
		"FABPLAN_GRAPH_URL=" + i.GraphURL,
		"FABPLAN_AUTHORITY_HOST=" + i.AuthorityHost,
		"FABPLAN_KEY_VAULT_URL=" + i.KeyVaultURL,
		"SSL_CERT_FILE=" + i.CAFile,
		"AZURE_TENANT_ID=" + i.TenantID,
		"AZURE_CLIENT_ID=" + i.ClientID,
		"AZURE_CLIENT_SECRET=" + i.ClientSecret,
	}
}

// StateOptions selects what State includes.
type StateOptions struct {
	IDs bool // include ids (they differ between runs unless the seed and the request order are the same)
}

// State is State(StateOptions{}): a normalized dump to compare two states.
func (e *Emulator) State() ([]byte, error) { return e.StateWith(StateOptions{}) }

type dumpState struct {
	Workspaces []dumpWorkspace `json:"workspaces"`
	Secrets    []dumpSecret    `json:"secrets,omitempty"`
	Remotes    []dumpRemote    `json:"gitRemotes,omitempty"`
}

type dumpWorkspace struct {
	ID                         string      `json:"id,omitempty"`
	DisplayName                string      `json:"displayName"`
	Description                string      `json:"description"`
	Type                       string      `json:"type"`
	Capacity                   string      `json:"capacity,omitempty"`
	CapacityAssignmentProgress string      `json:"capacityAssignmentProgress"`
	Identity                   bool        `json:"identity,omitempty"`
	RoleAssignments            []dumpRole  `json:"roleAssignments"`
	Folders                    []string    `json:"folders,omitempty"`
	Items                      []dumpItem  `json:"items"`
	Git                        *dumpGit    `json:"git,omitempty"`
	FolderIDs                  []dumpIDRef `json:"folderIds,omitempty"`
}

type dumpIDRef struct {
	Path string `json:"path"`
	ID   string `json:"id"`
}

type dumpRole struct {
	ID            string `json:"id,omitempty"`
	Principal     string `json:"principal"`
	PrincipalType string `json:"principalType"`
	Role          string `json:"role"`
}

type dumpItem struct {
	ID          string     `json:"id,omitempty"`
	Type        string     `json:"type"`
	DisplayName string     `json:"displayName"`
	Description string     `json:"description,omitempty"`
	Folder      string     `json:"folder,omitempty"`
	Format      string     `json:"format,omitempty"`
	Parts       []dumpPart `json:"parts,omitempty"`
	// Shortcuts and Schedules are listed by path and name, and by job type and configuration: a
	// schedule's id and creation time are left out like every other id and timestamp.
	Shortcuts []*shortcut    `json:"shortcuts,omitempty"`
	Schedules []dumpSchedule `json:"schedules,omitempty"`
}

type dumpSchedule struct {
	JobType       string         `json:"jobType"`
	Enabled       bool           `json:"enabled"`
	Configuration map[string]any `json:"configuration"`
}

type dumpPart struct {
	Path    string `json:"path"`
	Payload string `json:"payload"` // text, or "base64:..." for binary payloads
}

type dumpSecret struct {
	Name     string `json:"name"`
	Versions int    `json:"versions"`
}

// StateWith renders the normalized state: workspaces by name, role assignments by principal, items by type
// and name, folders as paths, principals and capacities by display name; no timestamps, ids only when asked.
func (e *Emulator) StateWith(o StateOptions) ([]byte, error) {
	e.mu.Lock()
	now := e.now()
	d := dumpState{Workspaces: []dumpWorkspace{}}
	for _, ws := range e.st.Workspaces {
		progress := ws.Progress
		if progress == "InProgress" && !now.Before(ws.ProgressUntil) {
			progress = "Completed"
		}
		dw := dumpWorkspace{DisplayName: ws.DisplayName, Description: ws.Description, Type: ws.Type,
			CapacityAssignmentProgress: progress, Identity: ws.Identity != nil, RoleAssignments: []dumpRole{}, Items: []dumpItem{}}
		if o.IDs {
			dw.ID = ws.ID
		}
		if cp := e.fix.capacity(ws.CapacityID); cp != nil {
			dw.Capacity = cp.DisplayName
		}
		for _, ra := range ws.Roles {
			dr := dumpRole{Principal: e.principalName(ra.PrincipalID), PrincipalType: ra.PrincipalType, Role: ra.Role}
			if o.IDs {
				dr.ID = ra.PrincipalID
			}
			dw.RoleAssignments = append(dw.RoleAssignments, dr)
		}
		slices.SortFunc(dw.RoleAssignments, func(a, b dumpRole) int {
			return strings.Compare(a.Principal+"\x00"+a.PrincipalType, b.Principal+"\x00"+b.PrincipalType)
		})
		for _, f := range ws.Folders {
			p := ws.folderPath(f.ID)
			dw.Folders = append(dw.Folders, p)
			if o.IDs {
				dw.FolderIDs = append(dw.FolderIDs, dumpIDRef{Path: p, ID: f.ID})
			}
		}
		slices.Sort(dw.Folders)
		slices.SortFunc(dw.FolderIDs, func(a, b dumpIDRef) int { return strings.Compare(a.Path, b.Path) })
		for _, it := range ws.Items {
			di := dumpItem{Type: it.Type, DisplayName: it.DisplayName, Description: it.Description,
				Folder: ws.folderPath(it.FolderID), Format: it.Format}
			if o.IDs {
				di.ID = it.ID
			}
			for _, p := range it.Parts {
				di.Parts = append(di.Parts, dumpPart{Path: p.Path, Payload: payloadText(p.Payload)})
			}
			slices.SortFunc(di.Parts, func(a, b dumpPart) int { return strings.Compare(a.Path, b.Path) })
			for _, sc := range it.Shortcuts {
				di.Shortcuts = append(di.Shortcuts, sc.clone())
			}
			slices.SortFunc(di.Shortcuts, func(a, b *shortcut) int {
				return strings.Compare(a.Path+"/"+a.Name, b.Path+"/"+b.Name)
			})
			for _, sch := range it.Schedules {
				v := sch.view()
				di.Schedules = append(di.Schedules, dumpSchedule{JobType: sch.JobType, Enabled: v.Enabled,
					Configuration: v.Configuration})
			}
			slices.SortStableFunc(di.Schedules, func(a, b dumpSchedule) int { return strings.Compare(a.JobType, b.JobType) })
			dw.Items = append(dw.Items, di)
		}
		slices.SortFunc(dw.Items, func(a, b dumpItem) int {
			return strings.Compare(a.Type+"\x00"+a.DisplayName, b.Type+"\x00"+b.DisplayName)
		})
		dw.Git = e.dumpGitLocked(ws, o)
		d.Workspaces = append(d.Workspaces, dw)
	}
	slices.SortFunc(d.Workspaces, func(a, b dumpWorkspace) int { return strings.Compare(a.DisplayName, b.DisplayName) })
	for name, vs := range e.st.Secrets {
		d.Secrets = append(d.Secrets, dumpSecret{Name: name, Versions: len(vs)})
	}
	slices.SortFunc(d.Secrets, func(a, b dumpSecret) int { return strings.Compare(a.Name, b.Name) })
	d.Remotes = e.dumpRemotesLocked()
	e.mu.Unlock()
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

func (e *Emulator) principalName(id string) string {
	if p := e.fix.principal(id); p != nil {
		return p.label()
	}
	return id
}

func payloadText(b []byte) string {
	if utf8.Valid(b) && !bytes.ContainsRune(b, 0) {
		return string(b)
	}
	return "base64:" + base64.StdEncoding.EncodeToString(b)
}
