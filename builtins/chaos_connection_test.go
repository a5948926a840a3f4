package builtins

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/fabplan/fabplan/emulator"
	"github.com/fabplan/fabplan/engine"
	"github.com/fabplan/fabplan/engine/journal"
	"github.com/fabplan/fabplan/fabric"
	"github.com/fabplan/fabplan/secrets"
	statestore "github.com/fabplan/fabplan/state"
)

// The chaos suite of fabric.connection: a create, or an update (privacy level, gateway use, one
// connection added), of connections with secret credentials, against faults drawn from the seed
// on the connections API, while another actor makes a connection with a name the run is about to
// create. Each seed must end converged (a second plan, knowing the journals' credential digests,
// has no change) or exactly restored (the connections as they were), the other actor's connections
// untouched, and no credential in the journal.

const chaosConnV1 = `
fabric.connection(name = "chaos-sql", type = "SQL", parameters = {"server": "s.example.net", "database": "d"},
                  credential_type = "Basic", username = "loader", password = secret("chaos-pw"))
fabric.connection(name = "chaos-blob", type = "AzureBlobs", parameters = {"account": "a", "domain": "blob.core.windows.net"},
                  credential_type = "Key", key = secret("chaos-key"))
`

const chaosConnV2 = `
fabric.connection(name = "chaos-sql", type = "SQL", parameters = {"server": "s.example.net", "database": "d"},
                  credential_type = "Basic", username = "loader", password = secret("chaos-pw"), privacy_level = "Private")
fabric.connection(name = "chaos-blob", type = "AzureBlobs", parameters = {"account": "a", "domain": "blob.core.windows.net"},
                  credential_type = "Key", key = secret("chaos-key"), allow_gateway = True)
fabric.connection(name = "chaos-sas", type = "AzureDataLakeStorage", parameters = {"server": "https://l.dfs.core.windows.net", "path": "raw"},
                  credential_type = "SharedAccessSignature", token = secret("chaos-sas"))
`

var chaosConnSecrets = map[string]string{"CHAOS_PW": "SENTINEL-chaos-pw-1c", "CHAOS_KEY": "SENTINEL-chaos-key-2d",
	"CHAOS_SAS": "SENTINEL-chaos-sas-3e"}

func TestChaosConnections(t *testing.T) {
	seeds, start := 4, 1
	if v := os.Getenv("FABPLAN_CHAOS_SEEDS"); v != "" {
		seeds, _ = strconv.Atoi(v)
	}
	if v := os.Getenv("FABPLAN_CHAOS_SEED_START"); v != "" {
		start, _ = strconv.Atoi(v)
	}
	dir := t.TempDir()
	for name, text := range map[string]string{"v1.star": chaosConnV1, "v2.star": chaosConnV2} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	counts := map[chaosOutcome]int{}
	for seed := start; seed < start+seeds; seed++ {
		t.Run(strconv.Itoa(seed), func(t *testing.T) {
			counts[chaosConnSeed(t, dir, uint64(seed))]++
		})
	}
	t.Logf("connection chaos: seeds %d (from %d), converged %d, restored %d, violated %d",
		seeds, start, counts[converged], counts[restored], counts[violated])
}

func chaosConnSeed(t *testing.T, dir string, seed uint64) chaosOutcome {
	rng := rand.New(rand.NewPCG(seed, 0xc0ee))
	emu, err := emulator.Start(emulator.Options{Dir: t.TempDir(), Seed: int64(seed)})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	client := chaosClient(t, emu)
	st := statestore.NewLocal(t.TempDir())
	update := rng.IntN(2) == 1
	plan := filepath.Join(dir, "v1.star")
	if update {
		if err := chaosConnRun(t, client, st, plan, nil); err != nil {
			t.Fatalf("seed %d: deploying v1 without faults: %v", seed, err)
		}
		plan = filepath.Join(dir, "v2.star")
	}
	var theirs []fabric.Connection
	var start []string
	var faults []emulator.FaultRule
	err = chaosConnRun(t, client, st, plan, func() {
		// The other actor: its own connection, and sometimes one named like the run's next create.
		names := []string{"theirs"}
		if rng.IntN(4) == 0 {
			names = append(names, map[bool]string{false: "chaos-blob", true: "chaos-sas"}[update])
		}
		for _, n := range names {
			cn, err := client.CreateConnection(bg, fabric.ConnectionCreate{DisplayName: n, Type: "Web", CreationMethod: "Web",
				Parameters:  []fabric.ConnectionParam{{Name: "url", DataType: "Text", Value: "https://theirs.example"}},
				Credentials: fabric.Credentials{Type: "Anonymous"}})
			if err != nil {
				t.Fatal(err)
			}
			theirs = append(theirs, cn)
		}
		start = chaosConnState(t, client)
		faults = chaosConnFaults(rng)
		for _, f := range faults {
			if err := emu.AddFault(f); err != nil {
				t.Fatal(err)
			}
		}
	})
	emu.ClearFaults()
	b, _ := json.Marshal(faults)
	describe := fmt.Sprintf("seed %d (%s), faults %s, run: %v", seed, map[bool]string{false: "create", true: "update"}[update], b, err)
	for _, cn := range theirs {
		now, gerr := client.GetConnection(bg, cn.ID)
		if gerr != nil || now != cn {
			t.Errorf("VIOLATED %s: the other actor's connection %q: %+v, %v", describe, cn.DisplayName, now, gerr)
			return violated
		}
	}
	chaosNoSecretInState(t, st)
	if err == nil {
		if changes := chaosConnPlan(t, client, st, plan); len(changes) > 0 {
			t.Errorf("VIOLATED %s: the run succeeded but a second plan wants %v", describe, changes)
			return violated
		}
		t.Logf("converged: %s", describe)
		return converged
	}
	if end := chaosConnState(t, client); !slices.Equal(end, start) {
		t.Errorf("VIOLATED %s: failed and not restored:\nstart %v\nend   %v", describe, start, end)
		return violated
	}
	t.Logf("restored: %s", describe)
	return restored
}

