package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"time"

	"github.com/fabplan/fabplan/engine/journal"
	"github.com/fabplan/fabplan/fabric"
	"github.com/fabplan/fabplan/state"
)

// throttleMemory is where the throttle of this process's identity keeps what it learned.
type throttleMemory struct {
	st   state.Store
	name string
	th   *fabric.Throttle
}

// throttleMetaName names the state's document for one identity at one endpoint (hashed: the
// names of a shared container need not list who deploys).
func throttleMetaName(t journal.Target) string {
	h := sha256.Sum256([]byte(t.Endpoint + "\n" + t.Tenant + "\n" + t.Identity))
	return "throttle-" + hex.EncodeToString(h[:8]) + ".json"
}

// resumeThrottle starts the client's throttle where the identity's last run left it (the state's
// throttle document), and remembers where to save what this run learns (saveThrottle). A document
// that cannot be read only costs the slow start.
func (f *Factory) resumeThrottle(ctx context.Context, st state.Store, c *fabric.Client, target journal.Target) {
	th := c.Throttle()
	if th == nil || target.Identity == "" {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.throttleMem != nil {
		return
	}
	m := &throttleMemory{st: st, name: throttleMetaName(target), th: th}
	f.throttleMem = m
	data, err := st.ReadMeta(ctx, m.name)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			f.Logger().Warn("could not read the throttle's learned rate; starting slow", "error", err)
		}
		return
	}
	var l fabric.Learned
	if err := json.Unmarshal(data, &l); err != nil {
		f.Logger().Warn("ignoring a damaged throttle document", "name", m.name, "error", err)
		return
	}
	th.Resume(l)
}

// saveThrottle keeps what the throttle learned for the next run. It never fails a command.
func (f *Factory) saveThrottle() {
	f.mu.Lock()
	m := f.throttleMem
	f.throttleMem = nil
	f.mu.Unlock()
	if m == nil {
		return
	}
	l := m.th.Learned()
	if l.Rate <= 0 {
		return
	}
	data, _ := json.Marshal(l)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.st.WriteMeta(ctx, m.name, data); err != nil {
		f.Logger().Warn("could not keep the throttle's learned rate for the next run", "error", err)
	}
}
