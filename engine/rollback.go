package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fabplan/fabplan/engine/journal"
	"github.com/fabplan/fabplan/fabric"
	"github.com/fabplan/fabplan/telemetry"
)

// DefaultRollbackDeadline bounds a rollback attempt (--rollback-deadline): long enough to ride
// out an outage of a few minutes with the client's retries and breaker, short enough that a CI
// job ends with a list of what is left instead of hanging.
const DefaultRollbackDeadline = 10 * time.Minute

// RollbackOptions configure one rollback attempt.
type RollbackOptions struct {
	Journal  *journal.Journal
	Undo     UndoRegistry
	Observer Observer
	// Parallelism bounds the undos in flight; independent undos run concurrently.
	Parallelism int
	// Deadline bounds the whole attempt; 0 means DefaultRollbackDeadline. Undos not started by
	// then are left, and listed.
	Deadline time.Duration
	// By is who makes the attempt (rollback_begin records it).
	By *journal.Target
	// Leave maps the steps to leave alone (conflicts: changed since the run) to why.
	Leave map[string]string
}

// RollbackResult says what a rollback attempt did.
type RollbackResult struct {
	Attempt int
	// Total counts the changes the attempt set out to undo.
	Total int
	// Undone counts applied changes reversed.
	Undone int
	// Reconciled counts changes whose outcome was unknown (intent without done) that were
	// looked up by natural key and removed if they had taken effect.
	Reconciled int
	// Failures are the changes that could not be undone, each with the live id to clean up by hand.
	Failures []UndoFailure
	// Left are the changes left alone on purpose (Leave), with why.
	Left []UndoFailure
	// Unrecorded are the journal records this attempt could not write (the state storage failed).
	// The live changes happened regardless; a later rollback finds them done and records them.
	Unrecorded []error
}

// UndoFailure is one change rollback could not reverse, or left alone.
type UndoFailure struct {
	Step string
	ID   string
	Pos  string
	Op   string
	Err  error
	seq  int
}

// OK reports whether every change was undone.
func (r *RollbackResult) OK() bool {
	return len(r.Failures) == 0 && len(r.Left) == 0 && len(r.Unrecorded) == 0
}

// Status is the exact one-line account: "5 of 7 undone; 2 left: a, b".
func (r *RollbackResult) Status() string {
	s := fmt.Sprintf("%d of %d undone", r.Undone+r.Reconciled, r.Total)
	if r.OK() {
		return s
	}
	var names []string
	for _, f := range r.remaining() {
		names = append(names, f.Step)
	}
	if len(names) > 0 {
		s += fmt.Sprintf("; %d left: %s", len(names), strings.Join(names, ", "))
	}
	if len(r.Unrecorded) > 0 {
		s += fmt.Sprintf("; %d journal record(s) not written", len(r.Unrecorded))
	}
	return s
}

func (r *RollbackResult) remaining() []UndoFailure {
	return append(slices.Clone(r.Failures), r.Left...)
}

func (r *RollbackResult) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "rollback incomplete: %s", r.Status())
	for _, f := range r.remaining() {
		id := f.ID
		if id == "" {
			id = "id unknown"
		}
		fmt.Fprintf(&b, "\n  %s (%s, declared at %s): %v", f.Step, id, f.Pos, f.Err)
	}
	for _, err := range r.Unrecorded {
		fmt.Fprintf(&b, "\n  not journalled (run `fabplan rollback` again once the state is reachable): %v", err)
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
	deps []string
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
			if r.Step != "" {
				last[r.Step] = r
			}
		}
	}
	var out []pending
	for step, r := range last {
		var p pending
		switch r.Type {
		case journal.Undone:
			continue
		case journal.Done:
			p = pending{done: true, seq: r.Seq, step: step, id: r.ID, pos: r.Pos, deps: r.Deps}
			if r.Undo != nil {
				p.undo = *r.Undo
			}
		case journal.Intent, journal.Failed:
			in := intents[step]
			p = pending{seq: r.Seq, step: step, id: in.ID, pos: in.Pos, deps: in.Deps}
			if in.Undo != nil {
				p.undo = *in.Undo
			}
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq > out[j].seq })
	return out
}

