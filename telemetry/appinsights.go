package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Application Insights ingestion ("Breeze", the v2.1/track endpoint), written here because no
// maintained Go exporter for Azure Monitor exists (docs/dependencies.md). Spans become rows of
// requests (a run's root span) and dependencies (phases, steps, HTTP attempts), metric points rows
// of customMetrics, log records rows of traces; attributes go to customDimensions under their
// OpenTelemetry names. deploy/monitoring's workbook and alert rules read those tables.

// defaultIngestion is where a connection string without IngestionEndpoint sends.
const defaultIngestion = "https://dc.services.visualstudio.com/"

type appInsights struct {
	ikey     string
	endpoint string // .../v2.1/track
	client   *http.Client
	role     string
	host     string
}

// newAppInsights parses a connection string ("InstrumentationKey=...;IngestionEndpoint=https://...").
func newAppInsights(cs string, client *http.Client) (*appInsights, error) {
	fields := map[string]string{}
	for _, part := range strings.Split(cs, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok {
			fields[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
		}
	}
	ai := &appInsights{ikey: fields["instrumentationkey"], client: client, role: "fabplan"}
	if ai.ikey == "" {
		return nil, &ConfigError{Var: EnvConnectionString, Value: "(not shown)",
			Want: "it has no InstrumentationKey=...; copy the whole connection string from the Application Insights resource"}
	}
	base := fields["ingestionendpoint"]
	if base == "" {
		base = defaultIngestion
	}
	if !strings.HasPrefix(base, "https://") {
		return nil, &ConfigError{Var: EnvConnectionString, Value: "(not shown)", Want: "IngestionEndpoint must be an https URL"}
	}
	ai.endpoint = strings.TrimRight(base, "/") + "/v2.1/track"
	if ai.client == nil {
		ai.client = &http.Client{Timeout: 10 * time.Second}
	}
	ai.host, _ = os.Hostname()
	return ai, nil
}

type envelope struct {
	Name string            `json:"name"`
	Time string            `json:"time"`
	IKey string            `json:"iKey"`
	Tags map[string]string `json:"tags"`
	Data envelopeData      `json:"data"`
}

type envelopeData struct {
	BaseType string `json:"baseType"`
	BaseData any    `json:"baseData"`
}

func (ai *appInsights) envelope(kind, baseType string, t time.Time, tags map[string]string, data any) envelope {
	all := map[string]string{"ai.cloud.role": ai.role, "ai.cloud.roleInstance": ai.host,
		"ai.internal.sdkVersion": "fabplan-otel-go"}
	for k, v := range tags {
		all[k] = v
	}
	return envelope{Name: "Microsoft.ApplicationInsights." + kind, Time: t.UTC().Format(time.RFC3339Nano), IKey: ai.ikey,
		Tags: all, Data: envelopeData{BaseType: baseType, BaseData: data}}
}

// breezeResponse is the ingestion's answer.
type breezeResponse struct {
	ItemsReceived int `json:"itemsReceived"`
	ItemsAccepted int `json:"itemsAccepted"`
	Errors        []struct {
		Index      int    `json:"index"`
		StatusCode int    `json:"statusCode"`
		Message    string `json:"message"`
	} `json:"errors"`
}

// send posts a batch. It does not retry: the batch processors call again with new data and a
// run must never wait on telemetry.
func (ai *appInsights) send(ctx context.Context, batch []envelope) error {
	if len(batch) == 0 {
		return nil
	}
	body, err := json.Marshal(batch)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ai.endpoint, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := ai.client.Do(req)
	if err != nil {
		return fmt.Errorf("application insights: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusPartialContent {
		return fmt.Errorf("application insights: HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(b)))
	}
	var br breezeResponse
	if json.Unmarshal(b, &br) == nil && br.ItemsAccepted < br.ItemsReceived && len(br.Errors) > 0 {
		return fmt.Errorf("application insights: %d of %d items refused: %s", br.ItemsReceived-br.ItemsAccepted,
			br.ItemsReceived, br.Errors[0].Message)
	}
	return nil
}

// duration is Application Insights' "d.hh:mm:ss.ffffff".
func duration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	h := d / time.Hour
	d -= h * time.Hour
	m := d / time.Minute
	d -= m * time.Minute
	s := d / time.Second
	d -= s * time.Second
	return fmt.Sprintf("%d.%02d:%02d:%02d.%06d", days, h, m, s, d/time.Microsecond)
}

func properties(kvs []attribute.KeyValue) map[string]string {
	out := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		out[string(kv.Key)] = kv.Value.Emit()
	}
	return out
}

// ExportSpans maps spans: a root span to a request, the rest to dependencies.
func (ai *appInsights) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	batch := make([]envelope, 0, len(spans))
	for _, s := range spans {
		sc := s.SpanContext()
		tags := map[string]string{"ai.operation.id": sc.TraceID().String()}
		if s.Parent().IsValid() {
			tags["ai.operation.parentId"] = s.Parent().SpanID().String()
		}
		props := properties(s.Attributes())
		ok := s.Status().Code != codes.Error
		code := props[AttrHTTPStatus]
		if code == "" {
			code = "0"
		}
		if !s.Parent().IsValid() {
			tags["ai.operation.name"] = s.Name()
			batch = append(batch, ai.envelope("Request", "RequestData", s.StartTime(), tags, map[string]any{
				"ver": 2, "id": sc.SpanID().String(), "name": s.Name(), "duration": duration(s.EndTime().Sub(s.StartTime())),
				"responseCode": code, "success": ok, "properties": props,
			}))
			continue
		}
		typ, target := "InProc", ""
		if s.SpanKind() == trace.SpanKindClient {
			typ, target = "HTTP", props[AttrServerAddress]
		}
		batch = append(batch, ai.envelope("RemoteDependency", "RemoteDependencyData", s.StartTime(), tags, map[string]any{
			"ver": 2, "id": sc.SpanID().String(), "name": s.Name(), "duration": duration(s.EndTime().Sub(s.StartTime())),
			"resultCode": code, "success": ok, "type": typ, "target": target, "data": props[AttrURLTemplate],
			"properties": props,
		}))
	}
	return ai.send(ctx, batch)
}

