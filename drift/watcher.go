package drift

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/fabplan/fabplan/engine"
	"github.com/fabplan/fabplan/telemetry"
)

// Planner computes a pair's plan without changing anything: fabplan plan's evaluate, refresh and
// diff.
type Planner func(ctx context.Context, p Pair) (*engine.Document, error)

// Reconciler applies a pair's plan through the normal run path (journal, lock, rollback), after
// limit has made the changes a policy does not allow no-ops.
type Reconciler func(ctx context.Context, p Pair, limit func(*engine.Plan)) error

// Options configure a Watcher.
type Options struct {
	Pairs    []Pair
	Interval time.Duration // for pairs without their own; must be positive
	// Jitter spreads cycles: the first starts within Jitter×interval of Run, later ones wait
	// interval×(1±Jitter), so that pairs and replicas do not hit Fabric at the same moment.
	Jitter float64
	// CycleTimeout bounds one cycle; default the pair's interval.
	CycleTimeout time.Duration
	// ReadyCycles is how many intervals may pass without a finished cycle before /readyz fails
	// (default 3).
	ReadyCycles int
	// ShutdownTimeout is how long Run waits for cycles to end once its context is done (default 4 s).
	ShutdownTimeout time.Duration

	Plan Planner
	// Reconcile, when set, applies the changes Policy allows after a cycle found drift.
	Reconcile Reconciler
	Policy    Policy
	Webhook   *Webhook
	// StatusURL is put in notifications, so that a reader can find the status page.
	StatusURL string
	// OpenBreakers names the client's circuit breakers that are not closed.
	OpenBreakers func() []string

	// Redact scrubs secret values from error text before status, readiness or a webhook shows it.
	Redact func(string) string

	Logger *slog.Logger
	// Telemetry receives the drift gauge, check counter and event (telemetry.Drift), the check
	// spans and serve's own instruments; nil emits nothing.
	Telemetry *telemetry.Telemetry
	Seed      uint64 // jitter's random source; 0 = random
	Now       func() time.Time
}

// Watcher runs the cycles of every pair.
type Watcher struct {
	o       Options
	log     *slog.Logger
	tracer  trace.Tracer
	metrics *metrics
	start   time.Time

	mu     sync.Mutex
	rng    *rand.Rand
	pairs  []*pairState
	health health
}

// pairState is what the watcher knows of one pair; guarded by Watcher.mu.
type pairState struct {
	pair     Pair
	running  bool
	cycles   int
	next     time.Time
	last     *CycleResult
	lastOK   *CycleResult // the last cycle that computed a plan
	driftKey string       // the drifted addresses last notified, "" when in sync
	since    time.Time    // when the current drift was first seen
}

// New checks the options and builds a watcher.
func New(o Options) (*Watcher, error) {
	if o.Plan == nil {
		return nil, errors.New("drift: Options.Plan is required")
	}
	pairs, err := normalize(o.Pairs, o.Interval)
	if err != nil {
		return nil, err
	}
	o.Pairs = pairs
	if o.Jitter < 0 || o.Jitter >= 1 {
		return nil, fmt.Errorf("--jitter %v: want a fraction of the interval from 0 up to (not including) 1", o.Jitter)
	}
	if o.ReadyCycles <= 0 {
		o.ReadyCycles = 3
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 4 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.OpenBreakers == nil {
		o.OpenBreakers = func() []string { return nil }
	}
	seed := o.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	w := &Watcher{o: o, log: o.Logger, tracer: o.Telemetry.TracerProvider().Tracer(telemetry.ScopeName), start: o.Now(),
		rng: rand.New(rand.NewPCG(seed, 0xd81f7))}
	for _, p := range pairs {
		w.pairs = append(w.pairs, &pairState{pair: p})
	}
	if w.metrics, err = newMetrics(o.Telemetry.MeterProvider(), func() bool { return w.Ready().Ready }); err != nil {
		return nil, err
	}
	return w, nil
}

// Run runs every pair's cycles until ctx is done, then cancels the cycles in flight and returns
// once they have ended, or after ShutdownTimeout if one does not (a reconcile's journal lets
// fabplan rollback finish what it left).
func (w *Watcher) Run(ctx context.Context) error {
	defer w.metrics.reg.Unregister()
	var wg sync.WaitGroup
	for _, ps := range w.pairs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.loop(ctx, ps)
		}()
	}
	<-ctx.Done()
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	timer := time.NewTimer(w.o.ShutdownTimeout)
	defer timer.Stop()
	select {
	case <-done:
		return nil
	case <-timer.C:
		w.log.Warn("shutdown: a cycle did not end in time; leaving it", "timeout", w.o.ShutdownTimeout.String())
		return nil
	}
}

