package state

import (
	"context"
	"strings"
	"testing"
)

// syncRecorder passes writes and syncs to the real file and records their order.
type syncRecorder struct {
	file
	events []string
}

func (s *syncRecorder) Write(p []byte) (int, error) {
	s.events = append(s.events, "write")
	return s.file.Write(p)
}

func (s *syncRecorder) Sync() error {
	s.events = append(s.events, "sync")
	return s.file.Sync()
}

// Append returns only once the record is synced: the engine makes the call an intent announces
// as soon as Append returns, so a record still in the page cache could be lost with the call made.
func TestLocalAppendSyncsBeforeReturning(t *testing.T) {
	j, err := NewLocal(t.TempDir()).CreateJournal(context.Background(), "r1")
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	lj := j.(*localJournal)
	rec := &syncRecorder{file: lj.f}
	lj.f = rec
	if err := j.Append(context.Background(), []byte("{}\n")); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(rec.events, ","); got != "write,sync" {
		t.Fatalf("Append did %q, want write,sync", got)
	}
}
