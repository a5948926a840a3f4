package fabric

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fabplan/fabplan/emulator"
	"github.com/golang-jwt/jwt/v5"
)

// These tests run the verified-by list against the emulator's fault injection, through the
// real azidentity client-secret path.

func startEmulator(t testing.TB, o emulator.Options) *emulator.Emulator {
	t.Helper()
	o.Dir = t.TempDir()
	o.StrictRequests = true // a misspelt field in a request body fails the test
	e, err := emulator.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func emulatorClient(t testing.TB, e *emulator.Emulator, mod func(*Config)) *Client {
	t.Helper()
	id, secret := e.ServicePrincipal()
	cred, err := NewCredential(AuthConfig{TenantID: e.TenantID(), ClientID: id, ClientSecret: secret,
		AuthorityHost: e.AuthorityHost(), HTTPClient: e.HTTPClient()})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{BaseURL: e.FabricURL(), Credential: cred, HTTPClient: e.HTTPClient(), Secrets: []string{secret},
		BackoffInitial: 10 * time.Millisecond, BackoffMax: 100 * time.Millisecond}
	return newTestClient(t, cfg, mod)
}

func records(e *emulator.Emulator, method, path string) []emulator.RequestRecord {
	var out []emulator.RequestRecord
	for _, r := range e.Requests() {
		if r.Method == method && r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

func TestEmulatorWalkingSkeleton(t *testing.T) {
	e := startEmulator(t, emulator.Options{PageSize: 2})
	c := emulatorClient(t, e, nil)
	caps, err := c.ListCapacities(bg)
	if err != nil || len(caps) != 1 || caps[0].DisplayName != "demo-capacity" {
		t.Fatalf("capacities %+v %v", caps, err)
	}
	var ws Workspace
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		if ws, err = c.CreateWorkspace(bg, WorkspaceCreate{DisplayName: "ws-" + n, CapacityID: caps[0].ID}); err != nil {
			t.Fatal(err)
		}
	}
	all, err := c.ListWorkspaces(bg)
	if err != nil || len(all) != 5 {
		t.Fatalf("paged list: %d %v", len(all), err)
	}
	if n := len(records(e, "GET", "/v1/workspaces")); n != 3 {
		t.Errorf("%d list requests, want 3 pages", n)
	}
	def := Definition{Parts: []Part{{Path: "notebook-content.py", Payload: []byte("# Fabric notebook source\nprint('hi')\n")}}}
	it, err := c.CreateItem(bg, ws.ID, ItemCreate{Type: "Notebook", DisplayName: "etl", Definition: &def})
	if err != nil || it.ID == "" || it.DisplayName != "etl" {
		t.Fatalf("LRO create: %+v %v", it, err)
	}
	got, err := c.GetItemDefinition(bg, ws.ID, it.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range got.Parts {
		found = found || p.Path == "notebook-content.py" && strings.Contains(string(p.Payload), "print('hi')")
	}
	if !found {
		t.Fatalf("definition %+v", got)
	}
	if err := c.AssignCapacity(bg, ws.ID, caps[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteItem(bg, ws.ID, it.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteWorkspace(bg, ws.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetWorkspace(bg, ws.ID); !IsNotFound(err) {
		t.Fatalf("deleted workspace: %v", err)
	}
}

func TestEmulator429PausesEveryWorker(t *testing.T) {
	e := startEmulator(t, emulator.Options{})
	c := emulatorClient(t, e, func(cfg *Config) { cfg.BackoffInitial = time.Millisecond })
	if err := e.AddFault(emulator.FaultRule{Method: "GET", Path: "/v1/capacities", Nth: 10, Status: 429,
		ErrorCode: "RequestBlocked", RetryAfter: 2}); err != nil {
		t.Fatal(err)
	}
	fourWorkers(t, c)
	recs := records(e, "GET", "/v1/capacities")
	var blocked time.Time
	for _, r := range recs {
		if r.Status == 429 {
			blocked = r.Time.Add(r.Duration)
		}
	}
	if blocked.IsZero() {
		t.Fatal("the fault did not fire")
	}
	var retry time.Duration
	for _, r := range recs {
		d := r.Time.Sub(blocked)
		if d > 20*time.Millisecond && d < 2*time.Second { // 20 ms: requests already on the wire
			t.Errorf("a request arrived %s after the 429, inside the 2 s pause", d)
		}
		if d > 0 && (retry == 0 || d < retry) && r.Status == 200 && d >= 20*time.Millisecond {
			retry = d
		}
	}
	if retry < 2*time.Second {
		t.Errorf("first request after the pause came %s after the 429", retry)
	}
}

func TestEmulatorBreaker(t *testing.T) {
	e := startEmulator(t, emulator.Options{})
	// One attempt per call, so that each call meets one 503 (with retry on, the retry after
	// Retry-After: 1 would find the breaker already half-open again).
	c := emulatorClient(t, e, func(cfg *Config) { cfg.BreakerCooldown = 300 * time.Millisecond; cfg.NoRetry = true })
	if err := e.AddFault(emulator.FaultRule{Method: "GET", Path: "/v1/capacities", Status: 503, Times: 5,
		ErrorCode: "ServiceUnavailable"}); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if _, err := c.ListCapacities(bg); ErrorCode(err) != "ServiceUnavailable" {
			t.Fatalf("injected 503: %v", err)
		}
	}
	if _, err := c.ListCapacities(bg); ErrorCode(err) != CodeCircuitBreakerOpen {
		t.Fatalf("after 5 consecutive 503: %v", err)
	}
	n := len(records(e, "GET", "/v1/capacities"))
	if _, err := c.ListCapacities(bg); ErrorCode(err) != CodeCircuitBreakerOpen || len(records(e, "GET", "/v1/capacities")) != n {
		t.Fatalf("open breaker did not fail fast: %v", err)
	}
	time.Sleep(350 * time.Millisecond)
	for range 2 { // the half-open probe, then closed
		if _, err := c.ListCapacities(bg); err != nil {
			t.Fatal(err)
		}
	}
}

func TestEmulatorLostCreateResponses(t *testing.T) {
	e := startEmulator(t, emulator.Options{})
	c := emulatorClient(t, e, nil)
	for _, p := range []string{"/v1/workspaces", "/v1/workspaces/*/items", "/v1/workspaces/*/roleAssignments"} {
		if err := e.AddFault(emulator.FaultRule{Method: "POST", Path: p, Action: "reset_after"}); err != nil {
			t.Fatal(err)
		}
	}
	ws, err := c.CreateWorkspace(bg, WorkspaceCreate{DisplayName: "lost"})
	if err != nil {
		t.Fatal(err)
	}
	it, err := c.CreateItem(bg, ws.ID, ItemCreate{Type: "Notebook", DisplayName: "etl"})
	if err != nil {
		t.Fatal(err)
	}
	ra, err := c.AddRoleAssignment(bg, ws.ID, Principal{ID: emulator.DefaultUserID, Type: "User"}, "Contributor")
	if err != nil || ra.Role != "Contributor" {
		t.Fatalf("%+v %v", ra, err)
	}
	all, _ := c.ListWorkspaces(bg)
	items, _ := c.ListItems(bg, ws.ID, "Notebook")
	roles, _ := c.ListRoleAssignments(bg, ws.ID)
	users := 0
	for _, r := range roles {
		if r.Principal.ID == emulator.DefaultUserID {
			users++
		}
	}
	if len(all) != 1 || len(items) != 1 || items[0].ID != it.ID || users != 1 {
		t.Fatalf("workspaces %d, items %d, user role assignments %d: want exactly one each", len(all), len(items), users)
	}
	for _, p := range []string{"/v1/workspaces", "/v1/workspaces/" + ws.ID + "/items", "/v1/workspaces/" + ws.ID + "/roleAssignments"} {
		if n := len(records(e, "POST", p)); n != 1 {
			t.Errorf("POST %s sent %d times, want once (reconciled)", p, n)
		}
	}
}

func TestEmulatorLROOutcomes(t *testing.T) {
	e := startEmulator(t, emulator.Options{LRODelay: 50 * time.Millisecond})
	// A create whose operation fails for a passing reason is looked up and sent again; two retries
	// are enough to show that and then see the failure.
	c := emulatorClient(t, e, func(cfg *Config) { cfg.RetryBudget = 2 })
	ws, err := c.CreateWorkspace(bg, WorkspaceCreate{DisplayName: "lro"})
	if err != nil {
		t.Fatal(err)
	}
	it, err := c.CreateItem(bg, ws.ID, ItemCreate{Type: "Notebook", DisplayName: "ok"})
	if err != nil || it.ID == "" || it.DisplayName != "ok" || it.Type != "Notebook" {
		t.Fatalf("succeeded LRO: %+v %v", it, err)
	}
	// The item came from the operation's result, not from a look-up after it.
	results := 0
	for _, r := range e.Requests() {
		if r.Method == "GET" && strings.HasPrefix(r.Path, "/v1/operations/") && strings.HasSuffix(r.Path, "/result") && r.Status == 200 {
			results++
		}
	}
	if results != 1 || len(records(e, "GET", "/v1/workspaces/"+ws.ID+"/items")) != 0 {
		t.Errorf("%d results read, want the one result and no item list", results)
	}
	if err := e.SetFaultConfig(emulator.FaultConfig{LROFailureRate: 1}); err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateItem(bg, ws.ID, ItemCreate{Type: "Notebook", DisplayName: "fails"})
	var fe *Error
	if !errors.As(err, &fe) || fe.ErrorCode != "UnknownError" || fe.Operation != "CreateItem" || fe.StatusCode != 0 ||
		len(fe.MoreDetails) != 1 || fe.MoreDetails[0].ErrorCode != "InjectedFault" || !strings.Contains(err.Error(), "InjectedFault: lroFailureRate") {
		t.Fatalf("failed LRO: %#v", err)
	}
	if n := len(records(e, "POST", "/v1/workspaces/"+ws.ID+"/items")); n != 4 {
		t.Errorf("the create was sent %d times, want 4 (the first, one for the look-up-and-retry... 3 in all + ok)", n)
	}
	t.Logf("failed LRO reads: %v", err)
}

func TestEmulatorTokenExpiryMidRun(t *testing.T) {
	e := startEmulator(t, emulator.Options{TokenLifetime: time.Second})
	c := emulatorClient(t, e, nil)
	for range 3 {
		if _, err := c.ListCapacities(bg); err != nil {
			t.Fatal(err)
		}
		time.Sleep(600 * time.Millisecond)
	}
	if s := c.Stats(); s.Requests != 3 {
		t.Errorf("stats %+v: want 3 requests, no retry", s)
	}
}

func TestEmulatorNameNotAvailableYetIsWaitedOut(t *testing.T) {
	e := startEmulator(t, emulator.Options{NameReservation: 1500 * time.Millisecond, ImmediateTypes: []string{"Notebook"}})
	c := emulatorClient(t, e, func(cfg *Config) { cfg.NameReservedWait = 500 * time.Millisecond })
	ws, err := c.CreateWorkspace(bg, WorkspaceCreate{DisplayName: "names"})
	if err != nil {
		t.Fatal(err)
	}
	it, err := c.CreateItem(bg, ws.ID, ItemCreate{Type: "Notebook", DisplayName: "etl"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteItem(bg, ws.ID, it.ID); err != nil {
		t.Fatal(err)
	}
	again, err := c.CreateItem(bg, ws.ID, ItemCreate{Type: "Notebook", DisplayName: "etl"})
	if err != nil || again.ID == it.ID {
		t.Fatalf("%+v %v", again, err)
	}
	refused := 0
	for _, r := range records(e, "POST", "/v1/workspaces/"+ws.ID+"/items") {
		if r.Status == 400 {
			refused++
		}
	}
	if refused == 0 {
		t.Fatal("the name was never reserved: the test proves nothing")
	}
}

// Random 5xx, resets before and lost answers after applying, on every kind of call: every create
// succeeds exactly once, through retries and reconciliation.
func TestEmulatorRandomFaults(t *testing.T) {
	// AlwaysOperations: the lakehouse creates go through operations, whose polls meet faults too.
	e := startEmulator(t, emulator.Options{Seed: 7, ImmediateTypes: []string{"Notebook"}, AlwaysOperations: true,
		Faults: emulator.FaultConfig{ErrorRate: 0.1, ResetRate: 0.08, LostResponseRate: 0.1}})
	// The breaker is tested on its own; here 5 faults in a row would only make the test flaky.
	c := emulatorClient(t, e, func(cfg *Config) { cfg.NoBreaker = true })
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 3 {
				ws, err := c.CreateWorkspace(bg, WorkspaceCreate{DisplayName: fmt.Sprintf("chaos-%d-%d", w, i)})
				if err != nil {
					t.Error(err)
					return
				}
				for _, it := range []ItemCreate{{Type: "Notebook", DisplayName: "nb"}, {Type: "Lakehouse", DisplayName: "lh"}} {
					if _, err := c.CreateItem(bg, ws.ID, it); err != nil {
						t.Error(err)
					}
				}
				if _, err := c.AddRoleAssignment(bg, ws.ID, Principal{ID: emulator.DefaultUserID, Type: "User"}, "Viewer"); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if err := e.SetFaultConfig(emulator.FaultConfig{}); err != nil {
		t.Fatal(err)
	}
	all, err := c.ListWorkspaces(bg)
	if err != nil || len(all) != 12 {
		t.Fatalf("%d workspaces (%v), want 12", len(all), err)
	}
	for _, ws := range all {
		items, err := c.ListItems(bg, ws.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		kinds := map[string]int{}
		for _, it := range items {
			kinds[it.Type]++
		}
		roles, _ := c.ListRoleAssignments(bg, ws.ID)
		users := 0
		for _, r := range roles {
			if r.Principal.ID == emulator.DefaultUserID {
				users++
			}
		}
		if kinds["Notebook"] != 1 || kinds["Lakehouse"] != 1 || users != 1 {
			t.Errorf("%s: items %v, user role assignments %d: want one of each", ws.DisplayName, kinds, users)
		}
	}
	faults, lostCreates := 0, 0
	for _, r := range e.Requests() {
		if r.Fault != "" {
			faults++
		}
		if r.Method == "POST" && r.Fault == "random reset_after" && !strings.HasSuffix(r.Path, "/v2.0/token") {
			lostCreates++
		}
	}
	s := c.Stats()
	t.Logf("%d faults injected, %d create answers lost; stats %+v", faults, lostCreates, s)
	if faults < 10 {
		t.Errorf("only %d faults: the test did not exercise what it claims", faults)
	}
	// Every create whose answer was lost was found by its natural key, none was sent blind.
	if s.Reconciled != int64(lostCreates) {
		t.Errorf("%d creates reconciled, %d create answers lost", s.Reconciled, lostCreates)
	}
}

// A token the client still holds as fresh but Fabric calls expired (clock skew, revocation) is
// replaced by a new one from Entra, not by azidentity's cached copy of the same token.
func TestEmulatorExpiredTokenIsReplaced(t *testing.T) {
	var mu sync.Mutex
	skew := time.Duration(0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return time.Now().Add(skew) }
	e := startEmulator(t, emulator.Options{Clock: clock})
	c := emulatorClient(t, e, nil)
	if _, err := c.ListCapacities(bg); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	skew = 2 * time.Hour // the emulator's clock jumps past the token's expiry
	mu.Unlock()
	if _, err := c.ListCapacities(bg); err != nil {
		t.Fatalf("after the token expired server-side: %v", err)
	}
	var statuses []int
	for _, r := range records(e, "GET", "/v1/capacities") {
		statuses = append(statuses, r.Status)
	}
	if fmt.Sprint(statuses) != "[200 401 200]" {
		t.Errorf("capacities answers %v, want [200 401 200]", statuses)
	}
}

// Connecting a workspace to Git is no create of an object with an id, but it is not idempotent either:
// a lost answer, replayed, would meet WorkspaceAlreadyConnectedToGit. It is reconciled like a create.
func TestEmulatorLostGitConnectAnswer(t *testing.T) {
	e := startEmulator(t, emulator.Options{ImmediateTypes: []string{"Notebook"}})
	c := emulatorClient(t, e, nil)
	ws, err := c.CreateWorkspace(bg, WorkspaceCreate{DisplayName: "git", CapacityID: emulator.DefaultCapacityID})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.AddFault(emulator.FaultRule{Method: "POST", Path: "/v1/workspaces/*/git/connect", Action: "reset_after"}); err != nil {
		t.Fatal(err)
	}
	repo := GitProviderDetails{GitProviderType: "AzureDevOps", OrganizationName: "contoso", ProjectName: "fabric",
		RepositoryName: "estate", BranchName: "main", DirectoryName: "/sales"}
	creds := &GitCredentials{Source: "ConfiguredConnection", ConnectionID: emulator.DefaultConnectionID}
	if err := c.ConnectGit(bg, ws.ID, repo, creds); err != nil {
		t.Fatalf("connect after a lost answer: %v", err)
	}
	conn, err := c.GetGitConnection(bg, ws.ID)
	if err != nil || conn.GitConnectionState == "NotConnected" || conn.GitProviderDetails == nil || conn.GitProviderDetails.BranchName != "main" {
		t.Fatalf("connection %+v %v", conn, err)
	}
	if n := len(records(e, "POST", "/v1/workspaces/"+ws.ID+"/git/connect")); n != 1 {
		t.Errorf("connect sent %d times, want once (reconciled)", n)
	}
	// Connected elsewhere is no success: the conflict stands.
	other := repo
	other.BranchName = "dev"
	if err := c.ConnectGit(bg, ws.ID, other, creds); ErrorCode(err) != "WorkspaceAlreadyConnectedToGit" {
		t.Errorf("connecting an already connected workspace to another branch: %v", err)
	}
}

// A commit or an update whose answer was lost is found in the Git status, not sent again (a second
// commit would fail with NoChangesToCommit, a second update with WorkspaceHeadMismatch).
func TestEmulatorLostGitCommitAndUpdateAnswers(t *testing.T) {
	e := startEmulator(t, emulator.Options{ImmediateTypes: []string{"Notebook"}})
	c := emulatorClient(t, e, nil)
	repo := GitProviderDetails{GitProviderType: "AzureDevOps", OrganizationName: "contoso", ProjectName: "fabric",
		RepositoryName: "estate", BranchName: "main", DirectoryName: "/"}
	creds := &GitCredentials{Source: "ConfiguredConnection", ConnectionID: emulator.DefaultConnectionID}
	var ids []string
	for _, name := range []string{"dev", "test"} {
		ws, err := c.CreateWorkspace(bg, WorkspaceCreate{DisplayName: name, CapacityID: emulator.DefaultCapacityID})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.ConnectGit(bg, ws.ID, repo, creds); err != nil {
			t.Fatal(err)
		}
		if _, err := c.InitializeGitConnection(bg, ws.ID, ""); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, ws.ID)
	}
	dev, test := ids[0], ids[1]
	if _, err := c.CreateItem(bg, dev, ItemCreate{Type: "Notebook", DisplayName: "etl"}); err != nil {
		t.Fatal(err)
	}
	for _, verb := range []string{"commitToGit", "updateFromGit"} {
		if err := e.AddFault(emulator.FaultRule{Method: "POST", Path: "/v1/workspaces/*/git/" + verb, Action: "reset_after"}); err != nil {
			t.Fatal(err)
		}
	}
	st, err := c.GitStatus(bg, dev)
	if err != nil || len(st.Changes) != 1 {
		t.Fatalf("status before the commit: %+v %v", st, err)
	}
	if err := c.CommitToGit(bg, dev, GitCommit{Mode: "All", WorkspaceHead: st.WorkspaceHead, Comment: "etl"}); err != nil {
		t.Fatalf("commit after a lost answer: %v", err)
	}
	st, err = c.GitStatus(bg, test)
	if err != nil || len(st.Changes) != 1 || st.Changes[0].RemoteChange != "Added" {
		t.Fatalf("the other workspace does not see the commit: %+v %v", st, err)
	}
	if err := c.UpdateFromGit(bg, test, GitUpdate{RemoteCommitHash: st.RemoteCommitHash, WorkspaceHead: st.WorkspaceHead}); err != nil {
		t.Fatalf("update after a lost answer: %v", err)
	}
	if items, err := c.ListItems(bg, test, "Notebook"); err != nil || len(items) != 1 || items[0].DisplayName != "etl" {
		t.Fatalf("items after the update: %+v %v", items, err)
	}
	for _, p := range []string{"/v1/workspaces/" + dev + "/git/commitToGit", "/v1/workspaces/" + test + "/git/updateFromGit"} {
		if n := len(records(e, "POST", p)); n != 1 {
			t.Errorf("POST %s sent %d times, want once (reconciled)", p, n)
		}
	}
	if s := c.Stats(); s.Reconciled != 2 {
		t.Errorf("%d calls reconciled, want 2", s.Reconciled)
	}
}

// The identities that are not a client secret sign in to the emulator's Entra through azidentity and
// act in Fabric as themselves.
func TestEmulatorAuthModes(t *testing.T) {
	e := startEmulator(t, emulator.Options{})
	call := func(t *testing.T, a AuthConfig) string {
		t.Helper()
		a.TenantID, a.AuthorityHost, a.HTTPClient = e.TenantID(), e.AuthorityHost(), e.HTTPClient()
		cred, err := NewCredential(a)
		if err != nil {
			t.Fatal(err)
		}
		c := newTestClient(t, Config{BaseURL: e.FabricURL(), Credential: cred, HTTPClient: e.HTTPClient()}, nil)
		before := len(records(e, "POST", "/v1/workspaces"))
		if _, err := c.CreateWorkspace(bg, WorkspaceCreate{DisplayName: "by-" + a.Mode}); err != nil {
			t.Fatal(err)
		}
		for _, r := range records(e, "POST", "/v1/workspaces")[before:] {
			if r.Status == 201 {
				return r.Principal
			}
		}
		return ""
	}
	t.Run(AuthWorkloadIdentity, func(t *testing.T) {
		// The emulator checks the assertion's subject and lifetime, not its signature.
		tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": emulator.DefaultClientID,
			"aud": "api://AzureADTokenExchange", "exp": time.Now().Add(time.Hour).Unix()}).SignedString([]byte("test-only"))
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(t.TempDir(), "federated-token")
		if err := os.WriteFile(file, []byte(tok), 0o600); err != nil {
			t.Fatal(err)
		}
		if p := call(t, AuthConfig{Mode: AuthWorkloadIdentity, ClientID: emulator.DefaultClientID, TokenFile: file}); p != "fabplan-deployer" {
			t.Errorf("created by %q", p)
		}
	})
	t.Run(AuthDeviceCode, func(t *testing.T) {
		prompt := func(string) {
			if err := e.ApproveDeviceCode("", emulator.DefaultUserUPN, false); err != nil {
				t.Error(err)
			}
		}
		if p := call(t, AuthConfig{Mode: AuthDeviceCode, DeviceCodePrompt: prompt}); p != emulator.DefaultUserUPN {
			t.Errorf("created by %q", p)
		}
	})
	t.Run(AuthManagedIdentity, func(t *testing.T) {
		for _, kv := range e.ManagedIdentityEnv() {
			k, v, _ := strings.Cut(kv, "=")
			t.Setenv(k, v)
		}
		if p := call(t, AuthConfig{Mode: AuthManagedIdentity, ClientID: emulator.DefaultMIClientID}); p != "fabplan-runner-identity" {
			t.Errorf("created by %q", p)
		}
	})
}
