package fabric

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock advances by every Sleep instead of waiting, and remembers the waits.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d > 0 {
		c.now = c.now.Add(d)
		c.sleeps = append(c.sleeps, d)
	}
	return ctx.Err()
}

func (c *fakeClock) waits(atLeast time.Duration) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, d := range c.sleeps {
		if d >= atLeast {
			n++
		}
	}
	return n
}

// failFirst makes the first n requests matching method and path prefix answer status (with header
// values), then lets the rest through.
func failFirst(n int, method, prefix string, status int, code string, header map[string]string) func(http.ResponseWriter, *http.Request) bool {
	var seen atomic.Int64
	return func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != method || !strings.HasPrefix(r.URL.Path, prefix) || seen.Add(1) > int64(n) {
			return false
		}
		for k, v := range header {
			w.Header().Set(k, v)
		}
		fabricError(w, status, code, "injected")
		return true
	}
}

func TestRetryAfterIsAFloor(t *testing.T) {
	f := newFakeFabric(t)
	clk := newFakeClock()
	c := f.client(t, func(cfg *Config) { cfg.Clock = clk })
	f.hook = failFirst(1, "GET", "/v1/capacities", 429, "RequestBlocked", map[string]string{"Retry-After": "7"})
	if _, err := c.ListCapacities(bg); err != nil {
		t.Fatal(err)
	}
	date := clk.Now().Truncate(time.Second).Add(10 * time.Second).UTC().Format(http.TimeFormat)
	f.hook = failFirst(1, "GET", "/v1/capacities", 503, "ServiceUnavailable", map[string]string{"Retry-After": date})
	if _, err := c.ListCapacities(bg); err != nil {
		t.Fatal(err)
	}
	if clk.waits(7*time.Second) != 2 || clk.waits(9*time.Second) != 1 {
		t.Fatalf("waits %v: want one of >= 7 s (seconds) and one of >= 9 s (HTTP date)", clk.sleeps)
	}
	if s := c.Stats(); s.Retries != 2 || s.Throttled != 1 || s.Pauses != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestRetryGivesUp(t *testing.T) {
	for _, tc := range []struct {
		name     string
		mod      func(*Config)
		status   int
		ra       string
		requests int
	}{
		{"retry off", func(c *Config) { c.NoRetry = true }, 503, "", 1},
		{"budget spent", func(c *Config) { c.RetryBudget = 2 }, 503, "", 3},
		{"deadline", func(c *Config) { c.CallTimeout = time.Minute }, 429, "120", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeFabric(t)
			c := f.client(t, func(cfg *Config) { cfg.Clock = newFakeClock(); tc.mod(cfg) })
			f.hook = failFirst(100, "GET", "/v1/capacities", tc.status, "Injected", map[string]string{"Retry-After": tc.ra})
			_, err := c.ListCapacities(bg)
			var fe *Error
			if !errors.As(err, &fe) || fe.StatusCode != tc.status {
				t.Fatalf("got %v", err)
			}
			if n := f.count("GET /v1/capacities"); n != tc.requests {
				t.Fatalf("%d requests, want %d", n, tc.requests)
			}
		})
	}
}

func TestNonRetryable4xxIsFinal(t *testing.T) {
	f := newFakeFabric(t)
	c := f.client(t, nil)
	f.hook = failFirst(1, "GET", "/v1/capacities", 403, "InsufficientPrivileges", nil)
	_, err := c.ListCapacities(bg)
	if ErrorCode(err) != "InsufficientPrivileges" || f.count("GET /v1/capacities") != 1 {
		t.Fatalf("%v after %d requests", err, f.count("GET /v1/capacities"))
	}
	if !strings.Contains(err.Error(), "\nhint: the identity lacks a Fabric permission") {
		t.Errorf("no hint in %q", err)
	}
}

func TestItemNameNotAvailableYetRetriedOnMinutesSchedule(t *testing.T) {
	f := newFakeFabric(t)
	clk := newFakeClock()
	c := f.client(t, func(cfg *Config) { cfg.Clock = clk; cfg.NameReservedWait = 30 * time.Second })
	ws, _ := c.CreateWorkspace(bg, WorkspaceCreate{DisplayName: "w"})
	f.hook = failFirst(2, "POST", "/v1/workspaces/"+ws.ID+"/items", 400, "ItemDisplayNameNotAvailableYet", nil)
	it, err := c.CreateItem(bg, ws.ID, ItemCreate{Type: "Notebook", DisplayName: "n"})
	if err != nil || it.DisplayName != "n" {
		t.Fatalf("%+v %v", it, err)
	}
	if clk.waits(20*time.Second) != 2 {
		t.Fatalf("waits %v: want two waits on the minutes-scale schedule", clk.sleeps)
	}
}

func TestConnectionErrorsAndTimeoutsAreRetried(t *testing.T) {
	f := newFakeFabric(t)
	c := f.client(t, func(cfg *Config) { cfg.TryTimeout = 200 * time.Millisecond })
	var n atomic.Int64
	f.hook = func(w http.ResponseWriter, r *http.Request) bool {
		switch n.Add(1) {
		case 1: // the connection breaks before an answer
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return true
		case 2: // no answer within the attempt's timeout
			time.Sleep(400 * time.Millisecond)
			return false
		}
		return false
	}
	if _, err := c.ListCapacities(bg); err != nil {
		t.Fatal(err)
	}
	if got := f.count("GET /v1/capacities"); got != 3 {
		t.Fatalf("%d attempts, want 3", got)
	}
}

// The codes users hit most carry a remediation hint, shown on its own line; other codes carry none.
func TestErrorHints(t *testing.T) {
	answer := func(status int, code string) *Error {
		resp := &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(`{"errorCode":"` + code + `","message":"m","requestId":"r"}`))}
		return responseError("Op", resp)
	}
	for _, tc := range []struct {
		status int
		code   string
		want   string // a word the hint must contain
	}{
		{403, "InsufficientPrivileges", "role"},
		{400, "PrincipalTypeNotSupported", "user identity"},
		{403, "FeatureNotAvailable", "capacity"},
		{403, "TenantSwitchDisabled", "Tenant settings"},
		{400, "WorkspaceHasNoCapacityAssigned", "capacity"},
		{400, "ItemDisplayNameNotAvailableYet", "another name"},
		{429, "RequestBlocked", "--parallelism"},
		{401, "TokenExpired", "clock"},
	} {
		e := answer(tc.status, tc.code)
		if !strings.Contains(e.Hint, tc.want) || !strings.Contains(e.Error(), "\nhint: "+e.Hint) {
			t.Errorf("%s: hint %q (error %q), want one mentioning %q", tc.code, e.Hint, e.Error(), tc.want)
		}
		if e.StatusCode != tc.status || e.ErrorCode != tc.code || e.RequestID != "r" || e.Operation != "Op" {
			t.Errorf("%s: %+v", tc.code, e)
		}
	}
	if e := answer(404, "ItemNotFound"); e.Hint != "" || strings.Contains(e.Error(), "hint:") {
		t.Errorf("a code without a hint got one: %q", e.Error())
	}
}
