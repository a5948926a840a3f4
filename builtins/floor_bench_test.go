package builtins

import (
	"context"
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
}

func (p floorPhase) report(b *testing.B, name string, rate float64) {
	floor := time.Duration(float64(p.requests-p.throttled) / rate * float64(time.Second))
	b.ReportMetric(p.wall.Seconds(), name+"-wall-s")
	b.ReportMetric(float64(p.requests), name+"-requests")
	b.ReportMetric(float64(p.throttled), name+"-429s")
	b.ReportMetric(floor.Seconds(), name+"-floor-s")
	b.ReportMetric(p.wall.Seconds()/floor.Seconds(), name+"-wall/floor")
}

// floorRun deploys, plans (a no-op) and rolls back one estate against one emulator with estate-L's
// conditions (25 ms latency, 1 s operations, rate requests/s per identity), each phase with a
// client of its own, as separate fabplan commands would.
type floorRun struct {
	b           *testing.B
	emu         *emulator.Emulator
	st          statestore.Store
	parallelism int
	rollbackPar int
}

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
	return c
}

func phaseOf(c *fabric.Client, start time.Time) floorPhase {
	s := c.Stats()
	return floorPhase{wall: time.Since(start), requests: s.Requests, throttled: s.Throttled}
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
	return phaseOf(c, start)
}

func (f *floorRun) noop(g *engine.Graph) floorPhase {
	c := f.client()
	start := time.Now()
	p, err := engine.Refresh(context.Background(), g, engine.NewRuntime(c), f.parallelism)
	if err != nil {
		f.b.Fatal(err)
	}
	for _, ch := range p.Changes {
		if ch.Action.Mutates() {
			f.b.Fatalf("plan after apply is not a no-op: %s %s", ch.Action, ch.Addr)
		}
	}
	return phaseOf(c, start)
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
	rp, err := engine.PlanRollback(ctx, recs, rt, PreviewRegistry(), f.rollbackPar, false)
	if err != nil {
		f.b.Fatal(err)
	}
	res := engine.Rollback(ctx, recs, rt, engine.RollbackOptions{Journal: j, Undo: UndoRegistry(),
		Parallelism: f.rollbackPar, Leave: rp.Leave()})
	if !res.OK() || res.Undone == 0 {
		f.b.Fatalf("rollback: %v", res.Error())
	}
	return phaseOf(c, start)
}

// BenchmarkFloors applies, plans (no-op) and rolls back the 5-workspace estate and estate-L at
// default flags and reports, per phase, wall time, requests, 429s, the floor (the requests the
// server accepted at its limit) and wall/floor. FABPLAN_BENCH_PARALLELISM overrides --parallelism.
func BenchmarkFloors(b *testing.B) {
	const rate = 50.0
	for _, e := range floorEstates {
		b.Run(e.name, func(b *testing.B) {
			file := floorPlan(b, e)
			for range b.N {
				emu, err := emulator.Start(emulator.Options{Dir: b.TempDir(), LRODelay: time.Second,
					Faults: emulator.FaultConfig{Latency: 25 * time.Millisecond, ThrottleRate: rate,
						ThrottleBurst: int(rate)}})
				if err != nil {
					b.Fatal(err)
				}
				g, err := Evaluate(context.Background(), EvalOptions{File: file})
				if err != nil {
					b.Fatal(err)
				}
				f := &floorRun{b: b, emu: emu, st: statestore.NewLocal(b.TempDir()),
					parallelism: envInt("FABPLAN_BENCH_PARALLELISM", 8), rollbackPar: envInt("FABPLAN_BENCH_PARALLELISM", 4)}
				f.apply(g, "r1").report(b, "apply", rate)
				f.noop(g).report(b, "noop", rate)
				f.rollback("r1").report(b, "rollback", rate)
				emu.Close()
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
