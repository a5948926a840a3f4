package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/fabplan/fabplan/engine/journal"
	"github.com/fabplan/fabplan/state"
)

// Each test here keeps one guarantee the journal and the walk rest on; each fails when the line
// that keeps the guarantee is removed.

// journalReader is a resource whose call first reads the journal back from disk, as a crash
// right then would leave it, and notes whether its intent is there.
type journalReader struct {
	fakeResource
	dir     string
	mu      *sync.Mutex
	missing *[]Addr
}

func (r *journalReader) Apply(ctx context.Context, rt *Runtime, ch *Change, intent func(Undo) error) (Applied, error) {
	if err := intent(NewUndo("fake.delete", string(r.addr))); err != nil {
		return Applied{}, err
	}
	// The mutating call would go out here.
	recs, err := journal.Read(context.Background(), state.NewLocal(r.dir), "r1")
	found := false
	for _, rec := range recs {
		found = found || (rec.Type == journal.Intent && rec.Step == string(r.addr))
	}
	if err != nil || !found {
		r.mu.Lock()
		*r.missing = append(*r.missing, r.addr)
		r.mu.Unlock()
	}
	return r.fakeResource.Apply(ctx, rt, ch, func(Undo) error { return nil })
}

func TestIntentIsOnDiskBeforeTheCall(t *testing.T) {
	w := newWorld()
	dir := t.TempDir()
	var mu sync.Mutex
	var missing []Addr
	g := NewGraph()
	for i, a := range []Addr{"a", "b", "c"} {
		r := &journalReader{fakeResource: fakeResource{addr: a, world: w}, dir: dir, mu: &mu, missing: &missing}
		if i > 0 {
			r.deps = []Addr{"a"}
		}
		g.Add(r)
	}
	j, err := journal.Create(context.Background(), state.NewLocal(dir), "r1", "plan.star", "test")
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	rt := NewRuntime(nil)
	p, err := Refresh(context.Background(), g, rt, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := Apply(context.Background(), g, p, rt, ApplyOptions{Parallelism: 2, Journal: j, Undo: w.undo()}); err != nil {
		t.Fatal(err)
	}
	if len(missing) > 0 {
		t.Fatalf("calls made before their intent was on disk: %v", missing)
	}
}

func TestNoNewChangeStartsAfterAFailure(t *testing.T) {
	w := newWorld()
	// With one worker, a runs first and fails; b and c are ready but must not start.
	g := build(t, w,
		&fakeResource{addr: "a", fail: errors.New("boom")},
		&fakeResource{addr: "b"},
		&fakeResource{addr: "c"},
	)
	j, err := runPlan(t, g, w, 1)
	var ae *ApplyError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want an ApplyError", err)
	}
	recs, _ := j.Records(context.Background())
	for _, r := range recs {
		if r.Type == journal.Intent && r.Step != "a" {
			t.Errorf("%s started after a failed: %+v", r.Step, r)
		}
	}
	if len(w.log) > 0 && strings.Contains(strings.Join(w.log, ","), "apply") {
		t.Errorf("changes made after the failure: %v", w.log)
	}
}

func TestRollbackGoesOnPastAFailedUndo(t *testing.T) {
	w := newWorld()
	// Rollback undoes bad (reconciled), then broken (fails), then ok, which it must not skip.
	g := build(t, w,
		&fakeResource{addr: "ok"},
		&fakeResource{addr: "broken", deps: []Addr{"ok"}},
		&fakeResource{addr: "bad", deps: []Addr{"broken"}, fail: errors.New("boom")},
	)
	_, err := runPlan(t, g, w, 1)
	var ae *ApplyError
	if !errors.As(err, &ae) || ae.Rollback == nil || ae.Rollback.OK() {
		t.Fatalf("want an incomplete rollback, got %v", err)
	}
	if len(ae.Rollback.Failures) != 1 || ae.Rollback.Failures[0].Step != "broken" {
		t.Errorf("failures = %+v, want broken alone", ae.Rollback.Failures)
	}
	if w.live["ok"] {
		t.Errorf("rollback stopped at the first undo error: ok is still live (log %v)", w.log)
	}
}

