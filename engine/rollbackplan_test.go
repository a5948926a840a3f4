package engine

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/fabplan/fabplan/engine/journal"
)

// liveObjects previews test.undo as the delete of an object whose live attributes are given.
func liveObjects(live map[string]map[string]string, dataBearing map[string]bool) PreviewRegistry {
	return PreviewRegistry{"test.undo": func(_ context.Context, _ *Runtime, raw json.RawMessage) (UndoPreview, error) {
		var step string
		json.Unmarshal(raw, &step)
		attrs, ok := live[step]
		return UndoPreview{Action: Delete, Kind: "thing", Exists: ok, ID: step, Live: attrs, DataBearing: dataBearing[step]}, nil
	}}
}

func withPost(recs []journal.Record, post map[string]map[string]string, commit bool) []journal.Record {
	for i := range recs {
		if recs[i].Type == journal.Done {
			recs[i].Post = post[recs[i].Step]
		}
	}
	if commit {
		recs = append(recs, journal.Record{Type: journal.Commit})
	}
	return recs
}

// An object changed since the run is a conflict, and so is the workspace holding it; an object
// already gone is nothing to undo; a data-bearing one a committed run created needs
// --allow-destroy.
func TestPlanRollbackFindsConflicts(t *testing.T) {
	_, recs := undoJournal(t, []string{"ws"}, []string{"ws/a", "ws"}, []string{"ws/lake", "ws"}, []string{"other"}, []string{"gone"})
	post := map[string]map[string]string{
		"ws":      {"name": "ws"},
		"ws/a":    {"name": "a", "description": "mine"},
		"ws/lake": {"name": "lake"},
		"other":   {"name": "other"},
	}
	live := map[string]map[string]string{
		"ws":      {"name": "ws"},
		"ws/a":    {"name": "a", "description": "theirs"},
		"ws/lake": {"name": "lake"},
		"other":   {"name": "other"},
	}
	recs = withPost(recs, post, true)
	rp, err := PlanRollback(context.Background(), recs, NewRuntime(nil), liveObjects(live, map[string]bool{"ws/lake": true}), 2, false)
	if err != nil {
		t.Fatal(err)
	}
	leave := rp.Leave()
	if len(leave) != 2 || leave["ws/a"] != `changed since the run (description "mine" -> "theirs"); left alone, --force undoes it anyway` ||
		leave["ws"] != "left alone because ws/a, which depends on it, is left alone" {
		t.Fatalf("leave = %q", leave)
	}
	var got []string
	for _, c := range rp.Plan.Changes {
		got = append(got, string(c.Addr)+" "+c.Action.String())
	}
	if want := "ws/lake delete,gone no-op,other delete"; strings.Join(got, ",") != want {
		t.Errorf("plan = %s, want %s", strings.Join(got, ","), want)
	}
	if len(rp.Destroys) != 1 || rp.Destroys[0] != "ws/lake" {
		t.Errorf("destroys = %v", rp.Destroys)
	}

	// With --force nothing is left alone; a run that did not commit destroys nothing it kept.
	recs = recs[:len(recs)-1]
	rp, err = PlanRollback(context.Background(), recs, NewRuntime(nil), liveObjects(live, map[string]bool{"ws/lake": true}), 2, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(rp.Plan.Changes) != 5 || len(rp.Destroys) != 0 {
		t.Errorf("forced plan = %+v, destroys %v", rp.Plan.Changes, rp.Destroys)
	}
}
