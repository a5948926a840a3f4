package emulator

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/spf13/pflag"
)

func TestThrottlePerIdentity(t *testing.T) {
	clock := newClock()
	e := start(t, Options{Clock: clock.Now, Faults: FaultConfig{ThrottleRate: 1, ThrottleBurst: 2}})
	sp, reader := raw(t, e, DefaultSPObjectID), raw(t, e, readerObjectID)
	wantStatus(t, sp.do("GET", "/v1/workspaces", nil), 200)
	wantStatus(t, sp.do("GET", "/v1/workspaces", nil), 200)
	r := sp.do("GET", "/v1/workspaces", nil)
	wantError(t, r, 429, "RequestBlocked")
	if r.header.Get("Retry-After") != "1" {
		t.Errorf("Retry-After = %q", r.header.Get("Retry-After"))
	}
	if !regexp.MustCompile(`"message":"Request is blocked by the upstream service until: 3/1/2026 12:00:01 PM \(UTC\)"`).Match(r.body) {
		t.Errorf("429 body = %s", r.body)
	}
	wantStatus(t, reader.do("GET", "/v1/workspaces", nil), 200) // another identity has its own bucket
	clock.Advance(time.Second)
	wantStatus(t, sp.do("GET", "/v1/workspaces", nil), 200)

	// A 429 from a rule looks the same, with the rule's Retry-After.
	if err := e.AddFault(FaultRule{Method: "GET", Path: "/v1/capacities", Status: 429, RetryAfter: 30}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	r = reader.do("GET", "/v1/capacities", nil)
	wantError(t, r, 429, "RequestBlocked")
	if r.header.Get("Retry-After") != "30" || !strings.Contains(string(r.body), "until: 3/1/2026 12:01:31 PM (UTC)") {
		t.Errorf("rule 429 = %v %s", r.header, r.body)
	}
}

func TestRandomFaultsFollowTheSeed(t *testing.T) {
	run := func(seed int64) []int {
		e := start(t, Options{Seed: seed, Faults: FaultConfig{ErrorRate: 0.5}})
		c := raw(t, e, DefaultSPObjectID)
		var out []int
		for range 20 {
			out = append(out, c.do("GET", "/v1/capacities", nil).status)
		}
		return out
	}
	a, b, c := run(7), run(7), run(8)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("same seed, different faults: %v vs %v", a, b)
	}
	if reflect.DeepEqual(a, c) {
		t.Errorf("different seeds, same faults: %v", a)
	}
	var ok, failed int
	for _, s := range a {
		switch s {
		case 200:
			ok++
		case 500, 502, 503:
			failed++
		default:
			t.Errorf("unexpected status %d", s)
		}
	}
	if ok == 0 || failed == 0 {
		t.Errorf("error rate 0.5 gave %d ok and %d failed", ok, failed)
	}
}

func TestTokenEndpointFaults(t *testing.T) {
	e := start(t, Options{Faults: FaultConfig{TokenFailureRate: 1}})
	id, secret := e.ServicePrincipal()
	resp, err := e.HTTPClient().PostForm(e.AuthorityHost()+e.TenantID()+"/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {id}, "client_secret": {secret}, "scope": {"https://api.fabric.microsoft.com/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	decodeBody(t, resp, &body)
	if resp.StatusCode != 503 || body["error"] != "temporarily_unavailable" || resp.Header.Get("Retry-After") != "1" {
		t.Errorf("token failure: %d %v", resp.StatusCode, body)
	}
	e.ClearFaults()
	if err := e.AddFault(FaultRule{Method: "POST", Path: "/*/oauth2/v2.0/token", Status: 400, Message: "nope"}); err != nil {
		t.Fatal(err)
	}
	_, err = credential(t, e, id, secret).GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{"https://api.fabric.microsoft.com/.default"}})
	if err == nil || !strings.Contains(err.Error(), "invalid_request") {
		t.Errorf("token rule: %v", err)
	}
}

