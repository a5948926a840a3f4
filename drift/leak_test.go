package drift_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/fabplan/fabplan/builtins"
	"github.com/fabplan/fabplan/drift"
	"github.com/fabplan/fabplan/emulator"
	"github.com/fabplan/fabplan/engine"
	"github.com/fabplan/fabplan/fabric"
	"github.com/fabplan/fabplan/fabric/fabrictest"
	"github.com/fabplan/fabplan/telemetry"
)

// TestNoGrowthOver1000Cycles runs 1,000 cycles a millisecond apart, each a real evaluate and
// refresh against the emulator through one shared client, with metrics collected and the HTTP
// endpoints read as a scraper would, and checks that goroutines and live heap do not grow
// between cycle 100 and cycle 1,100.
func TestNoGrowthOver1000Cycles(t *testing.T) {
	emu, err := emulator.Start(emulator.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	client := fabrictest.Client(t, emu, "", "")
	if _, err := client.CreateWorkspace(context.Background(), fabric.WorkspaceCreate{DisplayName: "sales"}); err != nil {
		t.Fatal(err)
	}
	plan := filepath.Join(t.TempDir(), "sales.star")
	if err := os.WriteFile(plan, []byte(`fabric.workspace(name = "sales")`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	reader := sdkmetric.NewManualReader()
	tel, err := telemetry.Setup(context.Background(), telemetry.Options{Getenv: func(string) string { return "" },
		Readers: []sdkmetric.Reader{reader}})
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Shutdown(context.Background())
	w, err := drift.New(drift.Options{Pairs: []drift.Pair{{Plan: plan}}, Interval: time.Millisecond, Jitter: 0.5,
		CycleTimeout: 30 * time.Second, Telemetry: tel, OpenBreakers: client.OpenBreakers,
		Plan: func(ctx context.Context, p drift.Pair) (*engine.Document, error) {
			client.RefillRetryBudget()
			g, err := builtins.Evaluate(context.Background(), builtins.EvalOptions{File: p.Plan})
			if err != nil {
				return nil, err
			}
			pl, err := engine.Refresh(ctx, g, engine.NewRuntime(client), 4)
			if err != nil {
				return nil, err
			}
			return engine.NewDocument(pl, engine.Source{File: p.Plan}, "test"), nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	handler := w.Handler(http.NotFoundHandler())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()

	cycles := func() int { return w.Status().Pairs[0].Cycles }
	measure := func(until int) (goroutines int, heap uint64) {
		for n := cycles(); n < until; n = cycles() {
			if n%50 == 0 {
				var rm metricdata.ResourceMetrics
				if err := reader.Collect(context.Background(), &rm); err != nil {
					t.Fatal(err)
				}
				for _, path := range []string{"/status", "/readyz", "/"} {
					handler.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", path, nil))
				}
			}
			time.Sleep(time.Millisecond)
		}
		// The emulator's request log is part of this process's heap; it is not fabplan's.
		req, _ := http.NewRequest("DELETE", emu.URL()+"/_emulator/requests", nil)
		if resp, err := emu.HTTPClient().Do(req); err != nil || resp.StatusCode != http.StatusNoContent {
			t.Fatalf("clearing the emulator's request log: %v %v", resp, err)
		} else {
			resp.Body.Close()
		}
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return runtime.NumGoroutine(), ms.HeapAlloc
	}
	g0, h0 := measure(100)
	g1, h1 := measure(1100)
	if s := w.Status().Pairs[0]; s.Last.Result != drift.ResultInSync {
		t.Fatalf("the cycles did not plan: %+v", s.Last)
	}
	t.Logf("after 100 cycles: %d goroutines, %d KiB heap; after 1,100: %d goroutines, %d KiB heap", g0, h0>>10, g1, h1>>10)
	// A cycle may be in flight at either moment (its goroutines: a request, a timer), hence the
	// small allowance; a leak of one goroutine per cycle would be 1,000.
	if g1 > g0+5 {
		t.Errorf("goroutines grew from %d to %d over 1,000 cycles", g0, g1)
	}
	if h1 > h0+2<<20 {
		t.Errorf("live heap grew from %d KiB to %d KiB over 1,000 cycles", h0>>10, h1>>10)
	}
}
