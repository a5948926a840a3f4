package builtins

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/fabplan/fabplan/engine"
	"github.com/fabplan/fabplan/fabric"
)

// undoOp adapts a typed undo function to the journal's JSON arguments.
func undoOp[T any](fn func(ctx context.Context, rt *engine.Runtime, args T) error) engine.UndoFunc {
	return func(ctx context.Context, rt *engine.Runtime, raw json.RawMessage) error {
		var args T
		if err := json.Unmarshal(raw, &args); err != nil {
			return fmt.Errorf("undo arguments: %w", err)
		}
		return fn(ctx, rt, args)
	}
}

// createJournalled journals a create's undo as its intent, makes the create, and when the create
// certainly did not take effect (fabric.NotApplied: Fabric refused it, it was never sent, or the
// natural key is held by another actor's object) journals a second intent with no undo, which
// supersedes the first: rollback must not delete an object of the same name that someone else made.
func createJournalled[T any](intent func(engine.Undo) error, undo engine.Undo, create func() (T, error)) (T, error) {
	if err := intent(undo); err != nil {
		var zero T
		return zero, err
	}
	v, err := create()
	if err != nil && fabric.NotApplied(err) {
		if jerr := intent(engine.Undo{}); jerr != nil {
			return v, errors.Join(err, jerr)
		}
	}
	return v, err
}

// deleteCreated is the undo of every create. With the id the create returned, that object is
// deleted. Without one (the create's outcome is unknown: a crash, a lost answer) the object is
// looked up by its natural key and deleted only with evidence that this run made it: it did not
// exist at refresh (refresh looked the same key up and so planned the create) and it is what the
// create sent (find returns why it is not, "" when it is). An object without that evidence is
// another actor's: the undo fails with OwnershipConflict, naming it, and leaves it alone. An object
// that is not there, or already gone, is undone.
func deleteCreated(op, what, id string, find func() (id, why string, ok bool, err error), del func(id string) error) error {
	if id == "" {
		found, why, ok, err := find()
		if err != nil || !ok {
			return ignoreNotFound(err)
		}
		if why != "" {
			return fabric.Conflict(op, what, why)
		}
		id = found
	}
	return ignoreNotFound(del(id))
}

// ignoreNotFound makes deletes idempotent: what is gone is undone.
func ignoreNotFound(err error) error {
	if fabric.IsNotFound(err) {
		return nil
	}
	return err
}