// dynamicDeps is a resource whose dependencies follow the graph, as a Git connection's do (it
// waits for everything in its workspace, whatever is added later).
type dynamicDeps struct {
	fakeResource
	graph *Graph
	pos   Pos
}

func (r *dynamicDeps) Pos() Pos { return r.pos }
func (r *dynamicDeps) Deps() []Addr {
	var deps []Addr
	for _, o := range r.graph.Resources() {
		if o.Addr() != r.addr {
			deps = append(deps, o.Addr())
		}
	}
	return deps
}

// pruner adds, at refresh, a delete that waits for every other resource: with dynamicDeps, a
// cycle that exists only once the delete is in the graph.
type pruner struct {
	fakeResource
}

func (r *pruner) Inventory(_ context.Context, _ *Runtime, g *Graph) ([]Unmanaged, []Resource, error) {
	del := &dynamicDeps{fakeResource: fakeResource{addr: "ws/old", world: r.world}, graph: g,
		pos: Pos{File: "plan.star", Line: 1, Col: 5}}
	return nil, []Resource{del}, nil
}

func TestAnApplyTimeCycleIsAPlanErrorBeforeAnyChange(t *testing.T) {
	w := newWorld()
	g := NewGraph()
	ws := &pruner{fakeResource{addr: "ws", world: w}}
	g.Add(ws)
	g.Add(&dynamicDeps{fakeResource: fakeResource{addr: "ws/git", world: w}, graph: g,
		pos: Pos{File: "plan.star", Line: 7, Col: 3}})
	if ds := g.Validate(); len(ds) > 0 {
		t.Fatalf("the plan as declared is valid, got %v", ds)
	}
	rt := NewRuntime(nil)
	rt.SetID("ws", "ws") // the workspace exists, so its inventory runs
	w.live["ws"] = true
	_, err := Refresh(context.Background(), g, rt, 2)
	var ds Diagnostics
	if !errors.As(err, &ds) {
		t.Fatalf("Refresh = %v, want a dependency cycle diagnostic", err)
	}
	msg := ds.Error()
	for _, want := range []string{"dependency cycle", "ws/git (plan.star:7:3)", "ws/old (plan.star:1:5)"} {
		if !strings.Contains(msg, want) {
			t.Errorf("diagnostic %q does not name %q", msg, want)
		}
	}
	if len(w.log) > 0 {
		t.Errorf("changes made: %v", w.log)
	}
}

func TestTheWalkNeverSkipsAStepSilently(t *testing.T) {
	w := newWorld()
	a := &fakeResource{addr: "a", deps: []Addr{"b"}, world: w}
	b := &fakeResource{addr: "b", deps: []Addr{"a"}, world: w}
	c := &fakeResource{addr: "c", world: w}
	called := 0
	errs := walk(context.Background(), nil, []Resource{c, a, b}, 2, func(context.Context, Resource) error {
		called++
		return nil
	})
	if len(errs) == 0 {
		t.Fatal("a walk with steps it can never start succeeded")
	}
	if called > 0 {
		t.Errorf("%d step(s) ran before the cycle was reported", called)
	}
	if !strings.Contains(fmt.Sprint(errs), "dependency cycle") {
		t.Errorf("errors = %v", errs)
	}
}

func TestSummaryCountsWhatRan(t *testing.T) {
	recs := []journal.Record{
		{Type: journal.Begin},
		{Type: journal.Intent, Step: "a", Action: "create"},
		{Type: journal.Done, Step: "a", Action: "create"},
		{Type: journal.Intent, Step: "b", Action: "delete"},
		{Type: journal.Failed, Step: "b", Action: "delete"},
		{Type: journal.Done, Step: "c", Action: "update"},
	}
	if got := Ran(recs); got != (Tally{Added: 1, Changed: 1}) {
		t.Errorf("Ran = %+v, want 1 added and 1 changed", got)
	}
}
