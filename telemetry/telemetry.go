package telemetry

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/contrib/bridges/otelslog"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	lognoop "go.opentelemetry.io/otel/log/noop"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// ScopeName is the instrumentation scope of everything fabplan emits.
const ScopeName = "github.com/fabplan/fabplan"

// DefaultFlushTimeout bounds the final export at exit.
const DefaultFlushTimeout = 2 * time.Second

// Options configure Setup. Exporters are chosen from the environment only.
type Options struct {
	// Getenv reads the environment; nil = os.Getenv. The OTLP exporters themselves read the rest of
	// the OTEL_EXPORTER_OTLP_* variables (headers, timeout, certificates) from the process environment.
	Getenv func(string) string
	// ServiceVersion is fabplan's version, the service.version resource attribute.
	ServiceVersion string
	// Readers are metric readers the caller serves itself (a Prometheus exporter for /metrics). They
	// are attached whether or not an exporter is configured, and FEATURE_USE_TELEMETRY=false, which
	// turns the exporters off, leaves them on: the caller asked for them explicitly.
	Readers []sdkmetric.Reader
	// Redact scrubs secret values from every string exported (span and log attributes, messages,
	// metric attributes); pass secrets.Redactor.Redact. Bearer tokens and JWTs are scrubbed always.
	Redact func(string) string
	// HTTPClient sends to Application Insights; nil = http.DefaultClient.
	HTTPClient *http.Client
	// FlushTimeout bounds Shutdown's final export; default DefaultFlushTimeout.
	FlushTimeout time.Duration
	// ErrorLog receives export failures, which never fail a run; nil = discard.
	ErrorLog *slog.Logger
}

// Telemetry holds the providers and fabplan's instruments. A nil *Telemetry is valid and emits
// nothing, so callers never check whether telemetry is on.
type Telemetry struct {
	tp     trace.TracerProvider
	mp     metric.MeterProvider
	lp     log.LoggerProvider
	tracer trace.Tracer
	logger log.Logger
	inst   *instruments
	// exporting is true when an exporter (OTLP or Application Insights) is configured.
	exporting bool
	logs      bool
	flush     time.Duration
	shutdowns []func(context.Context) error
	redact    func(string) string
}

// Setup builds the providers. Telemetry is exported when OTLP (OTEL_EXPORTER_OTLP_ENDPOINT, a
// per-signal endpoint, or OTEL_{TRACES,METRICS,LOGS}_EXPORTER=otlp) or Application Insights
// (APPLICATIONINSIGHTS_CONNECTION_STRING) is configured, unless FEATURE_USE_TELEMETRY=false or
// OTEL_SDK_DISABLED=true. With no exporter and no Readers it returns a Telemetry that emits
// nothing. Call Shutdown at exit: it flushes within FlushTimeout.
func Setup(ctx context.Context, o Options) (*Telemetry, error) {
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.FlushTimeout <= 0 {
		o.FlushTimeout = DefaultFlushTimeout
	}
	if o.ErrorLog == nil {
		o.ErrorLog = slog.New(slog.DiscardHandler)
	}
	redact := scrubber(o.Redact)
	t := &Telemetry{flush: o.FlushTimeout, redact: redact}
	exp, err := exportersFromEnv(ctx, o)
	if err != nil {
		return nil, err
	}
	t.exporting = exp.any()
	if !t.exporting && len(o.Readers) == 0 {
		return nil, nil
	}
	setErrorHandler(o.ErrorLog)
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", "fabplan"),
			attribute.String("service.version", o.ServiceVersion)),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(), // OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES win
	)
	if err != nil {
		return nil, fmt.Errorf("telemetry: OTEL_RESOURCE_ATTRIBUTES: %w", err)
	}

	t.tp = tracenoop.NewTracerProvider()
	if len(exp.spans) > 0 {
		opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
		for _, e := range exp.spans {
			// The batch processor's queue is bounded (OTEL_BSP_MAX_QUEUE_SIZE, default 2048) and
			// drops rather than blocks when full, so a slow collector never slows a run.
			opts = append(opts, sdktrace.WithBatcher(redactingSpans{e, redact}))
		}
		tp := sdktrace.NewTracerProvider(opts...)
		t.tp = tp
		t.shutdowns = append(t.shutdowns, tp.Shutdown)
	}

	t.mp = metricnoop.NewMeterProvider()
	if len(exp.metrics) > 0 || len(o.Readers) > 0 {
		opts := []sdkmetric.Option{sdkmetric.WithResource(res)}
		for _, e := range exp.metrics {
			opts = append(opts, sdkmetric.WithReader(sdkmetric.NewPeriodicReader(redactingMetrics{e, redact})))
		}
		for _, r := range o.Readers {
			opts = append(opts, sdkmetric.WithReader(r))
		}
		mp := sdkmetric.NewMeterProvider(opts...)
		t.mp = mp
		t.shutdowns = append(t.shutdowns, mp.Shutdown)
	}

	t.lp = lognoop.NewLoggerProvider()
	if len(exp.logs) > 0 {
		opts := []sdklog.LoggerProviderOption{sdklog.WithResource(res)}
		for _, e := range exp.logs {
			// The redacting processor runs before the batch one sees the record.
			opts = append(opts, sdklog.WithProcessor(redactingLogs{sdklog.NewBatchProcessor(e), redact}))
		}
		lp := sdklog.NewLoggerProvider(opts...)
		t.lp = lp
		t.logs = true
		t.shutdowns = append(t.shutdowns, lp.Shutdown)
	}

	t.tracer = t.tp.Tracer(ScopeName, trace.WithInstrumentationVersion(o.ServiceVersion))
	t.logger = t.lp.Logger(ScopeName, log.WithInstrumentationVersion(o.ServiceVersion))
	if t.inst, err = newInstruments(t.mp.Meter(ScopeName, metric.WithInstrumentationVersion(o.ServiceVersion))); err != nil {
		return nil, err
	}
	return t, nil
}

