package fabric

import (
	"fmt"
	"math"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/fabplan/fabplan/emulator"
	"golang.org/x/time/rate"
)

// benchTarget is a server that throttles per identity, with the client settings to reach it.
type benchTarget struct {
	base   string
	http   *http.Client
	cred   azcore.TokenCredential
	counts func() (sent, blocked int64) // Fabric requests the server saw, and how many it answered 429
}

// bucketLimit is a token bucket of limit req/s and burst; it answers how long the caller must wait.
func bucketLimit(limit float64, burst int) func(now time.Time) time.Duration {
	lim := rate.NewLimiter(rate.Limit(limit), burst)
	return func(now time.Time) time.Duration {
		res := lim.ReserveN(now, 1)
		wait := res.DelayFrom(now)
		if wait > 0 {
			res.CancelAt(now)
		}
		return wait
	}
}

// blockingLimit allows limit requests per calendar second; the request over it blocks the identity
// for block, and every request until then is refused with the time left, as Fabric's "Request is
// blocked by the upstream service until: <time>" does.
func blockingLimit(limit int, block time.Duration) func(now time.Time) time.Duration {
	var window time.Time
	var n int
	var until time.Time
	return func(now time.Time) time.Duration {
		if now.Before(until) {
			return until.Sub(now)
		}
		if w := now.Truncate(time.Second); !w.Equal(window) {
			window, n = w, 0
		}
		if n++; n > limit {
			until = now.Add(block)
			return block
		}
		return 0
	}
}

// fakeTarget is the test fake behind a limiter, answering 429 with a whole-second Retry-After as
// Fabric and the emulator do.
func fakeTarget(tb testing.TB, limiter func(time.Time) time.Duration) benchTarget {
	f := newFakeFabric(&testing.T{})
	tb.Cleanup(f.srv.Close)
	var mu sync.Mutex
	var sent, blocked atomic.Int64
	f.hook = func(w http.ResponseWriter, r *http.Request) bool {
		sent.Add(1)
		mu.Lock()
		wait := limiter(time.Now())
		mu.Unlock()
		if wait <= 0 {
			writeJSON(w, 200, map[string]any{"value": []any{}})
			return true
		}
		blocked.Add(1)
		w.Header().Set("Retry-After", fmt.Sprint(max(1, int(math.Ceil(wait.Seconds())))))
		fabricError(w, 429, "RequestBlocked", "Request is blocked by the upstream service")
		return true
	}
	cred, err := NewCredential(AuthConfig{TenantID: fakeTenant, ClientID: "app", ClientSecret: "s3cr3t-value",
		AuthorityHost: f.srv.URL + "/", HTTPClient: f.srv.Client()})
	if err != nil {
		tb.Fatal(err)
	}
	return benchTarget{base: f.srv.URL, http: f.srv.Client(), cred: cred,
		counts: func() (int64, int64) { return sent.Load(), blocked.Load() }}
}

// emulatorTarget is the emulator with its per-identity throttle at limit req/s (burst = limit).
func emulatorTarget(tb testing.TB, limit float64) benchTarget {
	e := startEmulator(tb, emulator.Options{Faults: emulator.FaultConfig{ThrottleRate: limit}})
	id, secret := e.ServicePrincipal()
	cred, err := NewCredential(AuthConfig{TenantID: e.TenantID(), ClientID: id, ClientSecret: secret,
		AuthorityHost: e.AuthorityHost(), HTTPClient: e.HTTPClient()})
	if err != nil {
		tb.Fatal(err)
	}
	return benchTarget{base: e.FabricURL(), http: e.HTTPClient(), cred: cred, counts: func() (sent, blocked int64) {
		for _, r := range e.Requests() {
			if r.Path == "/v1/capacities" {
				sent++
				if r.Status == http.StatusTooManyRequests {
					blocked++
				}
			}
		}
		return sent, blocked
	}}
}

// throttledRun is the outcome of workers calling a throttling server for a while.
type throttledRun struct {
	ok, sent, blocked int64
	elapsed           time.Duration
}

func (r throttledRun) rate() float64 { return float64(r.ok) / r.elapsed.Seconds() }

func (r throttledRun) blockedShare() float64 { return float64(r.blocked) / float64(max(r.sent, 1)) }

// runWorkers lets workers list capacities for d, sharing one client as fabplan's workers do.
func runWorkers(tb testing.TB, t benchTarget, workers int, d time.Duration, mod func(*Config)) throttledRun {
	cfg := Config{BaseURL: t.base, Credential: t.cred, HTTPClient: t.http, RetryBudget: 1 << 30}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	s0, b0 := t.counts()
	end := time.Now().Add(d)
	var ok atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for time.Now().Before(end) {
				if _, err := c.ListCapacities(bg); err == nil && time.Now().Before(end) {
					ok.Add(1)
				}
			}
		})
	}
	wg.Wait()
	s1, b1 := t.counts()
	return throttledRun{ok: ok.Load(), sent: s1 - s0, blocked: b1 - b0, elapsed: d}
}

// BenchmarkThrottledWorkers: 8 workers against 50 req/s per identity, with the shared throttle and
// with each worker retrying on its own (Retry-After honoured, no shared pause), against the emulator
// (token bucket, burst 50), a bucket of burst 5, and a server that, like Fabric, blocks the identity
// for a while (5 s here) once it goes over the limit. 5 s per run by default;
// FABPLAN_BENCH_LONG=1 runs the 30 s. Reported: ok/s, % of the limit, % of requests
// answered 429.
func BenchmarkThrottledWorkers(b *testing.B) {
	d := 5 * time.Second
	if os.Getenv("FABPLAN_BENCH_LONG") == "1" {
		d = 30 * time.Second
	}
	const limit = 50
	targets := []struct {
		name string
		make func(testing.TB) benchTarget
	}{
		{"emulator", func(tb testing.TB) benchTarget { return emulatorTarget(tb, limit) }},
		{"burst=5", func(tb testing.TB) benchTarget { return fakeTarget(tb, bucketLimit(limit, 5)) }},
		{"blocking", func(tb testing.TB) benchTarget { return fakeTarget(tb, blockingLimit(limit, 5*time.Second)) }},
	}
	modes := []struct {
		name string
		mod  func(*Config)
	}{
		{"shared-throttle", nil},
		{"per-worker-retry", func(c *Config) { c.NoThrottle = true }},
	}
	for _, tg := range targets {
		for _, m := range modes {
			b.Run(tg.name+"/"+m.name, func(b *testing.B) {
				var r throttledRun
				for b.Loop() {
					r = runWorkers(b, tg.make(b), 8, d, m.mod)
				}
				b.ReportMetric(r.rate(), "ok/s")
				b.ReportMetric(100*r.rate()/limit, "%limit")
				b.ReportMetric(100*r.blockedShare(), "%429")
			})
		}
	}
}
