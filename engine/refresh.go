package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/fabplan/fabplan/telemetry"
)

// RefreshError is a failure to read live state; nothing has been changed.
type RefreshError struct {
	Addr Addr
	Pos  Pos
	Err  error
}

func (e *RefreshError) Error() string {
	return fmt.Sprintf("%s: reading %s: %v", e.Pos, e.Addr, e.Err)
}

func (e *RefreshError) Unwrap() error { return e.Err }

// Refresh reads the live state of every resource (dependencies first, independent resources in
// parallel) and returns the plan: one change per resource, in dependency order.
func Refresh(ctx context.Context, g *Graph, rt *Runtime, parallelism int) (p *Plan, err error) {
	ctx, span := rt.Telemetry.StartPhase(ctx, telemetry.SpanRefresh)
	defer func() { telemetry.EndSpan(span, err) }()
	order := g.Order()
	var mu sync.Mutex
	changes := make(map[Addr]Change, len(order))
	errs := walk(ctx, rt, order, parallelism, func(ctx context.Context, r Resource) error {
		live, err := r.Refresh(ctx, rt)
		if err != nil {
			return &RefreshError{Addr: r.Addr(), Pos: r.Pos(), Err: err}
		}
		if live.Exists {
			rt.SetID(r.Addr(), live.ID)
			rt.SetOutputs(r.Addr(), live.Outputs)
		}
		ch := g.Lifecycle(r.Addr()).ignoreChanges(r.Diff(live, rt))
		ch.Addr, ch.Kind, ch.Pos, ch.Deps, ch.Live = r.Addr(), r.Kind(), r.Pos(), r.Deps(), live
		if live.Exists && ch.ID == "" {
			ch.ID = live.ID
		}
		mu.Lock()
		changes[r.Addr()] = ch
		mu.Unlock()
		return nil
	})
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	p = &Plan{Changes: make([]Change, 0, len(order))}
	for _, r := range order {
		p.Changes = append(p.Changes, changes[r.Addr()])
	}
	if err := inventory(ctx, g, rt, p); err != nil {
		return nil, err
	}
	if ds := protectedDeletes(g, p, rt); len(ds) > 0 {
		return nil, ds
	}
	return p, nil
}
