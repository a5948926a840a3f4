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
	fourWorkers(t, c)
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
	// serve sends at most perSecond requests a second for d (the throttle may allow more).
	serve := func(perSecond int, d time.Duration) {
		start := clk.Now()
		for i := 1; clk.Now().Sub(start) < d; i++ {
			send(ok)
			clk.Sleep(bg, start.Add(time.Duration(i)*time.Second/time.Duration(perSecond)).Sub(clk.Now()))
		}
	}
	serve(1000, 4*time.Second) // slow start: +50 % a second without a 429
	if r := th.Rate(); r < 30 {
		t.Fatalf("rate %v after 4 s from 10/s, want slow start to have raised it", r)
	}
	// At 40/s the server lets 35/s through: the rate drops just under 35.
	th = NewThrottle(ThrottleOptions{InitialRate: 40, Clock: clk})
	serve(35, 990*time.Millisecond)
	sent := send(blocked)
	learned := th.Rate()
	if learned > 35 || learned < 32 {
		t.Fatalf("rate after a 429 with 35 req/s passing: %v, want just under 35", learned)
	}
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
	// From the measured rate it only creeps upward.
	serve(1000, 5*time.Second)
	if r := th.Rate(); r < learned || r > learned*1.006 {
		t.Fatalf("rate %v 5 s after the 429 set %v, want a creep of 0.1 %% a second", r, learned)
	}
	// A 429 after a stall (nothing passed for a second) cuts by 30 % at most, and the rate climbs
	// back to 95 % of where it was.
	clk.Sleep(bg, 2*time.Second)
	before := th.Rate()
	send(blocked)
	if r := th.Rate(); r < 0.69*before {
		t.Fatalf("rate %v after a stalled second, from %v: cut by more than 30 %%", r, before)
	}
	serve(1000, 12*time.Second)
	if r := th.Rate(); r < 0.949*before || r > 0.96*before {
		t.Fatalf("rate %v 12 s after a stall-induced 429, want back at 95 %% of %v", r, before)
	}
}

func TestThrottlePerService(t *testing.T) {
	f := newFakeFabric(t)
	c := f.client(t, nil)
	if c.throttleFor(FabricScope) != c.throttle || c.throttleFor(GraphScope) == c.throttle ||
		c.throttleFor(GraphScope) != c.throttleFor(GraphScope) || c.throttleFor("") == c.throttleFor(GraphScope) {
		t.Fatal("want one throttle per service, Fabric's being the client's")
	}
	if c := f.client(t, func(cfg *Config) { cfg.NoThrottle = true }); c.throttleFor(GraphScope) != nil {
		t.Fatal("NoThrottle left a throttle on")
	}
}
