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

	"golang.org/x/time/rate"
)

// throttledRun is the outcome of workers calling a server that throttles their identity.
type throttledRun struct {
	ok, sent, blocked int64
	elapsed           time.Duration
}

// runThrottled lets workers call Fabric for d against a server that allows limit req/s per identity
// (a token bucket of burst, answering 429 with a whole-second Retry-After, as the emulator does).
func runThrottled(tb testing.TB, workers int, d time.Duration, limit float64, burst int, mod func(*Config)) throttledRun {
	f := newFakeFabric(&testing.T{})
	tb.Cleanup(f.srv.Close)
	lim := rate.NewLimiter(rate.Limit(limit), burst)
	var run throttledRun
	var mu sync.Mutex
	f.hook = func(w http.ResponseWriter, r *http.Request) bool {
		atomic.AddInt64(&run.sent, 1)
		mu.Lock()
		now := time.Now()
		res := lim.ReserveN(now, 1)
		wait := res.DelayFrom(now)
		if wait > 0 {
			res.CancelAt(now)
		}
		mu.Unlock()
		if wait <= 0 {
			writeJSON(w, 200, map[string]any{"value": []any{}})
			return true
		}
		atomic.AddInt64(&run.blocked, 1)
		w.Header().Set("Retry-After", fmt.Sprint(max(1, int(math.Ceil(wait.Seconds())))))
		fabricError(w, 429, "RequestBlocked", "Request is blocked by the upstream service")
		return true
	}
	cred, err := NewCredential(AuthConfig{TenantID: fakeTenant, ClientID: "app", ClientSecret: "s3cr3t-value",
		AuthorityHost: f.srv.URL + "/", HTTPClient: f.srv.Client()})
	if err != nil {
		tb.Fatal(err)
	}
	cfg := Config{BaseURL: f.srv.URL, Credential: cred, HTTPClient: f.srv.Client(), RetryBudget: 1 << 30}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	start := time.Now()
	end := start.Add(d)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for time.Now().Before(end) {
				if _, err := c.ListCapacities(bg); err == nil && time.Now().Before(end) {
					atomic.AddInt64(&run.ok, 1)
				}
			}
		})
	}
	wg.Wait()
	run.elapsed = d
	return run
}

// BenchmarkThrottledWorkers: 8 workers against 50 req/s per identity, with the shared throttle and
// with each worker retrying on its own (Retry-After honoured, no shared pause). 5 s per run by
// default; FABPLAN_BENCH_LONG=1 runs the 30 s.
func BenchmarkThrottledWorkers(b *testing.B) {
	d := 5 * time.Second
	if os.Getenv("FABPLAN_BENCH_LONG") == "1" {
		d = 30 * time.Second
	}
	const limit = 50
	for _, burst := range []int{limit, 5} {
		for _, mode := range []struct {
			name string
			mod  func(*Config)
		}{
			{"shared-throttle", nil},
			{"per-worker-retry", func(c *Config) { c.NoThrottle = true }},
		} {
			b.Run(fmt.Sprintf("burst=%d/%s", burst, mode.name), func(b *testing.B) {
				var r throttledRun
				for b.Loop() {
					r = runThrottled(b, 8, d, limit, burst, mode.mod)
				}
				achieved := float64(r.ok) / r.elapsed.Seconds()
				b.ReportMetric(achieved, "ok/s")
				b.ReportMetric(100*achieved/limit, "%limit")
				b.ReportMetric(100*float64(r.blocked)/float64(max(r.sent, 1)), "%429")
				b.ReportMetric(float64(r.sent), "requests")
			})
		}
	}
}
