package fabric

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/sony/gobreaker/v2"

	"github.com/fabplan/fabplan/telemetry"
)

// breakers holds one circuit breaker per host and API family ("api.fabric.microsoft.com items"), so
// a failing items backend does not stop workspace calls. Only 5xx answers and requests without an
// answer count as failures; 429 and other 4xx are the server working as designed.
type breakers struct {
	failures uint32        // consecutive failures that open a breaker
	cooldown time.Duration // open -> half-open
	log      *slog.Logger
	stats    *counters
	tel      *telemetry.Telemetry

	mu       sync.Mutex
	m        map[string]*gobreaker.CircuitBreaker[*http.Response]
	openedAt map[string]time.Time
	// lastFailure is each breaker's latest counted failure: when it opens, the one that opened it,
	// which its fail-fast errors carry as their cause.
	lastFailure map[string]*Error
}

func newBreakers(failures uint32, cooldown time.Duration, log *slog.Logger, stats *counters) *breakers {
	return &breakers{failures: failures, cooldown: cooldown, log: log, stats: stats,
		m: map[string]*gobreaker.CircuitBreaker[*http.Response]{}, openedAt: map[string]time.Time{},
		lastFailure: map[string]*Error{}}
}

// errServerFailure makes gobreaker count a 5xx answer as a failure; the policy turns it back into
// the response.
var errServerFailure = errors.New("server failure")

func (b *breakers) get(name string) *gobreaker.CircuitBreaker[*http.Response] {
	b.mu.Lock()
	defer b.mu.Unlock()
	if cb, ok := b.m[name]; ok {
		return cb
	}
	cb := gobreaker.NewCircuitBreaker[*http.Response](gobreaker.Settings{
		Name:        name,
		MaxRequests: 1,
		Timeout:     b.cooldown,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= b.failures },
		// A cancelled run says nothing about the server, nor does a request fabplan refused to send
		// (no token, plain http); a timed-out attempt does.
		IsExcluded: func(err error) bool {
			var fe *Error
			return errors.Is(err, context.Canceled) || errors.As(err, &fe)
		},
		OnStateChange: func(name string, from, to gobreaker.State) {
			b.mu.Lock()
			if to == gobreaker.StateOpen {
				b.openedAt[name] = time.Now()
				b.stats.breakerOpened.Add(1)
			}
			b.mu.Unlock()
			b.tel.BreakerTransition(context.Background(), name, from.String(), to.String())
			b.log.Warn("circuit breaker state change", "breaker", name, "from", from.String(), "to", to.String())
		},
	})
	b.m[name] = cb
	return cb
}

// failed notes a failure the named breaker counts.
func (b *breakers) failed(name string, e *Error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lastFailure[name] = e
}

// cause is the failure that opened the named breaker (nil if unknown), and how it reads in the
// breaker's message.
func (b *breakers) cause(name string) (*Error, string) {
	b.mu.Lock()
	e := b.lastFailure[name]
	b.mu.Unlock()
	if e == nil {
		return nil, ""
	}
	var s strings.Builder
	s.WriteString("; the last failure: ")
	if e.StatusCode != 0 {
		fmt.Fprintf(&s, "HTTP %d ", e.StatusCode)
	}
	if e.ErrorCode != "" {
		s.WriteString(e.ErrorCode + " ")
	}
	msg := e.Message
	if len(msg) > 200 {
		msg = msg[:200] + "..."
	}
	fmt.Fprintf(&s, "%q", msg)
	if e.RequestID != "" {
		fmt.Fprintf(&s, " (requestId %s)", e.RequestID)
	}
	return e, s.String()
}

// opened wraps the breaker's own error with the failure that opened it, so errors.Is finds both
// gobreaker's state error and, through errors.As, the Fabric error behind it.
func opened(err error, cause *Error) error {
	if cause == nil {
		return err
	}
	return errors.Join(err, cause)
}

// halfOpenAt is when the named open breaker lets a probe through.
func (b *breakers) halfOpenAt(name string) time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.openedAt[name].Add(b.cooldown)
}

// apiFamily names the API a path belongs to: the collection under a workspace ("items",
// "roleAssignments", "git", "folders") or the top-level one ("workspaces", "capacities", "operations").
func apiFamily(path string) string {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	if len(segs) > 0 && segs[0] == "v1" {
		segs = segs[1:]
	}
	switch {
	case len(segs) == 0:
		return "root"
	case segs[0] == "workspaces" && len(segs) >= 3:
		return segs[2]
	default:
		return segs[0]
	}
}

type breakerPolicy struct{ b *breakers }

func (p breakerPolicy) Do(req *policy.Request) (*http.Response, error) {
	u := req.Raw().URL
	name := u.Host + " " + apiFamily(u.Path)
	cb := p.b.get(name)
	telemetry.AttemptFrom(req.Raw().Context()).BreakerState(cb.State().String())
	resp, err := cb.Execute(func() (*http.Response, error) {
		resp, err := req.Next()
		if err != nil {
			var fe *Error
			if !errors.Is(err, context.Canceled) && !errors.As(err, &fe) {
				p.b.failed(name, transportError("", err))
			}
			return resp, err
		}
		if resp.StatusCode >= 500 {
			p.b.failed(name, responseError("", resp))
			return resp, errServerFailure
		}
		return resp, nil
	})
	cause, because := p.b.cause(name)
	switch {
	case errors.Is(err, gobreaker.ErrTooManyRequests):
		// Half-open: one probe is on its way; the others are not sent rather than pile onto a service
		// that may still be down (the retry policy sends them again after its backoff).
		return nil, &Error{
			ErrorCode: CodeCircuitBreakerOpen,
			Message: fmt.Sprintf("circuit breaker %q is half-open: one probe request is testing the service, this call was not sent%s",
				name, because),
			Hint: "the service kept failing for this API and is being probed; run again in a moment, or pass --no-circuit-breaker to keep trying",
			Err:  opened(err, cause),
		}
	case errors.Is(err, gobreaker.ErrOpenState):
		at := p.b.halfOpenAt(name)
		return nil, &Error{
			ErrorCode:  CodeCircuitBreakerOpen,
			RetryAfter: max(time.Until(at), 0), // the retry policy waits this long for the half-open probe
			Message: fmt.Sprintf("circuit breaker %q is open after %d consecutive failures%s; it half-opens at %s (in %s)",
				name, p.b.failures, because, at.UTC().Format(time.TimeOnly), time.Until(at).Round(time.Second)),
			Hint: "the service keeps failing for this API; check its status (for Fabric https://support.fabric.microsoft.com/support/) and run again, or pass --no-circuit-breaker to keep trying",
			Err:  opened(err, cause),
		}
	case errors.Is(err, errServerFailure):
		return resp, nil
	}
	return resp, err
}

// OpenBreakers names the client's circuit breakers that are open or half-open, sorted; none when
// the breaker is off. A long-running caller (fabplan serve) reports it as readiness.
func (c *Client) OpenBreakers() []string {
	if c.breakers == nil {
		return nil
	}
	b := c.breakers
	b.mu.Lock()
	cbs := make(map[string]*gobreaker.CircuitBreaker[*http.Response], len(b.m))
	maps.Copy(cbs, b.m)
	b.mu.Unlock()
	var open []string
	for name, cb := range cbs {
		// State is read outside b.mu: it may move the breaker to half-open, which calls back into
		// OnStateChange, which takes b.mu.
		if cb.State() != gobreaker.StateClosed {
			open = append(open, name+" ("+cb.State().String()+")")
		}
	}
	slices.Sort(open)
	return open
}
