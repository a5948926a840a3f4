package journal

import (
	"errors"
	"testing"

	"github.com/fabplan/fabplan/state"
)

var (
	deployer = Target{Endpoint: "https://api.fabric.microsoft.com", Tenant: "t1", Identity: "deployer"}
	viewer   = Target{Endpoint: "https://api.fabric.microsoft.com", Tenant: "t1", Identity: "viewer"}
)

// applied is the journal of a committed run that made n changes.
func applied(n int) []Record {
	recs := []Record{{Type: Begin, Plan: "p.star", Env: "prod", Target: &deployer}}
	for i := range n {
		step := string(rune('a' + i))
		recs = append(recs, Record{Type: Intent, Step: step}, Record{Type: Done, Step: step, ID: step})
	}
	return append(recs, Record{Type: Commit})
}

// The state and counts follow from what was undone: an attempt that undid 1 of 7 leaves
// "7 change(s), 1 undone", never "7 undone", and a second attempt counts each change once.
func TestSummaryCountsUndoneExactly(t *testing.T) {
	recs := applied(7)
	recs = append(recs, Record{Type: RollbackBegin, Attempt: 1, Target: &deployer},
		Record{Type: Undone, Step: "g"})
	for _, s := range "abcdef" {
		recs = append(recs, Record{Type: UndoFailed, Step: string(s), Error: "CircuitBreakerOpen"})
	}
	recs = append(recs, Record{Type: RollbackEnd, Attempt: 1, Target: &deployer, Outcome: &RollbackOutcome{Undone: 1, Left: 6}})
	s := Summarize("r", recs)
	if s.Changes != 7 || s.Undone != 1 || s.Left() != 6 || s.State != StateAbandoned || s.Attempts != 1 {
		t.Fatalf("after attempt 1: %+v (left %d)", s, s.Left())
	}
	recs = append(recs, Record{Type: RollbackBegin, Attempt: 2, Target: &deployer}, Record{Type: Undone, Step: "g"})
	for _, s := range "abcdef" {
		recs = append(recs, Record{Type: Undone, Step: string(s)})
	}
	recs = append(recs, Record{Type: RollbackEnd, Attempt: 2, Target: &deployer, Outcome: &RollbackOutcome{Undone: 6}})
	s = Summarize("r", recs)
	if s.Changes != 7 || s.Undone != 7 || s.Left() != 0 || s.State != StateRolledBack || s.Attempts != 2 {
		t.Fatalf("after attempt 2: %+v", s)
	}
}

// A Viewer's failed attempt to roll back the deployer's committed run leaves it committed.
func TestFailedAttemptByAnotherIdentityDoesNotRelabel(t *testing.T) {
	recs := applied(3)
	recs = append(recs, Record{Type: RollbackBegin, Attempt: 1, Target: &viewer})
	for _, s := range "cba" {
		recs = append(recs, Record{Type: UndoFailed, Step: string(s), Code: "InsufficientPrivileges"})
	}
	recs = append(recs, Record{Type: RollbackEnd, Attempt: 1, Target: &viewer, Outcome: &RollbackOutcome{Left: 3}})
	if s := Summarize("r", recs); s.State != StateCommitted || s.Undone != 0 || s.Attempts != 1 || s.Last.Left != 3 {
		t.Fatalf("summary = %+v", s)
	}
}

// A run failed and its own rollback could undo nothing: that is an incomplete rollback.
func TestFailedOwnRollbackIsIncomplete(t *testing.T) {
	recs := applied(2)
	recs = recs[:len(recs)-1] // no commit: the run failed
	recs = append(recs, Record{Type: RollbackBegin, Attempt: 1}, Record{Type: UndoFailed, Step: "b"},
		Record{Type: UndoFailed, Step: "a"}, Record{Type: RollbackEnd, Attempt: 1, Outcome: &RollbackOutcome{Left: 2}})
	if s := Summarize("r", recs); s.State != StateAbandoned {
		t.Fatalf("summary = %+v", s)
	}
}

func TestRunKilledBeforeAnyChangeIsInterrupted(t *testing.T) {
	s := Summarize("r", []Record{{Type: Begin, Plan: "p.star", Target: &deployer}})
	if !s.Interrupted || s.Left() != 0 || s.State != StateRunning {
		t.Fatalf("summary = %+v", s)
	}
	s = Summarize("r", []Record{{Type: Begin}, {Type: Failed, Error: "reading workspace.a: boom"}})
	if !s.Interrupted || s.Error == "" || s.Unfinished != 0 {
		t.Fatalf("summary of a refresh failure = %+v", s)
	}
}

