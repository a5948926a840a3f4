package builtins

import (
	"context"
	"encoding/json"
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

// deleteCreated is the undo of every create. Without an id (the create may or may not have taken
// effect: a crash, a lost answer) the object is looked up by its natural key first; an object that
// is not there, or already gone, is undone.
func deleteCreated(id string, find func() (string, bool, error), del func(id string) error) error {
	if id == "" {
		found, ok, err := find()
		if err != nil || !ok {
			return ignoreNotFound(err)
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
