package builtins

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fabplan/fabplan/emulator"
	"github.com/fabplan/fabplan/engine"
	"github.com/fabplan/fabplan/engine/journal"
	"github.com/fabplan/fabplan/fabric"
	statestore "github.com/fabplan/fabplan/state"
)

// The chaos suite: for each seed, a create or an update of an estate that uses every resource kind
// (workspace, capacity assignment, workspace identity, role assignments, folders, items with
// definitions, a Git connection) runs against faults drawn from the seed, while another actor makes
// same-named objects and changes its own. Each seed must end converged (a second plan has no change)
// or exactly restored (the normalized Fabric state equals the one the run started from, definitions
// byte for byte), and nothing of the other actor may be touched.
//
// `make chaos SEEDS=100 SEED_START=1` runs many seeds (FABPLAN_CHAOS_SEEDS, FABPLAN_CHAOS_SEED_START);
// `make test` runs a short subset.

const chaosV1 = `
cap = fabric.capacity(name = "demo-capacity")
ws = fabric.workspace(name = "chaos", description = "v1", capacity = cap, identity = False)
fabric.role_assignment(workspace = ws, principal = principal.user(id = %[1]q), role = "Contributor")
etl = fabric.folder(workspace = ws, name = "etl")
lake = fabric.item(workspace = ws, type = "Lakehouse", name = "lake", description = "v1")
fabric.item(workspace = ws, type = "Notebook", name = "load", description = "v1", folder = etl,
            definition = fabric.definition(path = "nb1"), depends_on = [lake])
fabric.item(workspace = ws, type = "DataPipeline", name = "copy", description = "v1")
fabric.git_connection(workspace = ws, provider = "AzureDevOps", organization = "o", project = "p", repository = "r",
                      branch = "main", connection_id = %[2]q, initialize = "PreferWorkspace")
`

const chaosV2 = `
cap = fabric.capacity(name = "demo-capacity")
ws = fabric.workspace(name = "chaos", description = "v2", capacity = cap, identity = True)
fabric.role_assignment(workspace = ws, principal = principal.user(id = %[1]q), role = "Member")
fabric.role_assignment(workspace = ws, principal = principal.group(id = %[3]q), role = "Viewer")
etl = fabric.folder(workspace = ws, name = "etl")
reports = fabric.folder(workspace = ws, name = "reports")
lake = fabric.item(workspace = ws, type = "Lakehouse", name = "lake", description = "v2")
fabric.item(workspace = ws, type = "Notebook", name = "load", description = "v2", folder = etl,
            definition = fabric.definition(path = "nb2"), depends_on = [lake])
fabric.item(workspace = ws, type = "DataPipeline", name = "copy", description = "v2")
fabric.item(workspace = ws, type = "Notebook", name = "report", description = "v2", folder = reports,
            definition = fabric.definition(path = "nb3"))
fabric.git_connection(workspace = ws, provider = "AzureDevOps", organization = "o", project = "p", repository = "r",
                      branch = "main", connection_id = %[2]q, initialize = "PreferWorkspace")
`

type chaosOutcome int

const (
	converged chaosOutcome = iota
	restored
	violated
)

func TestChaos(t *testing.T) {
	seeds, start := 2, 1
	if v := os.Getenv("FABPLAN_CHAOS_SEEDS"); v != "" {
		seeds, _ = strconv.Atoi(v)
	}
	if v := os.Getenv("FABPLAN_CHAOS_SEED_START"); v != "" {
		start, _ = strconv.Atoi(v)
	}
	short := os.Getenv("FABPLAN_CHAOS_SEEDS") == ""
	dir := writeTree(t, map[string]string{
		"v1.star": fmt.Sprintf(chaosV1, emulator.DefaultUserID, emulator.DefaultConnectionID) +
			fmt.Sprintf(chaosShortcutsSchedulesV1, emulator.DefaultConnectionID),
		"v2.star": fmt.Sprintf(chaosV2, emulator.DefaultUserID, emulator.DefaultConnectionID, emulator.DefaultGroupID) +
			fmt.Sprintf(chaosShortcutsSchedulesV2, emulator.DefaultConnectionID),
		"nb1/notebook-content.py": "# Fabric notebook source\r\nprint('v1')  \n",
		"nb2/notebook-content.py": "# Fabric notebook source\nprint('v2')\n",
		"nb3/notebook-content.py": "# Fabric notebook source\nprint('report')\n",
	})
	var mu sync.Mutex
	counts := map[chaosOutcome]int{}
	t.Run("seeds", func(t *testing.T) {
		for seed := start; seed < start+seeds; seed++ {
			t.Run(strconv.Itoa(seed), func(t *testing.T) {
				t.Parallel()
				out := chaosSeed(t, dir, uint64(seed), short)
				mu.Lock()
				counts[out]++
				mu.Unlock()
			})
		}
	})
	t.Logf("chaos: seeds %d (from %d), converged %d, restored %d, violated %d",
		seeds, start, counts[converged], counts[restored], counts[violated])
}

