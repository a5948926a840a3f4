package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/fabplan/fabplan/engine/journal"
	"github.com/fabplan/fabplan/fabric"
	"github.com/fabplan/fabplan/telemetry"
)

// Observer is told what the executor does; cmd/fabplan renders it. Calls may come from several
// goroutines at once.
type Observer interface {
	ChangeStarted(c *Change)
	ChangeDone(c *Change, took time.Duration)
	ChangeFailed(c *Change, err error)
	UndoDone(step Addr, op string)
	UndoFailed(step Addr, op string, err error)
}

// NopObserver ignores everything.
type NopObserver struct{}

func (NopObserver) ChangeStarted(*Change)             {}
func (NopObserver) ChangeDone(*Change, time.Duration) {}
func (NopObserver) ChangeFailed(*Change, error)       {}
func (NopObserver) UndoDone(Addr, string)             {}
func (NopObserver) UndoFailed(Addr, string, error)    {}

var _ Observer = NopObserver{}

// StepError is a change that failed. It names the step, where the plan declared it and, through
// Err, Fabric's errorCode and requestId.
type StepError struct {
	Addr   Addr
	Pos    Pos
	Action Action
	Err    error
	// Trace is the Starlark backtrace of the declaring call when it went through helper
	// functions; "" when the plan called the builtin directly.
	Trace string
}

func (e *StepError) Error() string {
	msg := fmt.Sprintf("%s: %s %s failed: %v", e.Pos, e.Action, e.Addr, e.Err)
	if e.Trace != "" {
		msg += "\n" + e.Trace
	}
	return msg
}

func (e *StepError) Unwrap() error { return e.Err }

// ApplyOptions configure one apply.
type ApplyOptions struct {
	Parallelism int
	Journal     *journal.Journal
	Observer    Observer
	// NoRollback leaves a failed run's changes in place (they stay in the journal for a later
	// `fabplan rollback`).
	NoRollback bool
	Undo       UndoRegistry
	// RollbackDeadline bounds the rollback of a failed run; 0 means DefaultRollbackDeadline.
	RollbackDeadline time.Duration
}

// ApplyError is a failed apply: the step errors and, unless rollback was off, its outcome.
type ApplyError struct {
	Steps      []error
	Rollback   *RollbackResult // nil when rollback was off
	RolledBack bool
}

func (e *ApplyError) Error() string {
	msg := errors.Join(e.Steps...).Error()
	switch {
	case e.Rollback == nil:
		msg += "\nrollback is off: the changes made so far stand; undo them with `fabplan rollback`"
	case e.Rollback.OK():
		// The count is every undone line progress printed: applied changes and unfinished ones
		// found to have taken effect alike.
		msg += fmt.Sprintf("\nrolled back %d change(s) (%s", e.Rollback.Undone+e.Rollback.Reconciled, e.Rollback.Status())
		if e.Rollback.Reconciled > 0 {
			msg += fmt.Sprintf(", %d of them unfinished when the run stopped", e.Rollback.Reconciled)
		}
		msg += "); live state is as before the run"
	default:
		msg += "\n" + e.Rollback.Error()
	}
	return msg
}

func (e *ApplyError) Unwrap() []error { return e.Steps }

// NotStarted lists the plan's changes a run's journal shows no attempt at: the steps a failed run
// never started, in plan order.
func NotStarted(p *Plan, recs []journal.Record) []Change {
	started := map[string]bool{}
	for _, r := range recs {
		if r.Type == journal.Intent {
			started[r.Step] = true
		}
	}
	var out []Change
	for _, c := range p.Changes {
		if c.Action.Mutates() && !started[string(c.Addr)] {
			out = append(out, c)
		}
	}
	return out
}

// Tally counts changes by action.
type Tally struct{ Added, Changed, Replaced, Destroyed int }

// Ran counts, by action, the changes a run's journal says were applied: what a summary reports,
// rather than what the plan meant to do.
func Ran(recs []journal.Record) Tally {
	var t Tally
	for _, r := range recs {
		if r.Type != journal.Done {
			continue
		}
		switch r.Action {
		case Create.String():
			t.Added++
		case Update.String():
			t.Changed++
		case Replace.String():
			t.Replaced++
		case Delete.String():
			t.Destroyed++
		}
	}
	return t
}