// Exporting reports whether an exporter is configured (Readers alone do not count).
func (t *Telemetry) Exporting() bool { return t != nil && t.exporting }

// TracerProvider is the provider spans go to (a no-op one when telemetry is off).
func (t *Telemetry) TracerProvider() trace.TracerProvider {
	if t == nil {
		return tracenoop.NewTracerProvider()
	}
	return t.tp
}

// MeterProvider is the provider fabplan's instruments live on (a no-op one when telemetry is off).
func (t *Telemetry) MeterProvider() metric.MeterProvider {
	if t == nil {
		return metricnoop.NewMeterProvider()
	}
	return t.mp
}

// LogHandler is the slog handler that forwards records to the configured log exporters, or nil
// when logs are not exported. Combine it with the console handler through Tee.
func (t *Telemetry) LogHandler() slog.Handler {
	if t == nil || !t.logs {
		return nil
	}
	return otelslog.NewHandler(ScopeName, otelslog.WithLoggerProvider(t.lp))
}

// Shutdown flushes what is queued and stops the exporters, giving up after the flush timeout
// (or ctx's deadline, whichever is sooner). Export failures are reported to ErrorLog, not
// returned: telemetry never fails a run.
func (t *Telemetry) Shutdown(ctx context.Context) {
	if t == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), t.flush)
	defer cancel()
	var wg sync.WaitGroup
	for _, s := range t.shutdowns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s(ctx); err != nil {
				otel.Handle(err)
			}
		}()
	}
	// A provider's shutdown honours ctx, but an exporter stuck in a dial may not: never wait
	// past the deadline.
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		otel.Handle(fmt.Errorf("telemetry: flush abandoned after %s", t.flush))
	}
	t.shutdowns = nil
}

var errorLog atomic.Pointer[slog.Logger]
var errorHandlerOnce sync.Once

// setErrorHandler routes the SDK's export errors to log: the first as a warning (an SRE should
// learn the collector is unreachable), the rest at debug level so a dead collector does not flood
// stderr.
func setErrorHandler(l *slog.Logger) {
	errorLog.Store(l)
	errorHandlerOnce.Do(func() {
		var warned atomic.Bool
		otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
			l := errorLog.Load()
			msg := scrubTokens(err.Error())
			if warned.CompareAndSwap(false, true) {
				l.Warn("telemetry export failed; the run goes on (further failures are logged at debug level)", "error", msg)
				return
			}
			l.Debug("telemetry export failed", "error", msg)
		}))
	})
}

// ConfigError is a telemetry variable with a value fabplan cannot use.
type ConfigError struct {
	Var, Value, Want string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("%s=%q: %s", e.Var, e.Value, e.Want)
}
