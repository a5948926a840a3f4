package fabric

import (
	"sync"
	"testing"
	"time"
)

// kindLog is a Waiter that counts the waits it is told of, by kind, and the ones still open.
type kindLog struct {
	mu    sync.Mutex
	kinds map[WaitKind]int
	open  int
}

func (k *kindLog) Waiting(kind WaitKind) func(time.Duration) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.kinds[kind]++
	k.open++
	return func(time.Duration) {
		k.mu.Lock()
		defer k.mu.Unlock()
		k.open--
	}
}

// A scheduler learns of every wait a call makes: each request's admission by the throttle, an
// operation's Retry-After before each poll, the backoff before a retry, and a 429's pause as the
// throttle's. Without this, a step waiting on an operation would hold its worker.
func TestCallsTellTheirWaiter(t *testing.T) {
	f := newFakeFabric(t)
	c := f.client(t, func(cfg *Config) { cfg.Clock = newFakeClock() })
	ws, err := c.CreateWorkspace(bg, WorkspaceCreate{DisplayName: "w"})
	if err != nil {
		t.Fatal(err)
	}
	k := &kindLog{kinds: map[WaitKind]int{}}
	ctx := WithWaiter(bg, k)
	def := Definition{Parts: []Part{{Path: "notebook-content.py", Payload: []byte("print(1)\n")}}}
	f.hook = failFirst(1, "POST", "/v1/workspaces/"+ws.ID+"/items", 503, "ServiceUnavailable", nil)
	if _, err := c.CreateItem(ctx, ws.ID, ItemCreate{Type: "Notebook", DisplayName: "n", Definition: &def}); err != nil {
		t.Fatal(err)
	}
	f.hook = failFirst(1, "GET", "/v1/capacities", 429, "RequestBlocked", map[string]string{"Retry-After": "2"})
	if _, err := c.ListCapacities(ctx); err != nil {
		t.Fatal(err)
	}
	requests := len(f.requests()) - 1 // the workspace's create was not under ctx
	if k.kinds[WaitThrottle] != requests+1 || k.kinds[WaitOperation] < 2 || k.kinds[WaitRetry] != 1 || k.open != 0 {
		t.Fatalf("waits by kind %v (open %d) for %d requests: want one admission each, the 429's pause as the "+
			"throttle's, a wait before each poll and one retry backoff", k.kinds, k.open, requests)
	}
}