// Apply carries out a plan. Each mutating change is journalled (intent before the call, done
// after) and its dependents wait for it. On failure no new change starts, the ones in flight
// finish, and everything done is rolled back in reverse order of completion.
func Apply(ctx context.Context, g *Graph, p *Plan, rt *Runtime, opts ApplyOptions) (err error) {
	ctx, span := rt.Telemetry.StartPhase(ctx, telemetry.SpanApply)
	defer func() { telemetry.EndSpan(span, err) }()
	obs := opts.Observer
	if obs == nil {
		obs = NopObserver{}
	}
	j := opts.Journal
	byAddr := make(map[Addr]*Change, len(p.Changes))
	order := make([]Resource, 0, len(p.Changes))
	for i := range p.Changes {
		c := &p.Changes[i]
		r, ok := g.Get(c.Addr)
		if !ok {
			return fmt.Errorf("engine: plan names %s, which the graph does not hold", c.Addr)
		}
		byAddr[c.Addr] = c
		order = append(order, r)
	}

	// Edges a resource adds once the graph is complete (a Git connection waits for its workspace's
	// prune deletes) must not close a cycle: the walk would never start its steps.
	if err := acyclic(order); err != nil {
		return err
	}
	var mu sync.Mutex
	errs := walk(ctx, rt, order, opts.Parallelism, func(ctx context.Context, r Resource) error {
		c := byAddr[r.Addr()]
		if !c.Action.Mutates() {
			if c.ID != "" {
				rt.SetID(c.Addr, c.ID)
				rt.SetOutputs(c.Addr, c.Live.Outputs)
			}
			return nil
		}
		obs.ChangeStarted(c)
		ctx, step := rt.Telemetry.StartStep(ctx, string(c.Addr), c.Action.String(), c.Kind)
		start := time.Now()
		intentWritten := false
		deps := make([]string, len(c.Deps))
		for i, d := range c.Deps {
			deps[i] = string(d)
		}
		intent := func(u Undo) error {
			intentWritten = true
			return j.Append(journal.Record{Type: journal.Intent, Step: string(c.Addr), Action: c.Action.String(), Pos: c.Pos.String(), ID: c.ID, Undo: &u, Deps: deps})
		}
		applied, err := r.Apply(ctx, rt, c, intent)
		if err == nil && !intentWritten {
			err = fmt.Errorf("engine: %s applied without journalling its intent", c.Addr)
		}
		if err != nil {
			if intentWritten {
				if jerr := j.Append(journal.Record{Type: journal.Failed, Step: string(c.Addr), Action: c.Action.String(), Pos: c.Pos.String(), Error: err.Error(), Code: fabric.ErrorCode(err)}); jerr != nil {
					err = errors.Join(err, jerr)
				}
			}
			serr := &StepError{Addr: c.Addr, Pos: c.Pos, Action: c.Action, Err: err, Trace: g.Trace(c.Addr)}
			obs.ChangeFailed(c, serr)
			step.End(ctx, serr)
			return serr
		}
		mu.Lock()
		if applied.ID != "" {
			c.ID = applied.ID
		}
		mu.Unlock()
		rt.SetID(c.Addr, c.ID)
		rt.SetOutputs(c.Addr, applied.Outputs)
		undo := applied.Undo
		done := journal.Record{Type: journal.Done, Step: string(c.Addr), Action: c.Action.String(), Pos: c.Pos.String(),
			ID: c.ID, Undo: &undo, Sensitive: applied.Sensitive, CredentialDigest: applied.CredentialDigest, Deps: deps,
			Post: postImage(c, applied.Sensitive)}
		if err := j.Append(done); err != nil {
			serr := &StepError{Addr: c.Addr, Pos: c.Pos, Action: c.Action, Err: err}
			step.End(ctx, serr)
			return serr
		}
		step.End(ctx, nil)
		obs.ChangeDone(c, time.Since(start))
		return nil
	})
	if len(errs) == 0 {
		return j.Append(CommitRecord(g, p, rt))
	}
	ae := &ApplyError{Steps: errs}
	if cause := context.Cause(ctx); cause != nil {
		// Interrupted (Ctrl-C, SIGTERM, a deadline): say so before the steps it cut short.
		ae.Steps = append([]error{fmt.Errorf("run interrupted (%v): no new change was started", cause)}, errs...)
	}
	if opts.NoRollback {
		return ae
	}
	recs, err := j.Records(context.WithoutCancel(ctx))
	if err != nil {
		ae.Steps = append(ae.Steps, err)
		return ae
	}
	// Roll back under a context of its own: a cancelled run must still be undone.
	res := Rollback(context.WithoutCancel(ctx), recs, rt, RollbackOptions{Journal: j, Undo: opts.Undo, Observer: obs,
		Parallelism: opts.Parallelism, Deadline: opts.RollbackDeadline})
	ae.Rollback = res
	return ae
}

// postImage is what a change left: the attributes it set, as a later refresh reads them. Values
// known only after apply (ids) and sensitive values are left out; so is everything of an object
// whose content holds secrets. A delete leaves nothing.
func postImage(c *Change, sensitive bool) map[string]string {
	if c.Action == Delete {
		return nil
	}
	post := map[string]string{}
	for _, a := range c.Attrs {
		if a.Unknown || a.Sensitive || (sensitive && a.Name == "definition") {
			continue
		}
		post[a.Name] = a.New
	}
	return post
}
