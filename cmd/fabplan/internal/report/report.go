// Package report is the record of one run that `run --report FILE` and `run --json` write (a
// versioned JSON document, schema in docs/run-report.md) and the Markdown summary
// appended to GITHUB_STEP_SUMMARY or --summary FILE.
package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/fabplan/fabplan/engine"
	"github.com/fabplan/fabplan/fabric"
	"github.com/fabplan/fabplan/telemetry"
)

// SchemaVersion is the report's format version; it changes when a field changes meaning or
// goes away (adding a field keeps it).
const SchemaVersion = 1

// Report is one run.
type Report struct {
	SchemaVersion   int        `json:"schemaVersion"`
	FabplanVersion  string     `json:"fabplanVersion"`
	RunID           string     `json:"runId,omitempty"`
	Plan            string     `json:"plan"`
	Journal         string     `json:"journal,omitempty"`
	TraceID         string     `json:"traceId,omitempty"`
	StartedAt       time.Time  `json:"startedAt"`
	FinishedAt      time.Time  `json:"finishedAt"`
	DurationSeconds float64    `json:"durationSeconds"`
	Result          string     `json:"result"` // telemetry.Result*
	Error           string     `json:"error,omitempty"`
	Changes         []Change   `json:"changes"`
	Requests        Requests   `json:"requests"`
	Rollback        *Rollback  `json:"rollback,omitempty"`
	mu              sync.Mutex `json:"-"`
	byAddr          map[engine.Addr]int
	next            engine.Observer
}

// Change is one planned change and what became of it.
type Change struct {
	Address         string     `json:"address"`
	Kind            string     `json:"kind"`
	Action          string     `json:"action"`
	Position        string     `json:"position,omitempty"`
	ID              string     `json:"id,omitempty"`
	Outcome         string     `json:"outcome"` // ok, failed, not_started, undone, undo_failed
	StartedAt       *time.Time `json:"startedAt,omitempty"`
	DurationSeconds float64    `json:"durationSeconds,omitempty"`
	Error           string     `json:"error,omitempty"`
	ErrorCode       string     `json:"errorCode,omitempty"`
}

// Requests is what the run cost in calls. ThrottleWaitSeconds is wall-clock time during which at least
// one request waited for the throttle's admission (not a sum over requests, which could exceed the run).
type Requests struct {
	Total               int64   `json:"total"`
	Throttled           int64   `json:"throttled"`
	Retries             int64   `json:"retries"`
	Reconciled          int64   `json:"reconciled"`
	BreakerOpened       int64   `json:"breakerOpened"`
	ThrottleWaitSeconds float64 `json:"throttleWaitSeconds"`
}

// Rollback is the outcome of the rollback of a failed run.
type Rollback struct {
	Outcome    string            `json:"outcome"` // complete, incomplete
	Undone     int               `json:"undone"`
	Reconciled int               `json:"reconciled"`
	Failures   []RollbackFailure `json:"failures"`
}

// RollbackFailure is a change that could not be undone, with the live id to clean up by hand.
type RollbackFailure struct {
	Address   string `json:"address"`
	ID        string `json:"id,omitempty"`
	Position  string `json:"position,omitempty"`
	Operation string `json:"operation"`
	Error     string `json:"error"`
}

// Outcomes of a change.
const (
	OutcomeOK         = "ok"
	OutcomeFailed     = "failed"
	OutcomeNotStarted = "not_started"
	OutcomeUndone     = "undone"
	OutcomeUndoFailed = "undo_failed"
)

// New starts the report of a run of plan.
func New(version, plan string, started time.Time) *Report {
	return &Report{SchemaVersion: SchemaVersion, FabplanVersion: version, Plan: plan, StartedAt: started.UTC(),
		Changes: []Change{}, byAddr: map[engine.Addr]int{}}
}

// Planned lists the plan's changes (those that mutate), all not started yet.
func (r *Report) Planned(p *engine.Plan) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range p.Changes {
		if !c.Action.Mutates() {
			continue
		}
		r.byAddr[c.Addr] = len(r.Changes)
		r.Changes = append(r.Changes, Change{Address: string(c.Addr), Kind: c.Kind, Action: c.Action.String(),
			Position: c.Pos.String(), ID: c.ID, Outcome: OutcomeNotStarted})
	}
}

// Observe returns an engine.Observer that records into r and passes every event on to next.
func (r *Report) Observe(next engine.Observer) engine.Observer {
	if next == nil {
		next = engine.NopObserver{}
	}
	r.next = next
	return (*observer)(r)
}

type observer Report

func (o *observer) change(a engine.Addr, f func(c *Change)) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if i, ok := o.byAddr[a]; ok {
		f(&o.Changes[i])
	}
}

