package telemetry_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/fabplan/fabplan/telemetry"
	"github.com/fabplan/fabplan/telemetry/telemetrytest"
)

const sentinel = "sentinel-s3cr3t-value-9f1c"

// emit drives every hook once, with the sentinel in places a careless caller might put it.
func emit(t *testing.T, tel *telemetry.Telemetry) {
	t.Helper()
	ctx, run := tel.StartRun(context.Background(), "20260101T000000Z-abcdef", "plans/p.star")
	pctx, phase := tel.StartPhase(ctx, telemetry.SpanApply)
	sctx, step := tel.StartStep(pctx, "workspace.w", "create", "workspace")
	actx, at := tel.StartAttempt(sctx, "POST", "api.fabric.test", "/v1/workspaces/8b4f1c3e-0000-4000-8000-000000000001/items", "CreateItem", 2)
	at.ThrottleWaited(actx, 30*time.Millisecond)
	at.BreakerState("closed")
	at.End(actx, 429, "RequestBlocked", "req-1", nil)
	tel.Retry(actx, "POST", "/v1/workspaces/x/items", "429")
	tel.BreakerTransition(ctx, "api.fabric.test items", "closed", "open")
	slog.New(tel.LogHandler()).Warn("retrying with Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.sig", "password", sentinel,
		"detail", "value "+sentinel)
	step.End(sctx, errors.New("failed with "+sentinel))
	telemetry.EndSpan(phase, nil)
	tel.Drift(ctx, "plans/p.star", map[string]int{"update": 1})
	tel.Rollback(ctx, 1, 0)
	run.End(ctx, telemetry.ResultRolledBack, nil)
}

func redact(s string) string { return strings.ReplaceAll(s, sentinel, "<secret:S>") }

// TestOTLP sends through both protocols to a real OTLP receiver and checks names, attributes,
// links between spans, and that no secret or token arrives.
func TestOTLP(t *testing.T) {
	for _, proto := range []string{"grpc", "http/protobuf"} {
		t.Run(proto, func(t *testing.T) {
			rcv, err := telemetrytest.Start()
			if err != nil {
				t.Fatal(err)
			}
			defer rcv.Close()
			endpoint := rcv.HTTPURL
			if proto == "grpc" {
				endpoint = "http://" + rcv.GRPCAddr
			}
			t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
			t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", proto)
			t.Setenv("OTEL_EXPORTER_OTLP_INSECURE", "true")
			tel, err := telemetry.Setup(context.Background(), telemetry.Options{ServiceVersion: "test", Redact: redact,
				FlushTimeout: 10 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			emit(t, tel)
			tel.Shutdown(context.Background())

			spans := rcv.Spans()
			byName := map[string]telemetrytest.Span{}
			for _, s := range spans {
				byName[s.Name] = s
			}
			run, phase, step := byName[telemetry.SpanRun], byName[telemetry.SpanApply], byName["create workspace"]
			attempt := byName["POST /v1/workspaces/{id}/items"]
			if run.Name == "" || phase.Name == "" || step.Name == "" || attempt.Name == "" {
				t.Fatalf("spans received: %+v; want run, apply, step and attempt", spans)
			}
			for child, parent := range map[string]telemetrytest.Span{phase.Name: run, step.Name: phase, attempt.Name: step} {
				if byName[child].ParentSpanID != parent.SpanID || byName[child].TraceID != run.TraceID {
					t.Errorf("span %q is not a child of %q in the run's trace", child, parent.Name)
				}
			}
			for k, want := range map[string]string{
				telemetry.AttrHTTPMethod: "POST", telemetry.AttrHTTPStatus: "429", telemetry.AttrErrorCode: "RequestBlocked",
				telemetry.AttrRequestID: "req-1", telemetry.AttrAttempt: "2", telemetry.AttrResendCount: "1",
				telemetry.AttrURLTemplate: "/v1/workspaces/{id}/items", telemetry.AttrBreakerState: "closed",
				telemetry.AttrThrottleWait: "0.03",
			} {
				if got := attempt.Attrs[k]; got != want {
					t.Errorf("attempt span %s = %q; want %q", k, got, want)
				}
			}
			if step.Attrs[telemetry.AttrAddress] != "workspace.w" || step.Status != "STATUS_CODE_ERROR" {
				t.Errorf("step span = %+v; want address workspace.w, status error", step)
			}
			if run.Resource["service.name"] != "fabplan" || run.Attrs[telemetry.AttrResult] != telemetry.ResultRolledBack {
				t.Errorf("run span = %+v; want service.name fabplan and the run's result", run)
			}

			metrics := map[string]bool{}
			for _, m := range rcv.Metrics() {
				metrics[m.Name] = true
				if m.Name == telemetry.MetricHTTPDuration && m.Attrs[telemetry.AttrHTTPStatus] != "429" {
					t.Errorf("%s point %v; want status 429", m.Name, m.Attrs)
				}
			}
			for _, name := range []string{telemetry.MetricHTTPDuration, telemetry.MetricRetries, telemetry.MetricThrottleWait,
				telemetry.MetricBreakerTransitions, telemetry.MetricStepDuration, telemetry.MetricChanges,
				telemetry.MetricDriftResources, telemetry.MetricDriftChecks, telemetry.MetricRollbacks,
				telemetry.MetricRuns, telemetry.MetricRunDuration} {
				if !metrics[name] {
					t.Errorf("metric %s not received (got %v)", name, metrics)
				}
			}
			events := map[string]bool{}
			for _, l := range rcv.Logs() {
				events[l.EventName] = true
			}
			if !events[telemetry.EventDrift] || len(rcv.Logs()) < 2 {
				t.Errorf("logs received: %+v; want the warning and the drift event", rcv.Logs())
			}
			for _, bad := range []string{sentinel, "eyJhbGciOiJub25lIn0"} {
				if rcv.Contains(bad) {
					t.Errorf("the receiver got %q: a secret or token left the process", bad)
				}
			}
		})
	}
}

// TestDeadCollector: nothing listens at the endpoint; the hooks and Shutdown still return, within
// the flush deadline, and report no error to the caller.
func TestDeadCollector(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens here any more
	for _, proto := range []string{"grpc", "http/protobuf"} {
		t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+addr)
		t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", proto)
		tel, err := telemetry.Setup(context.Background(), telemetry.Options{FlushTimeout: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		emit(t, tel)
		done := make(chan struct{})
		go func() { tel.Shutdown(context.Background()); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: Shutdown did not return with a dead collector", proto)
		}
	}
}
