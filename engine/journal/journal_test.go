package journal

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestJournalIsPrivateAndSurvivesATornLine(t *testing.T) {
	dir := t.TempDir()
	j, err := Create(dir, "r1", "plan.star", "test")
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Append(Record{Type: Intent, Step: "workspace.a", Undo: &Undo{Op: "workspace.delete"}}); err != nil {
		t.Fatal(err)
	}
	j.Close()
	path := filepath.Join(dir, "runs", "r1", FileName)
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("journal mode = %v, want 0600", st.Mode().Perm())
	}
	// A crash mid-write leaves half a line.
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"seq":3,"type":"do`)
	f.Close()
	recs, err := Read(dir, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].Type != Begin || recs[1].Step != "workspace.a" {
		t.Fatalf("records = %+v", recs)
	}
	if s := Summarize("r1", recs); s.State != StateRunning || s.Plan != "plan.star" {
		t.Errorf("summary = %+v", s)
	}
}

func TestLockKeepsASecondRunOut(t *testing.T) {
	dir := t.TempDir()
	unlock, err := Lock(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Lock(dir); err == nil || !strings.Contains(err.Error(), "another fabplan run") {
		t.Fatalf("second lock: %v", err)
	}
	unlock()
	again, err := Lock(dir)
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	again()
}

func TestListOrdersRuns(t *testing.T) {
	dir := t.TempDir()
	for _, id := range []string{"r1", "r2"} {
		j, err := Create(dir, id, "p.star", "v")
		if err != nil {
			t.Fatal(err)
		}
		j.Append(Record{Type: Commit})
		j.Close()
	}
	runs, err := List(dir)
	if err != nil || len(runs) != 2 || runs[0].ID != "r1" || runs[1].State != StateCommitted {
		t.Fatalf("runs = %+v, %v", runs, err)
	}
}
