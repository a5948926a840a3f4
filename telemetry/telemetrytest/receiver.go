// Package telemetrytest is a real OTLP receiver for tests: it serves the OTLP collector services
// over gRPC and HTTP on loopback and keeps what it receives.
package telemetrytest

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	collogs "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	colmetrics "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	common "go.opentelemetry.io/proto/otlp/common/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// Receiver is an OTLP endpoint on loopback: GRPCAddr for OTLP/gRPC, HTTPURL for OTLP/HTTP.
type Receiver struct {
	GRPCAddr string // host:port
	HTTPURL  string // http://host:port

	grpc *grpc.Server
	http *http.Server

	mu      sync.Mutex
	spans   []Span
	metrics []Metric
	logs    []Log
	raw     [][]byte // every request body, decoded, for sentinel searches
}

// Span is a received span with its attributes rendered as strings.
type Span struct {
	Name         string
	Kind         tracepb.Span_SpanKind
	TraceID      string
	SpanID       string
	ParentSpanID string
	Attrs        map[string]string
	Status       string
	Resource     map[string]string
}

// Metric is one received data point: the metric's name and the point's attributes.
type Metric struct {
	Name  string
	Attrs map[string]string
}

// Log is a received log record.
type Log struct {
	Body      string
	EventName string
	Attrs     map[string]string
	TraceID   string
}

// Start serves both protocols until Close.
func Start() (*Receiver, error) {
	r := &Receiver{}
	gl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		gl.Close()
		return nil, err
	}
	r.GRPCAddr, r.HTTPURL = gl.Addr().String(), "http://"+hl.Addr().String()
	r.grpc = grpc.NewServer()
	coltrace.RegisterTraceServiceServer(r.grpc, traceService{r: r})
	colmetrics.RegisterMetricsServiceServer(r.grpc, metricsService{r: r})
	collogs.RegisterLogsServiceServer(r.grpc, logsService{r: r})
	go r.grpc.Serve(gl)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/traces", httpHandler(r, &coltrace.ExportTraceServiceRequest{}, &coltrace.ExportTraceServiceResponse{}))
	mux.HandleFunc("POST /v1/metrics", httpHandler(r, &colmetrics.ExportMetricsServiceRequest{}, &colmetrics.ExportMetricsServiceResponse{}))
	mux.HandleFunc("POST /v1/logs", httpHandler(r, &collogs.ExportLogsServiceRequest{}, &collogs.ExportLogsServiceResponse{}))
	r.http = &http.Server{Handler: mux}
	go r.http.Serve(hl)
	return r, nil
}

// Close stops both servers.
func (r *Receiver) Close() {
	r.grpc.Stop()
	r.http.Close()
}

