package view

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/fabplan/fabplan/engine"
)

// On a terminal progress is one line redrawn in place with done/total, in flight, elapsed and ETA;
// failures stay on screen above it. Plain progress writes one line per event and no control codes.
func TestLiveProgressRedrawsOneLine(t *testing.T) {
	var buf bytes.Buffer
	p := NewLiveProgress(&buf, 4)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := start
	p.start, p.now = start, func() time.Time { return now }
	a := &engine.Change{Addr: "workspace.a", Action: engine.Create}
	b := &engine.Change{Addr: "workspace.b", Action: engine.Create}
	p.ChangeStarted(a)
	p.ChangeStarted(b)
	now = start.Add(10 * time.Second)
	p.ChangeDone(a, time.Second)
	now = start.Add(12 * time.Second)
	p.ChangeFailed(b, nil)
	p.Finish()
	out := buf.String()
	for _, want := range []string{
		"\r\x1b[K[0/4] 2 in flight, 0:00 elapsed, ETA --",
		"\r\x1b[K[1/4] 1 in flight, 0:10 elapsed, ETA 0:30",
		"\r\x1b[Kworkspace.b: create failed\n\r\x1b[K[1/4] 0 in flight, 0:12 elapsed, ETA 0:36\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("live progress lacks %q:\n%q", want, out)
		}
	}
	if strings.Contains(out, "creating") || strings.Count(out, "\n") != 2 {
		t.Errorf("live progress wrote per-change lines:\n%q", out)
	}

	buf.Reset()
	plain := NewProgress(&buf)
	plain.ChangeStarted(a)
	plain.ChangeDone(a, time.Second)
	plain.Finish()
	if got, want := buf.String(), "workspace.a: creating...\nworkspace.a: created (id , 1s)\n"; got != want {
		t.Errorf("plain progress = %q, want %q", got, want)
	}
}
