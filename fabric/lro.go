package fabric

import (
	"context"
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
		if err := c.clock.Sleep(ctx, wait); err != nil {
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
			return e.toError(op, 0)
		}
		if loc := pr.Header.Get("Location"); loc != "" {
			poll = loc
		}
		wait = c.pollWait(pr)
	}
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
