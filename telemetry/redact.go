package telemetry

import (
	"context"
	"regexp"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// Redaction happens at the export boundary, so nothing any instrumentation adds (ours, the SDK's,
// an error message carried into a span status) leaves the process with a secret in it. The
// secret values come from the one Redactor in package secrets; tokens are caught by shape.

var (
	bearerRE = regexp.MustCompile(`(?i)(bearer\s+)[A-Za-z0-9\-._~+/]+=*`)
	jwtRE    = regexp.MustCompile(`eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*`)
)

func scrubTokens(s string) string {
	if strings.Contains(s, "eyJ") {
		s = jwtRE.ReplaceAllString(s, "REDACTED")
	}
	if strings.Contains(strings.ToLower(s), "bearer") {
		s = bearerRE.ReplaceAllString(s, "${1}REDACTED")
	}
	return s
}

// scrubber is the function applied to every exported string.
func scrubber(redact func(string) string) func(string) string {
	if redact == nil {
		return scrubTokens
	}
	return func(s string) string { return scrubTokens(redact(s)) }
}

// sensitiveKey says an attribute must never carry its value, whatever it is.
func sensitiveKey(k string) bool {
	k = strings.ToLower(k)
	for _, s := range []string{"authorization", "secret", "password", "token", "assertion", "cookie", "apikey", "api_key"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

func redactAttr(kv attribute.KeyValue, redact func(string) string) attribute.KeyValue {
	if sensitiveKey(string(kv.Key)) {
		return kv.Key.String("REDACTED")
	}
	return attribute.KeyValue{Key: kv.Key, Value: redactValue(kv.Value, redact)}
}

func redactValue(v attribute.Value, redact func(string) string) attribute.Value {
	switch v.Type() {
	case attribute.STRING:
		return attribute.StringValue(redact(v.AsString()))
	case attribute.STRINGSLICE:
		ss := v.AsStringSlice()
		out := make([]string, len(ss))
		for i, s := range ss {
			out[i] = redact(s)
		}
		return attribute.StringSliceValue(out)
	case attribute.SLICE:
		vs := v.AsSlice()
		out := make([]attribute.Value, len(vs))
		for i, e := range vs {
			out[i] = redactValue(e, redact)
		}
		return attribute.SliceValue(out...)
	case attribute.MAP:
		return attribute.MapValue(redactAttrs(v.AsMap(), redact)...)
	}
	return v
}

func redactAttrs(kvs []attribute.KeyValue, redact func(string) string) []attribute.KeyValue {
	out := make([]attribute.KeyValue, len(kvs))
	for i, kv := range kvs {
		out[i] = redactAttr(kv, redact)
	}
	return out
}

func redactSet(s attribute.Set, redact func(string) string) attribute.Set {
	return attribute.NewSet(redactAttrs(s.ToSlice(), redact)...)
}

// redactingSpans scrubs span names, attributes, events, links and status messages.
type redactingSpans struct {
	sdktrace.SpanExporter
	redact func(string) string
}

func (r redactingSpans) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	out := make([]sdktrace.ReadOnlySpan, len(spans))
	for i, s := range spans {
		st := tracetest.SpanStubFromReadOnlySpan(s)
		st.Name = r.redact(st.Name)
		st.Attributes = redactAttrs(st.Attributes, r.redact)
		for j := range st.Events {
			st.Events[j].Name = r.redact(st.Events[j].Name)
			st.Events[j].Attributes = redactAttrs(st.Events[j].Attributes, r.redact)
		}
		for j := range st.Links {
			st.Links[j].Attributes = redactAttrs(st.Links[j].Attributes, r.redact)
		}
		st.Status.Description = r.redact(st.Status.Description)
		out[i] = st.Snapshot()
	}
	return r.SpanExporter.ExportSpans(ctx, out)
}

// redactingMetrics scrubs the attributes of every data point.
type redactingMetrics struct {
	sdkmetric.Exporter
	redact func(string) string
}

func (r redactingMetrics) Export(ctx context.Context, rm *metricdata.ResourceMetrics) error {
	for i := range rm.ScopeMetrics {
		for j := range rm.ScopeMetrics[i].Metrics {
			m := &rm.ScopeMetrics[i].Metrics[j]
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				redactPoints(d.DataPoints, r.redact)
			case metricdata.Sum[float64]:
				redactPoints(d.DataPoints, r.redact)
			case metricdata.Gauge[int64]:
				redactPoints(d.DataPoints, r.redact)
			case metricdata.Gauge[float64]:
				redactPoints(d.DataPoints, r.redact)
			case metricdata.Histogram[float64]:
				for k := range d.DataPoints {
					d.DataPoints[k].Attributes = redactSet(d.DataPoints[k].Attributes, r.redact)
				}
			case metricdata.Histogram[int64]:
				for k := range d.DataPoints {
					d.DataPoints[k].Attributes = redactSet(d.DataPoints[k].Attributes, r.redact)
				}
			}
		}
	}
	return r.Exporter.Export(ctx, rm)
}

func redactPoints[N int64 | float64](ps []metricdata.DataPoint[N], redact func(string) string) {
	for k := range ps {
		ps[k].Attributes = redactSet(ps[k].Attributes, redact)
	}
}

// redactingLogs scrubs a record's body and attributes before the next processor sees it.
type redactingLogs struct {
	sdklog.Processor
	redact func(string) string
}

func (r redactingLogs) OnEmit(ctx context.Context, rec *sdklog.Record) error {
	rec.SetBody(redactValue(rec.Body(), r.redact))
	var attrs []attribute.KeyValue
	rec.WalkAttributes(func(kv attribute.KeyValue) bool {
		attrs = append(attrs, redactAttr(kv, r.redact))
		return true
	})
	rec.SetAttributes(attrs...)
	return r.Processor.OnEmit(ctx, rec)
}
