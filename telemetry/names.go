package telemetry

// Every name fabplan emits is declared here and nowhere else: the dashboards and alert rules under
// deploy/monitoring are checked against this file (TestMonitoringNamesAreEmitted). Names follow the
// OpenTelemetry semantic conventions where one exists (HTTP client spans and duration, error.type);
// fabplan's own live under "fabplan.".

// Instrument names.
const (
	// MetricHTTPDuration is semconv's HTTP client duration (s), one point per attempt; its count by
	// http.response.status_code gives requests by route and status, and 429s.
	MetricHTTPDuration = "http.client.request.duration"
	// MetricRetries counts attempts beyond the first of a call (attributes: method, route, reason).
	MetricRetries = "fabplan.http.retries"
	// MetricThrottleWait is the time (s) an attempt waited for the identity's shared throttle.
	MetricThrottleWait = "fabplan.throttle.wait.duration"
	// MetricBreakerTransitions counts circuit breaker state changes (breaker, from, to).
	MetricBreakerTransitions = "fabplan.breaker.transitions"
	// MetricStepDuration is the time (s) one change took (action, kind, outcome).
	MetricStepDuration = "fabplan.step.duration"
	// MetricChanges counts changes carried out, by action, kind and outcome.
	MetricChanges = "fabplan.changes"
	// MetricDriftResources is the number of resources whose live state differs from the plan at the
	// last check (plan, action): a gauge, set by every refresh and by `fabplan serve`'s checks.
	MetricDriftResources = "fabplan.drift.resources"
	// MetricDriftChecks counts drift checks (plan, drift.detected).
	MetricDriftChecks = "fabplan.drift.checks"
	// MetricRollbacks counts rollbacks by outcome (complete, incomplete).
	MetricRollbacks = "fabplan.rollbacks"
	// `fabplan serve` (package drift) creates these on the same MeterProvider; a check's plan
	// attribute is the watched pair's name. MetricDriftCheckFailures counts checks that did not
	// compute a plan; MetricDriftCheckDuration is a check's wall time (s); MetricDriftLastCheck the
	// unix time (s) the pair's last check ended; MetricDriftReconciles counts reconcile runs by
	// outcome (ok, failed); MetricServeReady is 1 while /readyz answers 200.
	MetricDriftCheckFailures = "fabplan.drift.check.failures"
	MetricDriftCheckDuration = "fabplan.drift.check.duration"
	MetricDriftLastCheck     = "fabplan.drift.last_check"
	MetricDriftReconciles    = "fabplan.drift.reconciles"
	MetricServeReady         = "fabplan.serve.ready"
	// MetricRuns counts runs by result; MetricRunDuration is their wall time (s).
	MetricRuns        = "fabplan.runs"
	MetricRunDuration = "fabplan.run.duration"
)

// Span names. An HTTP attempt's span is named "{method} {url.template}" as semconv asks; a step's
// is "{action} {kind}".
const (
	SpanRun      = "fabplan.run"
	SpanEvaluate = "fabplan.evaluate"
	SpanRefresh  = "fabplan.refresh"
	SpanApply    = "fabplan.apply"
	SpanRollback = "fabplan.rollback"
	// SpanDriftCheck is one cycle of `fabplan serve` for one pair.
	SpanDriftCheck = "fabplan.drift.check"
	// EventDrift is the event name of the log record a drift check emits.
	EventDrift = "fabplan.drift"
)

// Attribute keys. The semconv ones are spelled out rather than imported from semconv/vX so that
// this file stays the one list the monitoring test reads.
const (
	AttrHTTPMethod    = "http.request.method"
	AttrHTTPStatus    = "http.response.status_code"
	AttrURLTemplate   = "url.template"
	AttrServerAddress = "server.address"
	AttrResendCount   = "http.request.resend_count"
	AttrErrorType     = "error.type"

	AttrErrorCode    = "fabplan.error_code" // Fabric's errorCode
	AttrRequestID    = "fabplan.request_id" // Fabric's requestId (spans only: unbounded)
	AttrAttempt      = "fabplan.attempt"    // 1 for the first attempt of a call
	AttrOperation    = "fabplan.operation"  // the client method, e.g. CreateWorkspace
	AttrThrottleWait = "fabplan.throttle.wait"
	AttrBreakerState = "fabplan.breaker.state" // closed, half-open, open
	AttrBreaker      = "fabplan.breaker.name"
	AttrBreakerFrom  = "fabplan.breaker.from"
	AttrBreakerTo    = "fabplan.breaker.to"
	AttrRetryReason  = "fabplan.retry.reason" // the status code, or the error type, that was retried

	AttrRunID    = "fabplan.run.id"
	AttrPlan     = "fabplan.plan"
	AttrResult   = "fabplan.run.result"
	AttrAddress  = "fabplan.step.address"
	AttrAction   = "fabplan.action"
	AttrKind     = "fabplan.resource.kind"
	AttrOutcome  = "fabplan.outcome" // ok, failed (steps); complete, incomplete (rollbacks)
	AttrDetected = "fabplan.drift.detected"
	AttrUndone   = "fabplan.rollback.undone"
	AttrFailures = "fabplan.rollback.failures"
)

// Run results, the values of AttrResult.
const (
	ResultApplied            = "applied"
	ResultNoChanges          = "no_changes"
	ResultFailed             = "failed"      // failed before any change, or with rollback off
	ResultRolledBack         = "rolled_back" // a change failed and everything was undone
	ResultRollbackIncomplete = "rollback_incomplete"
)

// Outcomes, the values of AttrOutcome.
const (
	OutcomeOK         = "ok"
	OutcomeFailed     = "failed"
	OutcomeComplete   = "complete"
	OutcomeIncomplete = "incomplete"
)
