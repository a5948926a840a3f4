package lint

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Severity ranks a finding. The zero value is not a valid severity.
type Severity int

// Severities, lowest first, so that "at or above --fail-on" is a plain comparison.
const (
	Info Severity = iota + 1
	Warning
	Error
)

func (s Severity) String() string {
	switch s {
	case Info:
		return "info"
	case Warning:
		return "warning"
	case Error:
		return "error"
	}
	return fmt.Sprintf("severity(%d)", int(s))
}

// MarshalText writes the severity as its name, in JSON output among others.
func (s Severity) MarshalText() ([]byte, error) {
	if s < Info || s > Error {
		return nil, fmt.Errorf("invalid severity %d", int(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText reads a severity name.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err == nil {
		*s = v
	}
	return err
}

// ParseSeverity reads a --fail-on value: "info", "warning" or "error".
func ParseSeverity(s string) (Severity, error) {
	switch strings.ToLower(s) {
	case "info":
		return Info, nil
	case "warning", "warn":
		return Warning, nil
	case "error":
		return Error, nil
	}
	return 0, &UsageError{Msg: fmt.Sprintf("unknown severity %q: use info, warning or error", s)}
}

// Finding is one problem in one file. Line and Col are 1-based; Col counts runes.
type Finding struct {
	File     string   `json:"file"`
	Line     int      `json:"line"`
	Col      int      `json:"col"`
	Severity Severity `json:"severity"`
	Check    string   `json:"check"`
	Message  string   `json:"message"`
}

// String is the text form: `file:line:col: severity: message [id]`. Lines after the first of a
// multi-line message (a Starlark traceback) follow, indented, so each finding starts a line.
func (f Finding) String() string {
	first, rest, _ := strings.Cut(f.Message, "\n")
	s := fmt.Sprintf("%s:%d:%d: %s: %s [%s]", f.File, f.Line, f.Col, f.Severity, first, f.Check)
	if rest != "" {
		s += "\n    " + strings.ReplaceAll(rest, "\n", "\n    ")
	}
	return s
}

func compareFindings(a, b Finding) int {
	return cmp.Or(
		cmp.Compare(a.File, b.File),
		cmp.Compare(a.Line, b.Line),
		cmp.Compare(a.Col, b.Col),
		cmp.Compare(a.Check, b.Check),
		cmp.Compare(a.Message, b.Message),
	)
}

// Report is the outcome of one Run: every finding that was not suppressed, sorted by position.
type Report struct {
	// Files are the files that were linted (given, discovered or loaded), sorted.
	Files    []string
	Findings []Finding
}

// Count returns how many findings are at or above min.
func (r Report) Count(min Severity) int {
	n := 0
	for _, f := range r.Findings {
		if f.Severity >= min {
			n++
		}
	}
	return n
}

// Exit codes of `fabplan lint` and `fabplan fmt`.
const (
	ExitClean    = 0 // nothing at or above --fail-on; every file formatted
	ExitFindings = 1 // findings at or above --fail-on; with fmt --check, unformatted files
	ExitUsage    = 2 // bad flag or path, unreadable file, or (fmt) a file that does not parse
)

// ExitCode maps the report to the exit status for a given --fail-on threshold.
func (r Report) ExitCode(failOn Severity) int {
	if r.Count(failOn) > 0 {
		return ExitFindings
	}
	return ExitClean
}

func sortFindings(fs []Finding) []Finding {
	slices.SortFunc(fs, compareFindings)
	return slices.CompactFunc(fs, func(a, b Finding) bool { return compareFindings(a, b) == 0 })
}

// UsageError is a problem with how lint or fmt was invoked (a flag, a path): exit status 2.
type UsageError struct {
	Msg string
}

func (e *UsageError) Error() string { return e.Msg }
