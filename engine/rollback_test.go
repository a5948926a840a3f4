package engine

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fabplan/fabplan/engine/journal"
	"github.com/fabplan/fabplan/state"
)

// undoJournal writes a journal of done changes (step, then its dependencies) and reopens it.
func undoJournal(t *testing.T, steps ...[]string) (*journal.Journal, []journal.Record) {
	t.Helper()
	dir := t.TempDir()
	j, err := journal.Create(context.Background(), state.NewLocal(dir), "r", "plan.star", "test")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range steps {
		u := NewUndo("test.undo", s[0])
		j.Append(journal.Record{Type: journal.Intent, Step: s[0], Undo: &u, Deps: s[1:]})
		j.Append(journal.Record{Type: journal.Done, Step: s[0], ID: s[0], Undo: &u, Deps: s[1:]})
	}
	j.Close()
	j, recs, err := journal.Reopen(context.Background(), state.NewLocal(dir), "r")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return j, recs
}

type undoLog struct {
	mu       sync.Mutex
	order    []string
	inflight atomic.Int32
	peak     atomic.Int32
}

func (l *undoLog) registry(fn func(ctx context.Context, step string) error) UndoRegistry {
	return UndoRegistry{"test.undo": func(ctx context.Context, _ *Runtime, raw json.RawMessage) error {
		var step string
		json.Unmarshal(raw, &step)
		n := l.inflight.Add(1)
		defer l.inflight.Add(-1)
		for p := l.peak.Load(); n > p && !l.peak.CompareAndSwap(p, n); p = l.peak.Load() {
		}
		err := fn(ctx, step)
		l.mu.Lock()
		l.order = append(l.order, step)
		l.mu.Unlock()
		return err
	}}
}

// A workspace is undone after its items; the items, independent of each other, at once.
func TestRollbackUndoesDependentsFirstIndependentsAtOnce(t *testing.T) {
	j, recs := undoJournal(t, []string{"ws"}, []string{"ws/a", "ws"}, []string{"ws/b", "ws"},
		[]string{"ws/c", "ws"}, []string{"ws/c/d", "ws/c", "ws"})
	log := &undoLog{}
	reg := log.registry(func(context.Context, string) error { time.Sleep(20 * time.Millisecond); return nil })
	res := Rollback(context.Background(), recs, NewRuntime(nil), RollbackOptions{Journal: j, Undo: reg, Parallelism: 4})
	if !res.OK() || res.Status() != "5 of 5 undone" {
		t.Fatalf("rollback: %v", res.Error())
	}
	pos := map[string]int{}
	for i, s := range log.order {
		pos[s] = i
	}
	if pos["ws"] != 4 || pos["ws/c/d"] > pos["ws/c"] {
		t.Errorf("order = %v: dependents must be undone first", log.order)
	}
	if log.peak.Load() < 2 {
		t.Errorf("peak = %d: independent undos ran one at a time", log.peak.Load())
	}
}

// An undo still failing when the deadline passes is listed, and so is every undo that waited on
// it; the status line counts exactly.
func TestRollbackDeadlineListsWhatIsLeft(t *testing.T) {
	j, recs := undoJournal(t, []string{"ws"}, []string{"ws/a", "ws"}, []string{"ws/b", "ws"}, []string{"other"})
	log := &undoLog{}
	reg := log.registry(func(ctx context.Context, step string) error {
		if step == "ws/a" { // an outage that outlasts the deadline
			<-ctx.Done()
			return errors.New("ServiceUnavailable")
		}
		return nil
	})
	res := Rollback(context.Background(), recs, NewRuntime(nil), RollbackOptions{Journal: j, Undo: reg, Deadline: 50 * time.Millisecond})
	if got, want := res.Status(), "2 of 4 undone; 2 left: ws/a, ws"; got != want {
		t.Fatalf("status = %q, want %q", got, want)
	}
	if msg := res.Error(); !strings.Contains(msg, "ws (ws, declared at ): not started: the rollback deadline (50ms, --rollback-deadline) passed") {
		t.Errorf("error = %s", msg)
	}
	recs, _ = j.Records(context.Background())
	s := journal.Summarize("r", recs)
	if s.Undone != 2 || s.Left() != 2 || s.Last == nil || s.Last.Undone != 2 || s.Last.Left != 2 {
		t.Errorf("summary = %+v", s)
	}
}

// downStore is a local store whose journals refuse appends, as blob state does in a storage outage.
type downStore struct{ state.Store }

func (s downStore) OpenJournal(ctx context.Context, run string) (state.Journal, error) {
	j, err := s.Store.OpenJournal(ctx, run)
	return downJournal{j}, err
}

type downJournal struct{ state.Journal }

func (downJournal) Append(context.Context, []byte) error { return errors.New("storage unreachable") }

// A rollback whose journal cannot be written still undoes everything, and says so exactly: the
// unwritten records are not changes left undone (they have no step to name).
func TestRollbackThatCannotJournalSaysWhatHappened(t *testing.T) {
	dir := t.TempDir()
	j, err := journal.Create(context.Background(), state.NewLocal(dir), "r", "plan.star", "test")
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []string{"ws", "ws/a"} {
		u := NewUndo("test.undo", step)
		j.Append(journal.Record{Type: journal.Intent, Step: step, Undo: &u})
		j.Append(journal.Record{Type: journal.Done, Step: step, ID: step, Undo: &u})
	}
	j.Close()
	j, recs, err := journal.Reopen(context.Background(), downStore{state.NewLocal(dir)}, "r")
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	log := &undoLog{}
	res := Rollback(context.Background(), recs, NewRuntime(nil), RollbackOptions{Journal: j,
		Undo: log.registry(func(context.Context, string) error { return nil })})
	if got, want := res.Status(), "2 of 2 undone; 4 journal record(s) not written"; got != want {
		t.Fatalf("status = %q, want %q", got, want)
	}
	if res.OK() || len(res.Failures) != 0 || len(res.Left) != 0 {
		t.Errorf("result = %+v: want not OK (unjournalled), with no failure and nothing left", res)
	}
	if msg := res.Error(); !strings.Contains(msg, "undone of ws/a: ") || !strings.Contains(msg, "storage unreachable") {
		t.Errorf("error = %s", msg)
	}
}
