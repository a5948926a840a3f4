package plan

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fabplan/fabplan/builtins"
	"github.com/fabplan/fabplan/cmd/fabplan/internal/view"
	"github.com/fabplan/fabplan/emulator"
	"github.com/fabplan/fabplan/engine"
	"github.com/fabplan/fabplan/engine/journal"
	"github.com/fabplan/fabplan/fabric/fabrictest"
	"github.com/fabplan/fabplan/state"
)

// Estate-L, as the engine issue defines it: per workspace a capacity assignment, three role
// assignments, two folders and 40 items, 30 of them with a definition.
const (
	estateRoles       = 3
	estateFolders     = 2
	estateItems       = 40
	estateDefinitions = 30
)

// writeEstate writes the estate plan for n workspaces and returns its path.
func writeEstate(b testing.TB, n int) string {
	dir := b.TempDir()
	def := filepath.Join(dir, "nb.Notebook")
	if err := os.MkdirAll(def, 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(def, "notebook-content.py"), []byte("# Fabric notebook source\nprint(\"@N@\")\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	src := fmt.Sprintf(`cap = fabric.capacity(name = "demo-capacity")
who = [principal.user(id = %q), principal.group(id = %q), principal.service_principal(id = %q)]
for w in range(%d):
    ws = fabric.workspace(name = "estate-%%d" %% w, capacity = cap)
    for r in range(%d):
        fabric.role_assignment(workspace = ws, principal = who[r], role = ["Member", "Contributor", "Viewer"][r])
    dirs = [fabric.folder(workspace = ws, name = "dir%%d" %% f) for f in range(%d)]
    for i in range(%d):
        if i < %d:
            d = fabric.definition(path = "nb.Notebook", replace = {"@N@": str(i)})
            fabric.item(workspace = ws, type = "Notebook", name = "nb%%d" %% i, folder = dirs[i %% 2], definition = d)
        else:
            fabric.item(workspace = ws, type = "DataPipeline", name = "dp%%d" %% i)
`, emulator.DefaultUserID, emulator.DefaultGroupID, "7d8e9f00-0000-4000-8000-0000000be11a",
		n, estateRoles, estateFolders, estateItems, estateDefinitions)
	file := filepath.Join(dir, "estate.star")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		b.Fatal(err)
	}
	return file
}

// deployEstate applies the estate to a fast emulator (no latency, immediate operations) that
// saves its state to stateFile.
func deployEstate(b testing.TB, plan, stateFile string) {
	emu, err := emulator.Start(emulator.Options{Dir: b.TempDir(), StateFile: stateFile,
		ImmediateTypes: []string{"Notebook", "DataPipeline"}})
	if err != nil {
		b.Fatal(err)
	}
	defer emu.Close()
	rt := engine.NewRuntime(fabrictest.Client(b, emu, "", ""))
	res, err := Compute(context.Background(), engine.Source{File: plan}, rt, 32)
	if err != nil {
		b.Fatal(err)
	}
	j, err := journal.Create(context.Background(), state.NewLocal(b.TempDir()), "bench", plan, "bench")
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	if err := engine.Apply(context.Background(), res.Graph, res.Plan, rt, engine.ApplyOptions{Parallelism: 32, Journal: j, Undo: builtins.UndoRegistry()}); err != nil {
		b.Fatal(err)
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

// estateFloor is the fewest Fabric requests a refresh of an estate of n workspaces can make,
// when each getDefinition costs defRequests (1 answered at once, 3 as an operation: start, one
// poll after its Retry-After, result).
func estateFloor(n, pageSize, defRequests int) int {
	admins := 1                                      // the deploying service principal, Admin of the workspaces it created
	return pages(1, pageSize) + pages(n, pageSize) + // capacities, workspaces
		n*(pages(estateItems, pageSize)+pages(estateRoles+admins, pageSize)+pages(estateFolders, pageSize)) +
		n*estateDefinitions*defRequests
}

// fabricRequests counts the Fabric calls and 429 answers among requests.
func fabricRequests(rs []emulator.RequestRecord) (requests, throttled int) {
	for _, r := range rs {
		if strings.HasPrefix(r.Path, "/v1/") {
			requests++
			if r.Status == 429 {
				throttled++
			}
		}
	}
	return requests, throttled
}

// TestPlanRequestsAtFloor: a no-op plan of a small estate sends exactly the requests it cannot do
// without: no per-item GET, no getDefinition for items whose definition the plan does not manage,
// no second list of a collection, nothing that changes anything.
func TestPlanRequestsAtFloor(t *testing.T) {
	const n = 1
	plan := writeEstate(t, n)
	stateFile := filepath.Join(t.TempDir(), "state.json")
	deployEstate(t, plan, stateFile)
	emu, err := emulator.Start(emulator.Options{Dir: t.TempDir(), StateFile: stateFile, ImmediateTypes: []string{"Notebook", "DataPipeline"}})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	res, err := Compute(context.Background(), engine.Source{File: plan}, engine.NewRuntime(fabrictest.Client(t, emu, "", "")), 8)
	if err != nil {
		t.Fatal(err)
	}
	if res.Plan.HasChanges() || len(res.Plan.Unmanaged) > 0 {
		t.Fatalf("the estate is not a no-op: %+v", engine.NewDocument(res.Plan, engine.Source{File: plan}, "").Summary)
	}
	var log strings.Builder
	for _, r := range emu.Requests() {
		fmt.Fprintf(&log, "%s %s\n", r.Method, r.Path)
		if r.Method != "GET" && !strings.HasSuffix(r.Path, "/getDefinition") && strings.HasPrefix(r.Path, "/v1/") {
			t.Errorf("plan changed something: %s %s", r.Method, r.Path)
		}
	}
	if got, throttled := fabricRequests(emu.Requests()); got != estateFloor(n, 25, 1) {
		t.Errorf("a no-op plan sent %d Fabric requests (%d answered 429), want the floor %d:\n%s", got, throttled, estateFloor(n, 25, 1), log.String())
	}
}

// pages is how many pages a paged list of n entries takes.
func pages(n, size int) int { return max(1, (n+size-1)/size) }

// BenchmarkPlanNoOpEstateL plans estate-L (FABPLAN_BENCH_WORKSPACES workspaces, default 20;
// FABPLAN_BENCH_PARALLELISM refreshes in flight at most, default the CLI's --parallelism) when
// live state already matches it, against an emulator with estate-L's conditions: 25 ms latency,
// operations that run 1 s, 50 requests/s per identity. It reports the Fabric requests one plan
// sends and the floor: what a refresh cannot do without (one paged list per collection, one
// getDefinition operation per managed definition: start, one poll, result).
func BenchmarkPlanNoOpEstateL(b *testing.B) {
	n, parallelism := envInt("FABPLAN_BENCH_WORKSPACES", 20), envInt("FABPLAN_BENCH_PARALLELISM", engine.DefaultParallelism)
	const pageSize, rate = 25, 50.0
	plan := writeEstate(b, n)
	stateFile := filepath.Join(b.TempDir(), "state.json")
	deployEstate(b, plan, stateFile)

	emu, err := emulator.Start(emulator.Options{Dir: b.TempDir(), StateFile: stateFile, PageSize: pageSize,
		LRODelay: time.Second, Faults: emulator.FaultConfig{Latency: 25 * time.Millisecond, ThrottleRate: rate, ThrottleBurst: int(rate)}})
	if err != nil {
		b.Fatal(err)
	}
	defer emu.Close()
	floor := estateFloor(n, pageSize, 3)
	b.ResetTimer()
	var requests, throttled int
	for range b.N {
		before := len(emu.Requests())
		res, err := Compute(context.Background(), engine.Source{File: plan}, engine.NewRuntime(fabrictest.Client(b, emu, "", "")), parallelism)
		if err != nil {
			b.Fatal(err)
		}
		var out bytes.Buffer
		doc := engine.NewDocument(res.Plan, engine.Source{File: plan}, "bench")
		view.Document(&out, doc, view.PlanOptions{})
		if doc.Summary.HasChanges || len(doc.Unmanaged) > 0 {
			b.Fatalf("the estate is not a no-op:\n%s", out.String())
		}
		r, t := fabricRequests(emu.Requests()[before:])
		requests, throttled = requests+r, throttled+t
	}
	b.StopTimer()
	perOp := float64(requests) / float64(b.N)
	b.ReportMetric(perOp, "requests/op")
	b.ReportMetric(float64(floor), "floor-requests")
	b.ReportMetric(perOp/float64(floor), "requests/floor")
	b.ReportMetric(float64(throttled)/float64(b.N), "429s/op")
	b.ReportMetric(float64(floor)/rate, "floor-s-at-50rps")
}
