package engine

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/fabplan/fabplan/fabric"
)

// barrier holds every step that reaches it, waiting on the service as kind, until n are there
// at once (or a generous fallback passes, so that a broken scheduler fails the test instead of
// hanging it). peak is the most steps that were waiting at once.
type barrier struct {
	n    int
	kind fabric.WaitKind

	mu      sync.Mutex
	waiting int
	peak    int
	all     chan struct{}
}

func newBarrier(n int, kind fabric.WaitKind) *barrier {
	return &barrier{n: n, kind: kind, all: make(chan struct{})}
}

func (b *barrier) wait(ctx context.Context) {
	done := fabric.WaiterFrom(ctx).Waiting(b.kind)
	b.mu.Lock()
	b.waiting++
	b.peak = max(b.peak, b.waiting)
	if b.waiting == b.n {
		close(b.all)
	}
	b.mu.Unlock()
	select {
	case <-b.all:
	case <-time.After(3 * time.Second):
	}
	b.mu.Lock()
	b.waiting--
	b.mu.Unlock()
	done(0)
}

// waitingResource is a fakeResource whose refresh and apply wait at a barrier, as a step waits on
// an operation's Retry-After.
type waitingResource struct {
	fakeResource
	refresh, apply *barrier
}

func (r *waitingResource) Refresh(ctx context.Context, rt *Runtime) (Live, error) {
	r.refresh.wait(ctx)
	return r.fakeResource.Refresh(ctx, rt)
}

func (r *waitingResource) Apply(ctx context.Context, rt *Runtime, ch *Change, intent func(Undo) error) (Applied, error) {
	a, err := r.fakeResource.Apply(ctx, rt, ch, intent)
	r.apply.wait(ctx)
	return a, err
}

// waitingGraph is n independent waitingResources sharing the refresh and apply barriers.
func waitingGraph(t *testing.T, w *world, n int, refresh, apply func() *barrier) *Graph {
	g := NewGraph()
	for i := range n {
		r := &waitingResource{fakeResource: fakeResource{addr: Addr(fmt.Sprintf("item.%d", i)), world: w},
			refresh: refresh(), apply: apply()}
		if d := g.Add(r); d != nil {
			t.Fatal(d)
		}
	}
	return g
}

func applyAll(t *testing.T, g *Graph, w *world, parallel int) *Runtime {
	t.Helper()
	rt := NewRuntime(nil)
	p, err := Refresh(context.Background(), g, rt, parallel)
	if err != nil {
		t.Fatal(err)
	}
	j, _ := undoJournal(t)
	if err := Apply(context.Background(), g, p, rt, ApplyOptions{Parallelism: parallel, Journal: j, Undo: w.undo()}); err != nil {
		t.Fatal(err)
	}
	return rt
}

// More steps than the throttle's queue holds all wait on their operations at once, in refresh and
// in apply: a waiting step holds no place, so others start.
func TestWaitingStepsHoldNoSlot(t *testing.T) {
	const n = sendQueue + 4
	w := newWorld()
	refresh, apply := newBarrier(n, fabric.WaitOperation), newBarrier(n, fabric.WaitOperation)
	rt := applyAll(t, waitingGraph(t, w, n, func() *barrier { return refresh }, func() *barrier { return apply }), w, 0)
	if refresh.peak != n || apply.peak != n {
		t.Errorf("steps waiting at once: refresh %d, apply %d; want %d (waiting must not hold a place)",
			refresh.peak, apply.peak, n)
	}
	if s := rt.SchedStats(); s.PeakInFlight != n {
		t.Errorf("SchedStats.PeakInFlight = %d, want %d", s.PeakInFlight, n)
	}
}

// Steps queued on the throttle are what stops new ones: with the throttle admitting slowly, no more
// than sendQueue steps are ever queued on it, however many are ready.
func TestThrottleQueueGatesNewSteps(t *testing.T) {
	const n = sendQueue + 4
	w := newWorld()
	admit := make(chan struct{})
	go func() {
		for range n {
			time.Sleep(20 * time.Millisecond)
			admit <- struct{}{}
		}
	}()
	queue := &barrier{n: n + 1, kind: fabric.WaitThrottle, all: admit}
	pass := func() *barrier { return newBarrier(1, fabric.WaitThrottle) }
	applyAll(t, waitingGraph(t, w, n, pass, func() *barrier { return queue }), w, 0)
	if queue.peak > sendQueue || queue.peak < 2 {
		t.Errorf("steps queued on the throttle at once = %d, want 2..%d", queue.peak, sendQueue)
	}
}

// --parallelism caps the steps in flight, waiting ones included: 1 is one step at a time.
func TestParallelismOneIsSequentialEvenWhenWaiting(t *testing.T) {
	w := newWorld()
	pass := func() *barrier { return newBarrier(1, fabric.WaitOperation) }
	rt := applyAll(t, waitingGraph(t, w, 4, pass, pass), w, 1)
	if s := rt.SchedStats(); s.PeakInFlight != 1 {
		t.Errorf("SchedStats.PeakInFlight = %d with --parallelism 1, want 1", s.PeakInFlight)
	}
}

// Rollback goes through the same scheduler: more undos than the throttle's queue holds, each
// waiting on an operation, wait at once; the workspace they depend on is undone after all of them.
func TestRollbackWaitingUndosHoldNoSlot(t *testing.T) {
	const n = sendQueue + 4
	steps := [][]string{{"ws"}}
	for i := range n {
		steps = append(steps, []string{fmt.Sprintf("ws/item.%d", i), "ws"})
	}
	j, recs := undoJournal(t, steps...)
	b := newBarrier(n, fabric.WaitOperation)
	log := &undoLog{}
	reg := log.registry(func(ctx context.Context, step string) error {
		if step != "ws" {
			b.wait(ctx)
		}
		return nil
	})
	res := Rollback(context.Background(), recs, NewRuntime(nil), RollbackOptions{Journal: j, Undo: reg})
	if !res.OK() || res.Undone != n+1 {
		t.Fatalf("rollback: %v", res.Error())
	}
	if b.peak != n {
		t.Errorf("undos waiting at once = %d, want %d (a waiting undo must not hold a place)", b.peak, n)
	}
	if last := log.order[len(log.order)-1]; last != "ws" {
		t.Errorf("order = %v: the workspace must be undone after its items", log.order)
	}
}
