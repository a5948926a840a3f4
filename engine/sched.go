package engine

import (
	"context"
	"sync"
	"time"

	"github.com/fabplan/fabplan/fabric"
)

// DefaultParallelism is --parallelism when the user says nothing: how many steps may run at once.
// A step waiting on the service (an operation's Retry-After, a retry's backoff) does not count, and
// the identity's throttle paces the requests of those that do, so the cap is there for a service
// that answers slowly, not to pace the run: it only binds when more than 32 requests would be
// waiting for admission or on the wire at once.
const DefaultParallelism = 32

// SchedStats is what the scheduler saw across the phases of a runtime (refresh, apply, rollback).
type SchedStats struct {
	// PeakRunning is the most steps that ran at once, waiting on the throttle or on the wire.
	PeakRunning int
	// PeakInFlight is the most steps started and not finished at once, waiting ones included.
	PeakInFlight int
	// CriticalPath sums, over the phases, the longest chain of dependent steps, each step counted
	// for the time it did not wait on the throttle: what no rate limit could shorten.
	CriticalPath time.Duration
}

// SchedStats returns what the scheduler saw so far.
func (rt *Runtime) SchedStats() SchedStats {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.sched
}

func (rt *Runtime) noteSched(s SchedStats) {
	if rt == nil {
		return
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.sched.PeakRunning = max(rt.sched.PeakRunning, s.PeakRunning)
	rt.sched.PeakInFlight = max(rt.sched.PeakInFlight, s.PeakInFlight)
	rt.sched.CriticalPath += s.CriticalPath
}

// schedOptions configure one schedule.
type schedOptions struct {
	// limit caps the running steps; < 1 means DefaultParallelism.
	limit int
	// keepGoing runs every step once its predecessors finished, whatever their outcome and even
	// once ctx is done (rollback: fn records why it did not undo); otherwise the first failure or
	// ctx's end starts nothing new.
	keepGoing bool
}

// schedule is fabplan's one scheduler: refresh, apply, the rollback plan and rollback all run
// their steps through it. It calls fn(i) for each of n steps once every step in preds[i] has
// finished (successfully, unless keepGoing), with at most limit steps running. A step that
// waits on the service (fabric.Waiter: an operation, a retry) stops running while it waits, so
// another step takes its place; it resumes at once when the wait ends, even if that makes more
// than limit run for a moment (no new step starts until fewer do). How many requests are sent
// is left to the identity's throttle, which every running step queues on. It returns which steps
// started and every error, in the order they happened.
func schedule(ctx context.Context, rt *Runtime, n int, preds [][]int, o schedOptions,
	fn func(ctx context.Context, i int) error) (started []bool, errs []error) {
	limit := o.limit
	if limit < 1 {
		limit = DefaultParallelism
	}
	waiting := make([]int, n)      // unfinished predecessors
	successors := make([][]int, n) // who waits on whom
	for i, ps := range preds {
		for _, p := range ps {
			waiting[i]++
			successors[p] = append(successors[p], i)
		}
	}
	s := &sched{wake: make(chan struct{}, 1)}
	service := make([]time.Duration, n) // each step's time not spent waiting on the throttle
	var ready []int
	for i := range n {
		if waiting[i] == 0 {
			ready = append(ready, i)
		}
	}
	started = make([]bool, n)
	var wg sync.WaitGroup
	for {
		s.mu.Lock()
		stop := !o.keepGoing && (len(errs) > 0 || ctx.Err() != nil)
		for !stop && s.running < limit && len(ready) > 0 {
			i := ready[0]
			ready = ready[1:]
			started[i] = true
			s.running++
			s.inFlight++
			s.stats.PeakRunning = max(s.stats.PeakRunning, s.running)
			s.stats.PeakInFlight = max(s.stats.PeakInFlight, s.inFlight)
			wg.Add(1)
			go func() {
				defer wg.Done()
				w := &stepWaiter{s: s}
				begin := time.Now()
				err := fn(fabric.WithWaiter(ctx, w), i)
				s.mu.Lock()
				service[i] = time.Since(begin) - w.throttled
				s.running--
				s.inFlight--
				if err != nil {
					errs = append(errs, err)
				}
				if err == nil || o.keepGoing {
					for _, k := range successors[i] {
						waiting[k]--
						if waiting[k] == 0 {
							ready = append(ready, k)
						}
					}
				}
				s.mu.Unlock()
				s.signal()
			}()
		}
		finished := s.inFlight == 0 && (stop || len(ready) == 0)
		s.mu.Unlock()
		if finished {
			break
		}
		<-s.wake
	}
	wg.Wait()
	// The longest chain of dependent steps, in service time.
	done := make([]time.Duration, n)
	var cp time.Duration
	for _, i := range topological(n, preds) {
		var at time.Duration
		for _, p := range preds[i] {
			at = max(at, done[p])
		}
		done[i] = at + service[i]
		cp = max(cp, done[i])
	}
	s.stats.CriticalPath = cp
	rt.noteSched(s.stats)
	return started, errs
}

// sched is the state of one schedule, guarded by mu.
type sched struct {
	mu       sync.Mutex
	running  int
	inFlight int
	stats    SchedStats
	wake     chan struct{}
}

func (s *sched) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// stepWaiter is one step's fabric.Waiter: while the step waits on an operation or a retry it
// does not count as running, so the scheduler starts another step in its place.
type stepWaiter struct {
	s         *sched
	throttled time.Duration // guarded by s.mu
}

func (w *stepWaiter) Waiting(kind fabric.WaitKind) func(time.Duration) {
	if kind == fabric.WaitThrottle {
		// Queued on the throttle, the step keeps its place: the throttle is what paces the run,
		// and a full queue is what stops new steps from starting.
		return func(took time.Duration) {
			w.s.mu.Lock()
			w.throttled += took
			w.s.mu.Unlock()
		}
	}
	w.s.mu.Lock()
	w.s.running--
	w.s.mu.Unlock()
	w.s.signal()
	return func(time.Duration) {
		w.s.mu.Lock()
		w.s.running++
		w.s.stats.PeakRunning = max(w.s.stats.PeakRunning, w.s.running)
		w.s.mu.Unlock()
	}
}

// topological orders the steps so that each comes after its predecessors (steps on a cycle, which
// never run, come last in any order).
func topological(n int, preds [][]int) []int {
	state := make([]byte, n) // 0 new, 1 visiting, 2 done
	out := make([]int, 0, n)
	var visit func(i int)
	visit = func(i int) {
		if state[i] != 0 {
			return
		}
		state[i] = 1
		for _, p := range preds[i] {
			visit(p)
		}
		state[i] = 2
		out = append(out, i)
	}
	for i := range n {
		visit(i)
	}
	return out
}
