package cli

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/spf13/pflag"

	"github.com/fabplan/fabplan/engine/journal"
	"github.com/fabplan/fabplan/state"
)

// PlanStateFile is the file beside a plan that names the plan's state location, so that every
// checkout and CI job of the plan finds the same state without flags.
const PlanStateFile = "fabplan.state"

// BindStateFlags adds --state.
func (f *Factory) BindStateFlags(fs *pflag.FlagSet) {
	fs.StringVar(&f.StateLoc, "state", "", "where journals and locks live: a directory, azblob://ACCOUNT/CONTAINER/PREFIX or "+
		"https://ACCOUNT.blob.core.windows.net/CONTAINER/PREFIX (env FABPLAN_STATE; else the plan's fabplan.state; "+
		"default .fabplan)")
	// The flag's old name, kept so that existing scripts and pipelines go on working.
	fs.StringVar(&f.StateLoc, "state-dir", "", "")
	fs.MarkHidden("state-dir")
}

// BindLockFlags adds --lock-timeout (run and rollback).
func (f *Factory) BindLockFlags(fs *pflag.FlagSet) {
	fs.DurationVar(&f.LockTimeout, "lock-timeout", 0, "how long to wait for the estate's lock when another run holds it "+
		"(default: refuse at once)")
}

// UsePlan says which plan the command acts on, so that its fabplan.state counts.
func (f *Factory) UsePlan(planFile string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.plan = planFile
}

// StateLocation is where the state is, and which setting chose it: --state, FABPLAN_STATE (or
// the older FABPLAN_STATE_DIR), the plan's fabplan.state, or the default .fabplan.
func (f *Factory) StateLocation() (state.Location, string, error) {
	value, from := f.StateLoc, "--state"
	if value == "" {
		value, from = f.Getenv("FABPLAN_STATE"), "FABPLAN_STATE"
	}
	if value == "" {
		value, from = f.Getenv("FABPLAN_STATE_DIR"), "FABPLAN_STATE_DIR"
	}
	if value == "" && f.plan != "" {
		path := filepath.Join(filepath.Dir(f.plan), PlanStateFile)
		if b, err := os.ReadFile(path); err == nil {
			value, from = strings.TrimSpace(string(b)), path
			// A relative directory there is relative to the plan, as load() paths are.
			if !strings.Contains(value, "://") && value != "" && !filepath.IsAbs(value) {
				value = filepath.Join(filepath.Dir(f.plan), value)
			}
		}
	}
	loc, err := state.ParseLocation(value)
	if err != nil {
		return loc, from, Usagef(fmt.Errorf("%s: %w", from, err))
	}
	return loc, from, nil
}

// Store opens the state store, once per process. A blob location is reached with
// AZURE_STORAGE_CONNECTION_STRING or AZURE_STORAGE_SAS_TOKEN when set, else as fabplan's Fabric
// identity; the storage credentials are added to the redactor.
func (f *Factory) Store() (state.Store, error) {
	loc, _, err := f.StateLocation()
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	if f.store != nil {
		defer f.mu.Unlock()
		return f.store, nil
	}
	f.mu.Unlock()
	st, err := f.OpenStore(loc)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.store == nil {
		f.store = st
	}
	return f.store, nil
}

// OpenStore opens the store at loc (Store's, or another for migrate).
func (f *Factory) OpenStore(loc state.Location) (state.Store, error) {
	for _, v := range state.Secrets(f.Getenv) {
		f.Redactor().Add("AZURE_STORAGE", v)
	}
	return state.Open(loc, state.Options{Getenv: f.Getenv, Credential: func() (azcore.TokenCredential, error) {
		c, err := f.Client()
		if err != nil {
			return nil, err
		}
		return c.Credential(), nil
	}})
}

// EstateKey names the estate a run deploys, for its lock: the plan, the environment and the Fabric
// (endpoint host and tenant). Runs of different estates never wait for each other.
func EstateKey(plan, env string, t journal.Target) string {
	host := t.Endpoint
	if u, err := url.Parse(t.Endpoint); err == nil && u.Host != "" {
		host = u.Host
	}
	if env == "" {
		env = "default"
	}
	return fmt.Sprintf("%s#%s@%s/%s", filepath.ToSlash(filepath.Clean(plan)), env, host, t.Tenant)
}

// LockEstate takes the estate's lock for run, waiting --lock-timeout for a holder. The returned
// context is cancelled with state.ErrLockLost if the lock is lost (a blob lease broken or not
// renewed in time), so that no new change starts; unlock releases the lock.
func (f *Factory) LockEstate(ctx context.Context, key, run string, who journal.Target) (context.Context,
	func(), error) {
	st, err := f.Store()
	if err != nil {
		return nil, nil, err
	}
	h := state.NewHolder(key, who.Identity, run, f.Getenv)
	l, err := state.Acquire(ctx, st, key, h, state.LockOptions{Timeout: f.LockTimeout, Waiting: func(h state.Holder) {
		fmt.Fprintf(f.IO.ErrOut, "waiting up to %s for the lock of estate %s, held by %s\n", f.LockTimeout, key, h)
	}})
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	go func() {
		select {
		case <-l.Lost():
			cancel(state.ErrLockLost)
		case <-done:
		}
	}()
	return ctx, func() {
		close(done)
		cancel(nil)
		uctx, c := context.WithTimeout(context.Background(), 30*time.Second)
		defer c()
		l.Unlock(uctx)
	}, nil
}
