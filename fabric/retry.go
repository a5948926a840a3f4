package fabric

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/cenkalti/backoff/v4"

	"github.com/fabplan/fabplan/telemetry"
)

// retrier is fabplan's one retry policy. The azcore policy (retryPolicy) and the reconciling loop of
// creates (createReconciled) both take their waits, deadline and budget from it.
type retrier struct {
	off        bool
	callTime   time.Duration // one logical call, retries included
	tryTime    time.Duration // one attempt
	initial    time.Duration // first backoff interval
	maxWait    time.Duration // backoff ceiling (Retry-After may ask for more and gets it)
	nameWait   time.Duration // first wait of the ItemDisplayNameNotAvailableYet schedule
	budgetLeft atomic.Int64  // run-wide retries left
	clock      Clock
	log        *slog.Logger
	stats      *counters
	tel        *telemetry.Telemetry
}

// attempts is the retry state of one logical call; not safe for concurrent use.
type attempts struct {
	r        *retrier
	deadline time.Time
	exp      backoff.BackOff
	slow     backoff.BackOff
	n        int
}

func (r *retrier) start(ctx context.Context) *attempts {
	deadline := r.clock.Now().Add(r.callTime)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	exp := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(r.initial),
		backoff.WithMaxInterval(r.maxWait),
		backoff.WithMultiplier(2),
		backoff.WithRandomizationFactor(0.5),
		backoff.WithMaxElapsedTime(0),
		backoff.WithClockProvider(r.clock),
	)
	slow := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(r.nameWait),
		backoff.WithMaxInterval(4*r.nameWait),
		backoff.WithMultiplier(1.5),
		backoff.WithRandomizationFactor(0.2),
		backoff.WithMaxElapsedTime(0),
		backoff.WithClockProvider(r.clock),
	)
	return &attempts{r: r, deadline: deadline, exp: exp, slow: slow, n: 1}
}

// errGiveUp explains why a retryable failure is returned as it is.
type errGiveUp struct{ reason string }

func (e errGiveUp) Error() string { return e.reason }

// wait sleeps before the next attempt: the backoff interval (or the minutes-scale one when slow),
// never less than floor (Retry-After). It refuses when retry is off, the wait would pass the call's
// deadline or the run's retry budget is spent.
func (a *attempts) wait(ctx context.Context, floor time.Duration, slow bool) error {
	return a.waitAs(ctx, floor, slow, WaitRetry)
}

// waitAs is wait, reported to the context's Waiter as kind.
func (a *attempts) waitAs(ctx context.Context, floor time.Duration, slow bool, kind WaitKind) error {
	r := a.r
	if r.off {
		return errGiveUp{"retry is off"}
	}
	d := a.exp.NextBackOff()
	if slow {
		d = a.slow.NextBackOff()
	}
	d = max(d, floor)
	if r.clock.Now().Add(d).After(a.deadline) {
		return errGiveUp{fmt.Sprintf("the next attempt (in %s) would pass the call deadline", d.Round(time.Millisecond))}
	}
	if r.budgetLeft.Add(-1) < 0 {
		return errGiveUp{"the run's retry budget is spent"}
	}
	a.n++
	r.stats.retries.Add(1)
	return sleepFor(ctx, r.clock, kind, d)
}

// nonRetriable is how azcore policies mark errors no retry can fix.
type nonRetriable interface {
	error
	NonRetriable()
}

// verdict is what a response or transport error means for the retry policy.
type verdict int

const (
	final     verdict = iota // return it
	retryable                // send again after backoff (Retry-After as a floor)
	retrySlow                // send again on the minutes-scale schedule
	ambiguous                // a create may have been applied: return it, the caller reconciles
)

func classify(ctx context.Context, ci callInfo, resp *http.Response, err error) verdict {
	if err != nil {
		var fe *Error
		var nr nonRetriable
		switch {
		case ctx.Err() != nil:
			return final
		case ErrorCode(err) == CodeCircuitBreakerOpen:
			// Not sent: wait for the half-open probe (Retry-After says when) while the call's deadline
			// and the run's budget allow, rather than fail a run over a few seconds of outage.
			return retryable
		case errors.As(err, &fe), errors.As(err, &nr):
			return final
		case isDialError(err):
			return retryable // never reached the server
		case ci.create:
			return ambiguous
		default:
			return retryable
		}
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests:
		return retryable // throttled requests are not applied
	case http.StatusRequestTimeout, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		if ci.create {
			return ambiguous
		}
		return retryable
	case http.StatusBadRequest, http.StatusConflict:
		if code := responseCode(resp); code == "ItemDisplayNameNotAvailableYet" {
			return retrySlow
		}
	}
	return final
}

// responseCode is the errorCode of an error response, from its header or its body.
func responseCode(resp *http.Response) string {
	if c := resp.Header.Get("x-ms-public-api-error-code"); c != "" {
		return c
	}
	return responseError("", resp).ErrorCode
}

func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// retryPolicy runs the retrier as an azcore per-call policy, outside the throttle, breaker and auth
// policies, so each attempt is admitted, counted and authorized afresh.
type retryPolicy struct{ r *retrier }

func (p retryPolicy) Do(req *policy.Request) (*http.Response, error) {
	ctx := req.Raw().Context()
	ci := callFrom(ctx)
	a := p.r.start(ctx)
	for {
		tryCtx, cancel := context.WithTimeout(withAttempt(ctx, a.n), p.r.tryTime)
		resp, err := req.Clone(tryCtx).Next()
		// Ask before cancel: afterwards every attempt would look timed out.
		timedOut := errors.Is(tryCtx.Err(), context.DeadlineExceeded)
		cancel()
		if err != nil && ctx.Err() == nil && timedOut {
			err = fmt.Errorf("no answer within %s: %w", p.r.tryTime, err)
		}
		v := classify(ctx, ci, resp, err)
		if v == final || v == ambiguous {
			return resp, err
		}
		var floor time.Duration
		status, code := 0, ""
		var fe *Error
		switch {
		case resp != nil:
			floor = retryAfter(resp.Header, p.r.clock.Now())
			status, code = resp.StatusCode, responseCode(resp)
		case errors.As(err, &fe):
			floor, code = fe.RetryAfter, fe.ErrorCode
		}
		// After a 429 the wait is the throttle's pause, which every worker of the identity shares.
		kind := WaitRetry
		if status == http.StatusTooManyRequests {
			kind = WaitThrottle
		}
		if werr := a.waitAs(ctx, floor, v == retrySlow, kind); werr != nil {
			var g errGiveUp
			if errors.As(werr, &g) {
				p.r.log.Warn("giving up", "op", ci.op, "attempts", a.n, "status", status, "errorCode", code, "reason", g.reason)
			}
			return resp, err
		}
		p.r.tel.Retry(ctx, req.Raw().Method, req.Raw().URL.Path, retryReason(status, err))
		p.r.log.Info("retrying", "op", ci.op, "attempt", a.n, "status", status, "errorCode", code, "error", errString(err))
		if rerr := req.RewindBody(); rerr != nil {
			return resp, err
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
