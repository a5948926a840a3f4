package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a test clock advanced by hand instead of sleeping.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// rawClient speaks plain HTTP to the emulator with a bearer token of its own choosing.
type rawClient struct {
	t     testing.TB
	e     *Emulator
	hc    *http.Client
	token string
}

func raw(t testing.TB, e *Emulator, principalID string) *rawClient {
	t.Helper()
	tok := ""
	if principalID != "" {
		var err error
		if tok, err = e.AccessToken(principalID, audienceFabric); err != nil {
			t.Fatal(err)
		}
	}
	return &rawClient{t: t, e: e, hc: checkedClient(t, e), token: tok}
}

type rawResponse struct {
	status int
	header http.Header
	body   []byte
}

func (r rawResponse) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (c *rawClient) do(method, path string, body any) rawResponse {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	url := path
	if strings.HasPrefix(path, "/") {
		url = c.e.URL() + path
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return rawResponse{status: -1, body: []byte(err.Error())}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return rawResponse{status: resp.StatusCode, header: resp.Header, body: b}
}

// wantError checks the status, the error body and the headers every Fabric error carries.
func wantError(t testing.TB, r rawResponse, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	var er errorResponse
	r.json(t, &er)
	if er.ErrorCode != code || er.Message == "" || er.RequestID == "" {
		t.Errorf("error body = %s, want errorCode %s with message and requestId", r.body, code)
	}
	if r.header.Get("x-ms-public-api-error-code") != code || r.header.Get("RequestId") != er.RequestID ||
		!strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Errorf("error headers = %v", r.header)
	}
}

func TestTokenErrors(t *testing.T) {
	clock := newClock()
	e := start(t, Options{Clock: clock.Now, TokenLifetime: time.Hour})
	anon := raw(t, e, "")
	wantError(t, anon.do("GET", "/v1/workspaces", nil), 401, "TokenIsMissing")
	anon.token = "not-a-jwt"
	wantError(t, anon.do("GET", "/v1/workspaces", nil), 401, "InvalidToken")

	graphTok, _ := e.AccessToken(DefaultSPObjectID, audienceGraph)
	anon.token = graphTok
	wantError(t, anon.do("GET", "/v1/workspaces", nil), 401, "InvalidToken")

	c := raw(t, e, DefaultSPObjectID)
	if r := c.do("GET", "/v1/workspaces", nil); r.status != 200 {
		t.Fatalf("fresh token: %d %s", r.status, r.body)
	}
	// Graph and Key Vault check the same tokens, each answering in its own error shape.
	vaultTok, _ := e.AccessToken(DefaultSPObjectID, audienceVault)
	graph := &rawClient{t: t, e: e, hc: e.HTTPClient(), token: graphTok}
	vault := &rawClient{t: t, e: e, hc: e.HTTPClient(), token: vaultTok}
	const userPath, secretPath = "/graph/v1.0/users/" + DefaultUserID, "/keyvault/secrets/demo-secret?api-version=7.5"
	wantStatus(t, graph.do("GET", userPath, nil), 200)
	wantStatus(t, vault.do("GET", secretPath, nil), 200)
	for _, bad := range []string{"not-a-jwt", c.token} { // malformed; a Fabric token (wrong audience)
		graph.token, vault.token = bad, bad
		if r := graph.do("GET", userPath, nil); r.status != 401 || !strings.Contains(string(r.body), `"InvalidAuthenticationToken"`) {
			t.Errorf("Graph with token %.10s...: %d %s", bad, r.status, r.body)
		}
		if r := vault.do("GET", secretPath, nil); r.status != 401 || !strings.Contains(r.header.Get("WWW-Authenticate"), "Bearer authorization=") {
			t.Errorf("Key Vault with token %.10s...: %d %v", bad, r.status, r.header)
		}
	}
	graph.token, vault.token = graphTok, vaultTok

	clock.Advance(time.Hour + time.Second)
	wantError(t, c.do("GET", "/v1/workspaces", nil), 401, "TokenExpired")
	if r := graph.do("GET", userPath, nil); r.status != 401 || !strings.Contains(string(r.body), "the token is expired") {
		t.Errorf("Graph with an expired token: %d %s", r.status, r.body)
	}
	if r := vault.do("GET", secretPath, nil); r.status != 401 || !strings.Contains(string(r.body), "Access token has expired") {
		t.Errorf("Key Vault with an expired token: %d %s %v", r.status, r.body, r.header)
	}
}