func TestControlFaultsEndpoint(t *testing.T) {
	e := start(t, Options{})
	ctl, sp := raw(t, e, ""), raw(t, e, DefaultSPObjectID)
	wantStatus(t, ctl.do("POST", "/_emulator/faults", `{"method":"GET","path":"/v1/capacities","status":503}`), 200)
	wantStatus(t, ctl.do("POST", "/_emulator/faults", `[{"method":"GET","path":"/v1/workspaces/*","nth":1,"times":2,"status":404,"errorCode":"WorkspaceNotFound"}]`), 200)
	wantStatus(t, ctl.do("POST", "/_emulator/faults", `{"random":{"latency":"1ms"}}`), 200)
	wantError(t, ctl.do("POST", "/_emulator/faults", `{"path":"v1/x"}`), 400, "InvalidRequest")
	wantError(t, ctl.do("POST", "/_emulator/faults", `{"path":"/v1/x","action":"explode"}`), 400, "InvalidRequest")
	wantError(t, ctl.do("POST", "/_emulator/faults", `{"path":"/v1/x","bogus":1}`), 400, "InvalidRequest")

	r := sp.do("GET", "/v1/capacities", nil)
	wantError(t, r, 503, "ServiceUnavailable")
	if r.header.Get("Retry-After") != "1" {
		t.Errorf("503 without Retry-After")
	}
	wantStatus(t, sp.do("GET", "/v1/capacities", nil), 200)
	wsID := newWorkspace(t, sp, map[string]any{"displayName": "w"})
	wantError(t, sp.do("GET", "/v1/workspaces/"+wsID, nil), 404, "WorkspaceNotFound")
	wantError(t, sp.do("GET", "/v1/workspaces/"+wsID, nil), 404, "WorkspaceNotFound")
	wantStatus(t, sp.do("GET", "/v1/workspaces/"+wsID, nil), 200)

	rules := e.Faults()
	if len(rules) != 2 || rules[0].Fired != 1 || rules[1].Matched != 3 || rules[1].Fired != 2 {
		t.Errorf("rules = %+v", rules)
	}
	wantStatus(t, ctl.do("DELETE", "/_emulator/faults", nil), 204)
	if len(e.Faults()) != 0 || e.faults.config() != (FaultConfig{}) {
		t.Errorf("faults left after DELETE")
	}
	var log struct {
		Requests []RequestRecord `json:"requests"`
	}
	ctl.do("GET", "/_emulator/requests", nil).json(t, &log)
	var faulted int
	for _, rec := range log.Requests {
		if rec.Fault != "" {
			faulted++
			if rec.Principal != "fabplan-deployer" {
				t.Errorf("faulted record without principal? %+v", rec)
			}
		}
	}
	if faulted != 3 {
		t.Errorf("%d faulted requests in the log, want 3", faulted)
	}
}

func TestGlobMatch(t *testing.T) {
	for _, c := range []struct {
		pattern, path string
		want          bool
	}{
		{"/v1/workspaces/*/items", "/v1/workspaces/abc/items", true},
		{"/v1/workspaces/*/items", "/v1/workspaces/abc/items/def", false},
		{"/v1/workspaces/*", "/v1/workspaces", false},
		{"/v1/workspaces/**", "/v1/workspaces/a/b/c", true},
		{"/V1/Workspaces", "/v1/workspaces", true},
	} {
		if got := globMatch(c.pattern, c.path); got != c.want {
			t.Errorf("globMatch(%q, %q) = %v", c.pattern, c.path, got)
		}
	}
}