// Rollback undoes every change the records say may be in effect, in reverse dependency order:
// a change is undone once every change that depended on it is, and independent undos run
// concurrently. Each attempt is journalled as its own rollback_begin/rollback_end pair and each
// undo as undone or undo_failed. It never stops at the first error: it reports every change it
// could not undo, and every change it left alone.
func Rollback(ctx context.Context, recs []journal.Record, rt *Runtime, opts RollbackOptions) *RollbackResult {
	obs := opts.Observer
	if obs == nil {
		obs = NopObserver{}
	}
	j := opts.Journal
	ctx, span := rt.Telemetry.StartPhase(ctx, telemetry.SpanRollback)
	res := &RollbackResult{Attempt: 1}
	defer func() {
		rt.Telemetry.Rollback(ctx, res.Undone+res.Reconciled, len(res.Failures)+len(res.Left))
		if res.OK() {
			telemetry.EndSpan(span, nil)
		} else {
			telemetry.EndSpan(span, res)
		}
	}()
	for _, r := range recs {
		if r.Type == journal.RollbackBegin {
			res.Attempt++
		}
	}
	// Called under mu, or before and after the undos run.
	appendRec := func(r journal.Record, p pending) {
		if err := j.Append(r); err != nil {
			if p.step != "" {
				err = fmt.Errorf("%s of %s: %w", r.Type, p.step, err)
			}
			res.Unrecorded = append(res.Unrecorded, err)
		}
	}
	appendRec(journal.Record{Type: journal.RollbackBegin, Attempt: res.Attempt, Target: opts.By}, pending{})

	var todo []pending
	for _, p := range pendingUndos(recs) {
		if !p.undo.IsZero() {
			todo = append(todo, p)
		}
	}
	res.Total = len(todo)
	deadline := opts.Deadline
	if deadline <= 0 {
		deadline = DefaultRollbackDeadline
	}
	ctx, cancel := context.WithTimeoutCause(ctx, deadline,
		fmt.Errorf("the rollback deadline (%s, --rollback-deadline) passed", deadline))
	defer cancel()

	var mu sync.Mutex
	left := map[string]bool{}
	undoOne := func(ctx context.Context, p pending, dependents []string) {
		why, ok := opts.Leave[p.step]
		mu.Lock()
		for _, d := range dependents {
			if left[d] && !ok {
				// Undoing it (deleting a workspace) would undo what was left alone with it.
				why, ok = fmt.Sprintf("left alone because %s, which depends on it, is left alone", d), true
			}
		}
		if ok {
			left[p.step] = true
			res.Left = append(res.Left, UndoFailure{Step: p.step, ID: p.id, Pos: p.pos, Op: p.undo.Op, Err: errors.New(why), seq: p.seq})
		}
		mu.Unlock()
		if ok {
			return
		}
		var err error
		switch fn, ok := opts.Undo[p.undo.Op]; {
		case ctx.Err() != nil:
			err = fmt.Errorf("not started: %w", context.Cause(ctx))
		case p.undo.Irreversible:
			err = errors.New("irreversible: the change deleted data and cannot be undone")
		case !ok:
			err = fmt.Errorf("unknown undo operation %q (journal written by another fabplan version?)", p.undo.Op)
		default:
			err = fn(ctx, rt, p.undo.Args)
			if err != nil && ctx.Err() != nil {
				err = fmt.Errorf("%w (%v)", err, context.Cause(ctx))
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			res.Failures = append(res.Failures, UndoFailure{Step: p.step, ID: p.id, Pos: p.pos, Op: p.undo.Op, Err: err, seq: p.seq})
			obs.UndoFailed(Addr(p.step), p.undo.Op, err)
			appendRec(journal.Record{Type: journal.UndoFailed, Step: p.step, ID: p.id, Error: err.Error(), Code: fabric.ErrorCode(err)}, p)
			return
		}
		if p.done {
			res.Undone++
		} else {
			res.Reconciled++
		}
		obs.UndoDone(Addr(p.step), p.undo.Op)
		appendRec(journal.Record{Type: journal.Undone, Step: p.step, ID: p.id, Undo: &p.undo}, p)
	}
	inReverseDependencyOrder(ctx, rt, todo, opts.Parallelism, undoOne)

	byNewest := func(a, b UndoFailure) int { return b.seq - a.seq }
	slices.SortFunc(res.Failures, byNewest)
	slices.SortFunc(res.Left, byNewest)
	outcome := &journal.RollbackOutcome{Undone: res.Undone + res.Reconciled, Left: len(res.Failures) + len(res.Left), Conflicts: len(res.Left)}
	appendRec(journal.Record{Type: journal.RollbackEnd, Attempt: res.Attempt, Target: opts.By, Outcome: outcome}, pending{})
	return res
}

// inReverseDependencyOrder calls fn for every change (given newest first) once every change that
// depends on it has finished, through the scheduler with at most n undos running (keepGoing: a
// failed undo holds nothing up, and after the deadline each change is still handed to fn, which
// records it as not started). A journal without dependencies (written before they were recorded)
// is undone strictly newest first.
func inReverseDependencyOrder(ctx context.Context, rt *Runtime, todo []pending, n int,
	fn func(ctx context.Context, p pending, dependents []string)) {
	index := make(map[string]int, len(todo))
	recorded := false
	for i, p := range todo {
		index[p.step] = i
		recorded = recorded || len(p.deps) > 0
	}
	// preds[i] are the changes to finish before todo[i]: those that depend on it.
	preds := make([][]int, len(todo))
	dependents := make([][]string, len(todo))
	for i, p := range todo {
		if !recorded && i > 0 {
			preds[i] = append(preds[i], i-1)
			dependents[i] = append(dependents[i], todo[i-1].step)
		}
		for _, d := range p.deps {
			if k, ok := index[d]; ok && k != i {
				preds[k] = append(preds[k], i)
				dependents[k] = append(dependents[k], p.step)
			}
		}
	}
	schedule(ctx, rt, len(todo), preds, schedOptions{limit: n, keepGoing: true}, func(ctx context.Context, i int) error {
		fn(ctx, todo[i], dependents[i])
		return nil
	})
}
