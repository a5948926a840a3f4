package secrets

import (
	"bytes"
	"encoding/json"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// MinLength is the shortest value the Redactor accepts: scrubbing shorter strings would blank out
// ordinary words, so shorter secret values are refused at resolution.
const MinLength = 4

// Redactor replaces every secret value it was given with <secret:NAME>. It is safe for concurrent
// use; values added later apply to everything redacted from then on.
type Redactor struct {
	mu   sync.RWMutex
	subs []substitution // longest first, so a value containing another is replaced whole
	max  int            // longest pattern, for the streaming writer
}

type substitution struct{ pattern, with string }

// NewRedactor returns an empty Redactor.
func NewRedactor() *Redactor { return &Redactor{} }

// Add registers a value under a name. The value is matched as is and in the escaped forms it takes
// where fabplan writes text: JSON with and without HTML escaping (plan JSON, the journal), a Go
// quoted string (%q in messages, and slog's text log, which quotes values with spaces or quotes),
// and that quoted string inside JSON (a message with %q in a journal record), and each line of a
// value of several lines. For most values the forms coincide with the raw one.
func (r *Redactor) Add(name, value string) {
	if len(value) < MinLength {
		return
	}
	with := "<secret:" + name + ">"
	quoted := strconv.Quote(value)
	patterns := []string{value, jsonString(value, true), jsonString(value, false), quoted[1 : len(quoted)-1],
		jsonString(quoted[1:len(quoted)-1], true), jsonString(quoted[1:len(quoted)-1], false)}
	// A value of several lines (a PEM key) reaches output re-indented or cut into lines (doctor's
	// details, wrapped messages): each of its lines is matched on its own as well.
	for _, line := range strings.FieldsFunc(value, func(r rune) bool { return r == '\n' || r == '\r' }) {
		if line = strings.TrimSpace(line); len(line) >= MinLength && line != value {
			patterns = append(patterns, line)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range patterns {
		dup := false
		for _, s := range r.subs {
			dup = dup || s.pattern == p
		}
		if !dup {
			r.subs = append(r.subs, substitution{p, with})
			r.max = max(r.max, len(p))
		}
	}
	sort.SliceStable(r.subs, func(i, j int) bool { return len(r.subs[i].pattern) > len(r.subs[j].pattern) })
}

// jsonString is s as it appears inside a JSON string, with or without encoding/json's escaping of
// <, > and &.
func jsonString(s string, escapeHTML bool) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(escapeHTML)
	if enc.Encode(s) != nil {
		return s
	}
	out := strings.TrimSuffix(b.String(), "\n")
	return out[1 : len(out)-1]
}

// Redact returns s with every registered value replaced.
func (r *Redactor) Redact(s string) string {
	if r == nil {
		return s
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, sub := range r.subs {
		if strings.Contains(s, sub.pattern) {
			s = strings.ReplaceAll(s, sub.pattern, sub.with)
		}
	}
	return s
}

// heldPrefix returns how many trailing bytes of s could begin a registered value; a streaming
// writer keeps them back until the next write shows whether they do.
func (r *Redactor) heldPrefix(s string) int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for n := min(len(s), r.max-1); n > 0; n-- {
		tail := s[len(s)-n:]
		for _, sub := range r.subs {
			if strings.HasPrefix(sub.pattern, tail) {
				return n
			}
		}
	}
	return 0
}

// Writer wraps w so that nothing written through it carries a registered value, even when a value
// is split across writes. Call Flush (or Close) at the end to write what was held back.
func (r *Redactor) Writer(w io.Writer) *Writer { return &Writer{r: r, w: w} }

// Writer is a redacting io.Writer; see Redactor.Writer.
type Writer struct {
	r    *Redactor
	w    io.Writer
	mu   sync.Mutex
	held string
}

var _ io.WriteCloser = (*Writer)(nil)

// Write redacts p (together with any held-back tail) and writes all but a tail that could be the
// start of a secret value.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.r.Redact(w.held + string(p))
	keep := w.r.heldPrefix(s)
	w.held = s[len(s)-keep:]
	if out := s[:len(s)-keep]; out != "" {
		if _, err := io.WriteString(w.w, out); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// Flush writes what was held back.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.held == "" {
		return nil
	}
	s := w.r.Redact(w.held)
	w.held = ""
	_, err := io.WriteString(w.w, s)
	return err
}

// Close flushes; the wrapped writer stays open.
func (w *Writer) Close() error { return w.Flush() }