func TestResetFaults(t *testing.T) {
	e := start(t, Options{})
	c := raw(t, e, DefaultSPObjectID)
	if err := e.AddFault(FaultRule{Method: "POST", Path: "/v1/workspaces", Action: ActionResetBefore}); err != nil {
		t.Fatal(err)
	}
	if err := e.AddFault(FaultRule{Method: "POST", Path: "/v1/workspaces", Nth: 2, Action: ActionResetAfter}); err != nil {
		t.Fatal(err)
	}
	if r := c.do("POST", "/v1/workspaces", map[string]string{"displayName": "before"}); r.status != -1 {
		t.Fatalf("reset_before answered %d", r.status)
	}
	if r := c.do("POST", "/v1/workspaces", map[string]string{"displayName": "after"}); r.status != -1 {
		t.Fatalf("reset_after answered %d", r.status)
	}
	st, err := e.State()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(st), `"before"`) || !strings.Contains(string(st), `"after"`) {
		t.Errorf("reset_before must not apply and reset_after must apply; state:\n%s", st)
	}
	var faults []string
	for _, r := range e.Requests() {
		faults = append(faults, r.Fault)
	}
	if !strings.Contains(strings.Join(faults, "|"), "reset_before") || !strings.Contains(strings.Join(faults, "|"), "reset_after") {
		t.Errorf("request log faults = %q", faults)
	}
}

func TestPagingAndUnknownRoutes(t *testing.T) {
	e := start(t, Options{PageSize: 1})
	c := raw(t, e, DefaultSPObjectID)
	for _, n := range []string{"a", "b"} {
		if r := c.do("POST", "/v1/workspaces", map[string]string{"displayName": n}); r.status != 201 {
			t.Fatalf("create: %d %s", r.status, r.body)
		} else if !strings.HasPrefix(r.header.Get("Location"), e.URL()+"/v1/workspaces/") {
			t.Errorf("Location = %q", r.header.Get("Location"))
		}
	}
	var page listBody[workspaceJSON]
	c.do("GET", "/v1/workspaces", nil).json(t, &page)
	if len(page.Value) != 1 || !strings.HasPrefix(page.ContinuationURI, e.URL()+"/v1/workspaces?continuationToken=") {
		t.Fatalf("first page = %+v", page)
	}
	var last listBody[workspaceJSON]
	c.do("GET", page.ContinuationURI, nil).json(t, &last)
	if len(last.Value) != 1 || last.ContinuationURI != "" || last.ContinuationToken != "" || last.Value[0].DisplayName != "b" {
		t.Fatalf("last page = %+v", last)
	}
	wantError(t, c.do("GET", "/v1/workspaces?continuationToken=zzz", nil), 400, "InvalidContinuationToken")
	wantError(t, c.do("GET", "/v1/nothing-here", nil), 404, "NotFound")
	wantError(t, c.do("GET", "/v1/workspaces/not-a-guid", nil), 400, "InvalidParameter")
	wantError(t, c.do("GET", "/v1/workspaces/00000000-0000-4000-8000-000000000000", nil), 404, "WorkspaceNotFound")
}

func TestStateEndpointIsNormalized(t *testing.T) {
	e := start(t, Options{ImmediateTypes: []string{"Notebook", "Lakehouse"}})
	c := raw(t, e, DefaultSPObjectID)
	var ws workspaceJSON
	c.do("POST", "/v1/workspaces", map[string]any{"displayName": "zeta", "capacityId": DefaultCapacityID}).json(t, &ws)
	c.do("POST", "/v1/workspaces", map[string]any{"displayName": "alpha"})
	if r := c.do("POST", "/v1/workspaces/"+ws.ID+"/items", map[string]any{"displayName": "lh", "type": "Lakehouse"}); r.status != 201 {
		t.Fatalf("create lakehouse: %d %s", r.status, r.body)
	}
	r := raw(t, e, "").do("GET", "/_emulator/state", nil)
	want := `{
  "workspaces": [
    {
      "displayName": "alpha",
      "description": "",
      "type": "Workspace",
      "capacityAssignmentProgress": "Completed",
      "roleAssignments": [
        {
          "principal": "fabplan-deployer",
          "principalType": "ServicePrincipal",
          "role": "Admin"
        }
      ],
      "items": []
    },
    {
      "displayName": "zeta",
      "description": "",
      "type": "Workspace",
      "capacity": "demo-capacity",
      "capacityAssignmentProgress": "Completed",
      "roleAssignments": [
        {
          "principal": "fabplan-deployer",
          "principalType": "ServicePrincipal",
          "role": "Admin"
        }
      ],
      "items": [
        {
          "type": "Lakehouse",
          "displayName": "lh"
        },
        {
          "type": "SQLEndpoint",
          "displayName": "lh"
        }
      ]
    }
  ],
  "secrets": [
    {
      "name": "demo-secret",
      "versions": 1
    }
  ]
}
`
	if string(r.body) != want {
		t.Errorf("state:\n%s\nwant:\n%s", r.body, want)
	}
}

