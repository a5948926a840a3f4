package journal

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/fabplan/fabplan/state"
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

// ActionAdopt is the action of a done record that `fabplan adopt` writes for an object that existed
// before fabplan managed it: evidence of ownership like a create, with nothing to undo.
const ActionAdopt = "adopt"

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
	// Done records of a connection whose credentials the change set: an Argon2id digest of them
	// (secrets.Digest, salted), never the values. The next run compares the plan's credentials
	// with it to detect a rotation.
	CredentialDigest string `json:"credential_digest,omitempty"`
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
	// Commit records: the ids of the objects the run's plan declares with prevent_destroy=True, and
	// of those an earlier run protected that it declares without (see Holdings.Protected).
	Protected []string `json:"protected,omitempty"`
	Released  []string `json:"released,omitempty"`
	// Rollback records: the attempt's number and, on rollback_end, its outcome.
	Attempt int              `json:"attempt,omitempty"`
	Outcome *RollbackOutcome `json:"outcome,omitempty"`
}

// redacted returns r with its free-text fields passed through redact. Only text that can quote
// what a server or a user wrote (an error message) is scrubbed: ids, addresses and undo arguments
// are data that rollback acts on, and rewriting them would make it act on something else. No
// secret reaches those by construction (see Applied.Sensitive in the engine).
func (r Record) redacted(redact func(string) string) Record {
	if redact != nil && r.Error != "" {
		r.Error = redact(r.Error)
	}
	return r
}

// FileName is the journal's name inside a run's folder of the state.
const FileName = state.JournalFile

// appendTimeout bounds the write of one record, the store's retries included. Appends do not take
// the run's context: a record announcing a change already made must be written even when the run
// is being cancelled.
const appendTimeout = 2 * time.Minute

// Journal appends records to one run's journal in the state store. It is safe for concurrent use.
type Journal struct {
	mu  sync.Mutex
	st  state.Store
	f   state.Journal
	seq int
	run string
	now func() time.Time
	// redact scrubs secret values from each record's free text before it is written (SetRedact).
	redact func(string) string
	// broken is the first failed write: after it the journal may end in part of a line, and
	// appending more would bury that part in the middle, where the reader refuses it.
	broken error
}

// Create starts the journal of a new run and writes its begin record.
func Create(ctx context.Context, st state.Store, runID, plan, version string) (*Journal, error) {
	return Start(ctx, st, runID, Record{Plan: plan, Version: version})
}

// Start starts the journal of a new run with begin as its first record. The store makes the new
// journal durable with its first record, so that a crash cannot lose the journal together with
// records written into it.
func Start(ctx context.Context, st state.Store, runID string, begin Record) (*Journal, error) {
	f, err := st.CreateJournal(ctx, runID)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	j := &Journal{st: st, f: f, run: runID, now: time.Now}
	begin.Type = Begin
	if err := j.Append(begin); err != nil {
		f.Close()
		return nil, err
	}
	return j, nil
}

// Reopen appends to an existing run's journal (to record a later rollback). A torn last line (the
// process died while writing it) is cut off first, so that the next record starts on a line of
// its own instead of completing the torn one into a line nobody can read.
func Reopen(ctx context.Context, st state.Store, runID string) (*Journal, []Record, error) {
	b, err := readRaw(ctx, st, runID)
	if err != nil {
		return nil, nil, err
	}
	recs, valid, err := parse(b, runLocation(st, runID))
	if err != nil {
		return nil, nil, err
	}
	f, err := st.OpenJournal(ctx, runID)
	if err != nil {
		return nil, nil, fmt.Errorf("journal: %w", err)
	}
	if int64(len(b)) != valid {
		if err := f.Truncate(ctx, valid); err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("journal: cut the torn last line of %s: %w", f.Name(), err)
		}
	}
	seq := 0
	if len(recs) > 0 {
		seq = recs[len(recs)-1].Seq
	}
	return &Journal{st: st, f: f, seq: seq, run: runID, now: time.Now}, recs, nil
}

// SetRedact makes the free text of every later record (error messages) pass through redact before
// it reaches the file, so that a secret value quoted by an error is never written.
func (j *Journal) SetRedact(redact func(string) string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.redact = redact
}

// RunID is the run this journal belongs to.
func (j *Journal) RunID() string { return j.run }

// Path is the journal's address: a file, or a blob's URL.
func (j *Journal) Path() string { return j.f.Name() }

// Append writes one record and returns once the store holds it durably (synced to disk, or
// committed by Blob Storage): a caller that goes on to make the change the record announces knows
// the record survives a crash.
func (j *Journal) Append(r Record) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.broken != nil {
		return fmt.Errorf("journal: %s is not written to after an earlier failure: %w", j.f.Name(), j.broken)
	}
	r = r.redacted(j.redact)
	j.seq++
	r.Seq = j.seq
	r.Time = j.now().UTC()
	// One Write of the whole line, newline included: a crash leaves at most a torn last line.
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // keep <secret:NAME> readable
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("journal: encode: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), appendTimeout)
	defer cancel()
	if err := j.f.Append(ctx, b.Bytes()); err != nil {
		j.broken = err
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}

// Close closes the journal.
func (j *Journal) Close() error { return j.f.Close() }

// Records reads back everything this journal holds.
func (j *Journal) Records(ctx context.Context) ([]Record, error) { return Read(ctx, j.st, j.run) }
