package fabric

import (
	"net/http"
	"sync"
	"testing"
	"time"
)

// The check: 429 with Retry-After: 2 -> the retry goes no sooner than 2 s later, and no other
// worker of the identity sends anything in between. It waits the real 2 s.
func TestThrottle429PausesEveryWorker(t *testing.T) {
	f := newFakeFabric(t)
	c := f.client(t, func(cfg *Config) { cfg.BackoffInitial = time.Millisecond })
	var mu sync.Mutex
	var arrivals []time.Time
	var blockedAt time.Time
	n := 0
	f.hook = func(w http.ResponseWriter, r *http.Request) bool {
		mu.Lock()
		defer mu.Unlock()
		arrivals = append(arrivals, time.Now())
		n++
		if n == 10 {
			w.Header().Set("Retry-After", "2")
			fabricError(w, 429, "RequestBlocked", "Request is blocked by the upstream service until: 1/1/2026 12:00:02 AM (UTC)")
			blockedAt = time.Now()
			return true
		}
		return false
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 5 {
				if _, err := c.ListCapacities(bg); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if blockedAt.IsZero() {
		t.Fatal("no request was throttled")
	}
	// Requests already on the wire when the 429 left the server cannot be recalled; allow 20 ms.
	inFlight := blockedAt.Add(20 * time.Millisecond)
	var after []time.Duration
	for _, a := range arrivals {
		if a.After(inFlight) && a.Before(blockedAt.Add(2*time.Second)) {
			t.Errorf("a request arrived %s after the 429, inside the 2 s pause", a.Sub(blockedAt))
		}
		if a.After(blockedAt) {
			after = append(after, a.Sub(blockedAt))
		}
	}
	if len(after) == 0 || after[len(after)-1] < 2*time.Second {
		t.Fatalf("arrivals after the 429: %v", after)
	}
	if len(arrivals) != 21 {
		t.Errorf("%d requests, want 20 + 1 retry", len(arrivals))
	}
}

func TestThrottleLearnsTheRate(t *testing.T) {
	clk := newFakeClock()
	th := NewThrottle(ThrottleOptions{InitialRate: 10, Clock: clk})
	ok := &http.Response{StatusCode: 200, Header: http.Header{}}
	blocked := &http.Response{StatusCode: 429, Header: http.Header{"Retry-After": {"3"}}}
	send := func(resp *http.Response) time.Time {
		if err := th.Wait(bg); err != nil {
			t.Fatal(err)
		}
		sent := clk.Now()
		th.Observe(sent, resp)
		return sent
	}
	for range 40 { // slow start: the rate doubles every second without a 429
		send(ok)
	}
	if r := th.Rate(); r < 40 {
		t.Fatalf("rate %v after 40 clean requests from 10/s, want slow start to have raised it", r)
	}
	// Serve 30 per second for a while, then throttle: the learned rate is just under what passed.
	start := clk.Now()
	for i := 1; clk.Now().Sub(start) < 2*time.Second; i++ {
		send(ok)
		clk.Sleep(bg, start.Add(time.Duration(i)*time.Second/30).Sub(clk.Now()))
	}
	sent := send(blocked)
	if r := th.Rate(); r > 30 || r < 25 {
		t.Fatalf("rate after a 429 at ~30 req/s: %v, want just under 30", r)
	}
	learned := th.Rate()
	// A second 429 to a request sent before the pause began belongs to the same episode.
	th.Observe(sent.Add(-time.Millisecond), blocked)
	if th.Rate() != learned {
		t.Fatalf("rate cut twice for one episode: %v -> %v", learned, th.Rate())
	}
	// Nothing is admitted during the pause.
	at := clk.Now()
	send(ok)
	if waited := clk.Now().Sub(at); waited < 3*time.Second-time.Millisecond {
		t.Fatalf("admitted after %v, inside the 3 s pause", waited)
	}
}
