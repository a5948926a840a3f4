package builtins

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fabplan/fabplan/emulator"
	"github.com/fabplan/fabplan/engine"
	"github.com/fabplan/fabplan/engine/journal"
	"github.com/fabplan/fabplan/fabric"
	statestore "github.com/fabplan/fabplan/state"
	"github.com/fabplan/fabplan/state/statetest"
	"github.com/fabplan/fabplan/telemetry"
)

// estatePlan writes a plan of `workspaces` workspaces, each on the emulator's capacity with three
// role assignments, two folders and 40 items (30 with definitions), and returns its path.
func estatePlan(b testing.TB, workspaces int) string {
	return floorPlan(b, floorEstate{name: "estate", workspaces: workspaces, items: 40, defs: 30})
}

type estateRun struct {
	wall      time.Duration
	requests  int64
	throttled int64
}

// applyEstate applies the estate journalling into a local state; tel (nil: none) receives its telemetry.
func applyEstate(b *testing.B, workspaces, parallelism int, rate float64, tel *telemetry.Telemetry) estateRun {
	return applyEstateTo(b, statestore.NewLocal(b.TempDir()), workspaces, parallelism, rate, tel)
}

// applyEstateTo applies estate-L journalling into st.
func applyEstateTo(b *testing.B, st statestore.Store, workspaces, parallelism int, rate float64,
	tel *telemetry.Telemetry) estateRun {
	emu, err := emulator.Start(emulator.Options{
		Dir:      b.TempDir(),
		LRODelay: time.Second,
		Faults:   emulator.FaultConfig{Latency: 25 * time.Millisecond, ThrottleRate: rate, ThrottleBurst: int(rate)},
	})
	if err != nil {
		b.Fatal(err)
	}
	defer emu.Close()
	g, err := Evaluate(context.Background(), EvalOptions{File: estatePlan(b, workspaces)})
	if err != nil {
		b.Fatal(err)
	}
	id, secret := emu.ServicePrincipal()
	cred, err := fabric.NewCredential(fabric.AuthConfig{TenantID: emu.TenantID(), ClientID: id, ClientSecret: secret,
		AuthorityHost: emu.AuthorityHost(), HTTPClient: emu.HTTPClient()})
	if err != nil {
		b.Fatal(err)
	}
	client, err := fabric.New(fabric.Config{BaseURL: emu.FabricURL(), Credential: cred, HTTPClient: emu.HTTPClient(), Telemetry: tel})
	if err != nil {
		b.Fatal(err)
	}
	j, err := journal.Create(context.Background(), st, "bench", "estate.star", "bench")
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	start := time.Now()
	rt := engine.NewRuntime(client)
	rt.Telemetry = tel
	p, err := engine.Refresh(context.Background(), g, rt, parallelism)
	if err != nil {
		b.Fatal(err)
	}
	if err := engine.Apply(context.Background(), g, p, rt, engine.ApplyOptions{Parallelism: parallelism, Journal: j, Undo: UndoRegistry()}); err != nil {
		b.Fatal(err)
	}
	stats := client.Stats()
	return estateRun{wall: time.Since(start), requests: stats.Requests, throttled: stats.Throttled}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

// BenchmarkEstateL applies estate-L (20 workspaces x (capacity, 3 role assignments, 2 folders,
// 40 items, 30 with definitions)) to an emulator with 25 ms latency, 1 s item LROs and a limit of
// 50 requests/s per identity. The floor is the time the requests take at the limit. The
// sequential comparison runs --parallelism 1 on FABPLAN_BENCH_SEQ_WORKSPACES workspaces (default
// 2) and scales it to 20: sequential time is a sum over workspaces.
func BenchmarkEstateL(b *testing.B) {
	const rate = 50.0
	workspaces := envInt("FABPLAN_BENCH_WORKSPACES", 20)
	parallelism := envInt("FABPLAN_BENCH_PARALLELISM", engine.DefaultParallelism)
	for range b.N {
		r := applyEstate(b, workspaces, parallelism, rate, nil)
		floor := time.Duration(float64(r.requests-r.throttled) / rate * float64(time.Second))
		b.ReportMetric(r.wall.Seconds(), "wall-s")
		b.ReportMetric(floor.Seconds(), "floor-s")
		b.ReportMetric(float64(r.requests), "requests")
		b.ReportMetric(float64(r.throttled), "429s")
		b.ReportMetric(100*float64(r.throttled)/float64(r.requests), "429-%")
		b.ReportMetric(floor.Seconds()/r.wall.Seconds(), "floor/wall")
		if seq := envInt("FABPLAN_BENCH_SEQ_WORKSPACES", 2); seq > 0 {
			s := applyEstate(b, seq, 1, rate, nil)
			scaled := time.Duration(float64(s.wall) * float64(workspaces) / float64(seq))
			b.ReportMetric(scaled.Seconds(), "seq-wall-s")
			b.ReportMetric(scaled.Seconds()/r.wall.Seconds(), "speedup")
		}
	}
}

// BenchmarkEstateLBlobState applies estate-L twice, journalling into a local directory and into
// Blob Storage (Azurite on loopback, started here), and reports what the blob journal adds to the
// apply's wall time.
func BenchmarkEstateLBlobState(b *testing.B) {
	const rate = 50.0
	workspaces := envInt("FABPLAN_BENCH_WORKSPACES", 20)
	parallelism := envInt("FABPLAN_BENCH_PARALLELISM", engine.DefaultParallelism)
	az, err := statetest.StartAzurite()
	if err != nil {
		b.Fatal(err)
	}
	defer az.Close()
	for n := range b.N {
		loc, _ := statestore.ParseLocation(fmt.Sprintf("azblob://%s/bench%d/estates", statetest.Account, n))
		st, err := statestore.Open(loc, statestore.Options{Getenv: func(k string) string {
			return map[string]string{"AZURE_STORAGE_CONNECTION_STRING": az.ConnectionString()}[k]
		}})
		if err != nil {
			b.Fatal(err)
		}
		local := applyEstate(b, workspaces, parallelism, rate, nil)
		blob := applyEstateTo(b, st, workspaces, parallelism, rate, nil)
		b.ReportMetric(local.wall.Seconds(), "local-wall-s")
		b.ReportMetric(blob.wall.Seconds(), "blob-wall-s")
		b.ReportMetric(100*(blob.wall.Seconds()/local.wall.Seconds()-1), "blob-overhead-%")
	}
}

// BenchmarkEvaluate10k evaluates and validates a generated plan of 10,000 resources.
func BenchmarkEvaluate10k(b *testing.B) {
	dir := b.TempDir()
	var sb strings.Builder
	sb.WriteString("for w in range(100):\n    ws = fabric.workspace(name = \"ws%d\" % w)\n")
	sb.WriteString("    f = fabric.folder(workspace = ws, name = \"f\")\n")
	sb.WriteString("    for i in range(98):\n        fabric.item(workspace = ws, type = \"Notebook\", name = \"nb%d\" % i, folder = f)\n")
	path := filepath.Join(dir, "big.star")
	os.WriteFile(path, []byte(sb.String()), 0o644)
	var ms runtime.MemStats
	for range b.N {
		g, err := Evaluate(context.Background(), EvalOptions{File: path})
		if err != nil {
			b.Fatal(err)
		}
		if g.Len() != 10000 {
			b.Fatalf("resources = %d, want 10000", g.Len())
		}
	}
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.TotalAlloc)/float64(b.N)/(1<<20), "MB-alloc/op")
	b.ReportMetric(float64(ms.Sys)/(1<<20), "MB-sys")
}
