package builtins

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fabplan/fabplan/emulator"
	"github.com/fabplan/fabplan/engine"
	"github.com/fabplan/fabplan/engine/journal"
	"github.com/fabplan/fabplan/fabric"
	statestore "github.com/fabplan/fabplan/state"
)

// floorEstate is one of the estates the floor benchmarks run: workspaces x (3 role assignments,
// 2 folders, items, defs of them notebooks with a definition).
type floorEstate struct {
	name                    string
	workspaces, items, defs int
}

var floorEstates = []floorEstate{
	{"estate5", 5, 10, 7},   // 80 resources
	{"estateL", 20, 40, 30}, // 900 resources
}

// floorPhase is what one phase (apply, no-op plan, rollback) cost.
type floorPhase struct {
	wall      time.Duration
	requests  int64
	throttled int64
	// critical is the longest chain of dependent steps, each counted for the time it did not wait
	// on the throttle (engine.SchedStats.CriticalPath).
	critical time.Duration
	peak     int // most steps in flight
}

// floor is what no scheduler can beat: the accepted requests at the limit, or the critical path.
func (p floorPhase) floor(rate float64) time.Duration {
	return max(time.Duration(float64(p.requests-p.throttled)/rate*float64(time.Second)), p.critical)
}

func (p floorPhase) ratio(rate float64) float64 { return p.wall.Seconds() / p.floor(rate).Seconds() }

func (p floorPhase) report(b *testing.B, name string, rate float64) {
	b.ReportMetric(p.wall.Seconds(), name+"-wall-s")
	b.ReportMetric(float64(p.requests), name+"-requests")
	b.ReportMetric(float64(p.throttled), name+"-429s")
	b.ReportMetric(p.critical.Seconds(), name+"-critical-s")
	b.ReportMetric(p.floor(rate).Seconds(), name+"-floor-s")
	b.ReportMetric(p.ratio(rate), name+"-wall/floor")
	b.ReportMetric(float64(p.peak), name+"-peak-inflight")
}

// floorRun deploys, plans (a no-op) and rolls back one estate against one emulator with estate-L's
// conditions (25 ms latency, 1 s operations, rate requests/s per identity), each phase with a
// client of its own, as separate fabplan commands would.
type floorRun struct {
	b           testing.TB
	emu         *emulator.Emulator
	st          statestore.Store
	parallelism int // 0: the default
}

// throttleMeta is where the benchmark keeps the throttle's learned rate between phases, in the
// state store, as fabplan's commands do (cmd/fabplan/internal/cli).
const throttleMeta = "throttle-bench.json"

// client is a new client whose throttle starts where the last phase's left off.
func (f *floorRun) client() *fabric.Client {
	id, secret := f.emu.ServicePrincipal()
	cred, err := fabric.NewCredential(fabric.AuthConfig{TenantID: f.emu.TenantID(), ClientID: id, ClientSecret: secret,
		AuthorityHost: f.emu.AuthorityHost(), HTTPClient: f.emu.HTTPClient()})
	if err != nil {
		f.b.Fatal(err)
	}
	c, err := fabric.New(fabric.Config{BaseURL: f.emu.FabricURL(), Credential: cred, HTTPClient: f.emu.HTTPClient()})
	if err != nil {
		f.b.Fatal(err)
	}
	if data, err := f.st.ReadMeta(context.Background(), throttleMeta); err == nil {
		var l fabric.Learned
		if err := json.Unmarshal(data, &l); err != nil {
			f.b.Fatal(err)
		}
		c.Throttle().Resume(l)
	}
	return c
}

// phaseOf is what the phase cost; it keeps what the throttle learned for the next.
func (f *floorRun) phaseOf(c *fabric.Client, rt *engine.Runtime, start time.Time) floorPhase {
	s := c.Stats()
	p := floorPhase{wall: time.Since(start), requests: s.Requests, throttled: s.Throttled,
		critical: rt.SchedStats().CriticalPath, peak: rt.SchedStats().PeakInFlight}
	l := c.Throttle().Learned()
	f.b.Logf("throttle learned %+v", l)
	data, _ := json.Marshal(l)
	if err := f.st.WriteMeta(context.Background(), throttleMeta, data); err != nil {
		f.b.Fatal(err)
	}
	return p
}

func (f *floorRun) apply(g *engine.Graph, run string) floorPhase {
	ctx := context.Background()
	c := f.client()
	j, err := journal.Create(ctx, f.st, run, "estate.star", "bench")
	if err != nil {
		f.b.Fatal(err)
	}
	defer j.Close()
	start := time.Now()
	rt := engine.NewRuntime(c)
	p, err := engine.Refresh(ctx, g, rt, f.parallelism)
	if err != nil {
		f.b.Fatal(err)
	}
	if err := engine.Apply(ctx, g, p, rt, engine.ApplyOptions{Parallelism: f.parallelism, Journal: j,
		Undo: UndoRegistry()}); err != nil {
		f.b.Fatal(err)
	}
	return f.phaseOf(c, rt, start)
}

