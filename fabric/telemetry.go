package fabric

import (
	"context"
	"net/http"
	"strconv"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/fabplan/fabplan/telemetry"
)

// telemetryPolicy opens the span of each attempt, outermost of the per-attempt policies, so the
// span covers the throttle's wait and the breaker's verdict, which note themselves on it.
type telemetryPolicy struct{ t *telemetry.Telemetry }

func (p telemetryPolicy) Do(req *policy.Request) (*http.Response, error) {
	r := req.Raw()
	ctx := r.Context()
	ctx, a := p.t.StartAttempt(ctx, r.Method, r.URL.Host, r.URL.Path, callFrom(ctx).op, attemptFrom(ctx))
	resp, err := req.Clone(ctx).Next()
	status, code, requestID := 0, ErrorCode(err), ""
	if resp != nil {
		status, requestID = resp.StatusCode, resp.Header.Get("RequestId")
		if status >= 400 {
			code = responseCode(resp)
		}
	}
	a.End(ctx, status, code, requestID, err)
	return resp, err
}

type attemptKey struct{}

// withAttempt numbers the attempt a retry loop is about to send (1 for the first).
func withAttempt(ctx context.Context, n int) context.Context {
	return context.WithValue(ctx, attemptKey{}, n)
}

func attemptFrom(ctx context.Context) int {
	if n, ok := ctx.Value(attemptKey{}).(int); ok {
		return n
	}
	return 1
}

// retryReason is what a retry's metric says was retried: the status code, or the error's kind.
func retryReason(status int, err error) string {
	switch {
	case status != 0:
		return strconv.Itoa(status)
	case isDialError(err):
		return "dial"
	case err != nil:
		return "transport"
	}
	return ""
}
