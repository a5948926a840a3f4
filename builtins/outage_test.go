package builtins

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fabplan/fabplan/emulator"
)

// A few seconds of Fabric outage in the middle of a run with 8 workers opens the circuit breaker;
// the run must wait for it to half-open and finish, not fail (and then fail its rollback too).
func TestOutageDoesNotFailTheRun(t *testing.T) {
	var b strings.Builder
	b.WriteString("ws = fabric.workspace(name = \"outage\")\n")
	for i := range 16 {
		fmt.Fprintf(&b, "fabric.item(workspace = ws, type = \"Notebook\", name = \"nb%02d\", definition = fabric.definition(path = \"nb\"))\n", i)
	}
	dir := writeTree(t, map[string]string{"plan.star": b.String(), "nb/notebook-content.py": "# Fabric notebook source\nprint(1)\n"})
	for _, seconds := range []int{3, 8} {
		t.Run(fmt.Sprintf("%ds", seconds), func(t *testing.T) {
			t.Parallel()
			emu, err := emulator.Start(emulator.Options{Dir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			defer emu.Close()
			client := chaosClient(t, emu)
			if err := emu.AddFault(emulator.FaultRule{Path: "/v1/**", Nth: 12, Status: 503, OutageMs: seconds * 1000}); err != nil {
				t.Fatal(err)
			}
			plan := filepath.Join(dir, "plan.star")
			if err := chaosRun(t, client, t.TempDir(), plan, nil, nil); err != nil {
				t.Fatalf("a %d s outage failed the run: %v", seconds, err)
			}
			if s := client.Stats(); s.BreakerOpened == 0 {
				t.Errorf("the breaker never opened (stats %+v): the outage did not test it", s)
			}
			if changes := chaosPlan(t, client, plan); len(changes) > 0 {
				t.Errorf("after the run a second plan wants %v", changes)
			}
		})
	}
}

// The undo of a definition update restores the old definition through an operation; when that
// operation fails for a passing reason (UnknownError) it is sent again, so the rollback completes.
func TestRestoreRetriesATransientOperationFailure(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"v1.star": "ws = fabric.workspace(name = \"w\")\nfabric.item(workspace = ws, type = \"Notebook\", name = \"nb\", definition = fabric.definition(path = \"v1\"))\n",
		"v2.star": "ws = fabric.workspace(name = \"w\")\nnb = fabric.item(workspace = ws, type = \"Notebook\", name = \"nb\", definition = fabric.definition(path = \"v2\"))\n" +
			"fabric.item(workspace = ws, type = \"Notebook\", name = \"later\", depends_on = [nb])\n",
		"v1/notebook-content.py": "# Fabric notebook source\r\nprint('v1')  \n",
		"v2/notebook-content.py": "# Fabric notebook source\nprint('v2')\n",
	})
	emu, err := emulator.Start(emulator.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	client := chaosClient(t, emu)
	stateDir := t.TempDir()
	if err := chaosRun(t, client, stateDir, filepath.Join(dir, "v1.star"), nil, nil); err != nil {
		t.Fatal(err)
	}
	before := state(t, emu)
	for _, r := range []emulator.FaultRule{
		// The run's create of "later" is refused, so the run rolls back ...
		{Method: "POST", Path: "/v1/workspaces/*/items", Status: 400, ErrorCode: "InvalidInput"},
		// ... and the restore of nb's definition (the second updateDefinition) fails once.
		{Method: "POST", Path: "/v1/workspaces/*/items/*/updateDefinition", Nth: 2, Action: emulator.ActionFailOperation},
	} {
		if err := emu.AddFault(r); err != nil {
			t.Fatal(err)
		}
	}
	err = chaosRun(t, client, stateDir, filepath.Join(dir, "v2.star"), nil, nil)
	if err == nil || strings.Contains(err.Error(), "rollback incomplete") {
		t.Fatalf("want the run to fail and roll back completely, got %v", err)
	}
	if after := state(t, emu); string(after) != string(before) {
		t.Errorf("not restored:\nbefore %s\nafter  %s", before, after)
	}
	if rs := emu.Faults(); rs[1].Fired != 1 {
		t.Errorf("the restore's operation failure fired %d times, want 1", rs[1].Fired)
	}
}