func (f *floorRun) noop(g *engine.Graph) floorPhase {
	c := f.client()
	start := time.Now()
	rt := engine.NewRuntime(c)
	p, err := engine.Refresh(context.Background(), g, rt, f.parallelism)
	if err != nil {
		f.b.Fatal(err)
	}
	for _, ch := range p.Changes {
		if ch.Action.Mutates() {
			f.b.Fatalf("plan after apply is not a no-op: %s %s", ch.Action, ch.Addr)
		}
	}
	return f.phaseOf(c, rt, start)
}

func (f *floorRun) rollback(run string) floorPhase {
	ctx := context.Background()
	c := f.client()
	start := time.Now()
	j, recs, err := journal.Reopen(ctx, f.st, run)
	if err != nil {
		f.b.Fatal(err)
	}
	defer j.Close()
	rt := engine.NewRuntime(c)
	rp, err := engine.PlanRollback(ctx, recs, rt, PreviewRegistry(), f.parallelism, false)
	if err != nil {
		f.b.Fatal(err)
	}
	res := engine.Rollback(ctx, recs, rt, engine.RollbackOptions{Journal: j, Undo: UndoRegistry(),
		Parallelism: f.parallelism, Leave: rp.Leave()})
	if !res.OK() || res.Undone == 0 {
		f.b.Fatalf("rollback: %v", res.Error())
	}
	return f.phaseOf(c, rt, start)
}

// floorRate is the emulator's limit per identity in the floor runs.
const floorRate = 50.0

// floorPhases runs one estate through its phases against one emulator with estate-L's conditions:
// a first apply (nothing learned yet: the throttle starts slow), a no-op plan, a rollback, and the
// apply again (the throttle resumes what the earlier phases learned, as a user's next run does).
func floorPhases(tb testing.TB, e floorEstate, parallelism int) map[string]floorPhase {
	emu, err := emulator.Start(emulator.Options{Dir: tb.TempDir(), LRODelay: time.Second,
		Faults: emulator.FaultConfig{Latency: 25 * time.Millisecond, ThrottleRate: floorRate,
			ThrottleBurst: int(floorRate)}})
	if err != nil {
		tb.Fatal(err)
	}
	defer emu.Close()
	g, err := Evaluate(context.Background(), EvalOptions{File: floorPlan(tb, e)})
	if err != nil {
		tb.Fatal(err)
	}
	f := &floorRun{b: tb, emu: emu, st: statestore.NewLocal(tb.TempDir()), parallelism: parallelism}
	out := map[string]floorPhase{}
	out["apply-first"] = f.apply(g, "r1")
	out["noop"] = f.noop(g)
	out["rollback"] = f.rollback("r1")
	out["apply"] = f.apply(g, "r2")
	return out
}

// floorPhaseNames orders the phases in reports.
var floorPhaseNames = []string{"apply-first", "apply", "noop", "rollback"}

// BenchmarkFloors runs the 5-workspace estate and estate-L through floorPhases at default flags and
// reports, per phase, wall time, requests, 429s, the critical path, the floor (max of the accepted
// requests at the limit and the critical path) and wall/floor. FABPLAN_BENCH_PARALLELISM sets
// --parallelism.
func BenchmarkFloors(b *testing.B) {
	for _, e := range floorEstates {
		b.Run(e.name, func(b *testing.B) {
			for range b.N {
				phases := floorPhases(b, e, envInt("FABPLAN_BENCH_PARALLELISM", 0))
				for _, name := range floorPhaseNames {
					phases[name].report(b, name, floorRate)
				}
			}
		})
	}
}

// floorPlan writes the plan of e and returns its path.
func floorPlan(b testing.TB, e floorEstate) string {
	dir := b.TempDir()
	nb := filepath.Join(dir, "defs", "nb.Notebook")
	os.MkdirAll(nb, 0o755)
	os.WriteFile(filepath.Join(nb, "notebook-content.py"), []byte("# Fabric notebook source\nprint('{{N}}')\n"), 0o644)
	plan := fmt.Sprintf(`
cap = fabric.capacity(name = "demo-capacity")
people = [
    principal.user(id = %q),
    principal.group(id = %q),
    principal.service_principal(id = "7d8e9f00-0000-4000-8000-0000000be11a"),
]
for w in range(%d):
    ws = fabric.workspace(name = "estate-%%d" %% w, capacity = cap)
    for p, role in zip(people, ["Member", "Contributor", "Viewer"]):
        fabric.role_assignment(workspace = ws, principal = p, role = role)
    folders = [fabric.folder(workspace = ws, name = "f%%d" %% f) for f in range(2)]
    for i in range(%d):
        if i < %d:
            fabric.item(workspace = ws, type = "Notebook", name = "nb%%d" %% i, folder = folders[i %% 2],
                        definition = fabric.definition(path = "defs/nb.Notebook", replace = {"{{N}}": str(i)}))
        else:
            fabric.item(workspace = ws, type = "DataPipeline", name = "dp%%d" %% i)
`, emulator.DefaultUserID, emulator.DefaultGroupID, e.workspaces, e.items, e.defs)
	path := filepath.Join(dir, "estate.star")
	os.WriteFile(path, []byte(plan), 0o644)
	return path
}
