package fabric

import (
	"context"
	"time"
)

// WaitKind says what a call is waiting for.
type WaitKind int

const (
	// WaitThrottle is admission by the identity's throttle, or the pause a 429 imposed on it.
	WaitThrottle WaitKind = iota
	// WaitOperation is the Retry-After of a long-running operation before its next poll.
	WaitOperation
	// WaitRetry is the backoff (or Retry-After) before a failed request is sent again.
	WaitRetry
)

// Waiter is told when a call waits on the service, so that a scheduler can give the caller's worker
// to another step meanwhile (a waiting step holds no worker) and tell service time from waiting.
type Waiter interface {
	// Waiting is called before a wait of kind begins; the function it returns is called when the
	// wait ends, with how long it took. It must not block.
	Waiting(kind WaitKind) (done func(took time.Duration))
}

type waiterKey struct{}

// WithWaiter returns a context whose calls report their waits to w.
func WithWaiter(ctx context.Context, w Waiter) context.Context {
	return context.WithValue(ctx, waiterKey{}, w)
}

// sleepFor sleeps d on clock as a wait of kind, telling the context's Waiter.
func sleepFor(ctx context.Context, clock Clock, kind WaitKind, d time.Duration) error {
	defer waitingFor(ctx, clock, kind)()
	return clock.Sleep(ctx, d)
}

// waitingFor tells the context's Waiter that a wait of kind begins and returns what ends it.
func waitingFor(ctx context.Context, clock Clock, kind WaitKind) (end func()) {
	w, _ := ctx.Value(waiterKey{}).(Waiter)
	if w == nil {
		return func() {}
	}
	start := clock.Now()
	done := w.Waiting(kind)
	return func() { done(clock.Now().Sub(start)) }
}

// WaiterFrom returns the context's Waiter, or nil. Code outside this package that waits on the
// service (a resource polling for a state) tells it as this package's own waits do.
func WaiterFrom(ctx context.Context) Waiter {
	w, _ := ctx.Value(waiterKey{}).(Waiter)
	return w
}
