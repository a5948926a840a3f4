package engine

import (
	"context"
	"sync"
	"time"

	"github.com/fabplan/fabplan/fabric"
)

// DefaultParallelism is --parallelism when the user says nothing: the most steps in flight at
// once, waiting ones included. It is a cap, not the pace: how many steps run is set by the
// identity's throttle (see schedule), and estate-L never has this many in flight.
const DefaultParallelism = 100

// sendQueue is how many started steps may be on their way to the throttle (working, or queued for
// admission) before the scheduler starts no more: enough to keep the throttle busy while others
// are on the wire or waiting, few enough that a step resuming after its operation finds a short
// queue.
const sendQueue = 8

// SchedStats is what the scheduler saw across the phases of a runtime (refresh, apply, rollback).
type SchedStats struct {
	// PeakRunning is the most steps that ran at once: working, queued on the throttle or on the wire.
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
	// limit caps the steps in flight, waiting ones included; < 1 means DefaultParallelism.
	limit int
	// keepGoing runs every step once its predecessors finished, whatever their outcome and even
	// once ctx is done (rollback: fn records why it did not undo); otherwise the first failure or
	// ctx's end starts nothing new.
	keepGoing bool
}

// schedule is fabplan's one scheduler: refresh, apply, the rollback plan and rollback all run
// their steps through it. It calls fn(i) for each of n steps once every step in preds[i] has
// finished (successfully, unless keepGoing), with at most limit in flight. What paces it is the
// identity's throttle: a new step starts only while fewer than sendQueue started steps are on
// their way to it (working, or queued for admission). A step on the wire or waiting on the service
// (an operation's Retry-After, a retry's backoff: fabric.Waiter) is not on its way, so it holds no
// place: waiting steps never keep others from starting, and a full throttle queue does. It returns
// which steps started and every error, in the order they happened.
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
		for !stop && s.inFlight < limit && s.sending < sendQueue && len(ready) > 0 {
			i := ready[0]
			ready = ready[1:]
			started[i] = true
			s.inFlight++
			w := &stepWaiter{s: s}
			s.set(w, toSend)
			s.stats.PeakInFlight = max(s.stats.PeakInFlight, s.inFlight)
			wg.Add(1)
			go func() {
				defer wg.Done()
				begin := time.Now()
				err := fn(fabric.WithWaiter(ctx, w), i)
				s.mu.Lock()
				service[i] = time.Since(begin) - w.throttled
				s.set(w, finished)
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

// phase is where a started step is.
type phase int

const (
	toSend   phase = iota // working, or queued on the throttle: on its way to the next request
	onWire                // its request was admitted; it waits for the answer
	sleeping              // waiting on an operation or a retry
	finished
)

// sched is the state of one schedule, guarded by mu.
type sched struct {
	mu       sync.Mutex
	inFlight int
	sending  int // steps in phase toSend
	running  int // steps in phase toSend or onWire
	stats    SchedStats
	wake     chan struct{}
}

// set moves w to phase p; called under mu.
func (s *sched) set(w *stepWaiter, p phase) {
	count := func(p phase, d int) {
		if p == toSend {
			s.sending += d
		}
		if p == toSend || p == onWire {
			s.running += d
		}
	}
	if w.started {
		count(w.phase, -1)
	}
	w.started, w.phase = true, p
	count(p, 1)
	s.stats.PeakRunning = max(s.stats.PeakRunning, s.running)
}

func (s *sched) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// stepWaiter is one step's fabric.Waiter: it tells the scheduler where the step is, so that a step
// on the wire or asleep lets another start.
type stepWaiter struct {
	s         *sched
	started   bool
	phase     phase
	throttled time.Duration // guarded by s.mu
}

func (w *stepWaiter) Waiting(kind fabric.WaitKind) func(time.Duration) {
	next, after := sleeping, toSend
	if kind == fabric.WaitThrottle {
		next, after = toSend, onWire
	}
	w.s.mu.Lock()
	w.s.set(w, next)
	w.s.mu.Unlock()
	w.s.signal()
	return func(took time.Duration) {
		w.s.mu.Lock()
		if kind == fabric.WaitThrottle {
			w.throttled += took
		}
		if w.phase != finished {
			w.s.set(w, after)
		}
		w.s.mu.Unlock()
		w.s.signal()
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