// chaosSeed runs one seed and says how it ended; a violation also fails the test.
func chaosSeed(t *testing.T, dir string, seed uint64, short bool) chaosOutcome {
	rng := rand.New(rand.NewPCG(seed, 0xc4a05))
	emu, err := emulator.Start(emulator.Options{Dir: t.TempDir(), Seed: int64(seed),
		ImmediateTypes: []string{"Lakehouse", "DataPipeline"}})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	client := chaosClient(t, emu)
	stateDir := t.TempDir()
	update := rng.IntN(2) == 1
	plan := filepath.Join(dir, "v1.star")
	if update {
		if err := chaosRun(t, client, stateDir, plan, nil, nil); err != nil {
			t.Fatalf("seed %d: deploying v1 without faults: %v", seed, err)
		}
		plan = filepath.Join(dir, "v2.star")
	}
	actor := &otherActor{c: client, rng: rng}
	var startState []byte
	var faults []emulator.FaultRule
	err = chaosRun(t, client, stateDir, plan, func() {
		actor.beforeApply(t, update)
		startState = normalizedState(t, emu, actor)
		faults = chaosFaults(rng, short)
		for _, f := range faults {
			if err := emu.AddFault(f); err != nil {
				t.Fatal(err)
			}
		}
	}, func() { actor.beforeRollback(t) })
	emu.ClearFaults()
	describe := func() string {
		b, _ := json.Marshal(faults)
		return fmt.Sprintf("seed %d (%s), faults %s, other actor %s, run: %v",
			seed, map[bool]string{false: "create", true: "update"}[update], b, actor.did, err)
	}
	if bad := actor.touched(t); bad != "" {
		t.Errorf("VIOLATED %s: the other actor's %s", describe(), bad)
		return violated
	}
	if err == nil {
		if changes := chaosPlan(t, client, plan); len(changes) > 0 {
			t.Errorf("VIOLATED %s: the run succeeded but a second plan wants %v", describe(), changes)
			return violated
		}
		t.Logf("converged: %s", describe())
		return converged
	}
	if end := normalizedState(t, emu, actor); !bytes.Equal(end, startState) {
		t.Errorf("VIOLATED %s: failed and not restored:\nstart %s\nend   %s", describe(), startState, end)
		return violated
	}
	t.Logf("restored: %s", describe())
	return restored
}

