package fabric

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestBearerTokensOnlyOverHTTPS(t *testing.T) {
	f := newFakeFabric(t)
	cred := f.credential(t)
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			t.Error("request without token")
		}
		writeJSON(w, 200, map[string]any{"value": []any{}})
	}))
	defer plain.Close()

	if _, err := New(Config{BaseURL: plain.URL, Credential: cred}); err == nil || !strings.Contains(err.Error(), "over plain http") {
		t.Fatalf("plain http without --insecure: %v", err)
	}
	if _, err := New(Config{BaseURL: "http://fabric.example.com", Credential: cred, Insecure: true}); err == nil {
		t.Fatal("plain http to a non-loopback host was accepted with --insecure")
	}
	c, err := New(Config{BaseURL: plain.URL, Credential: cred, Insecure: true, HTTPClient: f.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListCapacities(bg); err != nil {
		t.Fatalf("loopback http with --insecure: %v", err)
	}

	// A Location that points at plain http gets no token, even from an https client.
	c = f.client(t, nil)
	ws, _ := c.CreateWorkspace(bg, WorkspaceCreate{DisplayName: "w"})
	f.hook = func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != "POST" || !strings.HasSuffix(r.URL.Path, "/items") {
			return false
		}
		w.Header().Set("Location", "http://example.com/v1/operations/x")
		writeJSON(w, 202, nil)
		return true
	}
	_, err = c.CreateItem(bg, ws.ID, ItemCreate{Type: "Notebook", DisplayName: "n"})
	if ErrorCode(err) != CodeInsecureEndpoint {
		t.Fatalf("http Location: %v", err)
	}
}

