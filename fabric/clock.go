package fabric

import (
	"context"
	"time"
)

// Clock is the time source of the retry policy, the throttle and the LRO poller. Tests inject a fake
// so that waits are observed rather than slept through.
type Clock interface {
	Now() time.Time
	// Sleep waits for d or until ctx is done, whichever comes first, and returns ctx.Err() in the latter case.
	Sleep(ctx context.Context, d time.Duration) error
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// callInfo travels in the request context from a client method to the policies.
type callInfo struct {
	op string
	// create marks a non-idempotent create: after an answer that may hide an applied change (5xx,
	// lost connection) the policy must not replay it; the method reconciles by natural key instead.
	create bool
}

type callInfoKey struct{}

func withCall(ctx context.Context, op string) context.Context {
	return context.WithValue(ctx, callInfoKey{}, callInfo{op: op})
}

func withCreate(ctx context.Context, op string) context.Context {
	return context.WithValue(ctx, callInfoKey{}, callInfo{op: op, create: true})
}

func callFrom(ctx context.Context) callInfo {
	ci, _ := ctx.Value(callInfoKey{}).(callInfo)
	return ci
}
