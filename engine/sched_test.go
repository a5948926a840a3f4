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

// With --parallelism 1, six independent steps that each wait on an operation all wait at once, in
// refresh and in apply: a waiting step holds no slot.
func TestWaitingStepsHoldNoSlot(t *testing.T) {
	const n = 6
	w := newWorld()
	refresh, apply := newBarrier(n, fabric.WaitOperation), newBarrier(n, fabric.WaitOperation)
	g := NewGraph()
	for i := range n {
		r := &waitingResource{fakeResource: fakeResource{addr: Addr(fmt.Sprintf("item.%d", i)), world: w},
			refresh: refresh, apply: apply}
		if d := g.Add(r); d != nil {
			t.Fatal(d)
		}
	}
	rt := NewRuntime(nil)
	p, err := Refresh(context.Background(), g, rt, 1)
	if err != nil {
		t.Fatal(err)
	}
	j, _ := undoJournal(t)
	if err := Apply(context.Background(), g, p, rt, ApplyOptions{Parallelism: 1, Journal: j, Undo: w.undo()}); err != nil {
		t.Fatal(err)
	}
	if refresh.peak != n || apply.peak != n {
		t.Errorf("steps waiting at once: refresh %d, apply %d; want %d (waiting must not hold the one slot)",
			refresh.peak, apply.peak, n)
	}
	if got := w.peak.Load(); got != 1 {
		t.Errorf("steps working at once = %d, want 1 (--parallelism still caps the steps that run)", got)
	}
	if s := rt.SchedStats(); s.PeakInFlight != n {
		t.Errorf("SchedStats.PeakInFlight = %d, want %d", s.PeakInFlight, n)
	}
}

// A step queued on the throttle keeps its slot: the throttle's queue is what stops new steps.
func TestThrottleWaitKeepsTheSlot(t *testing.T) {
	const n = 4
	w := newWorld()
	// Each step is let through the throttle a moment after the last: a scheduler that started a
	// second step meanwhile would show two queued at once.
	admit := make(chan struct{})
	go func() {
		for range n {
			time.Sleep(30 * time.Millisecond)
			admit <- struct{}{}
		}
	}()
	b := &barrier{n: n + 1, kind: fabric.WaitThrottle, all: admit}
	g := NewGraph()
	for i := range n {
		r := &waitingResource{fakeResource: fakeResource{addr: Addr(fmt.Sprintf("item.%d", i)), world: w},
			refresh: newBarrier(1, fabric.WaitThrottle), apply: b}
		if d := g.Add(r); d != nil {
			t.Fatal(d)
		}
	}
	rt := NewRuntime(nil)
	p, err := Refresh(context.Background(), g, rt, 1)
	if err != nil {
		t.Fatal(err)
	}
	j, _ := undoJournal(t)
	if err := Apply(context.Background(), g, p, rt, ApplyOptions{Parallelism: 1, Journal: j, Undo: w.undo()}); err != nil {
		t.Fatal(err)
	}
	if b.peak != 1 {
		t.Errorf("steps queued on the throttle at once = %d, want 1 with --parallelism 1", b.peak)
	}
}

// Rollback goes through the same scheduler: with --parallelism 1, the items' undos, each waiting on
// an operation, wait at once; the workspace they depend on is undone after all of them.
func TestRollbackWaitingUndosHoldNoSlot(t *testing.T) {
	const n = 5
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
	res := Rollback(context.Background(), recs, NewRuntime(nil), RollbackOptions{Journal: j, Undo: reg, Parallelism: 1})
	if !res.OK() || res.Undone != n+1 {
		t.Fatalf("rollback: %v", res.Error())
	}
	if b.peak != n {
		t.Errorf("undos waiting at once = %d, want %d (a waiting undo must not hold the one slot)", b.peak, n)
	}
	if last := log.order[len(log.order)-1]; last != "ws" {
		t.Errorf("order = %v: the workspace must be undone after its items", log.order)
	}
}