// Shutdown: nothing is held between exports.
func (ai *appInsights) Shutdown(context.Context) error { return nil }

// aiMetrics exports metric points as customMetrics rows, in delta temporality: each row is what
// happened since the previous export, as Application Insights sums rows.
type aiMetrics struct{ ai *appInsights }

func (ai *appInsights) metrics() sdkmetric.Exporter { return aiMetrics{ai} }

func (m aiMetrics) Temporality(sdkmetric.InstrumentKind) metricdata.Temporality {
	return metricdata.DeltaTemporality
}

func (m aiMetrics) Aggregation(k sdkmetric.InstrumentKind) sdkmetric.Aggregation {
	return sdkmetric.DefaultAggregationSelector(k)
}

func (m aiMetrics) Export(ctx context.Context, rm *metricdata.ResourceMetrics) error {
	var batch []envelope
	add := func(name string, t time.Time, attrs attribute.Set, value float64, count uint64, mn, mx *float64) {
		point := map[string]any{"name": name, "kind": 1, "value": value, "count": count}
		if mn != nil {
			point["min"], point["max"] = *mn, *mx
		}
		batch = append(batch, m.ai.envelope("Metric", "MetricData", t, nil, map[string]any{
			"ver": 2, "metrics": []any{point}, "properties": properties(attrs.ToSlice()),
		}))
	}
	for _, sm := range rm.ScopeMetrics {
		for _, mt := range sm.Metrics {
			switch d := mt.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					add(mt.Name, p.Time, p.Attributes, float64(p.Value), 1, nil, nil)
				}
			case metricdata.Sum[float64]:
				for _, p := range d.DataPoints {
					add(mt.Name, p.Time, p.Attributes, p.Value, 1, nil, nil)
				}
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					add(mt.Name, p.Time, p.Attributes, float64(p.Value), 1, nil, nil)
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					if p.Count == 0 {
						continue
					}
					mn, _ := p.Min.Value()
					mx, _ := p.Max.Value()
					add(mt.Name, p.Time, p.Attributes, p.Sum, p.Count, &mn, &mx)
				}
			}
		}
	}
	return m.ai.send(ctx, batch)
}

func (m aiMetrics) ForceFlush(context.Context) error { return nil }
func (m aiMetrics) Shutdown(context.Context) error   { return nil }

// aiLogs exports log records as traces rows.
type aiLogs struct{ ai *appInsights }

func (ai *appInsights) logs() sdklog.Exporter { return aiLogs{ai} }

func severityLevel(s log.Severity) int {
	switch {
	case s >= log.SeverityFatal:
		return 4
	case s >= log.SeverityError:
		return 3
	case s >= log.SeverityWarn:
		return 2
	case s >= log.SeverityInfo:
		return 1
	}
	return 0
}

func (l aiLogs) Export(ctx context.Context, recs []sdklog.Record) error {
	batch := make([]envelope, 0, len(recs))
	for _, r := range recs {
		var attrs []attribute.KeyValue
		r.WalkAttributes(func(kv attribute.KeyValue) bool {
			attrs = append(attrs, kv)
			return true
		})
		props := properties(attrs)
		if r.EventName() != "" {
			props["event.name"] = r.EventName()
		}
		tags := map[string]string{}
		if r.TraceID().IsValid() {
			tags["ai.operation.id"] = r.TraceID().String()
			tags["ai.operation.parentId"] = r.SpanID().String()
		}
		t := r.Timestamp()
		if t.IsZero() {
			t = r.ObservedTimestamp()
		}
		batch = append(batch, l.ai.envelope("Message", "MessageData", t, tags, map[string]any{
			"ver": 2, "message": r.Body().Emit(), "severityLevel": severityLevel(r.Severity()), "properties": props,
		}))
	}
	return l.ai.send(ctx, batch)
}

func (l aiLogs) ForceFlush(context.Context) error { return nil }
func (l aiLogs) Shutdown(context.Context) error   { return nil }