func TestStatePersists(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "state.json")
	e1, err := Start(Options{Dir: dir, StateFile: file, ImmediateTypes: []string{"Notebook"}})
	if err != nil {
		t.Fatal(err)
	}
	c := raw(t, e1, DefaultSPObjectID)
	wsID := newWorkspace(t, c, map[string]any{"displayName": "kept"})
	wantStatus(t, c.do("POST", "/v1/workspaces/"+wsID+"/items", map[string]any{"displayName": "nb", "type": "Notebook",
		"definition": map[string]any{"parts": []any{textPart("notebook-content.py", "print(1)")}}}), 201)
	if err := e1.SetSecret("added", "x"); err != nil {
		t.Fatal(err)
	}
	before, _ := e1.StateWith(StateOptions{IDs: true})
	if err := e1.Close(); err != nil {
		t.Fatal(err)
	}
	var names []string
	entries, _ := os.ReadDir(dir)
	for _, de := range entries {
		names = append(names, de.Name())
	}
	if fmt.Sprint(names) != "[ca-key.pem ca.pem state.json token-key.pem]" {
		t.Errorf("files next to the state file: %v", names)
	}

	// Restarted on the same address with the same --dir, it keeps its CA and token key: the first
	// emulator's client and token still work.
	e2 := start(t, Options{Addr: strings.TrimPrefix(e1.URL(), "https://"), Dir: dir, StateFile: file})
	wantStatus(t, c.do("GET", "/v1/workspaces/"+wsID, nil), 200)
	after, _ := e2.StateWith(StateOptions{IDs: true})
	if string(before) != string(after) {
		t.Errorf("state changed across restart:\n%s\nvs\n%s", before, after)
	}
	c2 := raw(t, e2, DefaultSPObjectID)
	other := newWorkspace(t, c2, map[string]any{"displayName": "new"})
	if other == wsID || strings.Contains(string(before), other) {
		t.Errorf("id %s handed out again after restart", other)
	}
	wantStatus(t, c2.do("GET", "/v1/workspaces/"+wsID+"/items", nil), 200)

	wantStatus(t, raw(t, e2, "").do("DELETE", "/_emulator/state", nil), 204)
	if st, _ := e2.State(); !strings.Contains(string(st), `"workspaces": []`) || !strings.Contains(string(st), `"name": "demo-secret"`) {
		t.Errorf("state after reset:\n%s", st)
	}
	if again := newWorkspace(t, c2, map[string]any{"displayName": "kept"}); again == wsID || again == other {
		t.Errorf("id %s handed out again after a reset", again)
	}

	if err := os.WriteFile(file, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Start(Options{Dir: dir, StateFile: file}); err == nil || !strings.Contains(err.Error(), "delete it to start fresh") {
		t.Errorf("corrupt state file: %v", err)
	}
}

func TestConfigFlags(t *testing.T) {
	dir := t.TempDir()
	faults := filepath.Join(dir, "faults.json")
	os.WriteFile(faults, []byte(`{"rules":[{"method":"POST","path":"/v1/workspaces","status":500}],"random":{"latency":"5ms","errorRate":0.1}}`), 0o644)
	fixtures := filepath.Join(dir, "tenant.json")
	os.WriteFile(fixtures, []byte(`{"tenantId":"`+DefaultTenantID+`","principals":[{"id":"`+DefaultSPObjectID+`","type":"ServicePrincipal","displayName":"ci","appId":"`+DefaultClientID+`","clientSecret":"s"}],"capacities":[]}`), 0o644)

	var cfg Config
	fs := pflag.NewFlagSet("emulator", pflag.ContinueOnError)
	cfg.RegisterFlags(fs)
	if err := fs.Parse([]string{"--addr", "127.0.0.1:0", "--seed", "3", "--lro-delay", "2s", "--page-size", "5",
		"--immediate-types", "Notebook,Lakehouse", "--faults", faults, "--fixtures", fixtures, "--dir", dir}); err != nil {
		t.Fatal(err)
	}
	opts, err := cfg.Options()
	if err != nil {
		t.Fatal(err)
	}
	if opts.Seed != 3 || opts.LRODelay != 2*time.Second || opts.PageSize != 5 || len(opts.ImmediateTypes) != 2 ||
		len(opts.FaultRules) != 1 || opts.Faults.Latency != 5*time.Millisecond || opts.Faults.ErrorRate != 0.1 ||
		opts.Fixtures.Principals[0].DisplayName != "ci" || opts.RetryAfter != 1 {
		t.Errorf("options = %+v", opts)
	}
	e := start(t, opts)
	info := e.Info()
	if id, secret := e.ServicePrincipal(); id != DefaultClientID || secret != "s" || info.ClientSecret != "s" {
		t.Errorf("service principal from fixtures: %s %s", id, secret)
	}
	banner := info.Banner()
	for _, want := range []string{e.URL() + "/v1", e.CAFile(), "AZURE_CLIENT_SECRET=s", "SSL_CERT_FILE=" + e.CAFile(), "FABPLAN_AUTHORITY_HOST=" + e.AuthorityHost()} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner lacks %q:\n%s", want, banner)
		}
	}

	bad := Config{ImmediateTypes: []string{"Spreadsheet"}}
	if _, err := bad.Options(); err == nil || !strings.Contains(err.Error(), "--immediate-types") {
		t.Errorf("bad item type: %v", err)
	}
	bad = Config{FixturesFile: filepath.Join(dir, "missing.json")}
	if _, err := bad.Options(); err == nil || !strings.Contains(err.Error(), "--fixtures") {
		t.Errorf("missing fixtures: %v", err)
	}
	os.WriteFile(fixtures, []byte(`{"tenantId":"`+DefaultTenantID+`","principals":[],"capacitys":[]}`), 0o644)
	bad = Config{FixturesFile: fixtures}
	if _, err := bad.Options(); err == nil || !strings.Contains(err.Error(), "capacitys") {
		t.Errorf("unknown fixtures field: %v", err)
	}
}

