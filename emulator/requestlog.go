package emulator

import (
	"sync"
	"time"
)

// RequestRecord is one entry of the request log.
type RequestRecord struct {
	Time      time.Time     `json:"time"`
	Method    string        `json:"method"`
	Path      string        `json:"path"`
	Query     string        `json:"query,omitempty"`
	Principal string        `json:"principal,omitempty"` // UPN or display name of the authenticated caller
	Status    int           `json:"status"`              // 0 = the connection was broken before an answer
	Fault     string        `json:"fault,omitempty"`     // the fault applied, if any
	RequestID string        `json:"requestId"`
	Duration  time.Duration `json:"durationNs"`
}

// requestLog keeps the most recent requests in a ring so that a long benchmark does not grow without bound.
type requestLog struct {
	mu    sync.Mutex
	buf   []RequestRecord
	next  int
	full  bool
	total int
}

func newRequestLog(n int) *requestLog { return &requestLog{buf: make([]RequestRecord, n)} }

func (l *requestLog) add(r RequestRecord) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf[l.next] = r
	l.next = (l.next + 1) % len(l.buf)
	l.full = l.full || l.next == 0
	l.total++
}

func (l *requestLog) all() []RequestRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.full {
		return append([]RequestRecord(nil), l.buf[:l.next]...)
	}
	out := make([]RequestRecord, 0, len(l.buf))
	out = append(out, l.buf[l.next:]...)
	return append(out, l.buf[:l.next]...)
}

func (l *requestLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.next, l.full = 0, false
}

// Requests returns the request log, oldest first (the last 10,000 requests).
func (e *Emulator) Requests() []RequestRecord { return e.reqlog.all() }