func decodeBody(t testing.TB, resp *http.Response, v any) {
	t.Helper()
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("decode %s: %v", resp.Request.URL, err)
	}
}

func TestMalformedRequests(t *testing.T) {
	e := start(t, Options{})
	c := raw(t, e, DefaultSPObjectID)
	r := c.do("POST", "/v1/workspaces", `{"displayName": 5}`)
	wantError(t, r, 400, "InvalidInput")
	if !strings.Contains(string(r.body), `'displayName' must be of type string`) {
		t.Errorf("wrong type body = %s", r.body)
	}
	wantError(t, c.do("POST", "/v1/workspaces", `{"displayName": "x"`), 400, "InvalidRequest")
	wantError(t, c.do("POST", "/v1/workspaces", `{"displayName": "x"} {}`), 400, "InvalidRequest")
	wantError(t, c.do("POST", "/v1/workspaces", ``), 400, "InvalidInput")
	wantError(t, c.do("POST", "/v1/workspaces", `{"description": "no name"}`), 400, "InvalidInput")
	wantError(t, c.do("POST", "/v1/workspaces", map[string]string{"displayName": strings.Repeat("n", 257)}), 400, "InvalidInput")
	wantError(t, c.do("POST", "/v1/workspaces", map[string]string{"displayName": "Admin monitoring"}), 400, "WorkspaceNameIsReserved")
	wantError(t, c.do("POST", "/v1/workspaces", `{"displayName":"`+strings.Repeat("x", maxBody)+`"}`), 400, "RequestBodyTooLarge")
	wantError(t, c.do("GET", "/v1/workspaces//items", nil), 404, "NotFound")
	wantError(t, c.do("PUT", "/v1/workspaces", nil), 404, "NotFound")
}

func TestConcurrentClients(t *testing.T) {
	e := start(t, Options{ImmediateTypes: []string{"Notebook"}})
	c := raw(t, e, DefaultSPObjectID)
	wsID := newWorkspace(t, c, map[string]any{"displayName": "busy"})
	var wg sync.WaitGroup
	statuses := make(chan int, 80)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := raw(t, e, DefaultSPObjectID)
			for i := range 10 {
				statuses <- cl.do("POST", "/v1/workspaces/"+wsID+"/items", map[string]string{"displayName": fmt.Sprintf("nb-%d-%d", g, i%5), "type": "Notebook"}).status
			}
		}()
	}
	wg.Wait()
	close(statuses)
	created, dup := 0, 0
	for s := range statuses {
		switch s {
		case 201:
			created++
		case 400:
			dup++
		default:
			t.Errorf("status %d", s)
		}
	}
	if created != 40 || dup != 40 {
		t.Errorf("created %d, duplicates %d; want 40 and 40", created, dup)
	}
}

// net/http's own complaints (here: a client that does not speak TLS) go to Options.Logger, never to
// the process's stderr.
func TestServerErrorsGoToTheLogger(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(lockedWriter{&mu, &buf}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e := start(t, Options{Logger: logger})
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.URL(), "https://"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	io.ReadAll(conn) // the server answers plain HTTP with a 400 and hangs up
	conn.Close()
	e.Close()
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(buf.String(), "TLS handshake error") {
		t.Errorf("the server's error is not in the emulator's log:\n%s", buf.String())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// Fabric ignores fields it does not know, and so does the emulator, unless StrictRequests asks it to
// refuse them (for a client's tests, so that a misspelt field cannot go unnoticed).
func TestStrictRequests(t *testing.T) {
	body := `{"displayName":"w","descripton":"typo"}`
	lenient := raw(t, start(t, Options{}), DefaultSPObjectID)
	wantStatus(t, lenient.do("POST", "/v1/workspaces", body), 201)
	strict := raw(t, start(t, Options{StrictRequests: true}), DefaultSPObjectID)
	r := strict.do("POST", "/v1/workspaces", body)
	wantError(t, r, 400, "InvalidInput")
	if !strings.Contains(string(r.body), `unknown field \"descripton\"`) || !strings.Contains(string(r.body), "UnknownField") {
		t.Errorf("the error does not name the field: %s", r.body)
	}
	wantStatus(t, strict.do("POST", "/v1/workspaces", `{"displayName":"w","description":"right"}`), 201)
}