// chaosConnFaults draws one to three faults on the connections API.
func chaosConnFaults(rng *rand.Rand) []emulator.FaultRule {
	mutating := [][2]string{{"POST", "/v1/connections"}, {"PATCH", "/v1/connections/*"}, {"DELETE", "/v1/connections/*"}}
	var out []emulator.FaultRule
	for range 1 + rng.IntN(3) {
		m := mutating[rng.IntN(len(mutating))]
		r := emulator.FaultRule{Method: m[0], Path: m[1], Nth: 1 + rng.IntN(3), Times: 1 + rng.IntN(2)}
		switch rng.IntN(5) {
		case 0:
			r.Status, r.RetryAfter = 429, 1
		case 1:
			r.Status = []int{500, 503}[rng.IntN(2)]
		case 2:
			r.Action = emulator.ActionResetBefore
		case 3:
			r.Action = emulator.ActionResetAfter
		case 4:
			r = emulator.FaultRule{Method: "GET", Path: "/v1/connections", Nth: 1 + rng.IntN(3), Times: 1, Status: 503}
		}
		out = append(out, r)
	}
	if rng.IntN(3) == 0 {
		// A definite refusal, so that the run fails and rolls back under the other faults.
		m := mutating[rng.IntN(2)]
		out = append(out, emulator.FaultRule{Method: m[0], Path: m[1], Status: 400, ErrorCode: "InvalidInput"})
	}
	return out
}

func chaosConnEval(t *testing.T, plan string) *engine.Graph {
	getenv := func(k string) string { return chaosConnSecrets[k] }
	g, err := Evaluate(context.Background(), EvalOptions{File: plan, Secrets: secrets.New(secrets.Options{Getenv: getenv,
		Fallback: secrets.FallbackAllow})})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// chaosConnRuntime knows the journals' credential digests and reads secrets as the CLI does.
func chaosConnRuntime(t *testing.T, client *fabric.Client, st statestore.Store) *engine.Runtime {
	ev, err := journal.ReadEvidence(bg, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	rt := engine.NewRuntime(client)
	rt.Owned, rt.Sensitive, rt.CredentialDigests = ev.Owned, ev.Sensitive, ev.CredentialDigests
	rt.Resolve = func(_ context.Context, name string) (string, error) {
		return chaosConnSecrets[strings.ToUpper(strings.ReplaceAll(name, "-", "_"))], nil
	}
	return rt
}

func chaosConnRun(t *testing.T, client *fabric.Client, st statestore.Store, plan string, between func()) error {
	g := chaosConnEval(t, plan)
	rt := chaosConnRuntime(t, client, st)
	p, err := engine.Refresh(bg, g, rt, 4)
	if err != nil {
		return err
	}
	if between != nil {
		between()
	}
	runs, _ := journal.List(bg, st)
	j, err := journal.Create(bg, st, fmt.Sprintf("run%03d", len(runs)), plan, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	err = engine.Apply(bg, g, p, rt, engine.ApplyOptions{Parallelism: 4, Journal: j, Undo: UndoRegistry()})
	var ae *engine.ApplyError
	if errors.As(err, &ae) && ae.Rollback != nil && !ae.Rollback.OK() {
		return fmt.Errorf("%w\nrollback: %v", err, ae.Rollback)
	}
	return err
}

func chaosConnPlan(t *testing.T, client *fabric.Client, st statestore.Store, plan string) []string {
	p, err := engine.Refresh(bg, chaosConnEval(t, plan), chaosConnRuntime(t, client, st), 4)
	if err != nil {
		t.Fatalf("second plan: %v", err)
	}
	var out []string
	for _, c := range p.Changes {
		if c.Action.Mutates() {
			out = append(out, c.Action.String()+" "+string(c.Addr)+" "+c.Reason)
		}
	}
	return out
}

// chaosConnState is every connection as Fabric shows it, ids left out, sorted.
func chaosConnState(t *testing.T, client *fabric.Client) []string {
	all, err := client.ListConnections(bg)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, cn := range all {
		cn.ID = ""
		out = append(out, fmt.Sprintf("%+v", cn))
	}
	slices.Sort(out)
	return out
}

func chaosNoSecretInState(t *testing.T, st statestore.Store) {
	runs, err := journal.List(bg, st)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		recs, err := journal.Read(bg, st, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(recs)
		if strings.Contains(string(b), "SENTINEL") {
			t.Errorf("a credential is in the journal of run %s", r.ID)
		}
	}
}
