package lint

import (
	"strings"

	"github.com/bazelbuild/buildtools/build"
	"github.com/bazelbuild/buildtools/warn"
)

// styleFindings runs the curated buildtools warnings. It parses the file with buildtools' own
// parser (as a .bzl file, the dialect closest to plans) because warn works on that tree.
func styleFindings(u *unit) []Finding {
	f, err := build.ParseBzl(u.name, u.src)
	if err != nil {
		return nil // the Starlark parser has the final word on syntax; it accepted the file
	}
	names := make([]string, 0, len(styleWarnings))
	severity := map[string]Severity{}
	for _, w := range styleWarnings {
		if w.Library && !u.library {
			continue
		}
		names = append(names, w.Name)
		severity[w.Name] = w.Severity
	}
	var out []Finding
	// No file reader: the curated warnings are all single-file ones.
	for _, w := range warn.FileWarnings(f, names, nil, warn.ModeWarn, nil) {
		// The first line is the finding; buildtools adds Bazel-specific notes after it.
		msg, _, _ := strings.Cut(w.Message, "\n")
		msg, _, _ = strings.Cut(msg, " NOTE:")
		out = append(out, Finding{File: u.name, Line: w.Start.Line, Col: w.Start.LineRune, Check: w.Category,
			Severity: severity[w.Category], Message: msg})
	}
	return out
}
