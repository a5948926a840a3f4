package telemetry

import (
	"errors"

	"go.opentelemetry.io/otel/metric"
)

// instruments are fabplan's metric instruments, created once per Telemetry.
type instruments struct {
	httpDuration       metric.Float64Histogram
	retries            metric.Int64Counter
	throttleWait       metric.Float64Histogram
	breakerTransitions metric.Int64Counter
	stepDuration       metric.Float64Histogram
	changes            metric.Int64Counter
	driftResources     metric.Int64Gauge
	driftChecks        metric.Int64Counter
	rollbacks          metric.Int64Counter
	runs               metric.Int64Counter
	runDuration        metric.Float64Histogram
}

// secondsBuckets suit calls and steps (tens of ms to minutes); semconv's advisory boundaries for
// http.client.request.duration stop at 10 s, too short for Fabric's long-running operations.
var secondsBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}

func newInstruments(m metric.Meter) (*instruments, error) {
	var errs []error
	hist := func(name, desc string) metric.Float64Histogram {
		h, err := m.Float64Histogram(name, metric.WithUnit("s"), metric.WithDescription(desc),
			metric.WithExplicitBucketBoundaries(secondsBuckets...))
		errs = append(errs, err)
		return h
	}
	counter := func(name, unit, desc string) metric.Int64Counter {
		c, err := m.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	in := &instruments{
		httpDuration:       hist(MetricHTTPDuration, "Duration of HTTP client requests (one per attempt)."),
		retries:            counter(MetricRetries, "{retry}", "Attempts beyond the first of a call."),
		throttleWait:       hist(MetricThrottleWait, "Time an attempt waited for the identity's shared throttle."),
		breakerTransitions: counter(MetricBreakerTransitions, "{transition}", "Circuit breaker state changes."),
		stepDuration:       hist(MetricStepDuration, "Time one change took."),
		changes:            counter(MetricChanges, "{change}", "Changes carried out."),
		driftChecks:        counter(MetricDriftChecks, "{check}", "Drift checks made."),
		rollbacks:          counter(MetricRollbacks, "{rollback}", "Rollbacks by outcome."),
		runs:               counter(MetricRuns, "{run}", "Runs by result."),
		runDuration:        hist(MetricRunDuration, "Wall time of a run."),
	}
	var err error
	in.driftResources, err = m.Int64Gauge(MetricDriftResources, metric.WithUnit("{resource}"),
		metric.WithDescription("Resources whose live state differs from the plan at the last check."))
	errs = append(errs, err)
	return in, errors.Join(errs...)
}
