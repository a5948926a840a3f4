package fabric

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"
)

func TestBreakerOpensFailsFastHalfOpensAndCloses(t *testing.T) {
	f := newFakeFabric(t)
	var logs bytes.Buffer
	// Retry off: the call meets the open breaker once and has nothing left to wait with.
	c := f.client(t, func(cfg *Config) {
		cfg.BreakerCooldown = 300 * time.Millisecond
		cfg.NoRetry = true
		cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	f.hook = failFirst(5, "GET", "/v1/capacities", 503, "ServiceUnavailable", nil)
	for range 5 {
		c.ListCapacities(bg)
	}
	_, err := c.ListCapacities(bg)
	if ErrorCode(err) != CodeCircuitBreakerOpen {
		t.Fatalf("after 5 consecutive 503: %v, want %s", err, CodeCircuitBreakerOpen)
	}
	if !strings.Contains(err.Error(), `circuit breaker "`+f.srv.Listener.Addr().String()+` capacities" is open`) ||
		!strings.Contains(err.Error(), "half-opens at") {
		t.Errorf("error does not name the breaker and its half-open time: %v", err)
	}
	// The error carries the failure that opened the breaker: in its words and as its cause.
	if !strings.Contains(err.Error(), `the last failure: HTTP 503 ServiceUnavailable "injected"`) {
		t.Errorf("error hides the 503 that opened the breaker: %v", err)
	}
	if !errors.Is(err, gobreaker.ErrOpenState) {
		t.Errorf("errors.Is(err, gobreaker.ErrOpenState) = false: %v", err)
	}
	var outer *Error
	if !errors.As(err, &outer) || outer.ErrorCode != CodeCircuitBreakerOpen {
		t.Fatalf("errors.As finds %+v, want the CircuitBreakerOpen error", outer)
	}
	var cause *Error
	if !errors.As(outer.Err, &cause) || cause.StatusCode != 503 || cause.ErrorCode != "ServiceUnavailable" {
		t.Errorf("cause = %+v, want the 503 ServiceUnavailable", cause)
	}
	sent := f.count("GET /v1/capacities")
	if _, err := c.ListCapacities(bg); ErrorCode(err) != CodeCircuitBreakerOpen {
		t.Fatalf("second call: %v", err)
	}
	if f.count("GET /v1/capacities") != sent {
		t.Fatal("an open breaker let a request through")
	}
	// Other API families keep working.
	if _, err := c.ListWorkspaces(bg); err != nil {
		t.Fatalf("workspaces behind an open capacities breaker: %v", err)
	}
	time.Sleep(350 * time.Millisecond) // the cooldown is gobreaker's own clock
	if _, err := c.ListCapacities(bg); err != nil {
		t.Fatalf("half-open probe: %v", err)
	}
	if _, err := c.ListCapacities(bg); err != nil {
		t.Fatalf("closed again: %v", err)
	}
	for _, want := range []string{"from=closed to=open", "from=open to=half-open", "from=half-open to=closed"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks state change %q:\n%s", want, logs.String())
		}
	}
	if s := c.Stats(); s.BreakerOpened != 1 {
		t.Errorf("stats %+v", s)
	}
}

// A call that meets an open breaker waits for the half-open probe while its retries and deadline
// last, instead of failing the run over a few seconds of outage; workers behind it do the same.
func TestOpenBreakerIsWaitedOut(t *testing.T) {
	f := newFakeFabric(t)
	c := f.client(t, func(cfg *Config) { cfg.BreakerCooldown = 300 * time.Millisecond })
	f.hook = failFirst(5, "GET", "/v1/capacities", 503, "ServiceUnavailable", nil)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { _, errs[i] = c.ListCapacities(bg) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("worker %d: %v", i, err)
		}
	}
	if s := c.Stats(); s.BreakerOpened != 1 {
		t.Errorf("the breaker opened %d times, want once (the test needs it open)", s.BreakerOpened)
	}
}

