package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/fabplan/fabplan/engine/journal"
	"github.com/fabplan/fabplan/fabric"
)

// RollbackResult says what a rollback did.
type RollbackResult struct {
	// Undone counts applied changes reversed.
	Undone int
	// Reconciled counts changes whose outcome was unknown (intent without done) that were
	// looked up by natural key and removed if they had taken effect.
	Reconciled int
	// Failures are the changes that could not be undone, each with the live id to clean up by hand.
	Failures []UndoFailure
}

// UndoFailure is one change rollback could not reverse.
type UndoFailure struct {
	Step string
	ID   string
	Pos  string
	Op   string
	Err  error
}

// OK reports whether every change was undone.
func (r *RollbackResult) OK() bool { return len(r.Failures) == 0 }

func (r *RollbackResult) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "rollback incomplete: %d change(s) undone, %d could not be undone:", r.Undone, len(r.Failures))
	for _, f := range r.Failures {
		id := f.ID
		if id == "" {
			id = "id unknown"
		}
		fmt.Fprintf(&b, "\n  %s (%s, declared at %s): %v", f.Step, id, f.Pos, f.Err)
	}
	return b.String()
}

// pending is one change the journal says may need undoing.
type pending struct {
	done bool // the change is known to have been applied
	seq  int
	step string
	id   string
	pos  string
	undo journal.Undo
}

// pendingUndos lists, newest first, the changes a journal says are in effect or may be: every done
// change not yet undone, and every intent with no done after it (the call may or may not have
// taken effect; its undo reconciles by reading live state).
func pendingUndos(recs []journal.Record) []pending {
	last := map[string]journal.Record{}
	intents := map[string]journal.Record{}
	for _, r := range recs {
		switch r.Type {
		case journal.Intent:
			intents[r.Step] = r
			last[r.Step] = r
		case journal.Done, journal.Failed, journal.Undone:
			last[r.Step] = r
		}
	}
	var out []pending
	for step, r := range last {
		var p pending
		switch r.Type {
		case journal.Undone:
			continue
		case journal.Done:
			p = pending{done: true, seq: r.Seq, step: step, id: r.ID, pos: r.Pos}
			if r.Undo != nil {
				p.undo = *r.Undo
			}
		case journal.Intent, journal.Failed:
			in := intents[step]
			p = pending{seq: r.Seq, step: step, id: in.ID, pos: in.Pos}
			if in.Undo != nil {
				p.undo = *in.Undo
			}
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq > out[j].seq })
	return out
}

// Rollback undoes, newest first, every change the records say may be in effect, journalling each
// undo. It never stops at the first error: it reports every change it could not undo.
func Rollback(ctx context.Context, recs []journal.Record, j *journal.Journal, rt *Runtime, reg UndoRegistry, obs Observer) *RollbackResult {
	if obs == nil {
		obs = NopObserver{}
	}
	res := &RollbackResult{}
	for _, p := range pendingUndos(recs) {
		if p.undo.IsZero() {
			continue
		}
		var err error
		switch fn, ok := reg[p.undo.Op]; {
		case p.undo.Irreversible:
			err = errors.New("irreversible: the change deleted data and cannot be undone")
		case !ok:
			err = fmt.Errorf("unknown undo operation %q (journal written by another fabplan version?)", p.undo.Op)
		default:
			err = fn(ctx, rt, p.undo.Args)
		}
		if err != nil {
			res.Failures = append(res.Failures, UndoFailure{Step: p.step, ID: p.id, Pos: p.pos, Op: p.undo.Op, Err: err})
			obs.UndoFailed(Addr(p.step), p.undo.Op, err)
			if jerr := j.Append(journal.Record{Type: journal.UndoFailed, Step: p.step, ID: p.id, Error: err.Error(), Code: fabric.ErrorCode(err)}); jerr != nil {
				res.Failures = append(res.Failures, UndoFailure{Step: p.step, ID: p.id, Pos: p.pos, Op: "journal", Err: jerr})
			}
			continue
		}
		if p.done {
			res.Undone++
		} else {
			res.Reconciled++
		}
		obs.UndoDone(Addr(p.step), p.undo.Op)
		if jerr := j.Append(journal.Record{Type: journal.Undone, Step: p.step, ID: p.id, Undo: &p.undo}); jerr != nil {
			res.Failures = append(res.Failures, UndoFailure{Step: p.step, ID: p.id, Pos: p.pos, Op: "journal", Err: jerr})
		}
	}
	final := journal.RolledBack
	if !res.OK() {
		final = journal.Abandoned
	}
	if err := j.Append(journal.Record{Type: final}); err != nil {
		res.Failures = append(res.Failures, UndoFailure{Op: "journal", Err: err})
	}
	return res
}
