package engine

import "context"

// Inventory is implemented by resources that own a collection, as a workspace owns its items.
// After refresh it reports the live objects the plan does not declare: as Unmanaged entries, or,
// when the plan asks to prune them and fabplan created them, as resources whose change is a
// Delete.
type Inventory interface {
	Inventory(ctx context.Context, rt *Runtime, g *Graph) (unmanaged []Unmanaged, deletes []Resource, err error)
}

// inventory runs every Inventory of the graph, adds the deletes to the graph and their changes to
// the plan. A delete depends on the declared resources of its workspace, so deletes run last.
func inventory(ctx context.Context, g *Graph, rt *Runtime, p *Plan) error {
	var deletes []Resource
	for _, r := range g.Order() {
		inv, ok := r.(Inventory)
		if !ok || rt.ID(r.Addr()) == "" {
			continue
		}
		unmanaged, dels, err := inv.Inventory(ctx, rt, g)
		if err != nil {
			return &RefreshError{Addr: r.Addr(), Pos: r.Pos(), Err: err}
		}
		p.Unmanaged = append(p.Unmanaged, unmanaged...)
		deletes = append(deletes, dels...)
	}
	for _, r := range deletes {
		if d := g.Add(r); d != nil {
			return Diagnostics{*d}
		}
		live, err := r.Refresh(ctx, rt)
		if err != nil {
			return &RefreshError{Addr: r.Addr(), Pos: r.Pos(), Err: err}
		}
		ch := r.Diff(live, rt)
		ch.Addr, ch.Kind, ch.Pos, ch.Deps, ch.Live, ch.ID = r.Addr(), r.Kind(), r.Pos(), r.Deps(), live, live.ID
		p.Changes = append(p.Changes, ch)
	}
	// The deletes add edges the plan's validation did not see (a delete waits for its workspace's
	// declared resources, a Git connection for the deletes): check them before anything changes.
	if cyc := g.cycle(); cyc != nil {
		return Diagnostics{cycleDiagnostic(cyc)}
	}
	return nil
}
