package state

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/lockedfile"
)

// JournalFile is a journal's name inside its run's folder, in every store.
const JournalFile = "journal.jsonl"

// Local is a state directory on this machine.
type Local struct{ dir string }

// NewLocal returns the store in dir; the directory is made when something is first written.
func NewLocal(dir string) *Local { return &Local{dir: dir} }

// Location is the directory.
func (l *Local) Location() string { return l.dir }

func (l *Local) runDir(run string) string { return filepath.Join(l.dir, "runs", run) }

// CreateJournal creates runs/RUN/journal.jsonl.
func (l *Local) CreateJournal(_ context.Context, run string) (Journal, error) {
	if err := checkRunID(run); err != nil {
		return nil, err
	}
	dir := l.runDir(run)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state: create run directory: %w", err)
	}
	path := filepath.Join(dir, JournalFile)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	// The new entries must survive a crash too, or the journal could vanish with the records it synced.
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := syncDir(d); err != nil {
			f.Close()
			return nil, fmt.Errorf("state: sync %s: %w", d, err)
		}
	}
	return &localJournal{f: f, path: path}, nil
}

// OpenJournal opens an existing journal for appending.
func (l *Local) OpenJournal(_ context.Context, run string) (Journal, error) {
	if err := checkRunID(run); err != nil {
		return nil, err
	}
	path := filepath.Join(l.runDir(run), JournalFile)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	return &localJournal{f: f, path: path}, nil
}

// ReadJournal reads a journal.
func (l *Local) ReadJournal(_ context.Context, run string) ([]byte, error) {
	if err := checkRunID(run); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(l.runDir(run), JournalFile))
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	return b, nil
}

// Runs lists the run folders that hold a journal.
func (l *Local) Runs(context.Context) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(l.dir, "runs"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	var runs []string
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join(l.runDir(e.Name()), JournalFile)); e.IsDir() && err == nil {
			runs = append(runs, e.Name())
		}
	}
	return runs, nil
}

// ReadMeta reads meta/NAME.
func (l *Local) ReadMeta(_ context.Context, name string) ([]byte, error) {
	if err := checkMetaName(name); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(l.dir, "meta", name))
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	return b, nil
}

// WriteMeta writes meta/NAME through a temporary file renamed over it, so that a reader (or a
// crash) never sees half a document.
func (l *Local) WriteMeta(_ context.Context, name string, data []byte) error {
	if err := checkMetaName(name); err != nil {
		return err
	}
	dir := filepath.Join(l.dir, "meta")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("state: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+name+".*")
	if err != nil {
		return fmt.Errorf("state: %w", err)
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(dir, name))
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("state: write %s: %w", filepath.Join(dir, name), err)
	}
	return nil
}

type localJournal struct {
	f    file
	path string
}

// file is what a local journal writes to: an *os.File, or in tests one that records the order of
// writes and syncs.
type file interface {
	Write(p []byte) (int, error)
	Sync() error
	Truncate(size int64) error
	Close() error
}

func (j *localJournal) Name() string { return j.path }

func (j *localJournal) Append(_ context.Context, p []byte) error {
	if _, err := j.f.Write(p); err != nil {
		return fmt.Errorf("state: write %s: %w", j.path, err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("state: sync %s: %w", j.path, err)
	}
	return nil
}

func (j *localJournal) Truncate(_ context.Context, size int64) error {
	if err := j.f.Truncate(size); err != nil {
		return fmt.Errorf("state: truncate %s: %w", j.path, err)
	}
	return j.f.Sync()
}

func (j *localJournal) Close() error { return j.f.Close() }

// localLockWait is how long TryLock waits for an OS lock that is taken: long enough for a run that
// is just ending, short enough to refuse at once.
const localLockWait = 200 * time.Millisecond

// lockName is a key's file name: keys hold slashes and colons, which no file name may.
func lockName(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:12])
}