func TestRandomResetsAndLatency(t *testing.T) {
	e := start(t, Options{Faults: FaultConfig{ResetRate: 1}})
	c := raw(t, e, DefaultSPObjectID)
	if r := c.do("POST", "/v1/workspaces", map[string]string{"displayName": "never"}); r.status != -1 {
		t.Fatalf("reset: %d", r.status)
	}
	if err := e.SetFaultConfig(FaultConfig{LostResponseRate: 1, Latency: 5 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if r := c.do("POST", "/v1/workspaces", map[string]string{"displayName": "applied"}); r.status != -1 {
		t.Fatalf("lost response: %d", r.status)
	}
	e.ClearFaults()
	var list listBody[workspaceJSON]
	c.do("GET", "/v1/workspaces", nil).json(t, &list)
	if len(list.Value) != 1 || list.Value[0].DisplayName != "applied" {
		t.Errorf("workspaces after a reset and a lost response: %+v", list.Value)
	}
	var lost *RequestRecord
	for _, r := range e.Requests() {
		if r.Fault == "random reset_after" {
			lost = &r
		}
	}
	if lost == nil || lost.Status != 201 || lost.Duration < 5*time.Millisecond || lost.Principal != "fabplan-deployer" {
		t.Errorf("log of the lost response = %+v", lost)
	}
	if err := e.SetFaultConfig(FaultConfig{ErrorRate: 2}); err == nil {
		t.Errorf("an error rate of 2 was accepted")
	}
}

// Each 5xx status can have a rate of its own, from the Go API, a faults file or the flags.
func TestPerStatusErrorRates(t *testing.T) {
	e := start(t, Options{Seed: 11, Faults: FaultConfig{Error502Rate: 0.2, Error503Rate: 0.4}})
	c := raw(t, e, DefaultSPObjectID)
	counts := map[int]int{}
	const n = 300
	for range n {
		counts[c.do("GET", "/v1/capacities", nil).status]++
	}
	if counts[500] != 0 || len(counts) != 3 {
		t.Fatalf("statuses %v: want only 200, 502 and 503", counts)
	}
	// Binomial with n = 300: ±6 standard deviations keeps a seeded run far from the edges.
	for status, p := range map[int]float64{502: 0.2, 503: 0.4} {
		sd := math.Sqrt(n * p * (1 - p))
		if got := float64(counts[status]); math.Abs(got-n*p) > 6*sd {
			t.Errorf("%d answered %v times in %d, want about %v", status, got, n, n*p)
		}
	}
	if _, err := ParseFaults([]byte(`{"random":{"error500Rate":0.7,"error503Rate":0.7}}`)); err == nil || !strings.Contains(err.Error(), "more than 1") {
		t.Errorf("rates summing over 1: %v", err)
	}
	// A misspelt setting is an error, not a fault silently left off.
	if _, err := ParseFaults([]byte(`{"random":{"errorRat":0.1}}`)); err == nil || !strings.Contains(err.Error(), `"errorRat"`) {
		t.Errorf("a misspelt random setting: %v", err)
	}
	var cfg Config
	fs := pflag.NewFlagSet("emulator", pflag.ContinueOnError)
	cfg.RegisterFlags(fs)
	if err := fs.Parse([]string{"--error-500-rate", "0.1", "--error-502-rate", "0.2", "--error-503-rate", "0.3", "--strict-requests"}); err != nil {
		t.Fatal(err)
	}
	if opts, err := cfg.Options(); err != nil || opts.Faults.Error500Rate != 0.1 || opts.Faults.Error502Rate != 0.2 || opts.Faults.Error503Rate != 0.3 || !opts.StrictRequests {
		t.Errorf("flags gave %+v, %v", opts.Faults, err)
	}
	if err := fs.Parse([]string{"--error-503-rate", "1.5"}); err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.Options(); err == nil {
		t.Error("--error-503-rate 1.5 accepted")
	}
}

// An outage rule fails every matching call from its Nth on, for its window of the emulator's clock.
func TestOutageRule(t *testing.T) {
	clock := newClock()
	e := start(t, Options{Clock: clock.Now})
	c := raw(t, e, DefaultSPObjectID)
	if err := e.AddFault(FaultRule{Path: "/v1/**", Nth: 2, Status: 503, OutageMs: 3000}); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, c.do("GET", "/v1/capacities", nil), 200)
	for range 3 {
		wantError(t, c.do("GET", "/v1/workspaces", nil), 503, "ServiceUnavailable")
		clock.Advance(900 * time.Millisecond)
	}
	clock.Advance(400 * time.Millisecond)
	wantStatus(t, c.do("GET", "/v1/workspaces", nil), 200)
	if rs := e.Faults(); rs[0].Fired != 3 {
		t.Errorf("fired %d times, want 3", rs[0].Fired)
	}
}

// A fail_operation rule lets the request be accepted and its operation end Failed, changing nothing.
func TestFailOperationRule(t *testing.T) {
	e := start(t, Options{})
	c := raw(t, e, DefaultSPObjectID)
	ws := c.do("POST", "/v1/workspaces", map[string]any{"displayName": "w"})
	wantStatus(t, ws, 201)
	var created struct{ ID string }
	ws.json(t, &created)
	wsID := created.ID
	if err := e.AddFault(FaultRule{Method: "POST", Path: "/v1/workspaces/*/items", Action: ActionFailOperation}); err != nil {
		t.Fatal(err)
	}
	r := c.do("POST", "/v1/workspaces/"+wsID+"/items", map[string]any{"displayName": "nb", "type": "Notebook"})
	wantStatus(t, r, 202)
	op := c.do("GET", "/v1/operations/"+r.header.Get("x-ms-operation-id"), nil)
	wantStatus(t, op, 200)
	if body := string(op.body); !strings.Contains(body, `"status":"Failed"`) || !strings.Contains(body, "fail_operation rule") {
		t.Errorf("operation = %s", body)
	}
	if items := c.do("GET", "/v1/workspaces/"+wsID+"/items", nil); strings.Contains(string(items.body), `"nb"`) {
		t.Errorf("the failed operation created the item: %s", items.body)
	}
	wantStatus(t, c.do("POST", "/v1/workspaces/"+wsID+"/items", map[string]any{"displayName": "nb", "type": "Notebook"}), 202)
}
