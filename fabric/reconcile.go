package fabric

import (
	"context"
	"errors"
	"net/http"
)

// createReconciled runs a non-idempotent create. The retry policy never replays such a request after
// an answer that may hide an applied change (408, 5xx, a connection lost after sending); instead the
// object is looked up by its natural key. Found: the create did happen and its result is returned.
// Not found: the create is sent again after the retry policy's wait (same deadline and budget). An
// "already exists" answer after such an uncertain attempt is resolved by the same look-up, so a lost
// response never yields a duplicate or a spurious failure.
func createReconciled[T any](ctx context.Context, c *Client, op string,
	lookup func(context.Context) (T, bool, error), create func(context.Context) (T, error)) (T, error) {
	a := c.retry.start(ctx)
	uncertain := false
	for {
		v, err := create(withCreate(ctx, op))
		if err == nil {
			return v, nil
		}
		amb := isAmbiguous(err)
		if !amb && !(uncertain && isAlreadyExists(err)) {
			return v, err
		}
		found, ok, lerr := lookup(withCall(ctx, op))
		if lerr == nil && ok {
			c.stats.reconciled.Add(1)
			c.log.Info("create reconciled: the object exists, the lost answer is not replayed", "op", op, "cause", err.Error())
			return found, nil
		}
		if !amb {
			return v, err
		}
		uncertain = true
		var fe *Error
		errors.As(err, &fe)
		if werr := a.wait(ctx, fe.RetryAfter, false); werr != nil {
			return v, err
		}
		c.log.Info("retrying create: the object was not found after an uncertain answer", "op", op, "cause", err.Error())
	}
}

// isAmbiguous reports whether a create may have been applied although it failed.
func isAmbiguous(err error) bool {
	var fe *Error
	if !errors.As(err, &fe) {
		return false
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
		"FolderDisplayNameAlreadyInUse", "EntityConflict", "Conflict":
		return true
	}
	var fe *Error
	return errors.As(err, &fe) && fe.StatusCode == http.StatusConflict
}
