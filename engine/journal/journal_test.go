package journal

import (
	"errors"
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
	tear(t, path, `{"seq":3,"type":"do`)
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

func tear(t *testing.T, path, partial string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(partial)
	f.Close()
}

// After a crash mid-write, the rollback that reopens the journal must not append to the torn
// line: that would turn the torn line and the new record into one line nobody can read.
func TestReopenCutsATornLineBeforeAppending(t *testing.T) {
	dir := t.TempDir()
	j, err := Create(dir, "r1", "plan.star", "test")
	if err != nil {
		t.Fatal(err)
	}
	j.Append(Record{Type: Intent, Step: "workspace.a", Undo: &Undo{Op: "workspace.delete"}})
	j.Close()
	tear(t, j.Path(), `{"seq":3,"type":"done","st`)

	j, recs, err := Reopen(dir, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 {
		t.Fatalf("reopened with %d records, want 2", len(recs))
	}
	if err := j.Append(Record{Type: Undone, Step: "workspace.a"}); err != nil {
		t.Fatal(err)
	}
	j.Append(Record{Type: RolledBack})
	j.Close()
	recs, err = Read(dir, "r1")
	if err != nil {
		t.Fatalf("after reopen and append: %v", err)
	}
	if len(recs) != 4 || recs[2].Type != Undone || recs[2].Seq != 3 || recs[3].Type != RolledBack {
		t.Fatalf("records = %+v", recs)
	}
}

// Only the last line may be torn. A bad line anywhere else means records after it cannot be
// trusted, and rollback must not quietly act on the records before it.
func TestABadLineBeforeTheLastIsAnErrorNamingFileAndLine(t *testing.T) {
	for name, bad := range map[string]string{
		"not json": `{"seq":2,"type":"intent","step":"workspace.a"` + "\n",
		"no type":  `{"seq":2}` + "\n",
		"blank":    "\n",
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			j, err := Create(dir, "r1", "plan.star", "test")
			if err != nil {
				t.Fatal(err)
			}
			tear(t, j.Path(), bad)
			j.Close()
			j, _, err = Reopen(dir, "r1") // a fresh handle, as after a crash
			if err == nil {
				t.Fatal("Reopen of a damaged journal succeeded")
			}
			f, _ := os.OpenFile(filepath.Join(dir, "runs", "r1", FileName), os.O_APPEND|os.O_WRONLY, 0)
			f.WriteString(`{"seq":3,"type":"done","step":"workspace.a"}` + "\n")
			f.Close()
			_, err = Read(dir, "r1")
			var de *DamagedError
			if !errors.As(err, &de) || de.Line != 2 || !strings.Contains(err.Error(), filepath.Join("r1", FileName)+":2:") {
				t.Fatalf("Read = %v, want a DamagedError naming %s line 2", err, FileName)
			}
			if _, err := List(dir); !errors.As(err, &de) {
				t.Errorf("List = %v, want the damaged journal reported, not skipped", err)
			}
			if _, _, err := Ownership(dir, nil); !errors.As(err, &de) {
				t.Errorf("Ownership = %v, want the damaged journal reported", err)
			}
		})
	}
}

// syncRecorder passes writes and syncs to the real file and records their order.
type syncRecorder struct {
	file
	events  []string
	syncErr error
}

func (s *syncRecorder) Write(p []byte) (int, error) {
	s.events = append(s.events, "write")
	return s.file.Write(p)
}

func (s *syncRecorder) Sync() error {
	s.events = append(s.events, "sync")
	if s.syncErr != nil {
		return s.syncErr
	}
	return s.file.Sync()
}

// Append returns only once the record is synced: the engine makes the call an intent announces
// as soon as Append returns, so a record still in the page cache could be lost with the call made.
func TestAppendSyncsBeforeReturning(t *testing.T) {
	j, err := Create(t.TempDir(), "r1", "plan.star", "test")
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	rec := &syncRecorder{file: j.f}
	j.f = rec
	if err := j.Append(Record{Type: Intent, Step: "workspace.a"}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(rec.events, ","); got != "write,sync" {
		t.Fatalf("Append did %q, want write,sync", got)
	}
}

// A failed sync is an error, and nothing is appended after it: the file's tail is unknown.
func TestASyncFailureIsAnErrorAndStopsTheJournal(t *testing.T) {
	j, err := Create(t.TempDir(), "r1", "plan.star", "test")
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	j.f = &syncRecorder{file: j.f, syncErr: errors.New("input/output error")}
	if err := j.Append(Record{Type: Intent, Step: "workspace.a"}); err == nil || !strings.Contains(err.Error(), "input/output error") {
		t.Fatalf("Append = %v, want the sync error", err)
	}
	if err := j.Append(Record{Type: Done, Step: "workspace.a"}); err == nil {
		t.Fatal("Append after a failed sync succeeded")
	}
}

func TestLockKeepsASecondRunOut(t *testing.T) {
	dir := t.TempDir()
	unlock, err := Lock(dir)
	if err != nil {
		t.Fatal(err)
	}
	var le *LockedError
	if _, err := Lock(dir); !errors.As(err, &le) || !strings.Contains(err.Error(), "another fabplan run (pid ") {
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
	// A run directory whose journal was never created (a crash inside Create) is no run.
	os.MkdirAll(filepath.Join(dir, "runs", "r3"), 0o700)
	runs, err := List(dir)
	if err != nil || len(runs) != 2 || runs[0].ID != "r1" || runs[1].State != StateCommitted {
		t.Fatalf("runs = %+v, %v", runs, err)
	}
}