func chaosClient(t *testing.T, emu *emulator.Emulator) *fabric.Client {
	id, secret := emu.ServicePrincipal()
	cred, err := fabric.NewCredential(fabric.AuthConfig{TenantID: emu.TenantID(), ClientID: id, ClientSecret: secret,
		AuthorityHost: emu.AuthorityHost(), HTTPClient: emu.HTTPClient()})
	if err != nil {
		t.Fatal(err)
	}
	// Fabric's timings, shortened where they only make a test slow: the backoff starts at 100 ms and
	// the breaker half-opens after 2 s.
	c, err := fabric.New(fabric.Config{BaseURL: emu.FabricURL(), Credential: cred, HTTPClient: emu.HTTPClient(),
		BackoffInitial: 100 * time.Millisecond, BackoffMax: 2 * time.Second, BreakerCooldown: 2 * time.Second,
		NameReservedWait: 100 * time.Millisecond, CallTimeout: 2 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// chaosRun is `fabplan run` with hooks: between runs after refresh, before apply; beforeRollback
// runs when the apply failed, before the rollback (which meets the same faults).
func chaosRun(t *testing.T, client *fabric.Client, stateDir, plan string, between, beforeRollback func()) error {
	g, err := Evaluate(context.Background(), EvalOptions{File: plan})
	if err != nil {
		t.Fatal(err)
	}
	rt := engine.NewRuntime(client)
	p, err := engine.Refresh(context.Background(), g, rt, 8)
	if err != nil {
		return err
	}
	if between != nil {
		between()
	}
	runs, _ := journal.List(context.Background(), statestore.NewLocal(stateDir))
	j, err := journal.Create(context.Background(), statestore.NewLocal(stateDir), fmt.Sprintf("run%03d", len(runs)), plan, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	err = engine.Apply(context.Background(), g, p, rt, engine.ApplyOptions{Parallelism: 8, Journal: j, Undo: UndoRegistry(),
		NoRollback: true})
	if err == nil {
		return nil
	}
	if beforeRollback != nil {
		beforeRollback()
	}
	recs, rerr := j.Records(context.Background())
	if rerr != nil {
		t.Fatal(rerr)
	}
	res := engine.Rollback(context.Background(), recs, rt, engine.RollbackOptions{Journal: j, Undo: UndoRegistry(), Parallelism: 8})
	if !res.OK() {
		return fmt.Errorf("%w\n%v", err, res)
	}
	return err
}

// chaosPlan lists the changes a fresh plan of the file wants.
func chaosPlan(t *testing.T, client *fabric.Client, plan string) []string {
	g, err := Evaluate(context.Background(), EvalOptions{File: plan})
	if err != nil {
		t.Fatal(err)
	}
	p, err := engine.Refresh(context.Background(), g, engine.NewRuntime(client), 8)
	if err != nil {
		t.Fatalf("second plan: %v", err)
	}
	var out []string
	for _, c := range p.Changes {
		if c.Action.Mutates() {
			out = append(out, c.Action.String()+" "+string(c.Addr))
		}
	}
	return out
}

// chaosFaults draws one to four fault rules from the seed.
func chaosFaults(rng *rand.Rand, short bool) []emulator.FaultRule {
	creates := []string{"/v1/workspaces", "/v1/workspaces/*/items", "/v1/workspaces/*/roleAssignments",
		"/v1/workspaces/*/folders", "/v1/workspaces/*/git/connect"}
	updates := []string{"PATCH /v1/workspaces/*", "PATCH /v1/workspaces/*/items/*", "PATCH /v1/workspaces/*/roleAssignments/*",
		"POST /v1/workspaces/*/items/*/updateDefinition", "POST /v1/workspaces/*/items/*/move",
		"POST /v1/workspaces/*/provisionIdentity", "POST /v1/workspaces/*/assignToCapacity"}
	deletes := []string{"/v1/workspaces/*", "/v1/workspaces/*/items/*", "/v1/workspaces/*/roleAssignments/*",
		"/v1/workspaces/*/folders/*"}
	reads := []string{"/v1/workspaces/*/items", "/v1/workspaces", "/v1/operations/*", "/v1/workspaces/*/roleAssignments"}
	operations := []string{"/v1/workspaces/*/items", "/v1/workspaces/*/items/*/updateDefinition",
		"/v1/workspaces/*/items/*/getDefinition", "/v1/workspaces/*/provisionIdentity"}
	creates, updates = append(creates, chaosShortcutScheduleCreates()...), append(updates, chaosShortcutScheduleUpdates()...)
	deletes = append(deletes, chaosShortcutScheduleDeletes()...)
	operations = append(operations, chaosShortcutOperations()...)
	pick := func(l []string) string { return l[rng.IntN(len(l))] }
	mutating := func() (string, string) {
		switch rng.IntN(3) {
		case 0:
			return "POST", pick(creates)
		case 1:
			m, p, _ := strings.Cut(pick(updates), " ")
			return m, p
		}
		return "DELETE", pick(deletes)
	}
	maxOutage := 10
	if short {
		maxOutage = 3
	}
	n := 1 + rng.IntN(4)
	var out []emulator.FaultRule
	for range n {
		r := emulator.FaultRule{Nth: 1 + rng.IntN(4), Times: 1 + rng.IntN(3)}
		switch rng.IntN(8) {
		case 0:
			r.Method, r.Path = mutating()
			r.Status, r.RetryAfter = 429, 1
		case 1:
			r.Method, r.Path = mutating()
			r.Status = []int{500, 502, 503}[rng.IntN(3)]
		case 2:
			r.Method, r.Path = "GET", pick(reads)
			r.Status = 503
		case 3:
			r.Method, r.Path = mutating()
			r.Action = emulator.ActionResetBefore
		case 4, 5:
			r.Method, r.Path = mutating() // a lost answer after the change was made
			r.Action = emulator.ActionResetAfter
		case 6:
			r.Method, r.Path = "POST", pick(operations)
			r.Action = emulator.ActionFailOperation
		case 7:
			// An outage of every Fabric API, long enough to open the breaker.
			r = emulator.FaultRule{Path: "/v1/**", Nth: 1 + rng.IntN(30), Status: 503, OutageMs: 1000 * (1 + rng.IntN(maxOutage))}
		}
		out = append(out, r)
	}
	if rng.IntN(3) == 0 {
		// A definite refusal of the run's first create or update of some kind, so that the run fails
		// and rolls back under the other faults. (A refused undo could never be made good.)
		m, p := "POST", pick(creates)
		if rng.IntN(2) == 0 {
			m, p, _ = strings.Cut(pick(updates), " ")
		}
		out = append(out, emulator.FaultRule{Method: m, Path: p, Status: 400, ErrorCode: "InvalidInput"})
	}
	return out
}

// otherActor is someone else working in the same tenant: it makes objects of its own, some with the
// names the run is about to create, and changes its own objects while the run fails.
type otherActor struct {
	c   *fabric.Client
	rng *rand.Rand
	did []string
	// items are the actor's items, by id, with the description each must still have.
	ws    string
	items map[string]string
	roles map[string]string // principal id -> role
	own   string            // the id of the item the actor changes before the rollback
}

func (a *otherActor) beforeApply(t *testing.T, update bool) {
	a.items, a.roles = map[string]string{}, map[string]string{}
	if !update {
		if a.rng.IntN(4) == 0 {
			w, err := a.c.CreateWorkspace(bg, fabric.WorkspaceCreate{DisplayName: "chaos", Description: "theirs"})
			if err != nil {
				t.Fatal(err)
			}
			a.ws = w.ID
			a.did = append(a.did, "created the workspace chaos")
		}
		return
	}
	ws, _, err := a.c.FindWorkspace(bg, "chaos")
	if err != nil {
		t.Fatal(err)
	}
	it, err := a.c.CreateItem(bg, ws.ID, fabric.ItemCreate{Type: "Notebook", DisplayName: "actor-nb", Description: "actor"})
	if err != nil {
		t.Fatal(err)
	}
	a.own, a.items[it.ID] = it.ID, "actor"
	a.did = append(a.did, "made its own Notebook actor-nb")
	// Half the time, it also makes an object with a name the run is about to create.
	switch a.rng.IntN(6) {
	case 0:
		it, err := a.c.CreateItem(bg, ws.ID, fabric.ItemCreate{Type: "Notebook", DisplayName: "report", Description: "theirs"})
		if err != nil {
			t.Fatal(err)
		}
		a.items[it.ID] = "theirs"
		a.did = append(a.did, "created the Notebook report")
	case 1:
		if _, err := a.c.AddRoleAssignment(bg, ws.ID, fabric.Principal{ID: emulator.DefaultGroupID, Type: "Group"}, "Admin"); err != nil {
			t.Fatal(err)
		}
		a.roles[emulator.DefaultGroupID] = "Admin"
		a.did = append(a.did, "gave the group Admin")
	case 2:
		f, err := a.c.CreateFolder(bg, ws.ID, "reports", "")
		if err != nil {
			t.Fatal(err)
		}
		it, err := a.c.CreateItem(bg, ws.ID, fabric.ItemCreate{Type: "Notebook", DisplayName: "actor-in-reports", FolderID: f.ID})
		if err != nil {
			t.Fatal(err)
		}
		a.items[it.ID] = ""
		a.did = append(a.did, "created the folder reports")
	}
	a.ws = ws.ID
}

// beforeRollback changes the actor's own item between the failed run and its rollback.
func (a *otherActor) beforeRollback(t *testing.T) {
	if a.own == "" {
		return
	}
	desc := "actor, changed"
	// The faults are still on: the actor retries like any client.
	if _, err := a.c.UpdateItem(bg, a.ws, a.own, fabric.ItemUpdate{Description: &desc}); err != nil {
		a.did = append(a.did, "could not change actor-nb: "+err.Error())
		return
	}
	a.items[a.own] = desc
	a.did = append(a.did, "changed actor-nb")
}

// touched says what of the actor's objects is not as the actor left it; "" when nothing.
func (a *otherActor) touched(t *testing.T) string {
	if a.ws == "" {
		return ""
	}
	w, err := a.c.GetWorkspace(bg, a.ws)
	if err != nil {
		return "workspace: " + err.Error()
	}
	if len(a.items) == 0 && len(a.roles) == 0 && w.Description != "theirs" {
		return fmt.Sprintf("workspace description is %q", w.Description)
	}
	for id, desc := range a.items {
		it, err := a.c.GetItem(bg, a.ws, id)
		if err != nil {
			return "item " + id + ": " + err.Error()
		}
		if it.Description != desc {
			return fmt.Sprintf("item %s has description %q, want %q", it.DisplayName, it.Description, desc)
		}
	}
	for pid, role := range a.roles {
		ra, ok, err := a.c.FindRoleAssignment(bg, a.ws, pid)
		if err != nil || !ok || ra.Role != role {
			return fmt.Sprintf("role assignment of %s: %+v %v %v, want %s", pid, ra, ok, err, role)
		}
	}
	return ""
}

// normalizedState is the emulator's Fabric state without ids, the Git remotes (a commit the run's
// Git sync pushed stays in the repository) and the item the actor changes before the rollback.
func normalizedState(t *testing.T, emu *emulator.Emulator, a *otherActor) []byte {
	b, err := emu.State()
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Workspaces []map[string]any `json:"workspaces"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	for _, w := range st.Workspaces {
		items, _ := w["items"].([]any)
		kept := []any{}
		for _, it := range items {
			if m, _ := it.(map[string]any); m["displayName"] != "actor-nb" {
				kept = append(kept, it)
			}
		}
		w["items"] = kept
	}
	out, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return out
}
