package drift

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/fabplan/fabplan/telemetry"
)

// metrics are serve's instruments beside telemetry's drift gauge and check counter; their names
// are telemetry's, so that dashboards and alert rules are checked against one list.
type metrics struct {
	failures   metric.Int64Counter
	duration   metric.Float64Histogram
	lastCheck  metric.Float64Gauge
	reconciles metric.Int64Counter
	ready      metric.Int64ObservableGauge
	reg        metric.Registration
}

func newMetrics(mp metric.MeterProvider, ready func() bool) (*metrics, error) {
	m := mp.Meter(telemetry.ScopeName)
	var (
		ms   metrics
		err  error
		errs []error
	)
	ms.failures, err = m.Int64Counter(telemetry.MetricDriftCheckFailures, metric.WithUnit("{check}"),
		metric.WithDescription("Drift checks that did not compute a plan."))
	errs = append(errs, err)
	ms.duration, err = m.Float64Histogram(telemetry.MetricDriftCheckDuration, metric.WithUnit("s"),
		metric.WithDescription("Wall time of a drift check."))
	errs = append(errs, err)
	ms.lastCheck, err = m.Float64Gauge(telemetry.MetricDriftLastCheck, metric.WithUnit("s"),
		metric.WithDescription("Unix time the pair's last drift check ended."))
	errs = append(errs, err)
	ms.reconciles, err = m.Int64Counter(telemetry.MetricDriftReconciles, metric.WithUnit("{run}"),
		metric.WithDescription("Reconcile runs by outcome."))
	errs = append(errs, err)
	ms.ready, err = m.Int64ObservableGauge(telemetry.MetricServeReady,
		metric.WithDescription("1 while every readiness check of fabplan serve passes, else 0."))
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return nil, err
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

func planAttr(pair string) attribute.KeyValue { return attribute.String(telemetry.AttrPlan, pair) }