func TestLogsAreRedacted(t *testing.T) {
	f := newFakeFabric(t)
	var buf bytes.Buffer
	c := f.client(t, func(cfg *Config) {
		cfg.Logger = slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
		cfg.Secrets = nil // the credential's own secret is redacted without being listed
	})
	c.log.Info("a line that quotes the secret s3cr3t-value by mistake")
	f.hook = failFirst(2, "GET", "/v1/capacities", 503, "ServiceUnavailable", nil)
	if _, err := c.ListCapacities(bg); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"msg":"retrying"`) {
		t.Fatalf("nothing logged:\n%s", buf.String())
	}
	for _, leak := range []string{"tok-", "s3cr3t-value", "Bearer "} {
		if strings.Contains(buf.String(), leak) {
			t.Errorf("log carries %q:\n%s", leak, buf.String())
		}
	}

	buf.Reset()
	l := NewRedactingLogger(slog.New(slog.NewTextHandler(&buf, nil)), "hunter22")
	jwt := "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
	l.Info("sent Authorization: Bearer abc.def with hunter22", "Authorization", "Bearer xyz", "client_secret", "v",
		"body", `{"access_token":"`+jwt+`"}`, slog.Group("req", "header", "Bearer qqq"))
	l.With("token", "t0k").Info("x", "err", errString(&Error{Message: "secret hunter22 inside"}))
	for _, leak := range []string{"abc.def", "hunter22", "xyz", "=v ", jwt, "qqq", "t0k"} {
		if strings.Contains(buf.String(), leak) {
			t.Errorf("redacted log carries %q:\n%s", leak, buf.String())
		}
	}
}

func TestCapacityAssignmentWaitsForCompletion(t *testing.T) {
	f := newFakeFabric(t)
	c := f.client(t, nil)
	ws, _ := c.CreateWorkspace(bg, WorkspaceCreate{DisplayName: "w"})
	if err := c.AssignCapacity(bg, ws.ID, "cap-1"); err != nil {
		t.Fatal(err)
	}
	got, _ := c.GetWorkspace(bg, ws.ID)
	if got.CapacityID != "cap-1" || got.CapacityAssignmentProgress != "Completed" {
		t.Fatalf("%+v", got)
	}
	if n := countExact(f, "GET /v1/workspaces/"+ws.ID); n < 4 {
		t.Errorf("progress read %d times, want polling through InProgress", n)
	}
	if err := c.UnassignCapacity(bg, ws.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.AssignCapacity(bg, ws.ID, "cap-broken"); ErrorCode(err) != "CapacityAssignmentFailed" {
		t.Fatalf("failed assignment: %v", err)
	}
}

func TestGit(t *testing.T) {
	f := newFakeFabric(t)
	c := f.client(t, nil)
	var bodies []string
	f.hook = func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.Contains(r.URL.Path, "/git/") {
			return false
		}
		var b bytes.Buffer
		b.ReadFrom(r.Body)
		bodies = append(bodies, strings.TrimSpace(r.Method+" "+r.URL.Path[strings.Index(r.URL.Path, "/git/"):]+" "+strings.TrimSpace(b.String())))
		switch {
		case strings.HasSuffix(r.URL.Path, "/git/connection"):
			writeJSON(w, 200, map[string]any{"gitConnectionState": "ConnectedAndInitialized",
				"gitProviderDetails": map[string]any{"gitProviderType": "AzureDevOps", "repositoryName": "r", "branchName": "main", "directoryName": "/"},
				"gitSyncDetails":     map[string]any{"head": "abc", "lastSyncTime": "2026-01-01T00:00:00Z"}})
		case strings.HasSuffix(r.URL.Path, "/git/status"), strings.HasSuffix(r.URL.Path, "/git/initializeConnection"):
			result := map[string]any{"requiredAction": "UpdateFromGit", "workspaceHead": "w1", "remoteCommitHash": "r1",
				"changes": []any{map[string]any{"itemMetadata": map[string]any{"itemIdentifier": map[string]any{"logicalId": "l1"},
					"itemType": "Notebook", "displayName": "etl"}, "remoteChange": "Modified", "conflictType": "None"}}}
			f.mu.Lock()
			f.accept(w, result)
			f.mu.Unlock()
		case strings.HasSuffix(r.URL.Path, "/git/myGitCredentials"):
			writeJSON(w, 200, map[string]any{"source": "ConfiguredConnection", "connectionId": "conn-1"})
		default:
			writeJSON(w, 200, nil)
		}
		return true
	}
	ws := "ws-1"
	if err := c.ConnectGit(bg, ws, GitProviderDetails{GitProviderType: "GitHub", OwnerName: "o", RepositoryName: "r", BranchName: "main", DirectoryName: "/"},
		&GitCredentials{Source: "ConfiguredConnection", ConnectionID: "conn-1"}); err != nil {
		t.Fatal(err)
	}
	conn, err := c.GetGitConnection(bg, ws)
	if err != nil || conn.GitConnectionState != "ConnectedAndInitialized" || conn.GitProviderDetails.BranchName != "main" || conn.GitSyncDetails.Head != "abc" {
		t.Fatalf("%+v %v", conn, err)
	}
	init, err := c.InitializeGitConnection(bg, ws, "PreferRemote")
	if err != nil || init.RequiredAction != "UpdateFromGit" || init.RemoteCommitHash != "r1" {
		t.Fatalf("%+v %v", init, err)
	}
	st, err := c.GitStatus(bg, ws)
	if err != nil || len(st.Changes) != 1 || st.Changes[0].ItemMetadata.ItemIdentifier.LogicalID != "l1" || st.Changes[0].RemoteChange != "Modified" {
		t.Fatalf("%+v %v", st, err)
	}
	if err := c.UpdateFromGit(bg, ws, GitUpdate{RemoteCommitHash: "r1", WorkspaceHead: "w1",
		ConflictResolution: &GitConflictResolution{Type: "Workspace", Policy: "PreferRemote"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.CommitToGit(bg, ws, GitCommit{Mode: "All", Comment: "fabplan"}); err != nil {
		t.Fatal(err)
	}
	if cr, err := c.UpdateMyGitCredentials(bg, ws, GitCredentials{Source: "ConfiguredConnection", ConnectionID: "conn-1"}); err != nil || cr.ConnectionID != "conn-1" {
		t.Fatalf("%+v %v", cr, err)
	}
	if cr, err := c.GetMyGitCredentials(bg, ws); err != nil || cr.Source != "ConfiguredConnection" {
		t.Fatalf("%+v %v", cr, err)
	}
	if err := c.DisconnectGit(bg, ws); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`POST /git/connect {"gitProviderDetails":{"gitProviderType":"GitHub","repositoryName":"r","branchName":"main","directoryName":"/","ownerName":"o"},"myGitCredentials":{"source":"ConfiguredConnection","connectionId":"conn-1"}}`,
		`GET /git/connection`,
		`POST /git/initializeConnection {"initializationStrategy":"PreferRemote"}`,
		`GET /git/status`,
		`POST /git/updateFromGit {"remoteCommitHash":"r1","workspaceHead":"w1","conflictResolution":{"conflictResolutionType":"Workspace","conflictResolutionPolicy":"PreferRemote"}}`,
		`POST /git/commitToGit {"mode":"All","comment":"fabplan"}`,
		`PATCH /git/myGitCredentials {"source":"ConfiguredConnection","connectionId":"conn-1"}`,
		`GET /git/myGitCredentials`,
		`POST /git/disconnect {}`,
	}
	if strings.Join(bodies, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(bodies, "\n"), strings.Join(want, "\n"))
	}
}

func TestLROBoundedByCallDeadline(t *testing.T) {
	f := newFakeFabric(t)
	clk := newFakeClock()
	c := f.client(t, func(cfg *Config) { cfg.Clock = clk; cfg.CallTimeout = time.Minute })
	ws, _ := c.CreateWorkspace(bg, WorkspaceCreate{DisplayName: "w"})
	f.hook = func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasPrefix(r.URL.Path, "/v1/operations/") {
			return false
		}
		w.Header().Set("Retry-After", "20")
		writeJSON(w, 200, map[string]any{"status": "Running"})
		return true
	}
	_, err := c.CreateItem(bg, ws.ID, ItemCreate{Type: "Notebook", DisplayName: "slow"})
	if ErrorCode(err) != "OperationTimedOut" {
		t.Fatalf("got %v", err)
	}
	if n := f.count("GET /v1/operations/"); n < 2 || n > 4 {
		t.Errorf("%d polls of a minute at Retry-After: 20", n)
	}
}
