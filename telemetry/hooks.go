package telemetry

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// The hooks below are what fabplan's packages call. Every one is safe on a nil *Telemetry and
// then costs a nil check.

// Run is an open run span; End it with the run's result.
type Run struct {
	t     *Telemetry
	span  trace.Span
	start time.Time
	plan  string
}

// StartRun opens the root span of a run.
func (t *Telemetry) StartRun(ctx context.Context, runID, plan string) (context.Context, *Run) {
	if t == nil {
		return ctx, nil
	}
	ctx, span := t.tracer.Start(ctx, SpanRun, trace.WithAttributes(
		attribute.String(AttrRunID, runID), attribute.String(AttrPlan, plan)))
	return ctx, &Run{t: t, span: span, start: time.Now(), plan: plan}
}

// SetRunID names the run once the journal has given it an id (runs with no changes have none).
func (r *Run) SetRunID(id string) {
	if r != nil {
		r.span.SetAttributes(attribute.String(AttrRunID, id))
	}
}

// End closes the run span and counts the run under result (Result* constants).
func (r *Run) End(ctx context.Context, result string, err error) {
	if r == nil {
		return
	}
	attrs := metric.WithAttributes(attribute.String(AttrResult, result), attribute.String(AttrPlan, r.plan))
	r.t.inst.runs.Add(ctx, 1, attrs)
	r.t.inst.runDuration.Record(ctx, time.Since(r.start).Seconds(), attrs)
	r.span.SetAttributes(attribute.String(AttrResult, result))
	endSpan(r.span, err)
}

// StartPhase opens a phase span (SpanEvaluate, SpanRefresh, SpanApply, SpanRollback) under the
// span in ctx. End the returned span with EndSpan.
func (t *Telemetry) StartPhase(ctx context.Context, name string) (context.Context, trace.Span) {
	if t == nil {
		return ctx, nil
	}
	return t.tracer.Start(ctx, name)
}

// EndSpan ends a span from StartPhase, marking it failed when err is not nil.
func EndSpan(span trace.Span, err error) {
	if span != nil {
		endSpan(span, err)
	}
}

func endSpan(span trace.Span, err error) {
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
		span.SetAttributes(attribute.String(AttrErrorType, errorType(err)))
	}
	span.End()
}

// errorType is error.type for a failure with no code: its Go type, as semconv suggests.
func errorType(err error) string { return fmt.Sprintf("%T", err) }

// Step is an open step span.
type Step struct {
	t      *Telemetry
	span   trace.Span
	start  time.Time
	action string
	kind   string
}

// StartStep opens the span of one change (address, action, resource kind) under the apply phase.
func (t *Telemetry) StartStep(ctx context.Context, addr, action, kind string) (context.Context, *Step) {
	if t == nil {
		return ctx, nil
	}
	ctx, span := t.tracer.Start(ctx, action+" "+kind, trace.WithAttributes(
		attribute.String(AttrAddress, addr), attribute.String(AttrAction, action), attribute.String(AttrKind, kind)))
	return ctx, &Step{t: t, span: span, start: time.Now(), action: action, kind: kind}
}

// End closes the step, recording its duration and counting the change by outcome.
func (s *Step) End(ctx context.Context, err error) {
	if s == nil {
		return
	}
	outcome := OutcomeOK
	if err != nil {
		outcome = OutcomeFailed
	}
	attrs := metric.WithAttributes(attribute.String(AttrAction, s.action), attribute.String(AttrKind, s.kind),
		attribute.String(AttrOutcome, outcome))
	s.t.inst.stepDuration.Record(ctx, time.Since(s.start).Seconds(), attrs)
	s.t.inst.changes.Add(ctx, 1, attrs)
	s.span.SetAttributes(attribute.String(AttrOutcome, outcome))
	endSpan(s.span, err)
}

// Attempt is one HTTP attempt in flight. The middleware that admits it (throttle, breaker) finds
// it in the context with AttemptFrom and notes what it did.
type Attempt struct {
	t     *Telemetry
	span  trace.Span
	start time.Time
	attrs []attribute.KeyValue // method, route, server: shared by the span and the metrics

	mu           sync.Mutex
	throttleWait time.Duration
	breakerState string
}

type attemptKey struct{}

// AttemptFrom returns the attempt a request's context carries, or nil.
func AttemptFrom(ctx context.Context) *Attempt {
	a, _ := ctx.Value(attemptKey{}).(*Attempt)
	return a
}

// StartAttempt opens the client span of one HTTP attempt: method, the path's route template
// (RouteTemplate), host, the client operation and the attempt number (1 for the first).
func (t *Telemetry) StartAttempt(ctx context.Context, method, host, path, op string, attempt int) (context.Context, *Attempt) {
	if t == nil {
		return ctx, nil
	}
	route := RouteTemplate(path)
	common := []attribute.KeyValue{attribute.String(AttrHTTPMethod, method), attribute.String(AttrURLTemplate, route),
		attribute.String(AttrServerAddress, host)}
	spanAttrs := append(common[:len(common):len(common)], attribute.String(AttrOperation, op),
		attribute.Int(AttrAttempt, attempt))
	if attempt > 1 {
		spanAttrs = append(spanAttrs, attribute.Int(AttrResendCount, attempt-1))
	}
	ctx, span := t.tracer.Start(ctx, method+" "+route, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(spanAttrs...))
	a := &Attempt{t: t, span: span, start: time.Now(), attrs: common}
	return context.WithValue(ctx, attemptKey{}, a), a
}

