package engine

import (
	"context"
	"fmt"
	"strings"
)

// UnstartedError is a walk that ended with steps it never started although none failed and
// nothing interrupted it: their dependencies can never all finish (a cycle). Reporting success
// then would claim changes that were never made.
type UnstartedError struct {
	Steps []Addr
}

func (e *UnstartedError) Error() string {
	names := make([]string, len(e.Steps))
	for i, a := range e.Steps {
		names[i] = string(a)
	}
	return fmt.Sprintf("engine: %d step(s) never started because their dependencies never finished: %s",
		len(e.Steps), strings.Join(names, ", "))
}

// acyclic checks that the dependencies among order (those outside it are ignored) form no
// cycle, so that a walk can start every step; a cycle is a Diagnostic naming every position.
func acyclic(order []Resource) error {
	g := NewGraph()
	for _, r := range order {
		g.Add(r)
	}
	if cyc := g.cycle(); cyc != nil {
		return Diagnostics{cycleDiagnostic(cyc)}
	}
	return nil
}

// walk calls fn for every resource once all its dependencies have finished successfully, through
// the scheduler (schedule) with at most n steps running. After the first failure no new call starts
// and the calls in flight finish; resources that were not started are skipped. It returns every
// error, in the order they happened; a cycle is an error before any call, and a step left
// unstarted without a failure or an interruption is an *UnstartedError.
func walk(ctx context.Context, rt *Runtime, order []Resource, n int, fn func(context.Context, Resource) error) []error {
	if err := acyclic(order); err != nil {
		return []error{err}
	}
	index := make(map[Addr]int, len(order))
	for i, r := range order {
		index[r.Addr()] = i
	}
	preds := make([][]int, len(order))
	for i, r := range order {
		for _, d := range r.Deps() {
			if j, ok := index[d]; ok {
				preds[i] = append(preds[i], j)
			}
		}
	}
	started, errs := schedule(ctx, rt, len(order), preds, schedOptions{limit: n},
		func(ctx context.Context, i int) error { return fn(ctx, order[i]) })
	if len(errs) == 0 && ctx.Err() != nil {
		errs = append(errs, ctx.Err())
	}
	if len(errs) == 0 {
		var unstarted []Addr
		for i, s := range started {
			if !s {
				unstarted = append(unstarted, order[i].Addr())
			}
		}
		if len(unstarted) > 0 {
			errs = append(errs, &UnstartedError{Steps: unstarted})
		}
	}
	return errs
}
