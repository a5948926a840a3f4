package state_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fabplan/fabplan/state"
	"github.com/fabplan/fabplan/state/statetest"
)

var ctx = context.Background()

func TestJournalKeepsOrderAndReadsBack(t *testing.T) {
	stores(t, func(t *testing.T, s state.Store) {
		j, err := s.CreateJournal(ctx, "r1")
		if err != nil {
			t.Fatal(err)
		}
		var want []byte
		for i := range 20 {
			line := fmt.Appendf(nil, "{\"seq\":%d}\n", i+1)
			if err := j.Append(ctx, line); err != nil {
				t.Fatal(err)
			}
			want = append(want, line...)
		}
		j.Close()
		got, err := s.ReadJournal(ctx, "r1")
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("read back %q, %v; want %q", got, err, want)
		}
		if _, err := s.CreateJournal(ctx, "r1"); !errors.Is(err, fs.ErrExist) {
			t.Errorf("a second CreateJournal of r1: %v, want fs.ErrExist", err)
		}
		// Reopened (as rollback does), it continues at the end.
		j, err = s.OpenJournal(ctx, "r1")
		if err != nil {
			t.Fatal(err)
		}
		if err := j.Append(ctx, []byte("{\"seq\":21}\n")); err != nil {
			t.Fatal(err)
		}
		got, _ = s.ReadJournal(ctx, "r1")
		if !bytes.HasSuffix(got, []byte("{\"seq\":20}\n{\"seq\":21}\n")) {
			t.Errorf("after reopening: %q", got)
		}
		if _, err := s.CreateJournal(ctx, "r2"); err != nil {
			t.Fatal(err)
		}
		runs, err := s.Runs(ctx)
		slices.Sort(runs)
		if err != nil || !slices.Equal(runs, []string{"r1", "r2"}) {
			t.Errorf("Runs = %v, %v; want [r1 r2]", runs, err)
		}
		for _, f := range []func() error{
			func() error { _, err := s.ReadJournal(ctx, "nope"); return err },
			func() error { _, err := s.OpenJournal(ctx, "nope"); return err },
		} {
			if err := f(); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("a missing run: %v, want fs.ErrNotExist", err)
			}
		}
		if _, err := s.CreateJournal(ctx, "../escape"); err == nil {
			t.Error("a run id with a slash was accepted")
		}
	})
}

func TestEmptyStoreHasNoRunsAndNoLocks(t *testing.T) {
	stores(t, func(t *testing.T, s state.Store) {
		runs, err := s.Runs(ctx)
		if err != nil || len(runs) != 0 {
			t.Errorf("Runs = %v, %v", runs, err)
		}
		locks, err := s.Locks(ctx)
		if err != nil || len(locks) != 0 {
			t.Errorf("Locks = %v, %v", locks, err)
		}
	})
}

