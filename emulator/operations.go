package emulator

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// operation is a long-running operation. The change it stands for is applied when the request is accepted
// (unless the operation is drawn to fail, in which case nothing is applied); its status only reports, moving
// Running -> Succeeded|Failed as the clock passes Created..Done. It is never NotStarted: real Fabric
// answered no first poll that way in 1,095 recorded polls.
type operation struct {
	ID        string          `json:"id"`
	Principal string          `json:"principal"`
	Created   time.Time       `json:"created"`
	Done      time.Time       `json:"done"`
	Error     *errorResponse  `json:"error,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	HasResult bool            `json:"hasResult"`
}

const (
	opRunning   = "Running"
	opSucceeded = "Succeeded"
	opFailed    = "Failed"
)

func (op *operation) status(now time.Time) (string, int) {
	total := op.Done.Sub(op.Created)
	elapsed := now.Sub(op.Created)
	switch {
	case elapsed >= total:
		if op.Error != nil {
			return opFailed, 100
		}
		return opSucceeded, 100
	default:
		return opRunning, min(99, int(elapsed*100/total))
	}
}

// finish completes a mutating request: at once (status with the result as body) when immediate, else as a
// 202 long-running operation whose /result is the same body. mutate cannot fail: handlers validate first.
// A nil result means the operation has none (OperationHasNoResult).
func (c *call) finish(immediate bool, status int, mutate func() any) (*response, error) {
	e := c.e
	if immediate {
		res := mutate()
		if res == nil {
			return &response{status: status}, nil
		}
		return &response{status: status, body: res}, nil
	}
	op := &operation{ID: e.newID(), Principal: c.who.ID, Created: c.now, Done: c.now.Add(e.opts.LRODelay)}
	ruled, _ := c.r.Context().Value(failOperationKey{}).(bool)
	if ruled || e.faults.lroFails() {
		why := "a fail_operation rule made this operation fail: "
		if !ruled {
			c.rec.Fault = "random lro failure"
			why = "lroFailureRate drew this operation to fail: "
		}
		// A failed operation carries moreDetails as Fabric's do, so that clients show more than the code.
		op.Error = &errorResponse{ErrorCode: "UnknownError", Message: "The operation failed (injected fault); nothing was changed",
			RequestID: c.rec.RequestID, MoreDetails: []errorDetail{{ErrorCode: "InjectedFault",
				Message: why + c.r.Method + " " + c.r.URL.Path}}}
	} else if res := mutate(); res != nil {
		b, err := json.Marshal(res)
		if err != nil {
			return nil, err
		}
		op.Result, op.HasResult = b, true
	}
	e.pruneOperations(c.now)
	e.st.Operations[op.ID] = op
	return &response{status: http.StatusAccepted, header: http.Header{
		"Location":          {e.base + "/v1/operations/" + op.ID},
		"X-Ms-Operation-Id": {op.ID},
		"Retry-After":       {strconv.Itoa(e.opts.RetryAfter)},
	}}, nil
}

// pruneOperations forgets operations that ended more than a day ago once there are many.
func (e *Emulator) pruneOperations(now time.Time) {
	if len(e.st.Operations) < 100000 {
		return
	}
	for id, op := range e.st.Operations {
		if now.Sub(op.Done) > 24*time.Hour {
			delete(e.st.Operations, id)
		}
	}
}

type operationStateJSON struct {
	Status             string         `json:"status"`
	CreatedTimeUtc     string         `json:"createdTimeUtc"`
	LastUpdatedTimeUtc string         `json:"lastUpdatedTimeUtc"`
	PercentComplete    int            `json:"percentComplete"`
	Error              *errorResponse `json:"error,omitempty"`
}

func fabricTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.0000000Z") }

func (e *Emulator) operationFor(c *call) (*operation, error) {
	id, err := c.pathID("operationId")
	if err != nil {
		return nil, err
	}
	op := e.st.Operations[id]
	if op == nil || op.Principal != c.who.ID {
		return nil, notFound("OperationNotFound", "Operation", id)
	}
	return op, nil
}

func (e *Emulator) getOperation(c *call) (*response, error) {
	op, err := e.operationFor(c)
	if err != nil {
		return nil, err
	}
	st, pct := op.status(c.now)
	updated := c.now
	if op.Done.Before(updated) {
		updated = op.Done
	}
	body := operationStateJSON{Status: st, CreatedTimeUtc: fabricTime(op.Created),
		LastUpdatedTimeUtc: fabricTime(updated), PercentComplete: pct}
	h := http.Header{"X-Ms-Operation-Id": {op.ID}}
	switch st {
	case opSucceeded:
		if op.HasResult {
			h.Set("Location", e.base+"/v1/operations/"+op.ID+"/result")
		}
	case opFailed:
		er := *op.Error
		body.Error = &er
	default:
		h.Set("Location", e.base+"/v1/operations/"+op.ID)
		h.Set("Retry-After", strconv.Itoa(e.opts.RetryAfter))
	}
	return &response{status: http.StatusOK, header: h, body: body}, nil
}

func (e *Emulator) getOperationResult(c *call) (*response, error) {
	op, err := e.operationFor(c)
	if err != nil {
		return nil, err
	}
	switch st, _ := op.status(c.now); st {
	case opSucceeded:
	case opFailed:
		return nil, badRequest("OperationFailed", "The operation failed and has no result")
	default:
		return nil, badRequest("OperationNotCompleted", "The operation has not completed yet")
	}
	if !op.HasResult {
		return nil, badRequest("OperationHasNoResult", "The operation has no result")
	}
	return &response{status: http.StatusOK, body: op.Result}, nil
}
