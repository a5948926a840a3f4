// Package plan implements `fabplan plan`: what `run` would change, against live state, changing
// nothing. It also holds what `run --dry-run`, `run --plan` and `run --target` share with it:
// evaluating a plan source, keeping --target resources, refreshing into an engine.Plan, and
// saving and loading plan documents.
//
// It never sends a request that changes anything (refresh only reads), never asks for
// credentials before the plan has evaluated, and never decides how a plan looks: the view
// package draws it, from the same engine.Document that --json prints.
package plan
