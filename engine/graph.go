package engine

import (
	"fmt"
	"strings"
)

// Graph holds the resources a plan declares, in declaration order.
type Graph struct {
	resources []Resource
	byAddr    map[Addr]Resource
	traces    map[Addr]string
	// Files are the plan files evaluated (the entry plan first, then loads).
	Files []string
	// whole is the plan a --target subgraph was cut from (nil for a whole plan).
	whole      *Graph
	lifecycles map[Addr]Lifecycle
}

// NewGraph returns an empty graph.
func NewGraph() *Graph { return &Graph{byAddr: map[Addr]Resource{}, traces: map[Addr]string{}} }

// SetTrace records the Starlark backtrace of the call that declared a resource through helper
// functions, so that errors can show how the plan got there.
func (g *Graph) SetTrace(a Addr, trace string) { g.traces[a] = trace }

// Trace is the backtrace recorded for a resource, or "".
func (g *Graph) Trace(a Addr) string { return g.traces[a] }

// Add records a resource. Declaring the same address twice is a diagnostic naming both calls.
func (g *Graph) Add(r Resource) *Diagnostic {
	if prev, ok := g.byAddr[r.Addr()]; ok {
		return &Diagnostic{Pos: r.Pos(), Related: prev.Pos(),
			Message: fmt.Sprintf("%s is declared twice; give one of them another name", r.Addr())}
	}
	g.byAddr[r.Addr()] = r
	g.resources = append(g.resources, r)
	return nil
}

// Get returns the resource at an address.
func (g *Graph) Get(a Addr) (Resource, bool) {
	r, ok := g.byAddr[a]
	return r, ok
}

// Declares reports whether the whole plan declares a resource, also when g is a --target
// subgraph that leaves it out: what the plan declares is never "not managed", let alone pruned.
func (g *Graph) Declares(a Addr) bool {
	if g.whole != nil {
		return g.whole.Declares(a)
	}
	_, ok := g.byAddr[a]
	return ok
}

// Resources returns the resources in declaration order.
func (g *Graph) Resources() []Resource { return g.resources }

// Len is the number of resources.
func (g *Graph) Len() int { return len(g.resources) }

// Validate checks references, cycles and each resource's own rules, reporting every problem.
func (g *Graph) Validate() Diagnostics {
	var ds Diagnostics
	for _, r := range g.resources {
		for _, d := range r.Deps() {
			if _, ok := g.byAddr[d]; !ok {
				ds = append(ds, Diagnostic{Pos: r.Pos(), Message: fmt.Sprintf("%s refers to %s, which the plan does not declare", r.Addr(), d)})
			}
		}
		ds = append(ds, r.Validate(g)...)
	}
	if cyc := g.cycle(); cyc != nil {
		ds = append(ds, cycleDiagnostic(cyc))
	}
	ds.Sort()
	return ds
}

// cycleDiagnostic names every resource of a cycle with its position, the first one again at the
// end: a -> b -> a.
func cycleDiagnostic(cyc []Resource) Diagnostic {
	names := make([]string, len(cyc))
	for i, r := range cyc {
		names[i] = fmt.Sprintf("%s (%s)", r.Addr(), r.Pos())
	}
	return Diagnostic{Pos: cyc[0].Pos(), Message: "dependency cycle: " + strings.Join(names, " -> ")}
}

// cycle returns the resources of one dependency cycle, or nil.
func (g *Graph) cycle() []Resource {
	const (
		white = iota
		grey
		black
	)
	color := make(map[Addr]int, len(g.resources))
	var stack []Resource
	var found []Resource
	var visit func(r Resource) bool
	visit = func(r Resource) bool {
		color[r.Addr()] = grey
		stack = append(stack, r)
		for _, d := range r.Deps() {
			dr, ok := g.byAddr[d]
			if !ok {
				continue
			}
			switch color[d] {
			case grey:
				for i, s := range stack {
					if s.Addr() == d {
						found = append(append([]Resource{}, stack[i:]...), dr)
						return true
					}
				}
			case white:
				if visit(dr) {
					return true
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[r.Addr()] = black
		return false
	}
	for _, r := range g.resources {
		if color[r.Addr()] == white && visit(r) {
			return found
		}
	}
	return nil
}

// Order returns the resources so that each comes after its dependencies; among independent
// resources declaration order is kept. The graph must be valid.
func (g *Graph) Order() []Resource {
	done := make(map[Addr]bool, len(g.resources))
	out := make([]Resource, 0, len(g.resources))
	var visit func(r Resource)
	visit = func(r Resource) {
		if done[r.Addr()] {
			return
		}
		done[r.Addr()] = true
		for _, d := range r.Deps() {
			if dr, ok := g.byAddr[d]; ok {
				visit(dr)
			}
		}
		out = append(out, r)
	}
	for _, r := range g.resources {
		visit(r)
	}
	return out
}

// Subgraph keeps only the given resources and everything they depend on (for --target).
func (g *Graph) Subgraph(targets []Addr) (*Graph, error) {
	keep := map[Addr]bool{}
	var visit func(a Addr)
	visit = func(a Addr) {
		if keep[a] {
			return
		}
		keep[a] = true
		if r, ok := g.byAddr[a]; ok {
			for _, d := range r.Deps() {
				visit(d)
			}
		}
	}
	for _, t := range targets {
		if _, ok := g.byAddr[t]; !ok {
			return nil, fmt.Errorf("--target %s: the plan declares no such resource", t)
		}
		visit(t)
	}
	sub := NewGraph()
	sub.Files, sub.whole = g.Files, g
	for _, r := range g.resources {
		if keep[r.Addr()] {
			sub.Add(r)
		}
	}
	return sub, nil
}
