package journal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fabplan/fabplan/state"
)

// DamagedError is a journal line that does not read back as a record, other than a torn last
// line. Rollback must not act on a journal it cannot read whole: later records could undo or
// supersede earlier ones.
type DamagedError struct {
	Path string
	Line int
	Err  error
}

func (e *DamagedError) Error() string {
	return fmt.Sprintf("%s:%d: the journal is damaged: %v; only a torn last line is ignored, so nothing "+
		"after this line can be trusted: restore the file from a backup, or repair the line by hand", e.Path, e.Line, e.Err)
}

func (e *DamagedError) Unwrap() error { return e.Err }

// Read returns every record of a run, in order. A torn last line (a crash mid-write: no newline at
// the end) is ignored; any other line that is not a record is a *DamagedError.
func Read(ctx context.Context, st state.Store, runID string) ([]Record, error) {
	b, err := readRaw(ctx, st, runID)
	if err != nil {
		return nil, err
	}
	recs, _, err := parse(b, runLocation(st, runID))
	return recs, err
}

// runLocation names a run's journal in messages.
func runLocation(st state.Store, runID string) string {
	return strings.TrimRight(st.Location(), "/") + "/runs/" + runID + "/" + FileName
}

func readRaw(ctx context.Context, st state.Store, runID string) ([]byte, error) {
	b, err := st.ReadJournal(ctx, runID)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no run %q in %s (fabplan runs lists the runs): %w", runID, st.Location(), fs.ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	return b, nil
}

// parse returns the records and the length of the journal without a torn last line.
func parse(b []byte, path string) ([]Record, int64, error) {
	// Every record is written as one line ending in a newline, so a last line without one is a
	// write the process did not finish, and no caller acted on it.
	valid := bytes.LastIndexByte(b, '\n') + 1
	var recs []Record
	for n, line := range bytes.SplitAfter(b[:valid], []byte("\n")) {
		if len(line) == 0 {
			continue // SplitAfter's empty tail
		}
		var r Record
		if err := json.Unmarshal(line, &r); err != nil {
			return nil, 0, &DamagedError{Path: path, Line: n + 1, Err: err}
		}
		if r.Type == "" {
			return nil, 0, &DamagedError{Path: path, Line: n + 1, Err: errors.New("a record without a type")}
		}
		recs = append(recs, r)
	}
	return recs, int64(valid), nil
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

	records []Record // what List read, for Ownership
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
	nothing := map[string]bool{}
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
			// A later intent supersedes an earlier one; one without an undo says the change made
			// nothing (a create Fabric refused), so nothing of it can be in effect.
			nothing[r.Step] = r.Undo == nil || r.Undo.IsZero()
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
		case !done[step] && !nothing[step]:
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

// List returns every run in the state, oldest first. A damaged journal is an error: a run left out
// of the list would be left out of ownership (prune) and out of sight.
func List(ctx context.Context, st state.Store) ([]Summary, error) {
	ids, err := st.Runs(ctx)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	out := make([]Summary, len(ids))
	errs := make([]error, len(ids))
	// Remote journals are read several at once: one round trip each.
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			recs, err := Read(ctx, st, id)
			errs[i] = err
			out[i] = Summarize(id, recs)
			out[i].records = recs
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Started.Equal(out[j].Started) {
			return out[i].Started.Before(out[j].Started)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// Owned returns the ids of the objects fabplan created, or that `fabplan adopt` recorded as its
// own, in any run of the state directory and that no rollback removed: the objects prune may
// delete.
func Owned(ctx context.Context, st state.Store) (map[string]bool, error) {
	owned, _, err := Ownership(ctx, st, nil)
	return owned, err
}

// Ownership returns Owned's ids, and the ids of objects a run marked sensitive (their content
// held secret values when fabplan last wrote it). With a target, only runs against the same
// endpoint and tenant count as evidence of ownership (any identity): an id another Fabric
// handed out says nothing about this one.
func Ownership(ctx context.Context, st state.Store, target *Target) (owned, sensitive map[string]bool, err error) {
	ev, err := ReadEvidence(ctx, st, target)
	return ev.Owned, ev.Sensitive, err
}

// Evidence is what the journals of a state say about live objects.
type Evidence struct {
	Owned     map[string]bool // see Ownership
	Sensitive map[string]bool // see Ownership
	// CredentialDigests holds, per connection id, the digest of the credentials fabplan last
	// sent it (Record.CredentialDigest).
	CredentialDigests map[string]string
	// Protected are the objects the last committed run that declared them declared with
	// prevent_destroy=True (Record.Protected, Record.Released): prune refuses to delete them once
	// the plan stops declaring them.
	Protected map[string]bool
}

// ReadEvidence reads the journals once for Ownership's sets and the credential digests.
func ReadEvidence(ctx context.Context, st state.Store, target *Target) (Evidence, error) {
	runs, err := List(ctx, st)
	if err != nil {
		return Evidence{}, err
	}
	ev := Evidence{Owned: map[string]bool{}, Sensitive: map[string]bool{}, CredentialDigests: map[string]string{},
		Protected: map[string]bool{}}
	for _, run := range runs {
		recs := run.records
		created := map[string]string{}     // step -> id
		credentials := map[string]string{} // step -> id of a connection whose credentials it set
		evidence := target == nil || run.Target == nil || run.Target.SameFabric(*target)
		for _, r := range recs {
			if r.Type == Done && r.ID != "" && r.Action != ActionAdopt {
				// The latest write of an object says whether its content is sensitive now (adopting
				// writes nothing).
				ev.Sensitive[r.ID] = r.Sensitive
				if r.CredentialDigest != "" && evidence {
					ev.CredentialDigests[r.ID] = r.CredentialDigest
					credentials[r.Step] = r.ID
				}
			}
			if r.Type == Undone && credentials[r.Step] != "" {
				// What the undo left is not what the digest describes: unknown, so the next run
				// sets the credentials again rather than trust a stale digest.
				delete(ev.CredentialDigests, credentials[r.Step])
			}
			switch {
			case !evidence:
			case r.Type == Done && (r.Action == "create" || r.Action == ActionAdopt) && r.ID != "":
				created[r.Step] = r.ID
				ev.Owned[r.ID] = true
			case r.Type == Undone && created[r.Step] != "":
				delete(ev.Owned, created[r.Step])
			case r.Type == Commit:
				for _, id := range r.Protected {
					ev.Protected[id] = true
				}
				for _, id := range r.Released {
					delete(ev.Protected, id)
				}
			}
		}
	}
	return ev, nil
}
