package fabric

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// operationState is the body of GET /v1/operations/{id}.
type operationState struct {
	Status          string         `json:"status"`
	PercentComplete int            `json:"percentComplete"`
	Error           *errorResponse `json:"error"`
}

// await finishes a call that may have started a long-running operation. A 200/201 answer carries
// the result itself. A 202 is followed: poll Location (else /v1/operations/{x-ms-operation-id})
// every Retry-After (at least LROPollMin) until Succeeded, then read the result from the last
// Location or .../result; Failed, Canceled and Undefined become *Error with the operation's
// errorCode and moreDetails. out == nil means the operation has no result.
func (c *Client) await(ctx context.Context, resp *http.Response, out any) error {
	op := callFrom(ctx).op
	if resp.StatusCode != http.StatusAccepted {
		return decode(op, resp, out)
	}
	err := c.follow(ctx, op, resp, out)
	var fe *Error
	if errors.As(err, &fe) && !fe.operationFailed {
		// Fabric took the request on: whatever went wrong while following it, the change may be made.
		fe.accepted = true
	}
	return err
}

// follow polls the operation a 202 started (see await).
func (c *Client) follow(ctx context.Context, op string, resp *http.Response, out any) error {
	opID := resp.Header.Get("x-ms-operation-id")
	poll := resp.Header.Get("Location")
	if poll == "" && opID != "" {
		poll = "/v1/operations/" + opID
	}
	if poll == "" {
		return &Error{Operation: op, StatusCode: resp.StatusCode, ErrorCode: "InvalidResponse",
			Message: "202 Accepted without Location or x-ms-operation-id", RequestID: resp.Header.Get("RequestId")}
	}
	wait := c.pollWait(resp)
	pctx := withCall(ctx, op)
	deadline := c.clock.Now().Add(c.cfg.CallTimeout)
	for {
		if c.clock.Now().Add(wait).After(deadline) {
			return stillRunning(op, poll, c.cfg.CallTimeout)
		}
		if err := sleepFor(ctx, c.clock, WaitOperation, wait); err != nil {
			return transportError(op, err)
		}
		pr, err := c.send(pctx, http.MethodGet, poll, nil)
		if err != nil {
			return err
		}
		var st operationState
		if err := decode(op, pr, &st); err != nil {
			return err
		}
		switch strings.ToLower(st.Status) {
		case "succeeded", "completed":
			if out == nil {
				return nil
			}
			result := pr.Header.Get("Location")
			if result == "" || result == poll {
				result = strings.TrimSuffix(poll, "/") + "/result"
			}
			rr, err := c.send(pctx, http.MethodGet, result, nil)
			if err != nil {
				if ErrorCode(err) == "OperationHasNoResult" {
					return nil
				}
				return err
			}
			return decode(op, rr, out)
		case "failed", "canceled", "cancelled", "undefined":
			e := errorResponse{ErrorCode: CodeLROFailed, Message: "the operation ended " + st.Status}
			if st.Error != nil {
				e = *st.Error
			}
			if e.RequestID == "" {
				e.RequestID = pr.Header.Get("RequestId")
			}
			fe := e.toError(op, 0)
			fe.operationFailed = true
			return fe
		}
		if loc := pr.Header.Get("Location"); loc != "" {
			poll = loc
		}
		wait = c.pollWait(pr)
	}
}

// lro sends a request that Fabric may answer with a long-running operation, follows it, and sends
// the request again (after the retry policy's wait, within its deadline and budget) when the
// operation failed for a passing reason. Only for requests that are safe to repeat: reads, and
// writes that set a whole state (a definition).
func (c *Client) lro(ctx context.Context, method, path string, body, out any) error {
	a := c.retry.start(ctx)
	for {
		resp, err := c.send(ctx, method, path, body)
		if err == nil {
			err = c.await(ctx, resp, out)
		}
		var fe *Error
		if !errors.As(err, &fe) || !fe.operationFailed || !transientOperation(fe.ErrorCode) {
			return err
		}
		if werr := a.wait(ctx, 0, false); werr != nil {
			return err
		}
		c.log.Info("retrying: the operation failed for a passing reason", "op", callFrom(ctx).op, "errorCode", fe.ErrorCode)
	}
}

// transientOperation reports whether an operation that ended with this errorCode failed for a
// passing reason (the service's, not the request's).
func transientOperation(code string) bool {
	switch code {
	case "UnknownError", "InternalError", "InternalServerError", "ServiceError", "ServiceUnavailable",
		"BadGateway", "GatewayTimeout", "TooManyRequests", "RequestBlocked":
		return true
	}
	return false
}

func (c *Client) pollWait(resp *http.Response) time.Duration {
	return max(retryAfter(resp.Header, c.clock.Now()), c.cfg.LROPollMin)
}

// stillRunning is the error for an operation that outlived the call deadline.
func stillRunning(op, what string, limit time.Duration) *Error {
	return &Error{Operation: op, ErrorCode: "OperationTimedOut",
		Message: fmt.Sprintf("%s was still running after %s", what, limit),
		Hint:    "the operation may still finish in Fabric: check the object before running again, or raise the call timeout"}
}
