package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fabplan/fabplan/engine/journal"
	"github.com/fabplan/fabplan/state"
)

// fakeResource records what the executor does with it; it needs no client.
type fakeResource struct {
	addr  Addr
	deps  []Addr
	fail  error
	world *world
}

type world struct {
	mu       sync.Mutex
	live     map[Addr]bool
	log      []string
	inflight atomic.Int32
	peak     atomic.Int32
	delay    time.Duration
}

func newWorld() *world { return &world{live: map[Addr]bool{}} }

func (w *world) record(s string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.log = append(w.log, s)
}

func (r *fakeResource) Addr() Addr                   { return r.addr }
func (r *fakeResource) Kind() string                 { return "fake" }
func (r *fakeResource) Pos() Pos                     { return Pos{File: "plan.star", Line: 1} }
func (r *fakeResource) Deps() []Addr                 { return r.deps }
func (r *fakeResource) Validate(*Graph) []Diagnostic { return nil }
func (r *fakeResource) Refresh(context.Context, *Runtime) (Live, error) {
	r.world.mu.Lock()
	defer r.world.mu.Unlock()
	return Live{Exists: r.world.live[r.addr], ID: string(r.addr)}, nil
}
func (r *fakeResource) Diff(live Live, _ *Runtime) Change {
	if live.Exists {
		return Change{Action: NoOp}
	}
	return Change{Action: Create}
}
func (r *fakeResource) Apply(ctx context.Context, _ *Runtime, ch *Change, intent func(Undo) error) (Applied, error) {
	if err := intent(NewUndo("fake.delete", string(r.addr))); err != nil {
		return Applied{}, err
	}
	n := r.world.inflight.Add(1)
	defer r.world.inflight.Add(-1)
	for {
		p := r.world.peak.Load()
		if n <= p || r.world.peak.CompareAndSwap(p, n) {
			break
		}
	}
	time.Sleep(r.world.delay)
	if r.fail != nil {
		return Applied{}, r.fail
	}
	r.world.mu.Lock()
	r.world.live[r.addr] = true
	r.world.mu.Unlock()
	r.world.record("apply " + string(r.addr))
	return Applied{ID: string(r.addr), Undo: NewUndo("fake.delete", string(r.addr))}, nil
}

func (w *world) undo() UndoRegistry {
	return UndoRegistry{"fake.delete": func(_ context.Context, _ *Runtime, raw json.RawMessage) error {
		var a string
		json.Unmarshal(raw, &a)
		w.mu.Lock()
		defer w.mu.Unlock()
		if a == "broken" {
			return errors.New("cannot")
		}
		delete(w.live, Addr(a))
		w.log = append(w.log, "undo "+a)
		return nil
	}}
}

func build(t *testing.T, w *world, rs ...*fakeResource) *Graph {
	t.Helper()
	g := NewGraph()
	for _, r := range rs {
		r.world = w
		if d := g.Add(r); d != nil {
			t.Fatal(d)
		}
	}
	if ds := g.Validate(); len(ds) > 0 {
		t.Fatal(ds)
	}
	return g
}

func runPlan(t *testing.T, g *Graph, w *world, parallel int) (*journal.Journal, error) {
	t.Helper()
	dir := t.TempDir()
	j, err := journal.Create(context.Background(), state.NewLocal(dir), "r1", "plan.star", "test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	rt := NewRuntime(nil)
	p, err := Refresh(context.Background(), g, rt, parallel)
	if err != nil {
		t.Fatal(err)
	}
	return j, Apply(context.Background(), g, p, rt, ApplyOptions{Parallelism: parallel, Journal: j, Undo: w.undo()})
}

func TestApplyOrderAndParallelism(t *testing.T) {
	w := newWorld()
	w.delay = 20 * time.Millisecond
	rs := []*fakeResource{{addr: "ws"}}
	for i := range 6 {
		rs = append(rs, &fakeResource{addr: Addr(fmt.Sprintf("ws/item.%d", i)), deps: []Addr{"ws"}})
	}
	g := build(t, w, rs...)
	if _, err := runPlan(t, g, w, 3); err != nil {
		t.Fatal(err)
	}
	if w.log[0] != "apply ws" {
		t.Fatalf("workspace not applied first: %v", w.log)
	}
	if got := w.peak.Load(); got != 3 {
		t.Errorf("peak parallelism = %d, want 3 (bounded by --parallelism)", got)
	}
	if len(w.live) != 7 {
		t.Errorf("live = %d objects, want 7", len(w.live))
	}
}

func TestFailedStepRollsBackInReverseOrder(t *testing.T) {
	w := newWorld()
	g := build(t, w,
		&fakeResource{addr: "a"},
		&fakeResource{addr: "b", deps: []Addr{"a"}},
		&fakeResource{addr: "c", deps: []Addr{"b"}, fail: errors.New("boom")},
		&fakeResource{addr: "d", deps: []Addr{"c"}},
	)
	j, err := runPlan(t, g, w, 4)
	var ae *ApplyError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want ApplyError", err)
	}
	if !strings.Contains(err.Error(), "plan.star:1: create c failed: boom") {
		t.Errorf("error does not name the step and position: %v", err)
	}
	if ae.Rollback == nil || !ae.Rollback.OK() {
		t.Fatalf("rollback: %+v", ae.Rollback)
	}
	want := []string{"apply a", "apply b", "undo c", "undo b", "undo a"}
	if strings.Join(w.log, ",") != strings.Join(want, ",") {
		t.Errorf("log = %v, want %v", w.log, want)
	}
	if len(w.live) != 0 {
		t.Errorf("left behind: %v", w.live)
	}
	recs, _ := j.Records(context.Background())
	if s := journal.Summarize("r1", recs); s.State != journal.StateRolledBack || s.Undone != 2 || s.Changes != 2 {
		t.Errorf("journal summary = %+v", s)
	}
}

