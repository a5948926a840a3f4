package view

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/fabplan/fabplan/engine"
	"github.com/fabplan/fabplan/fabric"
)

// Progress reports a run as it happens on the error stream (events of parallel steps interleave,
// so they stay out of the deterministic standard output). Plain, it writes one line per event (CI
// logs); live, on a terminal, it redraws one line with done/total, in flight, elapsed and ETA, and
// writes lines only for what must stay on screen: failures and undos.
type Progress struct {
	mu    sync.Mutex
	w     io.Writer
	live  bool
	total int
	start time.Time
	now   func() time.Time

	done, inFlight int
	drawn          bool // the live line is on screen
}

var _ engine.Observer = (*Progress)(nil)

// NewProgress writes plain progress lines to w.
func NewProgress(w io.Writer) *Progress { return &Progress{w: w, now: time.Now} }

// NewLiveProgress redraws one status line on w, a terminal, for a run of total changes.
func NewLiveProgress(w io.Writer, total int) *Progress {
	return &Progress{w: w, live: true, total: total, start: time.Now(), now: time.Now}
}

// line writes a line that stays, above the live status line.
func (p *Progress) line(format string, args ...any) {
	if p.live && p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.drawn = false
	}
	fmt.Fprintf(p.w, format, args...)
}

// status redraws the live line.
func (p *Progress) status() {
	if !p.live {
		return
	}
	elapsed := p.now().Sub(p.start)
	eta := "ETA --"
	if p.done > 0 && p.done < p.total {
		eta = "ETA " + clock(elapsed*time.Duration(p.total-p.done)/time.Duration(p.done))
	} else if p.done >= p.total {
		eta = "ETA 0:00"
	}
	fmt.Fprintf(p.w, "\r\x1b[K[%d/%d] %d in flight, %s elapsed, %s", p.done, p.total, p.inFlight, clock(elapsed), eta)
	p.drawn = true
}

// Finish ends the live line so what follows starts on a line of its own.
func (p *Progress) Finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.live && p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
}

// clock shows a duration as m:ss (h:mm:ss past an hour).
func clock(d time.Duration) string {
	s := int(d.Round(time.Second) / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

func (p *Progress) ChangeStarted(c *engine.Change) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inFlight++
	if !p.live {
		p.line("%s: %s...\n", c.Addr, ing(c.Action))
	}
	p.status()
}

func (p *Progress) ChangeDone(c *engine.Change, took time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inFlight--
	p.done++
	if !p.live {
		p.line("%s: %s (id %s, %s)\n", c.Addr, ed(c.Action), c.ID, took.Round(time.Millisecond))
	}
	p.status()
}

func (p *Progress) ChangeFailed(c *engine.Change, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inFlight--
	p.line("%s: %s failed\n", c.Addr, c.Action)
	p.status()
}

func (p *Progress) UndoDone(step engine.Addr, op string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.line("%s: undone (%s)\n", step, op)
}

func (p *Progress) UndoFailed(step engine.Addr, op string, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.line("%s: undo %s failed: %v\n", step, op, err)
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