func (o *observer) ChangeStarted(c *engine.Change) {
	now := time.Now().UTC()
	o.change(c.Addr, func(rc *Change) { rc.StartedAt = &now })
	o.next.ChangeStarted(c)
}

func (o *observer) ChangeDone(c *engine.Change, took time.Duration) {
	o.change(c.Addr, func(rc *Change) { rc.Outcome, rc.ID, rc.DurationSeconds = OutcomeOK, c.ID, took.Seconds() })
	o.next.ChangeDone(c, took)
}

func (o *observer) ChangeFailed(c *engine.Change, err error) {
	o.change(c.Addr, func(rc *Change) {
		rc.Outcome, rc.Error, rc.ErrorCode = OutcomeFailed, err.Error(), fabric.ErrorCode(err)
		if rc.StartedAt != nil {
			rc.DurationSeconds = time.Since(*rc.StartedAt).Seconds()
		}
	})
	o.next.ChangeFailed(c, err)
}

func (o *observer) UndoDone(step engine.Addr, op string) {
	o.change(step, func(rc *Change) { rc.Outcome = OutcomeUndone })
	o.next.UndoDone(step, op)
}

func (o *observer) UndoFailed(step engine.Addr, op string, err error) {
	o.change(step, func(rc *Change) { rc.Outcome = OutcomeUndoFailed })
	o.next.UndoFailed(step, op, err)
}

// Finish records the end of the run: its result, error, the client's counts and the rollback.
func (r *Report) Finish(result string, err error, stats fabric.Stats, finished time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Result = result
	r.FinishedAt = finished.UTC()
	r.DurationSeconds = finished.Sub(r.StartedAt).Seconds()
	r.Requests = Requests{Total: stats.Requests, Throttled: stats.Throttled, Retries: stats.Retries,
		Reconciled: stats.Reconciled, BreakerOpened: stats.BreakerOpened, ThrottleWaitSeconds: stats.ThrottleWait.Seconds()}
	if err != nil {
		r.Error = err.Error()
	}
	var ae *engine.ApplyError
	if errors.As(err, &ae) && ae.Rollback != nil {
		r.Rollback = RollbackOf(ae.Rollback)
	}
}

// RollbackOf is the report's form of a rollback's result (also what `rollback --json` prints).
func RollbackOf(res *engine.RollbackResult) *Rollback {
	rb := &Rollback{Outcome: telemetry.OutcomeComplete, Undone: res.Undone, Reconciled: res.Reconciled,
		Failures: []RollbackFailure{}}
	// Changes left alone on purpose (changed since the run) are still in effect: they count as
	// not undone, with why.
	for _, f := range append(res.Failures[:len(res.Failures):len(res.Failures)], res.Left...) {
		rb.Failures = append(rb.Failures, RollbackFailure{Address: f.Step, ID: f.ID, Position: f.Pos, Operation: f.Op,
			Error: f.Err.Error()})
	}
	if !res.OK() {
		rb.Outcome = telemetry.OutcomeIncomplete
	}
	return rb
}

// Result names how a run ended, from Run's error.
func Result(changed bool, err error) string {
	var ae *engine.ApplyError
	switch {
	case err == nil && !changed:
		return telemetry.ResultNoChanges
	case err == nil:
		return telemetry.ResultApplied
	case errors.As(err, &ae) && ae.Rollback != nil && ae.Rollback.OK():
		return telemetry.ResultRolledBack
	case errors.As(err, &ae) && ae.Rollback != nil:
		return telemetry.ResultRollbackIncomplete
	}
	return telemetry.ResultFailed
}

// WriteJSON writes the report, indented, through redact (the secrets Redactor).
func (r *Report) WriteJSON(w io.Writer, redact func(string) string) error {
	r.mu.Lock()
	b, err := json.MarshalIndent(r, "", "  ")
	r.mu.Unlock()
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, redact(string(b))+"\n")
	return err
}

// WriteFile writes the report to path (replacing it).
func (r *Report) WriteFile(path string, redact func(string) string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("--report: %w", err)
	}
	if err := r.WriteJSON(f, redact); err != nil {
		f.Close()
		return fmt.Errorf("--report %s: %w", path, err)
	}
	return f.Close()
}

// sortedChanges is the changes by address, for stable Markdown.
func (r *Report) sortedChanges() []Change {
	out := append([]Change(nil), r.Changes...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Address < out[j].Address })
	return out
}

// DriftByAction counts a refreshed plan's changes by action, every mutating action present (0
// when none), so a drift gauge set from it falls back to 0 when the drift is gone.
func DriftByAction(p *engine.Plan) map[string]int {
	out := map[string]int{}
	for _, a := range []engine.Action{engine.Create, engine.Update, engine.Replace, engine.Delete} {
		out[a.String()] = 0
	}
	for _, c := range p.Changes {
		if c.Action.Mutates() {
			out[c.Action.String()]++
		}
	}
	return out
}
