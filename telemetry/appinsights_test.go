package telemetry_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/fabplan/fabplan/emulator"
	"github.com/fabplan/fabplan/telemetry"
)

type aiEnvelope struct {
	Name string            `json:"name"`
	IKey string            `json:"iKey"`
	Tags map[string]string `json:"tags"`
	Data struct {
		BaseType string `json:"baseType"`
		BaseData struct {
			Name       string            `json:"name"`
			Type       string            `json:"type"`
			Message    string            `json:"message"`
			Success    *bool             `json:"success"`
			Duration   string            `json:"duration"`
			Properties map[string]string `json:"properties"`
			Metrics    []struct {
				Name  string  `json:"name"`
				Value float64 `json:"value"`
				Count int     `json:"count"`
			} `json:"metrics"`
		} `json:"baseData"`
	} `json:"data"`
}

// TestAppInsights sends to the emulator's ingestion endpoint and reads back what it recorded:
// the run as a request, phases, steps and attempts as dependencies of the same operation,
// metrics as customMetrics rows with their dimensions, logs as traces rows; no secret or token.
func TestAppInsights(t *testing.T) {
	emu, err := emulator.Start(emulator.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	const ikey = "11111111-2222-3333-4444-555555555555"
	cs := "InstrumentationKey=" + ikey + ";IngestionEndpoint=" + emu.URL() + "/appinsights/;LiveEndpoint=https://unused.test/"
	tel, err := telemetry.Setup(context.Background(), telemetry.Options{
		Getenv:     env(telemetry.EnvConnectionString, cs),
		HTTPClient: emu.HTTPClient(), Redact: redact, FlushTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if !tel.Exporting() {
		t.Fatal("a connection string is set, yet nothing is exported")
	}
	emit(t, tel)
	tel.Shutdown(context.Background())

	byType := map[string][]aiEnvelope{}
	for _, raw := range emu.AppInsights() {
		for _, bad := range []string{sentinel, "eyJhbGciOiJub25lIn0"} {
			if strings.Contains(string(raw), bad) {
				t.Errorf("Application Insights received %q: %s", bad, raw)
			}
		}
		var e aiEnvelope
		if err := json.Unmarshal(raw, &e); err != nil {
			t.Fatal(err)
		}
		if e.IKey != ikey || e.Tags["ai.cloud.role"] != "fabplan" {
			t.Errorf("envelope %s: iKey %q, role %q", e.Name, e.IKey, e.Tags["ai.cloud.role"])
		}
		byType[e.Data.BaseType] = append(byType[e.Data.BaseType], e)
	}
	reqs := byType["RequestData"]
	if len(reqs) != 1 || reqs[0].Data.BaseData.Name != telemetry.SpanRun ||
		reqs[0].Data.BaseData.Properties[telemetry.AttrResult] != telemetry.ResultRolledBack {
		t.Fatalf("requests = %+v; want one row for the run with its result", reqs)
	}
	op := reqs[0].Tags["ai.operation.id"]
	deps := map[string]aiEnvelope{}
	for _, d := range byType["RemoteDependencyData"] {
		deps[d.Data.BaseData.Name] = d
		if d.Tags["ai.operation.id"] != op {
			t.Errorf("dependency %q is not in the run's operation", d.Data.BaseData.Name)
		}
	}
	attempt := deps["POST /v1/workspaces/{id}/items"]
	if attempt.Data.BaseData.Type != "HTTP" || attempt.Data.BaseData.Properties[telemetry.AttrErrorCode] != "RequestBlocked" ||
		*attempt.Data.BaseData.Success {
		t.Errorf("attempt dependency = %+v; want an HTTP dependency with its errorCode, failed", attempt)
	}
	if deps["create workspace"].Data.BaseData.Type != "InProc" {
		t.Errorf("step dependency = %+v; want InProc", deps["create workspace"])
	}
	metrics := map[string]bool{}
	for _, m := range byType["MetricData"] {
		for _, p := range m.Data.BaseData.Metrics {
			metrics[p.Name] = true
			if p.Name == telemetry.MetricRuns && m.Data.BaseData.Properties[telemetry.AttrResult] != telemetry.ResultRolledBack {
				t.Errorf("%s dimensions %v; want the result", p.Name, m.Data.BaseData.Properties)
			}
		}
	}
	for _, name := range []string{telemetry.MetricHTTPDuration, telemetry.MetricRuns, telemetry.MetricStepDuration,
		telemetry.MetricDriftResources, telemetry.MetricRollbacks, telemetry.MetricBreakerTransitions} {
		if !metrics[name] {
			t.Errorf("customMetrics has no %s (got %v)", name, metrics)
		}
	}
	if len(byType["MessageData"]) < 2 {
		t.Errorf("traces rows = %+v; want the warning and the drift event", byType["MessageData"])
	}
}

func TestAppInsightsBadConnectionString(t *testing.T) {
	for _, cs := range []string{"IngestionEndpoint=https://x.test/", "InstrumentationKey=k;IngestionEndpoint=http://x.test/"} {
		_, err := telemetry.Setup(context.Background(), telemetry.Options{Getenv: env(telemetry.EnvConnectionString, cs)})
		if err == nil || !strings.Contains(err.Error(), telemetry.EnvConnectionString) {
			t.Errorf("connection string %q: err = %v; want one naming the variable", cs, err)
		}
	}
}

func env(kv ...string) func(string) string {
	return func(k string) string {
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i] == k {
				return kv[i+1]
			}
		}
		return ""
	}
}