// loop runs one pair's cycles one after the other: never two of one pair at once.
func (w *Watcher) loop(ctx context.Context, ps *pairState) {
	interval := time.Duration(ps.pair.Interval)
	delay := w.firstDelay(interval)
	timer := time.NewTimer(delay)
	defer timer.Stop()
	for {
		w.mu.Lock()
		ps.next = w.o.Now().Add(delay)
		w.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		w.cycle(ctx, ps)
		if ctx.Err() != nil {
			return
		}
		delay = w.nextDelay(interval)
		timer.Reset(delay)
	}
}

func (w *Watcher) firstDelay(interval time.Duration) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return time.Duration(w.rng.Float64() * w.o.Jitter * float64(interval))
}

func (w *Watcher) nextDelay(interval time.Duration) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	f := 1 + w.o.Jitter*(2*w.rng.Float64()-1)
	return time.Duration(f * float64(interval))
}

// CycleResult is the outcome of one cycle.
type CycleResult struct {
	Started  time.Time       `json:"started"`
	Finished time.Time       `json:"finished"`
	Duration string          `json:"duration"`
	Result   string          `json:"result"` // in_sync, drift or error
	Error    string          `json:"error,omitempty"`
	Summary  *engine.Summary `json:"summary,omitempty"`
	Changes  []ChangeSummary `json:"changes,omitempty"`
	// Reconcile is what --reconcile did after this cycle, when it ran.
	Reconcile *ReconcileResult `json:"reconcile,omitempty"`
}

// ReconcileResult is one reconcile run.
type ReconcileResult struct {
	Applied []engine.Addr `json:"applied"`
	Held    []engine.Addr `json:"held_back"`
	Error   string        `json:"error,omitempty"`
}

// Results of a cycle.
const (
	ResultInSync = "in_sync"
	ResultDrift  = "drift"
	ResultError  = "error"
)

func (w *Watcher) cycle(ctx context.Context, ps *pairState) {
	p := ps.pair
	timeout := w.o.CycleTimeout
	if timeout <= 0 {
		timeout = time.Duration(p.Interval)
	}
	w.mu.Lock()
	ps.running = true
	w.mu.Unlock()
	start := w.o.Now()
	sctx, span := w.tracer.Start(ctx, telemetry.SpanDriftCheck, trace.WithAttributes(planAttr(p.Name)))
	defer span.End()
	cctx, cancel := context.WithTimeout(sctx, timeout)
	doc, err := w.o.Plan(cctx, p)
	cancel()
	if err != nil && ctx.Err() != nil {
		// Shutting down: the cycle was cancelled, which says nothing about Fabric.
		w.mu.Lock()
		ps.running = false
		w.mu.Unlock()
		span.SetStatus(codes.Error, "cancelled by shutdown")
		return
	}
	if err != nil && errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("the cycle did not finish within %s: %w", timeout, err)
	}
	if err != nil {
		// Status, readiness and the webhook are no less public than the log.
		err = &redacted{msg: w.redact(err.Error()), err: err}
	}
	end := w.o.Now()
	r := &CycleResult{Started: start, Finished: end, Duration: end.Sub(start).Round(time.Millisecond).String()}
	attrs := metric.WithAttributes(planAttr(p.Name))
	switch {
	case err != nil:
		r.Result, r.Error = ResultError, err.Error()
		span.SetStatus(codes.Error, "cycle failed")
	case doc.Summary.HasChanges:
		r.Result = ResultDrift
	default:
		r.Result = ResultInSync
	}
	if err == nil {
		s := doc.Summary
		r.Summary = &s
		for _, c := range doc.Changes {
			if c.Action.Mutates() {
				r.Changes = append(r.Changes, ChangeSummary{Address: c.Address, Action: c.Action})
			}
		}
	}
	w.metrics.duration.Record(ctx, end.Sub(start).Seconds(), attrs)
	w.metrics.lastCheck.Record(ctx, float64(end.UnixNano())/1e9, attrs)
	if s := r.Summary; s != nil {
		// The drift gauge (by action, 0 included so that a fixed drift reads 0), the check counter and,
		// when anything drifted, the fabplan.drift event.
		w.o.Telemetry.Drift(sctx, p.Name, map[string]int{engine.Create.String(): s.Add, engine.Update.String(): s.Change,
			engine.Replace.String(): s.Replace, engine.Delete.String(): s.Destroy})
	} else {
		w.metrics.failures.Add(ctx, 1, attrs)
	}

	w.mu.Lock()
	ps.running = false
	ps.cycles++
	ps.last = r
	if err == nil {
		ps.lastOK = r
	}
	w.health.observe(err, end)
	prevKey := ps.driftKey
	key := driftKey(r)
	if err == nil {
		ps.driftKey = key
		switch {
		case key == "":
			ps.since = time.Time{}
		case prevKey == "":
			ps.since = end
		}
	}
	w.mu.Unlock()

	logAttrs := []any{"pair", p.Name, "plan", p.Plan, "env", p.Env, "result", r.Result, "duration", r.Duration}
	switch {
	case err != nil:
		w.log.Error("drift cycle failed", append(logAttrs, "error", err.Error())...)
		return
	case key != "" && key != prevKey:
		s := r.Summary
		addrs := make([]string, len(r.Changes))
		for i, c := range r.Changes {
			addrs[i] = c.Action.Symbol() + " " + string(c.Address)
		}
		w.log.Warn("drift detected", append(logAttrs, "add", s.Add, "change", s.Change, "replace", s.Replace,
			"destroy", s.Destroy, "changes", addrs)...)
		span.AddEvent(telemetry.EventDrift, trace.WithAttributes(attribute.Bool(telemetry.AttrDetected, true),
			attribute.StringSlice(telemetry.AttrAddress, addrs)))
	case key == "" && prevKey != "":
		w.log.Info("drift resolved", logAttrs...)
	default:
		w.log.Info("drift cycle", logAttrs...)
	}

	var held []engine.Addr
	if key != "" && w.o.Reconcile != nil {
		rr := w.reconcile(ctx, ps, doc)
		w.mu.Lock()
		r.Reconcile = rr
		w.mu.Unlock()
		held = rr.Held
	}
	if key != prevKey && w.o.Webhook != nil {
		n := Notification{Pair: p.Name, Plan: p.Plan, Env: p.Env, Event: "drift", Changes: r.Changes, At: end,
			Held: held, Status: w.o.StatusURL}
		if r.Summary != nil {
			n.Summary = *r.Summary
		}
		if key == "" {
			n.Event = "resolved"
		}
		if err := w.o.Webhook.Send(ctx, n); err != nil {
			w.log.Error("drift webhook failed", "pair", p.Name, "error", err.Error())
		}
	}
}

