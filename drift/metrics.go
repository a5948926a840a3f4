package drift

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

// Metric names; Prometheus shows them with dots as underscores, counters with _total and
// seconds with _seconds (docs/serve.md lists them).
const (
	MetricCycles        = "fabplan.drift.cycles"         // cycles by pair and result
	MetricCycleDuration = "fabplan.drift.cycle.duration" // seconds per cycle, by pair
	MetricChanges       = "fabplan.drift.changes"        // changes the last cycle found, by pair and action
	MetricDetected      = "fabplan.drift.detected"       // new or changed drift, by pair
	MetricLastCycle     = "fabplan.drift.last_cycle"     // unix time the pair's last cycle ended
	MetricReconciles    = "fabplan.drift.reconciles"     // reconcile runs by pair and result
	MetricReady         = "fabplan.serve.ready"          // 1 when /readyz answers 200
)

type metrics struct {
	cycles     metric.Int64Counter
	duration   metric.Float64Histogram
	changes    metric.Int64Gauge
	detected   metric.Int64Counter
	lastCycle  metric.Float64Gauge
	reconciles metric.Int64Counter
	ready      metric.Int64ObservableGauge
	reg        metric.Registration
}

func newMetrics(mp metric.MeterProvider, ready func() bool) (*metrics, error) {
	if mp == nil {
		mp = noop.NewMeterProvider()
	}
	m := mp.Meter("github.com/fabplan/fabplan/drift")
	var (
		ms  metrics
		err error
		all []error
	)
	note := func(e error) { all = append(all, e) }
	ms.cycles, err = m.Int64Counter(MetricCycles, metric.WithDescription("Drift detection cycles by pair and result (in_sync, drift, error)."))
	note(err)
	ms.duration, err = m.Float64Histogram(MetricCycleDuration, metric.WithUnit("s"), metric.WithDescription("How long a drift detection cycle took."))
	note(err)
	ms.changes, err = m.Int64Gauge(MetricChanges, metric.WithDescription("Changes the pair's last successful cycle found, by action."))
	note(err)
	ms.detected, err = m.Int64Counter(MetricDetected, metric.WithDescription("Times new or changed drift was found."))
	note(err)
	ms.lastCycle, err = m.Float64Gauge(MetricLastCycle, metric.WithUnit("s"), metric.WithDescription("Unix time the pair's last cycle ended."))
	note(err)
	ms.reconciles, err = m.Int64Counter(MetricReconciles, metric.WithDescription("Reconcile runs by pair and result (applied, failed)."))
	note(err)
	ms.ready, err = m.Int64ObservableGauge(MetricReady, metric.WithDescription("1 when every readiness check passes, else 0."))
	note(err)
	for _, e := range all {
		if e != nil {
			return nil, e
		}
	}
	ms.reg, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		v := int64(0)
		if ready() {
			v = 1
		}
		o.ObserveInt64(ms.ready, v)
		return nil
	}, ms.ready)
	if err != nil {
		return nil, err
	}
	return &ms, nil
}

func pairAttr(name string) attribute.KeyValue { return attribute.String("pair", name) }