// ThrottleWaited notes the time the attempt waited for admission.
func (a *Attempt) ThrottleWaited(ctx context.Context, d time.Duration) {
	if a == nil {
		return
	}
	a.mu.Lock()
	a.throttleWait += d
	a.mu.Unlock()
	a.t.inst.throttleWait.Record(ctx, d.Seconds(), metric.WithAttributes(a.attrs...))
}

// BreakerState notes the state of the circuit breaker the attempt went through.
func (a *Attempt) BreakerState(state string) {
	if a == nil {
		return
	}
	a.mu.Lock()
	a.breakerState = state
	a.mu.Unlock()
}

// End closes the attempt: status 0 when no answer came; errorCode and requestID from the answer.
func (a *Attempt) End(ctx context.Context, status int, errorCode, requestID string, err error) {
	if a == nil {
		return
	}
	a.mu.Lock()
	wait, state := a.throttleWait, a.breakerState
	a.mu.Unlock()
	span := a.span
	span.SetAttributes(attribute.Float64(AttrThrottleWait, wait.Seconds()))
	if state != "" {
		span.SetAttributes(attribute.String(AttrBreakerState, state))
	}
	if requestID != "" {
		span.SetAttributes(attribute.String(AttrRequestID, requestID))
	}
	mattrs := a.attrs
	if status != 0 {
		span.SetAttributes(attribute.Int(AttrHTTPStatus, status))
		mattrs = append(mattrs[:len(mattrs):len(mattrs)], attribute.Int(AttrHTTPStatus, status))
	}
	if errorCode != "" {
		span.SetAttributes(attribute.String(AttrErrorCode, errorCode))
		mattrs = append(mattrs[:len(mattrs):len(mattrs)], attribute.String(AttrErrorCode, errorCode))
	}
	etype := ""
	switch {
	case err != nil:
		etype = errorType(err)
	case status >= 400:
		etype = strconv.Itoa(status)
	}
	if etype != "" {
		span.SetAttributes(attribute.String(AttrErrorType, etype))
		span.SetStatus(codes.Error, errorText(err, errorCode))
		mattrs = append(mattrs[:len(mattrs):len(mattrs)], attribute.String(AttrErrorType, etype))
	}
	a.t.inst.httpDuration.Record(ctx, time.Since(a.start).Seconds(), metric.WithAttributes(mattrs...))
	span.End()
}

func errorText(err error, code string) string {
	if err != nil {
		return err.Error()
	}
	return code
}

// Retry counts a retry of a call on method and path; reason is the status code or error type
// that was retried.
func (t *Telemetry) Retry(ctx context.Context, method, path, reason string) {
	if t == nil {
		return
	}
	t.inst.retries.Add(ctx, 1, metric.WithAttributes(attribute.String(AttrHTTPMethod, method),
		attribute.String(AttrURLTemplate, RouteTemplate(path)), attribute.String(AttrRetryReason, reason)))
	trace.SpanFromContext(ctx).AddEvent("retry", trace.WithAttributes(attribute.String(AttrRetryReason, reason)))
}

// BreakerTransition counts a circuit breaker's change of state.
func (t *Telemetry) BreakerTransition(ctx context.Context, name, from, to string) {
	if t == nil {
		return
	}
	t.inst.breakerTransitions.Add(ctx, 1, metric.WithAttributes(attribute.String(AttrBreaker, name),
		attribute.String(AttrBreakerFrom, from), attribute.String(AttrBreakerTo, to)))
}

// Drift records one drift check of plan: the number of resources to change by action
// ("create", "update", ...; actions with no change may be left out). It sets the
// fabplan.drift.resources gauge for every action seen so far for plan (0 when gone), counts
// the check, and emits a fabplan.drift log event when anything drifted.
func (t *Telemetry) Drift(ctx context.Context, plan string, byAction map[string]int) {
	if t == nil {
		return
	}
	total := 0
	actions := make([]string, 0, len(byAction))
	for a, n := range byAction {
		total += n
		actions = append(actions, a)
	}
	sort.Strings(actions)
	for _, a := range actions {
		t.inst.driftResources.Record(ctx, int64(byAction[a]), metric.WithAttributes(
			attribute.String(AttrPlan, plan), attribute.String(AttrAction, a)))
	}
	t.inst.driftChecks.Add(ctx, 1, metric.WithAttributes(attribute.String(AttrPlan, plan),
		attribute.Bool(AttrDetected, total > 0)))
	if total == 0 {
		return
	}
	var rec log.Record
	rec.SetEventName(EventDrift)
	rec.SetTimestamp(time.Now())
	rec.SetSeverity(log.SeverityWarn)
	rec.SetSeverityText("WARN")
	rec.SetBody(attribute.StringValue("drift detected: " + strconv.Itoa(total) + " resource(s) differ from " + plan))
	rec.AddAttributes(attribute.String(AttrPlan, plan), attribute.Bool(AttrDetected, true))
	t.logger.Emit(ctx, rec)
}

// Rollback records a rollback's outcome on the span in ctx and counts it.
func (t *Telemetry) Rollback(ctx context.Context, undone, failures int) {
	if t == nil {
		return
	}
	outcome := OutcomeComplete
	if failures > 0 {
		outcome = OutcomeIncomplete
	}
	t.inst.rollbacks.Add(ctx, 1, metric.WithAttributes(attribute.String(AttrOutcome, outcome)))
	trace.SpanFromContext(ctx).SetAttributes(attribute.String(AttrOutcome, outcome),
		attribute.Int(AttrUndone, undone), attribute.Int(AttrFailures, failures))
}
