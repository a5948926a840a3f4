package engine

import (
	"fmt"
	"sort"
	"strings"
)

// Pos is where in a plan a resource was declared: the outermost call in the entry plan file.
type Pos struct {
	File string `json:"file"`
	Line int    `json:"line"`
	Col  int    `json:"col"`
}

func (p Pos) String() string {
	if p.File == "" {
		return "<unknown>"
	}
	if p.Line == 0 {
		return p.File
	}
	if p.Col > 0 {
		return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
	}
	return fmt.Sprintf("%s:%d", p.File, p.Line)
}

// IsValid reports whether the position names a file.
func (p Pos) IsValid() bool { return p.File != "" }

// Diagnostic is one problem found in a plan before any change is made.
type Diagnostic struct {
	Pos     Pos
	Message string
	// Related is the other side of a conflict (for example the first declaration of a duplicate).
	Related Pos
	// Check is the lint check that reports this problem, when it breaks one of builtins' rules.
	Check string
}

func (d Diagnostic) String() string {
	s := d.Pos.String() + ": " + d.Message
	if d.Related.IsValid() {
		s += " (see " + d.Related.String() + ")"
	}
	return s
}

// Diagnostics is the error returned when a plan has problems; every problem is reported at once.
type Diagnostics []Diagnostic

func (ds Diagnostics) Error() string {
	lines := make([]string, len(ds))
	for i, d := range ds {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}

// Sort orders diagnostics by file, line and column so output is stable.
func (ds Diagnostics) Sort() {
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i].Pos, ds[j].Pos
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
}