func (l *Local) lockPaths(key string) (lock, holder string) {
	base := filepath.Join(l.dir, "locks", lockName(key))
	return base + ".lock", base + ".json"
}

// TryLock takes the operating system's lock on locks/HASH.lock, which the system releases when the
// process dies; who holds it is written beside it (the lock file itself cannot be read on Windows).
func (l *Local) TryLock(_ context.Context, key string, h Holder) (Lock, error) {
	lockPath, holderPath := l.lockPaths(key)
	if err := os.MkdirAll(filepath.Dir(lockPath), 0o700); err != nil {
		return nil, fmt.Errorf("state directory %s: %w", l.dir, err)
	}
	f, err := tryLockFile(lockPath)
	if err != nil {
		if errors.Is(err, errTaken) {
			held, _ := readHolder(holderPath)
			held.Key = key
			return nil, &LockedError{Key: key, Holder: held}
		}
		return nil, fmt.Errorf("state lock %s: %w", lockPath, err)
	}
	h.Key = key
	b, _ := json.Marshal(h)
	if err := os.WriteFile(holderPath, b, 0o600); err != nil {
		f.Close()
		return nil, fmt.Errorf("state lock %s: %w", holderPath, err)
	}
	return &localLock{f: f, holder: holderPath}, nil
}

var errTaken = errors.New("taken")

// tryLockFile locks path, or gives up after localLockWait: lockedfile only blocks, so an attempt
// that succeeds after TryLock gave up releases the late lock at once.
func tryLockFile(path string) (*lockedfile.File, error) {
	type result struct {
		f   *lockedfile.File
		err error
	}
	got := make(chan result, 1)
	go func() {
		f, err := lockedfile.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
		got <- result{f, err}
	}()
	select {
	case r := <-got:
		return r.f, r.err
	case <-time.After(localLockWait):
		go func() {
			if late := <-got; late.err == nil {
				late.f.Close()
			}
		}()
		return nil, errTaken
	}
}

func readHolder(path string) (Holder, error) {
	var h Holder
	b, err := os.ReadFile(path)
	if err != nil {
		return h, err
	}
	return h, json.Unmarshal(b, &h)
}

type localLock struct {
	f      *lockedfile.File
	holder string
}

// Lost is never closed: nothing but the process's end takes a local lock away.
func (l *localLock) Lost() <-chan struct{} { return nil }

func (l *localLock) Unlock(context.Context) error {
	os.Remove(l.holder)
	return l.f.Close()
}

// Locks lists the keys whose lock a live process holds.
func (l *Local) Locks(context.Context) ([]Holder, error) {
	paths, _ := filepath.Glob(filepath.Join(l.dir, "locks", "*.json"))
	var out []Holder
	for _, p := range paths {
		h, err := readHolder(p)
		if err != nil {
			continue
		}
		f, err := tryLockFile(strings.TrimSuffix(p, ".json") + ".lock")
		if err == nil {
			f.Close() // nobody holds it: the holder file is left from a killed run
			continue
		}
		out = append(out, h)
	}
	return out, nil
}

// Break cannot take a lock from a live process: the operating system holds it for that process
// until it exits. A lock whose process is gone is already free; Break says so.
func (l *Local) Break(_ context.Context, key string) (Holder, error) {
	lockPath, holderPath := l.lockPaths(key)
	h, _ := readHolder(holderPath)
	f, err := tryLockFile(lockPath)
	if errors.Is(err, errTaken) {
		return h, fmt.Errorf("estate %s is locked by a live process, %s; a local lock is released when its "+
			"process exits: stop that process", key, h)
	}
	if err == nil {
		f.Close()
	}
	os.Remove(holderPath)
	return h, notExist("no run holds the lock of estate " + key)
}

// checkRunID keeps a run id inside the store: it names a folder or a blob.
func checkRunID(run string) error {
	if run == "" || run == "." || run == ".." || strings.ContainsAny(run, `/\`) {
		return fmt.Errorf("%q is not a run id (fabplan runs lists them)", run)
	}
	return nil
}
