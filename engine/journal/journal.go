package journal

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"time"
)

// Type is the kind of a journal record.
type Type string

const (
	Begin      Type = "begin"       // a run started
	Intent     Type = "intent"      // a change is about to be made
	Done       Type = "done"        // the change was made; carries the undo
	Failed     Type = "failed"      // the change failed (the call may still have taken effect)
	Undone     Type = "undone"      // a change was reversed
	UndoFailed Type = "undo_failed" // a change could not be reversed
	Commit     Type = "commit"      // the run finished and its changes stand
	RolledBack Type = "rolled_back" // every change of the run was reversed
	Abandoned  Type = "abandoned"   // a rollback finished with changes it could not reverse
)

// Undo describes how to reverse one change; Op names a function registered by the builtins.
type Undo struct {
	Op   string          `json:"op"`
	Args json.RawMessage `json:"args,omitempty"`
	// Irreversible marks a change that cannot be undone; rollback reports it.
	Irreversible bool `json:"irreversible,omitempty"`
}

// IsZero reports whether there is nothing to undo.
func (u Undo) IsZero() bool { return u.Op == "" && !u.Irreversible }

// Record is one line of the journal.
type Record struct {
	Seq    int       `json:"seq"`
	Time   time.Time `json:"time"`
	Type   Type      `json:"type"`
	Step   string    `json:"step,omitempty"`   // resource address
	Action string    `json:"action,omitempty"` // create, update, delete, ...
	Pos    string    `json:"pos,omitempty"`    // plan file:line:col
	ID     string    `json:"id,omitempty"`     // live id once known
	Undo   *Undo     `json:"undo,omitempty"`
	Error  string    `json:"error,omitempty"`
	Code   string    `json:"error_code,omitempty"` // Fabric's errorCode, when the error has one
	// Sensitive marks a done change whose object holds secret values; never the values.
	Sensitive bool `json:"sensitive,omitempty"`
	// Begin records only.
	Plan    string `json:"plan,omitempty"`
	Version string `json:"version,omitempty"`
}

// FileName is the journal's name inside a run directory.
const FileName = "journal.jsonl"

// Journal appends records to one run's file. It is safe for concurrent use.
type Journal struct {
	mu   sync.Mutex
	f    *os.File
	seq  int
	run  string
	path string
	now  func() time.Time
	// redact scrubs secret values from each line before it is written (SetRedact).
	redact func(string) string
}

// RunsDir is where runs live inside a state directory.
func RunsDir(stateDir string) string { return filepath.Join(stateDir, "runs") }

// Create starts the journal of a new run and writes its begin record.
func Create(stateDir, runID, plan, version string) (*Journal, error) {
	dir := filepath.Join(RunsDir(stateDir), runID)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("journal: create run directory: %w", err)
	}
	path := filepath.Join(dir, FileName)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	j := &Journal{f: f, run: runID, path: path, now: time.Now}
	if err := j.Append(Record{Type: Begin, Plan: plan, Version: version}); err != nil {
		f.Close()
		return nil, err
	}
	// The new file's directory entry must survive a crash too, or the journal could vanish
	// with the records it synced.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return j, nil
}

// Reopen appends to an existing run's journal (to record a later rollback).
func Reopen(stateDir, runID string) (*Journal, []Record, error) {
	recs, err := Read(stateDir, runID)
	if err != nil {
		return nil, nil, err
	}
	path := filepath.Join(RunsDir(stateDir), runID, FileName)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("journal: %w", err)
	}
	seq := 0
	if len(recs) > 0 {
		seq = recs[len(recs)-1].Seq
	}
	return &Journal{f: f, seq: seq, run: runID, path: path, now: time.Now}, recs, nil
}

// SetRedact makes every later record pass through redact before it reaches the file, so that a
// secret value that found its way into an error or a pre-image is never written.
func (j *Journal) SetRedact(redact func(string) string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.redact = redact
}

// RunID is the run this journal belongs to.
func (j *Journal) RunID() string { return j.run }

// Path is the journal file.
func (j *Journal) Path() string { return j.path }

