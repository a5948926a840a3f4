package journal

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fabplan/fabplan/state"
)

var ctx = context.Background()

func TestJournalIsPrivateAndSurvivesATornLine(t *testing.T) {
	dir := t.TempDir()
	j, err := Create(ctx, state.NewLocal(dir), "r1", "plan.star", "test")
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
	recs, err := Read(ctx, state.NewLocal(dir), "r1")
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
	j, err := Create(ctx, state.NewLocal(dir), "r1", "plan.star", "test")
	if err != nil {
		t.Fatal(err)
	}
	j.Append(Record{Type: Intent, Step: "workspace.a", Undo: &Undo{Op: "workspace.delete"}})
	j.Close()
	tear(t, j.Path(), `{"seq":3,"type":"done","st`)

	j, recs, err := Reopen(ctx, state.NewLocal(dir), "r1")
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
	recs, err = Read(ctx, state.NewLocal(dir), "r1")
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
			j, err := Create(ctx, state.NewLocal(dir), "r1", "plan.star", "test")
			if err != nil {
				t.Fatal(err)
			}
			tear(t, j.Path(), bad)
			j.Close()
			j, _, err = Reopen(ctx, state.NewLocal(dir), "r1") // a fresh handle, as after a crash
			if err == nil {
				t.Fatal("Reopen of a damaged journal succeeded")
			}
			f, _ := os.OpenFile(filepath.Join(dir, "runs", "r1", FileName), os.O_APPEND|os.O_WRONLY, 0)
			f.WriteString(`{"seq":3,"type":"done","step":"workspace.a"}` + "\n")
			f.Close()
			_, err = Read(ctx, state.NewLocal(dir), "r1")
			var de *DamagedError
			if !errors.As(err, &de) || de.Line != 2 || !strings.Contains(err.Error(), filepath.Join("r1", FileName)+":2:") {
				t.Fatalf("Read = %v, want a DamagedError naming %s line 2", err, FileName)
			}
			if _, err := List(ctx, state.NewLocal(dir)); !errors.As(err, &de) {
				t.Errorf("List = %v, want the damaged journal reported, not skipped", err)
			}
			if _, _, err := Ownership(ctx, state.NewLocal(dir), nil); !errors.As(err, &de) {
				t.Errorf("Ownership = %v, want the damaged journal reported", err)
			}
		})
	}
}

// failingStore makes a journal's appends fail from some point on, as a full disk or a storage
// outage would.
type failingJournal struct {
	state.Journal
	err error
}

func (f *failingJournal) Append(ctx context.Context, p []byte) error {
	if f.err != nil {
		return f.err
	}
	return f.Journal.Append(ctx, p)
}

// A failed append is an error, and nothing is appended after it: the journal's tail is unknown.
func TestAFailedAppendIsAnErrorAndStopsTheJournal(t *testing.T) {
	j, err := Create(ctx, state.NewLocal(t.TempDir()), "r1", "plan.star", "test")
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	fj := &failingJournal{Journal: j.f, err: errors.New("input/output error")}
	j.f = fj
	if err := j.Append(Record{Type: Intent, Step: "workspace.a"}); err == nil || !strings.Contains(err.Error(), "input/output error") {
		t.Fatalf("Append = %v, want the store's error", err)
	}
	fj.err = nil
	if err := j.Append(Record{Type: Done, Step: "workspace.a"}); err == nil {
		t.Fatal("Append after a failed append succeeded")
	}
}

func TestListOrdersRuns(t *testing.T) {
	dir := t.TempDir()
	for _, id := range []string{"r1", "r2"} {
		j, err := Create(ctx, state.NewLocal(dir), id, "p.star", "v")
		if err != nil {
			t.Fatal(err)
		}
		j.Append(Record{Type: Commit})
		j.Close()
	}
	// A run directory whose journal was never created (a crash inside Create) is no run.
	os.MkdirAll(filepath.Join(dir, "runs", "r3"), 0o700)
	runs, err := List(ctx, state.NewLocal(dir))
	if err != nil || len(runs) != 2 || runs[0].ID != "r1" || runs[1].State != StateCommitted {
		t.Fatalf("runs = %+v, %v", runs, err)
	}
}