// Waiting for half-open stops at the call's deadline (a rollback deadline is a context deadline):
// the call gives up at once with the breaker's error rather than sleep past it.
func TestOpenBreakerWaitStopsAtTheDeadline(t *testing.T) {
	f := newFakeFabric(t)
	c := f.client(t, func(cfg *Config) { cfg.BreakerCooldown = time.Hour })
	f.hook = failFirst(5, "GET", "/v1/capacities", 503, "ServiceUnavailable", nil)
	ctx, cancel := context.WithTimeout(bg, 2*time.Second)
	defer cancel()
	_, err := c.ListCapacities(ctx)
	if ErrorCode(err) != CodeCircuitBreakerOpen || ctx.Err() != nil {
		t.Fatalf("got %v (context %v), want %s before the deadline", err, ctx.Err(), CodeCircuitBreakerOpen)
	}
}

func TestBreakerIgnores429And4xx(t *testing.T) {
	for _, tc := range []struct {
		status int
		code   string
	}{{429, "RequestBlocked"}, {404, "NotFound"}, {409, "Conflict"}} {
		f := newFakeFabric(t)
		c := f.client(t, func(cfg *Config) { cfg.NoRetry = true; cfg.NoThrottle = true })
		for range 4 { // 8 answers in a row that are not 2xx, four of them 5xx
			f.hook = failFirst(1, "GET", "/v1/capacities", tc.status, tc.code, map[string]string{"Retry-After": "1"})
			c.ListCapacities(bg)
			f.hook = failFirst(1, "GET", "/v1/capacities", 503, "ServiceUnavailable", nil)
			c.ListCapacities(bg)
		}
		f.hook = nil
		if _, err := c.ListCapacities(bg); err != nil {
			t.Fatalf("%d counted as a failure: %v", tc.status, err)
		}
	}
}

func TestNoBreakerSwitch(t *testing.T) {
	f := newFakeFabric(t)
	c := f.client(t, func(cfg *Config) { cfg.NoBreaker = true; cfg.NoRetry = true })
	f.hook = failFirst(8, "GET", "/v1/capacities", 503, "ServiceUnavailable", nil)
	for range 8 {
		if _, err := c.ListCapacities(bg); ErrorCode(err) != "ServiceUnavailable" {
			t.Fatalf("got %v", err)
		}
	}
}

func TestAPIFamily(t *testing.T) {
	for path, want := range map[string]string{
		"/v1/workspaces":                         "workspaces",
		"/v1/workspaces/1":                       "workspaces",
		"/v1/workspaces/1/items/2/getDefinition": "items",
		"/v1/workspaces/1/git/status":            "git",
		"/v1/operations/9/result":                "operations",
		"/v1/capacities":                         "capacities",
	} {
		if got := apiFamily(path); got != want {
			t.Errorf("apiFamily(%s) = %s, want %s", path, got, want)
		}
	}
}

// While the half-open probe is out, other calls fail fast and say so; they are not told a half-open
// time that has passed.
func TestBreakerHalfOpenLetsOneProbeThrough(t *testing.T) {
	f := newFakeFabric(t)
	c := f.client(t, func(cfg *Config) { cfg.BreakerCooldown = 100 * time.Millisecond; cfg.NoRetry = true })
	release := make(chan struct{})
	probing := make(chan struct{})
	var n atomic.Int64
	f.hook = func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/v1/capacities" {
			return false
		}
		switch n.Add(1) {
		case 1, 2, 3, 4, 5:
			fabricError(w, 503, "ServiceUnavailable", "down")
			return true
		case 6:
			close(probing)
			<-release
		}
		return false
	}
	for range 5 {
		c.ListCapacities(bg)
	}
	time.Sleep(150 * time.Millisecond) // gobreaker's own clock
	done := make(chan error)
	go func() { _, err := c.ListCapacities(bg); done <- err }()
	<-probing
	_, err := c.ListCapacities(bg)
	close(release)
	if ErrorCode(err) != CodeCircuitBreakerOpen || !strings.Contains(err.Error(), "is half-open: one probe request") {
		t.Errorf("a call during the probe: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("probe: %v", err)
	}
	if _, err := c.ListCapacities(bg); err != nil {
		t.Fatalf("closed after the probe: %v", err)
	}
}
