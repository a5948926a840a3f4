package fabric

import (
	"context"
	"errors"
	"net/http"
)

// createReconciled runs a non-idempotent create. The retry policy never replays such a request after
// an answer that may hide an applied change (408, 5xx, a connection lost after sending, an operation
// that failed transiently); instead the object is looked up by its natural key. Not found: the create
// is sent again after the retry policy's wait (same deadline and budget). Found: it is taken as this
// create's result only with evidence that this create made it: claim returns "" when the object is
// what the create sent (name, description, folder, role...), else why it is not. An object that
// existed at refresh cannot pass: refresh looked the same key up and planned no create. An object
// without that evidence is another actor's: the create fails with OwnershipConflict and the object
// is left alone. An "already exists" answer after an uncertain attempt is resolved by the same
// look-up, so a lost response never yields a duplicate or a spurious failure.
//
// what names the object for the conflict error ("Notebook \"etl\" in workspace 1234..."). The error of a create that certainly did not take effect is marked (see NotApplied), so the
// caller knows there is nothing to undo.
func createReconciled[T any](ctx context.Context, c *Client, op, what string, lookup func(context.Context) (T, bool, error),
	claim func(context.Context, T) (string, error), create func(context.Context) (T, error)) (T, error) {
	a := c.retry.start(ctx)
	uncertain := false
	for {
		v, err := create(withCreate(ctx, op))
		if err == nil {
			return v, nil
		}
		amb := isAmbiguous(err)
		if !amb && !(uncertain && isAlreadyExists(err)) {
			return v, settled(err, uncertain)
		}
		found, ok, lerr := lookup(withCall(ctx, op))
		if lerr == nil && ok {
			why, cerr := claim(withCall(ctx, op), found)
			if cerr == nil && why != "" {
				c.log.Warn("create not reconciled: the object found by name is not this run's", "op", op, "object", what, "reason", why)
				return v, Conflict(op, what, why)
			}
			if cerr == nil {
				c.stats.reconciled.Add(1)
				c.log.Info("create reconciled: the object exists, the lost answer is not replayed", "op", op, "cause", err.Error())
				return found, nil
			}
		}
		if !amb {
			return v, settled(err, true)
		}
		uncertain = true
		var fe *Error
		errors.As(err, &fe)
		if werr := a.wait(ctx, fe.RetryAfter, false); werr != nil {
			return v, settled(err, true)
		}
		c.log.Info("retrying create: the object was not found after an uncertain answer", "op", op, "cause", err.Error())
	}
}

// settled marks the final error of a create that certainly did not take effect: no attempt was
// uncertain and this one was refused or never sent.
func settled(err error, uncertain bool) error {
	var fe *Error
	if !uncertain && errors.As(err, &fe) && !mayHaveApplied(fe) {
		fe.notApplied = true
	}
	return err
}

// mayHaveApplied reports whether a failed request may have changed something.
func mayHaveApplied(fe *Error) bool {
	switch {
	case fe.notApplied:
		return false
	case fe.accepted:
		return true
	case fe.operationFailed:
		return transientOperation(fe.ErrorCode)
	case fe.ErrorCode == CodeCircuitBreakerOpen, fe.ErrorCode == CodeInsecureEndpoint:
		return false
	case fe.StatusCode == http.StatusRequestTimeout:
		return true
	case fe.StatusCode >= 400 && fe.StatusCode < 500:
		return false // refused: 4xx answers, 429 included, are not applied
	case fe.StatusCode == 0 && fe.Err != nil && isDialError(fe.Err):
		return false
	}
	return true
}

// isAmbiguous reports whether a create may have been applied although it failed, or failed for a
// passing reason after which it is safe to send again once a look-up found nothing.
func isAmbiguous(err error) bool {
	var fe *Error
	if !errors.As(err, &fe) {
		return false
	}
	if fe.operationFailed {
		return transientOperation(fe.ErrorCode)
	}
	switch fe.StatusCode {
	case http.StatusRequestTimeout, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	case 0:
		return fe.ErrorCode == CodeRequestFailed && fe.Err != nil && !isDialError(fe.Err) &&
			!errors.Is(fe.Err, context.Canceled)
	}
	return false
}

func isAlreadyExists(err error) bool {
	switch ErrorCode(err) {
	case "WorkspaceNameAlreadyExists", "ItemDisplayNameAlreadyInUse", "PrincipalAlreadyHasWorkspaceRolePermissions",
		"FolderDisplayNameAlreadyInUse", "EntityConflict", "Conflict", "WorkspaceAlreadyConnectedToGit":
		return true
	}
	var fe *Error
	return errors.As(err, &fe) && fe.StatusCode == http.StatusConflict
}
