package state

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"strings"
	"time"
)

// Store holds journals and estate locks. Implementations are safe for concurrent use.
type Store interface {
	// Location names the store for messages and for --state: a directory, or azblob://ACCOUNT/CONTAINER/PREFIX.
	Location() string
	// CreateJournal starts the journal of a new run; an error wrapping fs.ErrExist if it has one.
	CreateJournal(ctx context.Context, run string) (Journal, error)
	// OpenJournal appends to the journal of an existing run; an error wrapping fs.ErrNotExist if
	// there is none.
	OpenJournal(ctx context.Context, run string) (Journal, error)
	// ReadJournal returns a run's journal as written; an error wrapping fs.ErrNotExist if there is none.
	ReadJournal(ctx context.Context, run string) ([]byte, error)
	// Runs lists the runs that have a journal, in no particular order.
	Runs(ctx context.Context) ([]string, error)
	// TryLock takes key's estate lock for h, or returns a *LockedError naming whoever holds it.
	TryLock(ctx context.Context, key string, h Holder) (Lock, error)
	// Locks lists the estate locks held now.
	Locks(ctx context.Context) ([]Holder, error)
	// Break releases key's lock whoever holds it and returns who did; an error wrapping
	// fs.ErrNotExist if nobody holds it.
	Break(ctx context.Context, key string) (Holder, error)
	// ReadMeta returns the small document name that the store keeps beside the runs (what a run
	// learned for the next, such as an identity's throttle rate); an error wrapping fs.ErrNotExist
	// if there is none. A name is one path segment: letters, digits, '.', '-', '_'.
	ReadMeta(ctx context.Context, name string) ([]byte, error)
	// WriteMeta replaces the document name whole: a reader sees the old one or the new one.
	WriteMeta(ctx context.Context, name string, data []byte) error
}

// checkMetaName refuses a meta document name that is not one plain path segment.
func checkMetaName(name string) error {
	ok := name != "" && name[0] != '.'
	for _, r := range name {
		ok = ok && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(".-_", r))
	}
	if !ok {
		return fmt.Errorf("state: %q is not a meta document name", name)
	}
	return nil
}

// Journal is one run's journal, open for appending. It is not safe for concurrent use.
type Journal interface {
	// Append writes p after everything written before; when it returns nil, p is durable in the
	// store. p is written whole or Append fails.
	Append(ctx context.Context, p []byte) error
	// Truncate cuts the journal to size bytes, dropping a torn tail; only a torn tail (a record
	// that did not end) may be cut.
	Truncate(ctx context.Context, size int64) error
	// Name is the journal's address, for messages.
	Name() string
	Close() error
}

// Lock is a held estate lock.
type Lock interface {
	// Lost is closed when the lock can no longer be vouched for: its lease was broken, or could not
	// be renewed before it expired. A run that sees it must start no new change.
	Lost() <-chan struct{}
	// Unlock releases the lock.
	Unlock(ctx context.Context) error
}

// Holder says who holds an estate lock, for the error a second run prints.
type Holder struct {
	Key    string    `json:"key"`
	Who    string    `json:"who"`
	Host   string    `json:"host"`
	PID    int       `json:"pid"`
	Run    string    `json:"run,omitempty"`
	Since  time.Time `json:"since"`
	JobURL string    `json:"job_url,omitempty"`
}

// String describes the holder on one line.
func (h Holder) String() string {
	var b strings.Builder
	who := h.Who
	if who == "" {
		who = "unknown"
	}
	fmt.Fprintf(&b, "%s on %s (pid %d", who, h.Host, h.PID)
	if h.Run != "" {
		fmt.Fprintf(&b, ", run %s", h.Run)
	}
	if !h.Since.IsZero() {
		fmt.Fprintf(&b, ", since %s", h.Since.UTC().Format(time.RFC3339))
	}
	if h.JobURL != "" {
		fmt.Fprintf(&b, ", job %s", h.JobURL)
	}
	b.WriteString(")")
	return b.String()
}

// NewHolder describes this process as the holder of key: who runs it (the identity fabplan signs
// in as, when given, else the OS user), where, and the CI job it belongs to when the environment
// says (GitHub Actions, Azure DevOps).
func NewHolder(key, identity, run string, getenv func(string) string) Holder {
	h := Holder{Key: key, Who: identity, PID: os.Getpid(), Run: run, Since: time.Now().UTC(), JobURL: JobURL(getenv)}
	h.Host, _ = os.Hostname()
	if h.Who == "" {
		if u, err := user.Current(); err == nil {
			h.Who = u.Username
		}
	}
	return h
}

// JobURL is the web address of the CI job this process runs in, or "".
func JobURL(getenv func(string) string) string {
	if id := getenv("GITHUB_RUN_ID"); id != "" && getenv("GITHUB_REPOSITORY") != "" {
		server := getenv("GITHUB_SERVER_URL")
		if server == "" {
			server = "https://github.com"
		}
		return fmt.Sprintf("%s/%s/actions/runs/%s", server, getenv("GITHUB_REPOSITORY"), id)
	}
	if id := getenv("BUILD_BUILDID"); id != "" && getenv("SYSTEM_COLLECTIONURI") != "" {
		return fmt.Sprintf("%s%s/_build/results?buildId=%s", getenv("SYSTEM_COLLECTIONURI"),
			getenv("SYSTEM_TEAMPROJECT"), id)
	}
	return ""
}

// LockedError is the refusal of a lock that another run holds.
type LockedError struct {
	Key    string
	Holder Holder
	Waited time.Duration // how long --lock-timeout waited, if it did
}

func (e *LockedError) Error() string {
	msg := fmt.Sprintf("estate %s is locked by %s", e.Key, e.Holder)
	if e.Waited > 0 {
		msg += fmt.Sprintf("; waited %s", e.Waited.Round(time.Second))
	}
	return msg + "; wait with --lock-timeout, or if that run is dead, break the lock with: fabplan state unlock '" +
		e.Key + "'"
}

// ErrLockLost is how a run learns that its lock is gone.
var ErrLockLost = errors.New("the estate lock was lost (broken by fabplan state unlock, or not renewed in time); " +
	"no further change was started")

// LockOptions say how Acquire waits.
type LockOptions struct {
	Timeout time.Duration // how long to wait for a lock another run holds; 0 refuses at once
	Poll    time.Duration // how often to try again; default 2 s
	// Waiting is called once, when the first attempt finds the lock taken.
	Waiting func(Holder)
}

// Acquire takes key's lock, waiting up to opts.Timeout for the holder to release it.
func Acquire(ctx context.Context, s Store, key string, h Holder, opts LockOptions) (Lock, error) {
	if opts.Poll <= 0 {
		opts.Poll = 2 * time.Second
	}
	start := time.Now()
	deadline := start.Add(opts.Timeout)
	for first := true; ; first = false {
		l, err := s.TryLock(ctx, key, h)
		var le *LockedError
		if !errors.As(err, &le) {
			return l, err
		}
		if time.Now().After(deadline) {
			if opts.Timeout > 0 {
				le.Waited = time.Since(start)
			}
			return nil, le
		}
		if first && opts.Waiting != nil {
			opts.Waiting(le.Holder)
		}
		t := time.NewTimer(min(opts.Poll, time.Until(deadline)+time.Millisecond))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

var errExist = fs.ErrExist

// notExist wraps fs.ErrNotExist with what is missing.
func notExist(what string) error { return fmt.Errorf("%s: %w", what, fs.ErrNotExist) }
