package fabric

import (
	"context"
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

// A first run ramps up faster than one a second: from 20/s, two seconds without a 429 reach at
// least 60/s (one step of 50 % a second would reach 45).
func TestThrottleSlowStartIsFast(t *testing.T) {
	clk := newFakeClock()
	th := NewThrottle(ThrottleOptions{Clock: clk})
	ok := &http.Response{StatusCode: 200, Header: http.Header{}}
	start := clk.Now()
	for clk.Now().Sub(start) < 2*time.Second {
		if err := th.Wait(bg); err != nil {
			t.Fatal(err)
		}
		th.Observe(clk.Now(), ok)
	}
	if r := th.Rate(); r < 60 {
		t.Fatalf("rate %v after 2 s of slow start from 20/s, want >= 60", r)
	}
}

// What a run learned is the next run's start: a limit taught by 429s is resumed as the rate to
// probe from (not slow start); a rate never refused is where slow start begins; a stale record, or
// a throttle that already learned, is left alone; the start is bounded.
func TestThrottleResumesWhereItLeftOff(t *testing.T) {
	clk := newFakeClock()
	ok := &http.Response{StatusCode: 200, Header: http.Header{}}
	blocked := &http.Response{StatusCode: 429, Header: http.Header{"Retry-After": {"1"}}}
	serve := func(th *Throttle, perSecond int, d time.Duration, last *http.Response) {
		start := clk.Now()
		for i := 1; clk.Now().Sub(start) < d; i++ {
			th.Wait(bg)
			th.Observe(clk.Now(), ok)
			clk.Sleep(bg, start.Add(time.Duration(i)*time.Second/time.Duration(perSecond)).Sub(clk.Now()))
		}
		if last != nil {
			th.Wait(bg)
			th.Observe(clk.Now(), last)
		}
	}
	first := NewThrottle(ThrottleOptions{InitialRate: 40, Clock: clk})
	serve(first, 35, 990*time.Millisecond, blocked)
	l := first.Learned()
	if !l.Limited || l.Rate > 35 || l.Rate < 32 || !l.At.Equal(clk.Now()) {
		t.Fatalf("learned %+v, want a limit just under 35", l)
	}
	next := NewThrottle(ThrottleOptions{Clock: clk})
	next.Resume(l)
	if next.Rate() != l.Rate {
		t.Fatalf("resumed at %v, want %v", next.Rate(), l.Rate)
	}
	serve(next, 1000, 5*time.Second, nil)
	if r := next.Rate(); r < l.Rate*1.04 || r > l.Rate*1.06 {
		t.Fatalf("rate %v 5 s after resuming %v: a remembered limit is probed by 1 %% a second, not slow-started",
			r, l.Rate)
	}
	// Once a 429 of this run confirms it, probing is back to 0.1 % a second.
	serve(next, 30, 990*time.Millisecond, blocked)
	confirmed := next.Rate()
	serve(next, 1000, 5*time.Second, nil)
	if r := next.Rate(); r > confirmed*1.006 {
		t.Fatalf("rate %v 5 s after a 429 set %v, want a creep of 0.1 %% a second", r, confirmed)
	}

	unlimited := NewThrottle(ThrottleOptions{Clock: clk})
	serve(unlimited, 30, 3*time.Second, nil)
	u := unlimited.Learned()
	// (A second may pass a few more: the sender catches up when slow start lags behind it.)
	if u.Limited || u.Rate < 29 || u.Rate > 40 || unlimited.Rate() < 100 {
		t.Fatalf("learned %+v without a 429 (admission rate %v), want the about 30 requests/s that passed",
			u, unlimited.Rate())
	}
	u.Rate = 80
	again := NewThrottle(ThrottleOptions{Clock: clk})
	again.Resume(u)
	if again.Rate() != 60 {
		t.Fatalf("resumed at %v, want 75 %% of the 80/s never refused", again.Rate())
	}
	serve(again, 1000, 10*time.Second, nil)
	if r := again.Rate(); r < 80 || r > 80*1.05 {
		t.Fatalf("rate %v 10 s after resuming 80/s unrefused, want back at 80 by 5 %% a second, then probing", r)
	}
	if l := again.Learned(); l.Limited || l.Rate < 80 {
		t.Fatalf("learned %+v after a run without a 429 that resumed 80/s: the remembered rate must not decay", l)
	}

	for _, tc := range []struct {
		name string
		l    Learned
		want float64
	}{
		{"stale", Learned{Rate: 30, Limited: true, At: clk.Now().Add(-8 * 24 * time.Hour)}, 20},
		{"from the future", Learned{Rate: 30, Limited: true, At: clk.Now().Add(48 * time.Hour)}, 20},
		{"above the ceiling", Learned{Rate: 1e6, Limited: true, At: clk.Now()}, 1000},
		{"below the floor", Learned{Rate: 0.01, Limited: true, At: clk.Now()}, 0.2},
		{"slower than the start, never refused", Learned{Rate: 25, At: clk.Now()}, 20},
	} {
		th := NewThrottle(ThrottleOptions{Clock: clk})
		th.Resume(tc.l)
		if th.Rate() != tc.want {
			t.Errorf("%s: resumed at %v, want %v", tc.name, th.Rate(), tc.want)
		}
	}
	// A throttle that has been taught by a 429 in this run keeps what it learned.
	first.Resume(Learned{Rate: 500, Limited: true, At: clk.Now()})
	if first.Rate() > 35 {
		t.Fatalf("a run's own 429 was overridden by a resumed rate: %v", first.Rate())
	}
}

// gateClock is a clock whose sleepers wake only when the test moves time on.
type gateClock struct {
	mu   sync.Mutex
	cond *sync.Cond
	now  time.Time
}

func newGateClock() *gateClock {
	c := &gateClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	c.cond = sync.NewCond(&c.mu)
	return c
}

func (c *gateClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *gateClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for until := c.now.Add(d); c.now.Before(until); {
		c.cond.Wait()
	}
	return ctx.Err()
}

func (c *gateClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
	c.cond.Broadcast()
}

// The throttle wait a run reports is wall-clock time during which a request waited, not the sum
// over requests: two requests queued together for 1 and 2 s make 2 s, not 3.
func TestThrottleWaitIsWallClock(t *testing.T) {
	clk := newGateClock()
	th := NewThrottle(ThrottleOptions{InitialRate: 1, Clock: clk})
	if err := th.Wait(bg); err != nil { // the bucket's one token: admitted at once
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); th.Wait(bg) }()
	}
	for queued := 0; queued < 2; {
		time.Sleep(time.Millisecond)
		th.mu.Lock()
		queued = th.queued
		th.mu.Unlock()
	}
	clk.advance(time.Second)
	clk.advance(time.Second)
	wg.Wait()
	if th.waited != 2*time.Second {
		t.Fatalf("throttle wait %v, want 2s (wall clock; the sum over requests is 3s)", th.waited)
	}
}
