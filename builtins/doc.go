// Package builtins is fabplan's Starlark API: fabric.*, principal.*, config() and secret().
//
// Each builtin is one Go value that declares its signature once (Spec), which evaluation,
// lint, docs and completion all read. Calling a builtin during evaluation only records a
// resource in the plan's graph; the resource's Refresh, Diff, Apply and its undo operations live
// beside the builtin, in the same file. Evaluation never calls an API.
package builtins