// A second writer of the same journal (a run that did not take the lock) cannot interleave its
// records: its append lands at a position the journal has moved past, and is refused.
func TestBlobJournalRefusesAStaleWriter(t *testing.T) {
	s := blobStore(t, azurite.Endpoint)
	a, err := s.CreateJournal(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.OpenJournal(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Append(ctx, []byte("a1\n")); err != nil {
		t.Fatal(err)
	}
	if err := b.Append(ctx, []byte("b1\n")); err == nil || !strings.Contains(err.Error(), "written by someone else") {
		t.Errorf("stale append: %v", err)
	}
	if got, _ := s.ReadJournal(ctx, "r"); string(got) != "a1\n" {
		t.Errorf("journal = %q", got)
	}
}

// An append whose answer was lost after the service stored it is retried by the SDK; the retry is
// refused by the append-position condition, and the journal holds the record exactly once.
func TestBlobAppendWhoseAnswerWasLostIsNotDuplicated(t *testing.T) {
	p := proxy(t)
	s := blobStoreTimeout(t, p.URL, time.Second)
	j, err := s.CreateJournal(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	p.Add(statetest.Fault{Comp: "appendblock", Nth: 2, Action: "lost"})
	for _, rec := range []string{"one\n", "two\n", "three\n"} {
		if err := j.Append(ctx, []byte(rec)); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := s.ReadJournal(ctx, "r"); string(got) != "one\ntwo\nthree\n" {
		t.Errorf("journal = %q", got)
	}
	if !slices.Contains(p.Requests(), "PUT appendblock [lost]") {
		t.Errorf("the fault never fired: %v", p.Requests())
	}
}

// 503s and timeouts are retried; an outage longer than the retries fails the append, leaves the
// journal whole, and the next append after the outage continues it.
func TestBlobAppendThroughFaultsAndOutage(t *testing.T) {
	p := proxy(t)
	s := blobStoreTimeout(t, p.URL, 500*time.Millisecond)
	j, err := s.CreateJournal(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	p.Add(statetest.Fault{Comp: "appendblock", Nth: 1, Times: 2, Action: "503"})
	p.Add(statetest.Fault{Comp: "appendblock", Nth: 4, Action: "hang", Delay: 2 * time.Second})
	if err := j.Append(ctx, []byte("after 503s\n")); err != nil {
		t.Fatal(err)
	}
	if err := j.Append(ctx, []byte("after a timeout\n")); err != nil {
		t.Fatal(err)
	}
	p.SetDown(true)
	err = j.Append(ctx, []byte("during the outage\n"))
	var se *state.StorageError
	if !errors.As(err, &se) || se.Status != 503 {
		t.Fatalf("append during an outage: %v, want a 503 StorageError", err)
	}
	p.SetDown(false)
	if err := j.Append(ctx, []byte("after the outage\n")); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ReadJournal(ctx, "r"); string(got) != "after 503s\nafter a timeout\nafter the outage\n" {
		t.Errorf("journal = %q", got)
	}
}

func TestBlobJournalRefusesARecordLargerThanABlock(t *testing.T) {
	s := blobStore(t, azurite.Endpoint)
	j, err := s.CreateJournal(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Append(ctx, make([]byte, state.MaxRecord+1)); err == nil {
		t.Fatal("an oversized record was appended")
	}
	if got, _ := s.ReadJournal(ctx, "r"); len(got) != 0 {
		t.Errorf("journal holds %d bytes", len(got))
	}
}

func holder(run string) state.Holder {
	env := map[string]string{"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "contoso/estate",
		"GITHUB_RUN_ID": "42"}
	return state.NewHolder("", "ci-deployer", run, func(k string) string { return env[k] })
}

const key = "plans/prod.star#prod@api.fabric.microsoft.com"

func TestLockRefusedNamesTheHolderAndOtherEstatesGoOn(t *testing.T) {
	stores(t, func(t *testing.T, s state.Store) {
		l, err := s.TryLock(ctx, key, holder("run-a"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.TryLock(ctx, key, holder("run-b"))
		var le *state.LockedError
		if !errors.As(err, &le) {
			t.Fatalf("second TryLock: %v, want a LockedError", err)
		}
		host, _ := os.Hostname()
		for _, want := range []string{"ci-deployer", "on " + host, "run run-a", "since 20",
			"job https://github.com/contoso/estate/actions/runs/42", "fabplan state unlock '" + key + "'"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("refusal %q does not say %q", err, want)
			}
		}
		other, err := s.TryLock(ctx, "plans/prod.star#test@api.fabric.microsoft.com", holder("run-c"))
		if err != nil {
			t.Fatalf("another estate was blocked: %v", err)
		}
		locks, err := s.Locks(ctx)
		if err != nil || len(locks) != 2 {
			t.Errorf("Locks = %v, %v; want two", locks, err)
		}
		other.Unlock(ctx)
		if err := l.Unlock(ctx); err != nil {
			t.Fatal(err)
		}
		l, err = s.TryLock(ctx, key, holder("run-b"))
		if err != nil {
			t.Fatalf("after Unlock: %v", err)
		}
		l.Unlock(ctx)
	})
}

func TestAcquireWaitsForTheHolder(t *testing.T) {
	stores(t, func(t *testing.T, s state.Store) {
		l, err := s.TryLock(ctx, key, holder("run-a"))
		if err != nil {
			t.Fatal(err)
		}
		// Refused at once without a timeout, and after the timeout with one.
		if _, err := state.Acquire(ctx, s, key, holder("run-b"), state.LockOptions{}); err == nil {
			t.Fatal("taken twice")
		}
		_, err = state.Acquire(ctx, s, key, holder("run-b"), state.LockOptions{Timeout: 300 * time.Millisecond,
			Poll: 50 * time.Millisecond})
		var le *state.LockedError
		if !errors.As(err, &le) || le.Waited == 0 || le.Holder.Run != "run-a" {
			t.Fatalf("after a timeout: %v", err)
		}
		waiting := make(chan state.Holder, 1)
		go func() {
			<-waiting
			l.Unlock(ctx)
		}()
		l2, err := state.Acquire(ctx, s, key, holder("run-b"), state.LockOptions{Timeout: time.Minute,
			Poll: 50 * time.Millisecond, Waiting: func(h state.Holder) { waiting <- h }})
		if err != nil {
			t.Fatalf("waiting for the holder: %v", err)
		}
		l2.Unlock(ctx)
	})
}

// Break releases a blob lock whoever holds it; the holder learns through Lost at its next renewal.
func TestBlobBreakTellsTheHolder(t *testing.T) {
	s := blobStore(t, azurite.Endpoint)
	l, err := s.TryLock(ctx, key, holder("run-a"))
	if err != nil {
		t.Fatal(err)
	}
	h, err := s.Break(ctx, key)
	if err != nil || h.Run != "run-a" {
		t.Fatalf("Break = %v, %v", h, err)
	}
	l2, err := s.TryLock(ctx, key, holder("run-b"))
	if err != nil {
		t.Fatalf("after Break: %v", err)
	}
	defer l2.Unlock(ctx)
	select {
	case <-l.Lost():
	case <-time.After(3 * state.RenewEvery):
		t.Fatal("the broken holder was not told")
	}
	if _, err := s.Break(ctx, "nobody#holds@this"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Break of a free key: %v", err)
	}
}

// A local lock held by a live process cannot be broken: the operating system holds it.
func TestLocalBreakRefusesALiveHolder(t *testing.T) {
	s := state.NewLocal(t.TempDir())
	l, err := s.TryLock(ctx, key, holder("run-a"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Break(ctx, key); err == nil || !strings.Contains(err.Error(), "stop that process") {
		t.Errorf("Break of a live local lock: %v", err)
	}
	l.Unlock(ctx)
	if _, err := s.Break(ctx, key); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Break of a free local lock: %v", err)
	}
}

// An outage longer than the lease makes the holder give the lock up before the lease expires.
func TestBlobLockLostWhenRenewalsFail(t *testing.T) {
	t.Parallel()
	p := proxy(t)
	s := blobStoreTimeout(t, p.URL, 500*time.Millisecond)
	l, err := s.TryLock(ctx, key, holder("run-a"))
	if err != nil {
		t.Fatal(err)
	}
	taken := time.Now()
	p.SetDown(true)
	select {
	case <-l.Lost():
		if time.Since(taken) >= state.LeaseDuration {
			t.Errorf("lost after %s: later than the lease expires", time.Since(taken))
		}
	case <-time.After(state.LeaseDuration + 5*time.Second):
		t.Fatal("a lock that could not be renewed was not given up")
	}
}

const holdEnv = "FABPLAN_STATETEST_HOLD"

// holdLock is the helper process of TestKilledHolder: it takes the lock of the store named in
// its environment, says so, and waits to be killed.
func holdLock() {
	kind, where, _ := strings.Cut(os.Getenv(holdEnv), "=")
	var s state.Store = state.NewLocal(where)
	if kind == "blob" {
		loc, _ := state.ParseLocation("azblob://" + statetest.Account + "/" + os.Getenv("HOLD_CONTAINER") + "/p")
		var err error
		s, err = state.Open(loc, state.Options{Getenv: func(k string) string {
			if k == "AZURE_STORAGE_CONNECTION_STRING" {
				return statetest.ConnectionString(where)
			}
			return ""
		}})
		if err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
	}
	if _, err := s.TryLock(ctx, key, holder("killed-run")); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	fmt.Println("locked")
	select {}
}

// startHolder runs holdLock in a child process and waits until it holds the lock.
func startHolder(t *testing.T, env ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, _ := bufio.NewReader(out).ReadString('\n')
	if line != "locked\n" {
		t.Fatalf("helper: %q", line)
	}
	return cmd
}

// A blob lock is renewed for as long as its holder lives, and expires on its own within
// LeaseDuration once the holder is killed with SIGKILL.
func TestBlobKilledHoldersLeaseExpires(t *testing.T) {
	t.Parallel()
	if azurite == nil {
		t.Skip(statetest.ErrSkip)
	}
	cmd := startHolder(t, holdEnv+"=blob="+azurite.Endpoint, "HOLD_CONTAINER="+containerName(t))
	loc, _ := state.ParseLocation("azblob://" + statetest.Account + "/" + containerName(t) + "/p")
	s, err := state.Open(loc, state.Options{Getenv: func(k string) string {
		return map[string]string{"AZURE_STORAGE_CONNECTION_STRING": azurite.ConnectionString()}[k]
	}})
	if err != nil {
		t.Fatal(err)
	}
	// Longer than one lease: only renewal keeps it.
	time.Sleep(state.LeaseDuration + 2*time.Second)
	var le *state.LockedError
	if _, err := s.TryLock(ctx, key, holder("next")); !errors.As(err, &le) || le.Holder.Run != "killed-run" {
		t.Fatalf("while the holder lives: %v", err)
	}
	cmd.Process.Signal(os.Kill)
	cmd.Wait()
	l, err := state.Acquire(ctx, s, key, holder("next"), state.LockOptions{Timeout: state.LeaseDuration + 5*time.Second,
		Poll: 250 * time.Millisecond})
	if err != nil {
		t.Fatalf("after the holder was killed: %v", err)
	}
	l.Unlock(ctx)
}

// A local lock is released by the operating system the moment its holder dies.
func TestLocalKilledHoldersLockIsFree(t *testing.T) {
	dir := t.TempDir()
	cmd := startHolder(t, holdEnv+"=local="+dir)
	s := state.NewLocal(dir)
	if _, err := s.TryLock(ctx, key, holder("next")); err == nil {
		t.Fatal("taken while the holder lives")
	}
	if locks, _ := s.Locks(ctx); len(locks) != 1 || locks[0].Run != "killed-run" {
		t.Errorf("Locks = %v", locks)
	}
	cmd.Process.Signal(os.Kill)
	cmd.Wait()
	l, err := s.TryLock(ctx, key, holder("next"))
	if err != nil {
		t.Fatalf("after the holder was killed: %v", err)
	}
	l.Unlock(ctx)
}

func proxy(t *testing.T) *statetest.Proxy {
	t.Helper()
	if azurite == nil {
		t.Skip(statetest.ErrSkip)
	}
	p, err := statetest.NewProxy(azurite.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

func blobStoreTimeout(t *testing.T, endpoint string, try time.Duration) state.Store {
	t.Helper()
	loc, _ := state.ParseLocation("azblob://" + statetest.Account + "/" + containerName(t) + "/p")
	s, err := state.Open(loc, state.Options{TryTimeout: try, Getenv: func(k string) string {
		return map[string]string{"AZURE_STORAGE_CONNECTION_STRING": statetest.ConnectionString(endpoint)}[k]
	}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A meta document (what a run learned for the next) reads back as last written, is replaced
// whole, is absent until written, and its name cannot leave the store's meta folder.
func TestMetaDocumentsReplaceWhole(t *testing.T) {
	stores(t, func(t *testing.T, s state.Store) {
		if _, err := s.ReadMeta(ctx, "throttle-abc.json"); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("before any write: %v, want fs.ErrNotExist", err)
		}
		for _, doc := range []string{`{"rate":47.5,"limited":true}`, `{"rate":9}`} {
			if err := s.WriteMeta(ctx, "throttle-abc.json", []byte(doc)); err != nil {
				t.Fatal(err)
			}
			got, err := s.ReadMeta(ctx, "throttle-abc.json")
			if err != nil || string(got) != doc {
				t.Fatalf("read back %q, %v; want %q", got, err, doc)
			}
		}
		for _, bad := range []string{"", "../runs/x", "a/b", ".hidden", `a\b`} {
			if err := s.WriteMeta(ctx, bad, []byte("x")); err == nil {
				t.Errorf("meta name %q was accepted", bad)
			}
		}
		if runs, _ := s.Runs(ctx); len(runs) != 0 {
			t.Errorf("a meta document shows as runs %v", runs)
		}
	})
}
