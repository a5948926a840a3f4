// Package telemetry is fabplan's OpenTelemetry: it builds the tracer, meter and logger providers
// from the standard environment (OTEL_* for OTLP over gRPC or HTTP, APPLICATIONINSIGHTS_CONNECTION_STRING
// for Application Insights, FEATURE_USE_TELEMETRY=false to turn both off), and holds the hooks the
// rest of fabplan calls to emit spans and metrics: a run, its phases and steps (engine), each HTTP
// attempt, retry and breaker transition (fabric), drift checks and rollbacks.
//
// Telemetry must never harm a run: exports are batched in bounded queues that drop rather than
// block, export failures are logged and never returned, Shutdown gives the final flush a short
// deadline, and every exported string passes the secrets redactor and a token scrubber.
//
// Use:
//
//	tel, err := telemetry.Setup(ctx, telemetry.Options{
//		ServiceVersion: version,
//		Redact:         redactor.Redact,               // secrets.Redactor
//		Readers:        []sdkmetric.Reader{promExporter}, // optional: e.g. a Prometheus /metrics
//	})
//	defer tel.Shutdown(ctx)
//	tel.Drift(ctx, "plans/prod.star", map[string]int{"update": 2})
//
// A nil *Telemetry is valid and emits nothing; Setup returns nil when nothing is configured and
// no Readers are given. Metric, span and attribute names are all in names.go.
package telemetry
