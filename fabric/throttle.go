package fabric

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"golang.org/x/time/rate"
)

// Throttle admits the requests of one identity. Every worker of a run shares it (Fabric throttles per
// identity), so a 429 with Retry-After: N pauses them all for N seconds, not just the one that got
// it. Between pauses it admits at a learned rate: it starts at InitialRate and doubles every second
// until the first 429; each new 429 sets the rate just under the success rate of the second before
// it, after which the rate creeps up slowly (see phase), so a steady run settles just under the
// server's limit with few 429s.
type Throttle struct {
	clock   Clock
	minRate float64
	maxRate float64
	log     *slog.Logger

	mu          sync.Mutex
	lim         *rate.Limiter
	rate        float64
	phase       phase
	lastChange  time.Time
	pausedUntil time.Time
	episode     time.Time   // when the current 429 episode began; 429s to requests sent earlier belong to it
	successes   []time.Time // answers of the last second
	since       time.Time   // start of the window the success rate is measured over (end of the last pause)
	waited      time.Duration
	episodes    int64
}

// phase is how boldly the throttle probes for more: doubling each second until the first 429 (whose
// estimate is rough, as the rate was still climbing), 3 % a second until the second, then 0.1 %.
type phase int

const (
	slowStart phase = iota
	tentative
	steady
)

var growth = [...]float64{slowStart: 2, tentative: 1.03, steady: 1.001}

// ThrottleOptions tune a Throttle; zero values take the defaults.
type ThrottleOptions struct {
	InitialRate float64 // requests per second before anything is learned; default 20
	MinRate     float64 // floor of the learned rate; default 0.2
	MaxRate     float64 // ceiling; default 1000
	Clock       Clock
	Logger      *slog.Logger
}

// NewThrottle returns the scheduler of one identity; share it between the clients of that identity.
func NewThrottle(o ThrottleOptions) *Throttle {
	if o.InitialRate <= 0 {
		o.InitialRate = 20
	}
	if o.MinRate <= 0 {
		o.MinRate = 0.2
	}
	if o.MaxRate <= 0 {
		o.MaxRate = 1000
	}
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	now := o.Clock.Now()
	return &Throttle{clock: o.Clock, minRate: o.MinRate, maxRate: o.MaxRate, log: o.Logger,
		lim: rate.NewLimiter(rate.Limit(o.InitialRate), 1), rate: o.InitialRate, lastChange: now, since: now}
}

// Wait blocks until the identity may send one more request.
func (t *Throttle) Wait(ctx context.Context) error {
	start := t.clock.Now()
	defer func() {
		t.mu.Lock()
		t.waited += t.clock.Now().Sub(start)
		t.mu.Unlock()
	}()
	for {
		t.mu.Lock()
		now := t.clock.Now()
		if pause := t.pausedUntil.Sub(now); pause > 0 {
			t.mu.Unlock()
			if err := t.clock.Sleep(ctx, pause); err != nil {
				return err
			}
			continue
		}
		d := t.lim.ReserveN(now, 1).DelayFrom(now)
		t.mu.Unlock()
		if err := t.clock.Sleep(ctx, d); err != nil {
			return err
		}
		t.mu.Lock()
		paused := t.clock.Now().Before(t.pausedUntil)
		t.mu.Unlock()
		if !paused {
			return nil
		}
		// A 429 arrived while this request waited for its turn: wait out the pause and queue again.
	}
}

// Observe feeds back the answer to a request admitted (and sent) at sent.
func (t *Throttle) Observe(sent time.Time, resp *http.Response) {
	if resp == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.clock.Now()
	if resp.StatusCode != http.StatusTooManyRequests {
		t.successes = append(t.successes, now)
		t.trim(now)
		if now.Sub(t.lastChange) >= time.Second && now.After(t.pausedUntil) {
			t.setRate(t.rate * growth[t.phase])
			t.lastChange = now
		}
		return
	}
	ra := max(retryAfter(resp.Header, now), time.Second)
	if until := now.Add(ra); until.After(t.pausedUntil) {
		t.pausedUntil = until
	}
	if sent.Before(t.episode) {
		return // sent before the pause began: the same episode
	}
	t.episodes++
	t.trim(now)
	window := min(time.Second, now.Sub(t.since))
	// What passed during the last second is what the server allows; with too little to go on, halve.
	learned := t.rate * 0.5
	if window >= 500*time.Millisecond && len(t.successes) >= 5 {
		learned = min(t.rate, float64(len(t.successes))/window.Seconds()) * 0.95
	}
	t.log.Info("throttled: pausing every worker of this identity", "retryAfter", ra, "rate", round2(t.rate), "newRate", round2(learned))
	t.episode = now
	t.since = t.pausedUntil
	if t.phase < steady {
		t.phase++
	}
	t.setRate(learned)
	t.lastChange = now
	t.successes = t.successes[:0]
}

func (t *Throttle) trim(now time.Time) {
	i := 0
	for i < len(t.successes) && now.Sub(t.successes[i]) > time.Second {
		i++
	}
	t.successes = t.successes[i:]
}

func (t *Throttle) setRate(r float64) {
	t.rate = min(max(r, t.minRate), t.maxRate)
	t.lim.SetLimitAt(t.clock.Now(), rate.Limit(t.rate))
}

// Rate is the current admission rate in requests per second.
func (t *Throttle) Rate() float64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.rate
}

func round2(f float64) float64 { return float64(int(f*100)) / 100 }

type throttlePolicy struct {
	t     *Throttle
	clock Clock
}

func (p throttlePolicy) Do(req *policy.Request) (*http.Response, error) {
	if err := p.t.Wait(req.Raw().Context()); err != nil {
		return nil, err
	}
	sent := p.clock.Now()
	resp, err := req.Next()
	p.t.Observe(sent, resp)
	return resp, err
}
