package view

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/fabplan/fabplan/engine"
	"github.com/fabplan/fabplan/fabric"
)

// Progress reports a run as it happens, one line per event, on the error stream (events of
// parallel steps interleave, so they stay out of the deterministic standard output).
type Progress struct {
	mu sync.Mutex
	w  io.Writer
}

var _ engine.Observer = (*Progress)(nil)

// NewProgress writes progress to w.
func NewProgress(w io.Writer) *Progress { return &Progress{w: w} }

func (p *Progress) printf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, format, args...)
}

func (p *Progress) ChangeStarted(c *engine.Change) {
	p.printf("%s: %s...\n", c.Addr, ing(c.Action))
}

func (p *Progress) ChangeDone(c *engine.Change, took time.Duration) {
	p.printf("%s: %s (id %s, %s)\n", c.Addr, ed(c.Action), c.ID, took.Round(time.Millisecond))
}

func (p *Progress) ChangeFailed(c *engine.Change, err error) {
	p.printf("%s: %s failed\n", c.Addr, c.Action)
}

func (p *Progress) UndoDone(step engine.Addr, op string) {
	p.printf("%s: undone (%s)\n", step, op)
}

func (p *Progress) UndoFailed(step engine.Addr, op string, err error) {
	p.printf("%s: undo %s failed: %v\n", step, op, err)
}

func ing(a engine.Action) string {
	switch a {
	case engine.Create:
		return "creating"
	case engine.Update:
		return "updating"
	case engine.Replace:
		return "replacing"
	case engine.Delete:
		return "deleting"
	}
	return a.String()
}

func ed(a engine.Action) string {
	switch a {
	case engine.Create:
		return "created"
	case engine.Update:
		return "updated"
	case engine.Replace:
		return "replaced"
	case engine.Delete:
		return "deleted"
	}
	return a.String()
}

// Requests reports what a run cost in calls, on the error stream: how many requests, how many
// were throttled or retried, creates reconciled after a lost answer, and time spent waiting.
func Requests(w io.Writer, s fabric.Stats) {
	fmt.Fprintf(w, "fabric: %d request(s), %d throttled (429), %d retried, %d create(s) reconciled, %s waiting for the throttle\n",
		s.Requests, s.Throttled, s.Retries, s.Reconciled, s.ThrottleWait.Round(time.Millisecond))
}
