package builtins

import (
	"context"
	"testing"

	"github.com/fabplan/fabplan/engine"
	"github.com/fabplan/fabplan/telemetry"
	"github.com/fabplan/fabplan/telemetry/telemetrytest"
)

// BenchmarkEstateLTelemetry applies estate-L (as BenchmarkEstateL) twice per iteration, without
// telemetry and with every signal exported over OTLP/gRPC to a real receiver on loopback, and
// reports the difference in wall time (goal: at most 3 %). FABPLAN_BENCH_WORKSPACES changes the size.
func BenchmarkEstateLTelemetry(b *testing.B) {
	const rate = 50.0
	workspaces := envInt("FABPLAN_BENCH_WORKSPACES", 20)
	parallelism := envInt("FABPLAN_BENCH_PARALLELISM", engine.DefaultParallelism)
	rcv, err := telemetrytest.Start()
	if err != nil {
		b.Fatal(err)
	}
	defer rcv.Close()
	b.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+rcv.GRPCAddr)
	b.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
	b.Setenv("OTEL_EXPORTER_OTLP_INSECURE", "true")
	for range b.N {
		off := applyEstate(b, workspaces, parallelism, rate, nil)
		tel, err := telemetry.Setup(context.Background(), telemetry.Options{ServiceVersion: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		on := applyEstate(b, workspaces, parallelism, rate, tel)
		tel.Shutdown(context.Background())
		b.ReportMetric(off.wall.Seconds(), "off-wall-s")
		b.ReportMetric(on.wall.Seconds(), "on-wall-s")
		b.ReportMetric(100*(on.wall.Seconds()-off.wall.Seconds())/off.wall.Seconds(), "overhead-%")
		b.ReportMetric(float64(len(rcv.Spans())), "spans")
	}
}
