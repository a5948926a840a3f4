package telemetry

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

func envMap(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

// collect reads every metric a manual reader holds, by name.
func collect(t *testing.T, r *sdkmetric.ManualReader) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

func TestNothingConfiguredIsNil(t *testing.T) {
	tel, err := Setup(context.Background(), Options{Getenv: envMap()})
	if err != nil || tel != nil {
		t.Fatalf("Setup with nothing configured = %v, %v; want nil, nil", tel, err)
	}
	// Every hook is safe on nil.
	ctx, run := tel.StartRun(context.Background(), "r", "p.star")
	ctx, st := tel.StartStep(ctx, "a", "create", "fabric.workspace")
	_, at := tel.StartAttempt(ctx, "GET", "h", "/v1/workspaces", "ListWorkspaces", 1)
	at.ThrottleWaited(ctx, 1)
	at.End(ctx, 200, "", "", nil)
	st.End(ctx, nil)
	run.End(ctx, ResultApplied, nil)
	tel.Drift(ctx, "p", map[string]int{"create": 1})
	tel.Shutdown(ctx)
}

// A reader the caller passes (serve's Prometheus exporter) gets fabplan's metrics even with no
// exporter configured, and even when FEATURE_USE_TELEMETRY=false turns exporters off.
func TestReadersGetDriftMetrics(t *testing.T) {
	for _, getenv := range []func(string) string{envMap(), envMap(EnvFeature, "false")} {
		r := sdkmetric.NewManualReader()
		tel, err := Setup(context.Background(), Options{Getenv: getenv, Readers: []sdkmetric.Reader{r}})
		if err != nil {
			t.Fatal(err)
		}
		if tel.Exporting() {
			t.Fatal("no exporter is configured, yet Exporting() is true")
		}
		ctx := context.Background()
		tel.Drift(ctx, "plans/prod.star", map[string]int{"update": 2, "create": 1})
		tel.Drift(ctx, "plans/prod.star", map[string]int{"update": 0, "create": 0})
		ms := collect(t, r)
		g, ok := ms[MetricDriftResources].Data.(metricdata.Gauge[int64])
		if !ok || len(g.DataPoints) != 2 {
			t.Fatalf("%s = %#v; want a gauge with a point per action", MetricDriftResources, ms[MetricDriftResources].Data)
		}
		for _, p := range g.DataPoints {
			if p.Value != 0 {
				t.Errorf("after a clean check, drift for %v = %d; want 0", p.Attributes.ToSlice(), p.Value)
			}
		}
		checks := ms[MetricDriftChecks].Data.(metricdata.Sum[int64])
		detected := map[bool]int64{}
		for _, p := range checks.DataPoints {
			v, _ := p.Attributes.Value(attribute.Key(AttrDetected))
			detected[v.AsBool()] += p.Value
		}
		if detected[true] != 1 || detected[false] != 1 {
			t.Errorf("drift checks by detected = %v; want one each", detected)
		}
		tel.Shutdown(ctx)
	}
}

func TestBadSettingsAreErrors(t *testing.T) {
	for _, kv := range [][]string{
		{EnvFeature, "maybe"},
		{"OTEL_TRACES_EXPORTER", "zipkin"},
		{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1", "OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"},
	} {
		if _, err := Setup(context.Background(), Options{Getenv: envMap(kv...)}); err == nil {
			t.Errorf("Setup(%v) succeeded; want an error naming the variable", kv)
		}
	}
}

func TestRouteTemplate(t *testing.T) {
	for in, want := range map[string]string{
		"/v1/workspaces": "/v1/workspaces",
		"/v1/workspaces/8b4f1c3e-0000-4000-8000-000000000001/items/9c4f1c3e-0000-4000-8000-000000000002/getDefinition": "/v1/workspaces/{id}/items/{id}/getDefinition",
		"/v1/workspaces/8b4f1c3e-0000-4000-8000-000000000001/git/connect":                                              "/v1/workspaces/{id}/git/connect",
		"/keyvault/secrets/dbpassword/0123abcd?api-version=7.5":                                                        "/keyvault/secrets/{id}/{id}",
		"/graph/v1.0/users/ann@contoso.com":                                                                            "/graph/v1.0/users/{id}",
		"/v1/operations/abc-1/result":                                                                                  "/v1/operations/{id}/result",
	} {
		if got := RouteTemplate(in); got != want {
			t.Errorf("RouteTemplate(%q) = %q; want %q", in, got, want)
		}
	}
}
