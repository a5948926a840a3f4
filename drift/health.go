package drift

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/fabplan/fabplan/fabric"
)

// health is what the cycles have learnt about the identity and Fabric; guarded by Watcher.mu.
// nil errors with a zero time mean "not known yet".
type health struct {
	credErr, fabricErr error
	credAt, fabricAt   time.Time
}

// Check names of /readyz.
const (
	CheckCredentials = "credentials"
	CheckFabric      = "fabric"
	CheckBreaker     = "breaker"
	CheckCycles      = "cycles"
)

// observe learns from a cycle's outcome. A plan that does not evaluate says nothing about the
// identity or Fabric, and leaves both as they were.
func (h *health) observe(err error, at time.Time) {
	var fe *fabric.Error
	switch {
	case err == nil:
		h.credErr, h.credAt, h.fabricErr, h.fabricAt = nil, at, nil, at
	case errors.Is(err, context.DeadlineExceeded):
		h.fabricErr, h.fabricAt = err, at
	case !errors.As(err, &fe):
	case fe.ErrorCode == "AuthenticationFailed" || fe.StatusCode == http.StatusUnauthorized:
		h.credErr, h.credAt = err, at
	case fe.StatusCode >= 500, fe.ErrorCode == fabric.CodeRequestFailed, fe.ErrorCode == fabric.CodeCircuitBreakerOpen:
		h.fabricErr, h.fabricAt = err, at
	case fe.StatusCode != 0:
		// Fabric answered (403, 404, a 429 after every retry): reachable, and it took the token.
		h.credErr, h.credAt, h.fabricErr, h.fabricAt = nil, at, nil, at
	}
}

// Check is one readiness check.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

// Readiness is /readyz's answer.
type Readiness struct {
	Ready  bool    `json:"ready"`
	Checks []Check `json:"checks"`
}

// Ready evaluates the readiness checks: the credentials got a token and Fabric answered in the
// latest cycle that reached it, no circuit breaker is open, and every pair finished a cycle within
// ReadyCycles of its intervals.
func (w *Watcher) Ready() Readiness {
	now := w.o.Now()
	open := w.o.OpenBreakers()
	w.mu.Lock()
	defer w.mu.Unlock()
	h := w.health
	known := func(name string, err error, at time.Time, what string) Check {
		switch {
		case at.IsZero():
			return Check{Name: name, Detail: "not checked yet: no cycle has " + what}
		case err != nil:
			return Check{Name: name, Detail: firstLine(err.Error())}
		}
		return Check{Name: name, OK: true}
	}
	checks := []Check{
		known(CheckCredentials, h.credErr, h.credAt, "used them"),
		known(CheckFabric, h.fabricErr, h.fabricAt, "reached Fabric"),
	}
	if len(open) > 0 {
		checks = append(checks, Check{Name: CheckBreaker, Detail: "not closed: " + strings.Join(open, ", ")})
	} else {
		checks = append(checks, Check{Name: CheckBreaker, OK: true})
	}
	c := Check{Name: CheckCycles, OK: true}
	var late []string
	for _, ps := range w.pairs {
		limit := time.Duration(w.o.ReadyCycles) * time.Duration(ps.pair.Interval)
		switch {
		case ps.last == nil:
			late = append(late, ps.pair.Name+": no cycle finished yet")
		case now.Sub(ps.last.Finished) > limit:
			late = append(late, fmt.Sprintf("%s: last cycle ended %s ago (more than %d intervals)", ps.pair.Name,
				now.Sub(ps.last.Finished).Round(time.Second), w.o.ReadyCycles))
		}
	}
	if len(late) > 0 {
		c.OK, c.Detail = false, strings.Join(late, "; ")
	}
	checks = append(checks, c)
	r := Readiness{Ready: true, Checks: checks}
	for _, c := range checks {
		r.Ready = r.Ready && c.OK
	}
	return r
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}
