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
	warnings := styleWarnings()
	names := make([]string, 0, len(warnings))
	severity := map[string]Severity{}
	fix := map[string]string{}
	for _, w := range warnings {
		if w.Library && !u.library {
			continue
		}
		names = append(names, w.Name)
		severity[w.Name] = w.Severity
		fix[w.Name] = w.Fix
	}
	var out []Finding
	// No file reader: the curated warnings are all single-file ones.
	for _, w := range warn.FileWarnings(f, names, nil, warn.ModeWarn, nil) {
		out = append(out, Finding{File: u.name, Line: w.Start.Line, Col: w.Start.LineRune, Check: w.Category,
			Severity: severity[w.Category], Message: styleMessage(w.Message, fix[w.Category])})
	}
	return out
}

// styleMessage keeps buildtools' first sentence, which says what is wrong (what follows is
// Bazel-specific advice), and adds fabplan's fix.
func styleMessage(msg, fix string) string {
	msg, _, _ = strings.Cut(msg, "\n")
	msg, _, _ = strings.Cut(msg, ". ")
	msg = strings.TrimSuffix(msg, ".")
	if fix == "" {
		return msg
	}
	return msg + ": " + strings.ToLower(fix[:1]) + fix[1:]
}
