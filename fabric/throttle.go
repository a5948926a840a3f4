package fabric

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"golang.org/x/time/rate"

	"github.com/fabplan/fabplan/telemetry"
)

// Throttle admits the requests of one identity. Every worker of a run shares it (Fabric throttles per
// identity), so a 429 with Retry-After: N pauses them all for N seconds, not just the one that got
// it. Between pauses it admits at a learned rate: it starts at InitialRate and grows until the first
// 429; each new 429 sets the rate just under what succeeded in the second before it (cutting at most
// 30 %), and grow says how it climbs back, so a steady run settles just under the server's limit
// with few 429s.
type Throttle struct {
	clock   Clock
	minRate float64
	maxRate float64
	log     *slog.Logger

	mu          sync.Mutex
	lim         *rate.Limiter
	rate        float64
	target      float64 // where recovery after the last 429 stops and probing begins; 0 until the first 429
	lastChange  time.Time
	pausedUntil time.Time
	episode     time.Time   // when the current 429 episode began; 429s to requests sent earlier belong to it
	successes   []time.Time // answers of the last second
	peak        int         // the most answers (none a 429) seen in a second
	resumedPeak float64     // the rate a previous run passed without a 429 (Resume)
	limited     bool        // a 429 taught the rate, in this run or (resumed) an earlier one
	resumed     bool        // the rate is an earlier run's, not yet confirmed by a 429 in this one
	queued      int         // requests waiting for admission now
	queuedSince time.Time   // since when some request has been waiting
	waited      time.Duration
	episodes    int64
}

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
		lim: rate.NewLimiter(rate.Limit(o.InitialRate), 1), rate: o.InitialRate, lastChange: now}
}

// Wait blocks until the identity may send one more request.
func (t *Throttle) Wait(ctx context.Context) error {
	t.mu.Lock()
	if t.queued == 0 {
		t.queuedSince = t.clock.Now()
	}
	t.queued++
	t.mu.Unlock()
	defer func() {
		t.mu.Lock()
		if t.queued--; t.queued == 0 {
			t.waited += t.clock.Now().Sub(t.queuedSince)
		}
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
		t.peak = max(t.peak, len(t.successes))
		step := time.Second
		if t.target == 0 {
			step = slowStartStep
		}
		if now.Sub(t.lastChange) >= step && now.After(t.pausedUntil) {
			t.grow()
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
	t.limited, t.resumed = true, false
	t.trim(now)
	// What passed during the last second is about what the server allows. It can be more (a burst,
	// or a second that spans two of the server's windows), so a 429 always cuts by 10 % at least; and
	// it can be less (a stalled process, workers busy elsewhere), so a 429 never cuts by more than
	// 30 %. When that floor applies, the rate climbs back to 95 % of where it was; otherwise the new
	// rate (93 % of what passed) is the estimate and the rate only creeps above it.
	// Leaving slow start the rate may have grown 2.25x during that second, so the measure may sit
	// that far below it without any stall.
	measured := float64(len(t.successes)) * 0.93
	maxCut := 0.7
	if t.target == 0 {
		maxCut = 0.4
	}
	learned := min(max(t.rate*maxCut, measured), t.rate*0.9)
	t.log.Info("throttled: pausing every worker of this identity", "retryAfter", ra, "rate", round2(t.rate), "newRate", round2(learned))
	t.episode = now
	if measured < learned && t.target != 0 {
		t.target = 0.95 * t.rate
	} else {
		// Leaving slow start, a low measure is the slower second before: no climbing back.
		t.target = learned
	}
	t.setRate(learned)
	t.lastChange = now
	t.successes = t.successes[:0]
}

// slowStartStep is how often slow start raises the rate: every half second, so that a first run
// against an identity nothing is known of goes from 20 to 45 requests/s in one second, not two.
const slowStartStep = 500 * time.Millisecond

// grow raises the rate while no 429 comes: by half every slowStartStep until the first 429 (slow
// start), then once a second by 5 % while below the target the last 429 set (recovery), then by
// 0.1 % (probing), or by 1 % while the rate is an earlier run's that no 429 has confirmed in this
// one: a remembered limit may have been learned low, and a short run must still find it out.
func (t *Throttle) grow() {
	switch {
	case t.target == 0:
		t.setRate(t.rate * 1.5)
	case t.rate < t.target:
		t.setRate(min(t.rate*1.05, t.target))
	case t.resumed:
		t.setRate(t.rate * 1.01)
	default:
		t.setRate(t.rate * 1.001)
	}
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

// Learned is what a throttle knows of its identity's limit at the end of a run, for the next run
// to start from (kept in the state store; see Resume).
type Learned struct {
	// Rate is, when Limited, the rate 429s taught (just under the limit); otherwise the most
	// requests that passed in one second, none refused: a rate known to be allowed.
	Rate    float64   `json:"rate"`
	Limited bool      `json:"limited"`
	At      time.Time `json:"at"`
}

// learnedMaxAge is how long a learned rate is trusted: limits and the identity's other users change.
const learnedMaxAge = 7 * 24 * time.Hour

// Learned returns what the throttle has learned so far; Rate is 0 when it knows nothing.
func (t *Throttle) Learned() Learned {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.clock.Now()
	if t.limited {
		return Learned{Rate: round2(t.rate), Limited: true, At: now}
	}
	return Learned{Rate: max(float64(t.peak), t.resumedPeak), At: now}
}

// Resume starts the throttle where a previous run of the identity left off, unless this one has
// already learned something. A limit 429s taught is the rate to admit at, probed above by 1 % a
// second. A rate that was never refused may have passed on a burst the server had saved up, so the
// run starts at 75 % of it and climbs back to it by 5 % a second, without slow start's overshoot.
// The rate is bounded by MinRate and MaxRate, and a record older than a week is ignored.
func (t *Throttle) Resume(l Learned) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.clock.Now()
	if t.limited || t.resumed || l.Rate <= 0 || now.Sub(l.At) > learnedMaxAge || l.At.After(now.Add(time.Hour)) {
		return
	}
	switch {
	case l.Limited:
		t.limited = true
		t.setRate(l.Rate)
		t.target = t.rate
	case 0.75*l.Rate > t.rate:
		t.setRate(0.75 * l.Rate)
		t.target = min(l.Rate, t.maxRate)
		t.resumedPeak = t.target
	default:
		return
	}
	t.resumed = true
	t.lastChange = now
	t.log.Debug("throttle resumes a previous run's rate", "rate", round2(t.rate), "limited", l.Limited)
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
	start := p.clock.Now()
	end := waitingFor(req.Raw().Context(), p.clock, WaitThrottle)
	err := p.t.Wait(req.Raw().Context())
	end()
	sent := p.clock.Now()
	telemetry.AttemptFrom(req.Raw().Context()).ThrottleWaited(req.Raw().Context(), sent.Sub(start))
	if err != nil {
		return nil, err
	}
	resp, err := req.Next()
	p.t.Observe(sent, resp)
	return resp, err
}