func httpHandler(r *Receiver, req, resp proto.Message) http.HandlerFunc {
	return func(w http.ResponseWriter, hr *http.Request) {
		var body io.Reader = hr.Body
		if hr.Header.Get("Content-Encoding") == "gzip" {
			gz, err := gzip.NewReader(hr.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = gz
		}
		b, err := io.ReadAll(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		m := proto.Clone(req)
		proto.Reset(m)
		if err := proto.Unmarshal(b, m); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.record(m)
		out, _ := proto.Marshal(resp)
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(out)
	}
}

type traceService struct {
	coltrace.UnimplementedTraceServiceServer
	r *Receiver
}

func (s traceService) Export(_ context.Context, req *coltrace.ExportTraceServiceRequest) (*coltrace.ExportTraceServiceResponse, error) {
	s.r.record(req)
	return &coltrace.ExportTraceServiceResponse{}, nil
}

type metricsService struct {
	colmetrics.UnimplementedMetricsServiceServer
	r *Receiver
}

func (s metricsService) Export(_ context.Context, req *colmetrics.ExportMetricsServiceRequest) (*colmetrics.ExportMetricsServiceResponse, error) {
	s.r.record(req)
	return &colmetrics.ExportMetricsServiceResponse{}, nil
}

type logsService struct {
	collogs.UnimplementedLogsServiceServer
	r *Receiver
}

func (s logsService) Export(_ context.Context, req *collogs.ExportLogsServiceRequest) (*collogs.ExportLogsServiceResponse, error) {
	s.r.record(req)
	return &collogs.ExportLogsServiceResponse{}, nil
}

func (r *Receiver) record(m proto.Message) {
	raw, _ := proto.Marshal(m)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.raw = append(r.raw, raw)
	switch m := m.(type) {
	case *coltrace.ExportTraceServiceRequest:
		for _, rs := range m.ResourceSpans {
			res := attrs(rs.GetResource().GetAttributes())
			for _, ss := range rs.ScopeSpans {
				for _, sp := range ss.Spans {
					r.spans = append(r.spans, Span{Name: sp.Name, Kind: sp.Kind, TraceID: fmt.Sprintf("%x", sp.TraceId),
						SpanID: fmt.Sprintf("%x", sp.SpanId), ParentSpanID: fmt.Sprintf("%x", sp.ParentSpanId),
						Attrs: attrs(sp.Attributes), Status: sp.GetStatus().GetCode().String(), Resource: res})
				}
			}
		}
	case *colmetrics.ExportMetricsServiceRequest:
		for _, rm := range m.ResourceMetrics {
			for _, sm := range rm.ScopeMetrics {
				for _, mt := range sm.Metrics {
					for _, p := range points(mt) {
						r.metrics = append(r.metrics, Metric{Name: mt.Name, Attrs: attrs(p)})
					}
				}
			}
		}
	case *collogs.ExportLogsServiceRequest:
		for _, rl := range m.ResourceLogs {
			for _, sl := range rl.ScopeLogs {
				for _, l := range sl.LogRecords {
					r.logs = append(r.logs, Log{Body: value(l.Body), EventName: l.EventName, Attrs: attrs(l.Attributes),
						TraceID: fmt.Sprintf("%x", l.TraceId)})
				}
			}
		}
	}
}

// Spans returns what was received so far.
func (r *Receiver) Spans() []Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Span(nil), r.spans...)
}

// Metrics returns every data point received so far.
func (r *Receiver) Metrics() []Metric {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Metric(nil), r.metrics...)
}

// Logs returns the log records received so far.
func (r *Receiver) Logs() []Log {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Log(nil), r.logs...)
}

// Contains reports whether any received request held s (in a name, attribute, body, resource).
func (r *Receiver) Contains(s string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range r.raw {
		if bytes.Contains(b, []byte(s)) {
			return true
		}
	}
	return false
}

// Received is how many export requests arrived.
func (r *Receiver) Received() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.raw)
}

// points lists the attributes of each data point of a metric, whatever its type.
func points(m *metricspb.Metric) [][]*common.KeyValue {
	var out [][]*common.KeyValue
	for _, p := range m.GetSum().GetDataPoints() {
		out = append(out, p.Attributes)
	}
	for _, p := range m.GetGauge().GetDataPoints() {
		out = append(out, p.Attributes)
	}
	for _, p := range m.GetHistogram().GetDataPoints() {
		out = append(out, p.Attributes)
	}
	return out
}

func attrs(kvs []*common.KeyValue) map[string]string {
	out := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		out[kv.Key] = value(kv.Value)
	}
	return out
}

func value(v *common.AnyValue) string {
	switch x := v.GetValue().(type) {
	case *common.AnyValue_StringValue:
		return x.StringValue
	case *common.AnyValue_IntValue:
		return fmt.Sprint(x.IntValue)
	case *common.AnyValue_DoubleValue:
		return fmt.Sprint(x.DoubleValue)
	case *common.AnyValue_BoolValue:
		return fmt.Sprint(x.BoolValue)
	case *common.AnyValue_ArrayValue:
		var parts []string
		for _, e := range x.ArrayValue.Values {
			parts = append(parts, value(e))
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	return ""
}
