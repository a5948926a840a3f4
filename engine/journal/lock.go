package journal

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/lockedfile"
)

// LockedError says another process holds the state directory's lock.
type LockedError struct {
	Path   string
	Holder string // what the holder wrote into the lock file ("pid 123 since ..."), when readable
}

func (e *LockedError) Error() string {
	who := "another fabplan run"
	if e.Holder != "" {
		who += " (" + e.Holder + ")"
	}
	return fmt.Sprintf("%s holds %s; wait for it to finish, or use another --state-dir", who, e.Path)
}

// lockWait is how long Lock waits for a lock that is taken: long enough for a run that is just
// ending, short enough that a second run fails at once, as Terraform's default -lock-timeout does.
const lockWait = 200 * time.Millisecond

// Lock takes the state directory's lock so that two runs never share it. The lock is released
// by the returned function, or by the operating system when the process dies.
func Lock(stateDir string) (unlock func(), err error) {
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, fmt.Errorf("state directory %s: %w", stateDir, err)
	}
	path := filepath.Join(stateDir, "lock")
	type result struct {
		f   *lockedfile.File
		err error
	}
	// lockedfile only blocks; the attempt is waited for a little, and if it succeeds only after
	// Lock gave up, the late lock is released at once.
	got := make(chan result, 1)
	go func() {
		f, err := lockedfile.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
		got <- result{f, err}
	}()
	var res result
	select {
	case res = <-got:
	case <-time.After(lockWait):
		go func() {
			if late := <-got; late.err == nil {
				late.f.Close()
			}
		}()
		holder, _ := os.ReadFile(path) // unreadable where locks are mandatory (Windows)
		return nil, &LockedError{Path: path, Holder: strings.TrimSpace(string(holder))}
	}
	if res.err != nil {
		return nil, fmt.Errorf("state directory lock %s: %w", path, res.err)
	}
	// Say who holds it, for the error a second run prints.
	if err := res.f.Truncate(0); err == nil {
		fmt.Fprintf(res.f, "pid %d since %s\n", os.Getpid(), time.Now().UTC().Format(time.RFC3339))
	}
	return func() { res.f.Close() }, nil
}
