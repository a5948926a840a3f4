// Package engine turns an evaluated plan into changes and carries them out.
//
// A plan is a Graph of Resources, built by the builtins package during Starlark evaluation
// (which calls no API). The engine validates the graph, refreshes each resource against live
// state, computes a Plan (a list of Changes: typed data, no clients, serializable), and applies
// it in dependency order with bounded parallelism. Every applied change records its undo in the
// run's journal before and after the call, so a failed run is rolled back in reverse order of
// completion and a crashed one can be rolled back later from the journal alone.
//
// The engine never prints: progress goes to an Observer, and rendering belongs to cmd/fabplan.
// It talks to Fabric only through the fabric package.
package engine