// reconcile applies the changes the policy allows, if it allows any.
func (w *Watcher) reconcile(ctx context.Context, ps *pairState, doc *engine.Document) *ReconcileResult {
	p := ps.pair
	allowed, held := w.o.Policy.split(doc)
	if len(allowed) == 0 {
		w.log.Info("reconcile: the policy allows none of the changes", "pair", p.Name, "policy", w.o.Policy.String(), "held_back", len(held))
		return &ReconcileResult{Held: held}
	}
	rr := &ReconcileResult{}
	err := w.o.Reconcile(ctx, p, func(plan *engine.Plan) {
		// The run plans again under its lock: what it applies is what it finds then.
		rr.Applied, rr.Held = w.o.Policy.Limit(plan)
	})
	outcome := telemetry.OutcomeOK
	if err != nil {
		rr.Error, outcome = w.redact(err.Error()), telemetry.OutcomeFailed
		w.log.Error("reconcile failed", "pair", p.Name, "error", err.Error())
	} else {
		w.log.Info("reconciled", "pair", p.Name, "applied", addrStrings(rr.Applied), "held_back", addrStrings(rr.Held))
	}
	w.metrics.reconciles.Add(ctx, 1, metric.WithAttributes(planAttr(p.Name), attribute.String(telemetry.AttrOutcome, outcome)))
	return rr
}

func addrStrings(as []engine.Addr) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = string(a)
	}
	return out
}

// driftKey identifies a cycle's drift: its changed addresses and actions, sorted; "" in sync.
func driftKey(r *CycleResult) string {
	var ks []string
	for _, c := range r.Changes {
		ks = append(ks, c.Action.String()+" "+string(c.Address))
	}
	slices.Sort(ks)
	return strings.Join(ks, "\n")
}

// redacted is an error whose text had secrets scrubbed; errors.As still finds what it wraps.
type redacted struct {
	msg string
	err error
}

func (e *redacted) Error() string { return e.msg }
func (e *redacted) Unwrap() error { return e.err }

func (w *Watcher) redact(s string) string {
	if w.o.Redact == nil {
		return s
	}
	return w.o.Redact(s)
}