func TestCheckTargetNamesWhatDiffers(t *testing.T) {
	other := deployer
	other.Endpoint = "https://127.0.0.1:9"
	var tm *TargetMismatchError
	if err := CheckTarget("r", &deployer, other, false); !errors.As(err, &tm) || tm.Field != "endpoint" {
		t.Fatalf("endpoint: %v", err)
	}
	if err := CheckTarget("r", &deployer, viewer, false); !errors.As(err, &tm) || tm.Field != "identity" {
		t.Fatalf("identity: %v", err)
	}
	if err := CheckTarget("r", &deployer, viewer, true); err != nil {
		t.Fatalf("another identity, allowed: %v", err)
	}
	if err := CheckTarget("r", &deployer, Target{Endpoint: deployer.Endpoint + "/", Tenant: "T1", Identity: "DEPLOYER"}, false); err != nil {
		t.Fatalf("same target spelt differently: %v", err)
	}
}

// Prune's ownership evidence comes only from runs against the same Fabric.
func TestOwnershipCountsOnlyRunsOfTheSameFabric(t *testing.T) {
	dir := t.TempDir()
	elsewhere := Target{Endpoint: "https://127.0.0.1:9", Tenant: "t1", Identity: "deployer"}
	for id, target := range map[string]Target{"here": deployer, "there": elsewhere} {
		j, err := Start(ctx, state.NewLocal(dir), id, Record{Plan: "p.star", Target: &target})
		if err != nil {
			t.Fatal(err)
		}
		j.Append(Record{Type: Done, Step: "s", Action: "create", ID: "id-" + id})
		j.Append(Record{Type: Commit})
		j.Close()
	}
	owned, _, err := Ownership(ctx, state.NewLocal(dir), &viewer)
	if err != nil {
		t.Fatal(err)
	}
	if !owned["id-here"] || owned["id-there"] {
		t.Fatalf("owned = %v", owned)
	}
}

// A create Fabric refused journals a second intent without an undo: it made nothing, so it is not
// an unfinished change that keeps the rolled-back run "rollback-incomplete".
func TestSupersedingIntentWithoutUndoLeavesNothingUnfinished(t *testing.T) {
	del := Undo{Op: "item.delete"}
	recs := []Record{{Type: Begin, Plan: "p.star", Target: &deployer},
		{Type: Intent, Step: "a", Undo: &del}, {Type: Done, Step: "a", ID: "a", Undo: &del},
		{Type: Intent, Step: "b", Undo: &del}, {Type: Intent, Step: "b", Undo: &Undo{}},
		{Type: Failed, Step: "b", Error: "ItemDisplayNameAlreadyInUse"},
		{Type: RollbackBegin, Attempt: 1, Target: &deployer}, {Type: Undone, Step: "a"},
		{Type: RollbackEnd, Attempt: 1, Target: &deployer, Outcome: &RollbackOutcome{Undone: 1}}}
	if s := Summarize("r", recs); s.Unfinished != 0 || s.Left() != 0 || s.State != StateRolledBack {
		t.Fatalf("summary = %+v", s)
	}
}

// An adopt record is ownership evidence like a create; it writes no content, so it leaves what an
// earlier write said about the object's secrets as it was.
func TestAdoptIsOwnershipEvidenceAndKeepsSensitivity(t *testing.T) {
	dir := t.TempDir()
	for _, run := range []struct {
		id   string
		recs []Record
	}{
		{"1-update", []Record{{Type: Done, Step: "s", Action: "update", ID: "secretive", Sensitive: true}}},
		{"2-adopt", []Record{{Type: Done, Step: "s", Action: ActionAdopt, ID: "secretive"},
			{Type: Done, Step: "t", Action: ActionAdopt, ID: "plain"}}},
	} {
		j, err := Start(ctx, state.NewLocal(dir), run.id, Record{Plan: "p.star", Target: &deployer})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range run.recs {
			j.Append(r)
		}
		j.Append(Record{Type: Commit})
		j.Close()
	}
	owned, sensitive, err := Ownership(ctx, state.NewLocal(dir), &deployer)
	if err != nil {
		t.Fatal(err)
	}
	if !owned["secretive"] || !owned["plain"] {
		t.Fatalf("owned = %v", owned)
	}
	if !sensitive["secretive"] {
		t.Fatalf("sensitive = %v: adopting cleared what the update recorded", sensitive)
	}
}
