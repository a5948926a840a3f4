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
	"strings"
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
	Failed     Type = "failed"      // the change (or, with no step, the run before any change) failed
	Undone     Type = "undone"      // a change was reversed
	UndoFailed Type = "undo_failed" // a change could not be reversed
	Commit     Type = "commit"      // the run finished and its changes stand
	RolledBack Type = "rolled_back" // every change of the run was reversed
	Abandoned  Type = "abandoned"   // a rollback finished with changes it could not reverse (journals before 0.2)

	// Each rollback attempt is bracketed by its own records; an attempt never relabels the run,
	// only its undone records do.
	RollbackBegin Type = "rollback_begin" // a rollback attempt starts: its number and who makes it
	RollbackEnd   Type = "rollback_end"   // it ends: how many changes it undid and how many are left
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
	// Begin records: what the run acts on and what it ran. Rollback and prune refuse a journal whose
	// target is not the current one; "last" is the last run of the same plan, env and target.
	// Rollback records: Target.Identity is who makes the attempt.
	Target     *Target `json:"target,omitempty"`
	Env        string  `json:"env,omitempty"`
	VarsDigest string  `json:"vars_digest,omitempty"`
	PlanDigest string  `json:"plan_digest,omitempty"`
	VCSCommit  string  `json:"vcs_commit,omitempty"`
	// Intent and done records: the steps this change depends on; rollback undoes dependents first.
	Deps []string `json:"deps,omitempty"`
	// Done records: the object's attributes just after the change, sensitive ones left out.
	// Rollback compares live state with them: an object changed since is a conflict.
	Post map[string]string `json:"post,omitempty"`
	// Rollback records: the attempt's number and, on rollback_end, its outcome.
	Attempt int              `json:"attempt,omitempty"`
	Outcome *RollbackOutcome `json:"outcome,omitempty"`
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
	return Start(stateDir, runID, Record{Plan: plan, Version: version})
}

// Start starts the journal of a new run with begin as its first record.
func Start(stateDir, runID string, begin Record) (*Journal, error) {
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
	begin.Type = Begin
	if err := j.Append(begin); err != nil {
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
	ID         string
	Plan       string
	Env        string
	Target     *Target // nil in journals written before targets were recorded
	PlanDigest string
	Started    time.Time
	State      State
	Changes    int // changes applied (steps with a done record)
	Undone     int // of those, how many are reversed now
	// Unfinished counts changes whose outcome is unknown (an intent with no done) not yet undone.
	Unfinished int
	// Attempts counts rollback attempts; Last is the outcome of the latest one that ended.
	Attempts int
	Last     *RollbackOutcome
	// Interrupted means the run ended, or is still going, before it started any change.
	Interrupted bool
	// Error is why a run that failed before any change failed (a failed record with no step).
	Error string
}

// Left counts the changes that are, or may be, still in effect.
func (s Summary) Left() int { return s.Changes - s.Undone + s.Unfinished }

// Summarize derives a run's summary from its records. The state follows from what was undone, not
// from who tried: a rollback attempt that undid nothing (say, by an identity that may not) leaves
// a committed run committed.
func Summarize(runID string, recs []Record) Summary {
	s := Summary{ID: runID, State: StateRunning}
	last := map[string]Type{} // step -> its latest intent, done, failed or undone record
	done := map[string]bool{}
	var runIdentity string
	var committed, legacyRolledBack, legacyAbandoned, ownAttemptLeft bool
	intents := 0
	for _, r := range recs {
		switch r.Type {
		case Begin:
			s.Plan, s.Started, s.Env, s.Target, s.PlanDigest = r.Plan, r.Time, r.Env, r.Target, r.PlanDigest
			if r.Target != nil {
				runIdentity = r.Target.Identity
			}
		case Intent:
			intents++
			last[r.Step] = r.Type
		case Done:
			done[r.Step] = true
			last[r.Step] = r.Type
		case Failed:
			if r.Step == "" {
				s.Error = r.Error // the run failed before any change
				break
			}
			last[r.Step] = r.Type
		case Undone:
			last[r.Step] = r.Type
		case Commit:
			committed = true
		case RolledBack:
			legacyRolledBack = true
		case Abandoned:
			legacyAbandoned = true
		case RollbackBegin:
			s.Attempts++
		case RollbackEnd:
			out := RollbackOutcome{}
			if r.Outcome != nil {
				out = *r.Outcome
			}
			s.Last = &out
			who := ""
			if r.Target != nil {
				who = r.Target.Identity
			}
			if out.Left > 0 && (who == "" || strings.EqualFold(who, runIdentity)) {
				ownAttemptLeft = true
			}
		}
	}
	undoneAny := 0
	for step, t := range last {
		switch {
		case t == Undone:
			undoneAny++
			if done[step] {
				s.Undone++
			}
		case !done[step]:
			s.Unfinished++
		}
	}
	s.Changes = len(done)
	s.Interrupted = intents == 0 && !committed
	switch {
	case legacyRolledBack:
		s.State = StateRolledBack
	case legacyAbandoned:
		s.State = StateAbandoned
	case undoneAny > 0 && s.Left() == 0:
		s.State = StateRolledBack
	case undoneAny > 0:
		s.State = StateAbandoned
	case committed:
		s.State = StateCommitted
	case ownAttemptLeft:
		// The run failed and its own rollback could not undo anything.
		s.State = StateAbandoned
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
	owned, _, err := Ownership(stateDir, nil)
	return owned, err
}

// Ownership returns Owned's ids, and the ids of objects a run marked sensitive (their content
// held secret values when fabplan last wrote it). With a target, only runs against the same
// endpoint and tenant count as evidence of ownership (any identity): an id another Fabric
// handed out says nothing about this one.
func Ownership(stateDir string, target *Target) (owned, sensitive map[string]bool, err error) {
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
		evidence := target == nil || run.Target == nil || run.Target.SameFabric(*target)
		for _, r := range recs {
			if r.Type == Done && r.ID != "" {
				// The latest write of an object says whether its content is sensitive now.
				sensitive[r.ID] = r.Sensitive
			}
			switch {
			case !evidence:
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