func TestRollbackReportsEveryFailure(t *testing.T) {
	w := newWorld()
	g := build(t, w,
		&fakeResource{addr: "broken"},
		&fakeResource{addr: "ok"},
		&fakeResource{addr: "bad", deps: []Addr{"broken", "ok"}, fail: errors.New("boom")},
	)
	_, err := runPlan(t, g, w, 1)
	var ae *ApplyError
	if !errors.As(err, &ae) || ae.Rollback.OK() {
		t.Fatalf("want an incomplete rollback, got %v", err)
	}
	if len(ae.Rollback.Failures) != 1 || ae.Rollback.Failures[0].Step != "broken" {
		t.Errorf("failures = %+v", ae.Rollback.Failures)
	}
	if w.live["ok"] {
		t.Errorf("rollback stopped at the first error: ok is still live")
	}
}

func TestSecondRunIsNoOp(t *testing.T) {
	w := newWorld()
	g := build(t, w, &fakeResource{addr: "a"}, &fakeResource{addr: "b", deps: []Addr{"a"}})
	if _, err := runPlan(t, g, w, 2); err != nil {
		t.Fatal(err)
	}
	p, err := Refresh(context.Background(), g, NewRuntime(nil), 2)
	if err != nil {
		t.Fatal(err)
	}
	if p.HasChanges() {
		t.Errorf("second plan has changes: %+v", p.Changes)
	}
}

func TestValidateReportsCycleAndUnknownReference(t *testing.T) {
	g := NewGraph()
	w := newWorld()
	for _, r := range []*fakeResource{{addr: "a", deps: []Addr{"b"}}, {addr: "b", deps: []Addr{"a"}}, {addr: "c", deps: []Addr{"nope"}}} {
		r.world = w
		g.Add(r)
	}
	ds := g.Validate()
	msg := ds.Error()
	if !strings.Contains(msg, "dependency cycle") || !strings.Contains(msg, "which the plan does not declare") {
		t.Errorf("diagnostics = %v", msg)
	}
	if d := g.Add(&fakeResource{addr: "a", world: w}); d == nil || !strings.Contains(d.String(), "declared twice") {
		t.Errorf("duplicate not reported: %v", d)
	}
}

func TestCrashedRunRollsBackFromJournal(t *testing.T) {
	w := newWorld()
	dir := t.TempDir()
	j, err := journal.Create(context.Background(), state.NewLocal(dir), "crashed", "plan.star", "test")
	if err != nil {
		t.Fatal(err)
	}
	// a was done; b's intent was written and the process died before done.
	w.live["a"], w.live["b"] = true, true
	u := func(a string) *Undo { x := NewUndo("fake.delete", a); return &x }
	j.Append(journal.Record{Type: journal.Intent, Step: "a", Undo: u("a")})
	j.Append(journal.Record{Type: journal.Done, Step: "a", ID: "a", Undo: u("a")})
	j.Append(journal.Record{Type: journal.Intent, Step: "b", Undo: u("b")})
	j.Close()

	j2, recs, err := journal.Reopen(context.Background(), state.NewLocal(dir), "crashed")
	if err != nil {
		t.Fatal(err)
	}
	defer j2.Close()
	res := Rollback(context.Background(), recs, NewRuntime(nil), RollbackOptions{Journal: j2, Undo: w.undo()})
	if !res.OK() || res.Undone != 1 || res.Reconciled != 1 || len(w.live) != 0 {
		t.Fatalf("rollback = %+v, live = %v", res, w.live)
	}
	if strings.Join(w.log, ",") != "undo b,undo a" {
		t.Errorf("order = %v", w.log)
	}
	recs, _ = journal.Read(context.Background(), state.NewLocal(dir), "crashed")
	if journal.Summarize("crashed", recs).State != journal.StateRolledBack {
		t.Errorf("state not rolled back")
	}
}

func TestInterruptedRunRollsBack(t *testing.T) {
	w := newWorld()
	w.delay = 30 * time.Millisecond
	rs := []*fakeResource{{addr: "a"}}
	for i := range 5 {
		rs = append(rs, &fakeResource{addr: Addr(fmt.Sprintf("a/%d", i)), deps: []Addr{Addr(fmt.Sprintf("a/%d", i-1))}})
	}
	rs[1].deps = []Addr{"a"}
	g := build(t, w, rs...)
	dir := t.TempDir()
	j, err := journal.Create(context.Background(), state.NewLocal(dir), "r", "plan.star", "test")
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	rt := NewRuntime(nil)
	p, err := Refresh(context.Background(), g, rt, 1)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	// Interrupt once two changes are done, as Ctrl-C would.
	obs := &cancelAfter{n: 2, cancel: func() { cancel(errors.New("interrupt signal received")) }}
	err = Apply(ctx, g, p, rt, ApplyOptions{Parallelism: 1, Journal: j, Undo: w.undo(), Observer: obs})
	var ae *ApplyError
	if !errors.As(err, &ae) || !strings.Contains(err.Error(), "run interrupted (interrupt signal received)") {
		t.Fatalf("err = %v", err)
	}
	if !ae.Rollback.OK() || len(w.live) != 0 {
		t.Errorf("rollback = %+v, live = %v", ae.Rollback, w.live)
	}
}

type cancelAfter struct {
	NopObserver
	mu     sync.Mutex
	n      int
	cancel func()
}

func (c *cancelAfter) ChangeDone(*Change, time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n--; c.n == 0 {
		c.cancel()
	}
}