// Append writes one record and syncs it to disk before returning.
func (j *Journal) Append(r Record) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.seq++
	r.Seq = j.seq
	r.Time = j.now().UTC()
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("journal: encode: %w", err)
	}
	if j.redact != nil {
		b = []byte(j.redact(string(b)))
	}
	if _, err := j.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("journal: write %s: %w", j.path, err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("journal: sync %s: %w", j.path, err)
	}
	return nil
}

// Close closes the file.
func (j *Journal) Close() error { return j.f.Close() }

// Records reads back everything this journal holds.
func (j *Journal) Records() ([]Record, error) { return readFile(j.path, j.run) }

// Read returns every record of a run, in order. A torn last line (a crash mid-write) is ignored.
func Read(stateDir, runID string) ([]Record, error) {
	return readFile(filepath.Join(RunsDir(stateDir), runID, FileName), runID)
}

func readFile(path, runID string) ([]Record, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no run %q: %s does not exist (fabplan runs lists the runs)", runID, path)
		}
		return nil, fmt.Errorf("journal: %w", err)
	}
	defer f.Close()
	var recs []Record
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<30)
	for sc.Scan() {
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			break
		}
		recs = append(recs, r)
	}
	return recs, sc.Err()
}

// State summarizes a run from its records.
type State string

const (
	StateRunning    State = "incomplete"  // no terminal record: running, or crashed
	StateCommitted  State = "committed"   // finished; changes stand
	StateRolledBack State = "rolled-back" // every change reversed
	StateAbandoned  State = "rollback-incomplete"
)

// Summary describes one run.
type Summary struct {
	ID      string
	Plan    string
	Started time.Time
	State   State
	Changes int // changes applied (done records)
	Undone  int // of those, how many were reversed
}

// Summarize derives a run's summary from its records.
func Summarize(runID string, recs []Record) Summary {
	s := Summary{ID: runID, State: StateRunning}
	done := map[string]bool{}
	for _, r := range recs {
		switch r.Type {
		case Begin:
			s.Plan, s.Started = r.Plan, r.Time
		case Done:
			s.Changes++
			done[r.Step] = true
		case Undone:
			if done[r.Step] {
				s.Undone++
			}
		case Commit:
			s.State = StateCommitted
		case RolledBack:
			s.State = StateRolledBack
		case Abandoned:
			s.State = StateAbandoned
		}
	}
	return s
}

// List returns every run in the state directory, oldest first.
func List(stateDir string) ([]Summary, error) {
	entries, err := os.ReadDir(RunsDir(stateDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	var out []Summary
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		recs, err := Read(stateDir, e.Name())
		if err != nil {
			continue
		}
		out = append(out, Summarize(e.Name(), recs))
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Started.Equal(out[j].Started) {
			return out[i].Started.Before(out[j].Started)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// Lock takes the state directory's lock so that two runs never share it. The lock is released
// by the returned function, or by the kernel when the process dies.
func Lock(stateDir string) (unlock func(), err error) {
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, fmt.Errorf("state directory %s: %w", stateDir, err)
	}
	path := filepath.Join(stateDir, "lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("state directory lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("another fabplan run holds %s; wait for it to finish, or use another --state-dir", path)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// Owned returns the ids of the objects fabplan created in any run of the state directory and
// that no rollback removed: the objects prune may delete.
func Owned(stateDir string) (map[string]bool, error) {
	owned, _, err := Ownership(stateDir)
	return owned, err
}

// Ownership returns Owned's ids, and the ids of objects a run marked sensitive (their content
// held secret values when fabplan last wrote it).
func Ownership(stateDir string) (owned, sensitive map[string]bool, err error) {
	runs, err := List(stateDir)
	if err != nil {
		return nil, nil, err
	}
	owned, sensitive = map[string]bool{}, map[string]bool{}
	for _, run := range runs {
		recs, err := Read(stateDir, run.ID)
		if err != nil {
			return nil, nil, err
		}
		created := map[string]string{} // step -> id
		for _, r := range recs {
			if r.Type == Done && r.ID != "" {
				// The latest write of an object says whether its content is sensitive now.
				sensitive[r.ID] = r.Sensitive
			}
			switch {
			case r.Type == Done && r.Action == "create" && r.ID != "":
				created[r.Step] = r.ID
				owned[r.ID] = true
			case r.Type == Undone && created[r.Step] != "":
				delete(owned, created[r.Step])
			}
		}
	}
	return owned, sensitive, nil
}
