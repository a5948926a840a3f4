package lint

import (
	"bytes"
	"fmt"
	"strings"

	"go.starlark.net/syntax"
)

// suppressPrefix starts a suppression comment: `# fabplan:disable=ID[,ID...]`, optionally followed
// by a space and a reason.
const suppressPrefix = "fabplan:disable="

// suppressions are the disable comments of one file.
//   - At the end of a line of code, a comment suppresses the ids on that line.
//   - On a line of its own before the first statement, it suppresses the ids in the whole file.
//   - On a line of its own elsewhere, it suppresses the ids in the statement that follows (all
//     its lines).
type suppressions struct {
	file  map[string]bool
	lines map[int]map[string]bool
}

func (s suppressions) covers(f Finding) bool {
	return s.file[f.Check] || s.lines[f.Line][f.Check]
}

// collectSuppressions reads the disable comments of a parsed file. Comments that name an
// unknown check come back as findings, so that a typo does not silently suppress nothing.
func collectSuppressions(f *syntax.File, src []byte, known func(string) bool) (suppressions, []Finding) {
	s := suppressions{file: map[string]bool{}, lines: map[int]map[string]bool{}}
	lines := bytes.Split(src, []byte("\n"))
	firstStmt := len(lines) + 1
	if len(f.Stmts) > 0 {
		start, _ := f.Stmts[0].Span()
		firstStmt = int(start.Line)
	}
	// A comment on a line of its own covers the whole statement that follows, however many
	// lines it spans: findings point at an argument's line, the comment sits above the call.
	stmtEnd := map[int]int{}
	syntax.Walk(f, func(n syntax.Node) bool {
		if st, ok := n.(syntax.Stmt); ok {
			start, end := st.Span()
			stmtEnd[int(start.Line)] = max(stmtEnd[int(start.Line)], int(end.Line))
		}
		return true
	})
	var bad []Finding
	seen := map[syntax.Position]bool{}
	syntax.Walk(f, func(n syntax.Node) bool {
		if n == nil {
			return false
		}
		c := n.Comments()
		if c == nil {
			return true
		}
		for _, group := range [][]syntax.Comment{c.Before, c.Suffix, c.After} {
			for _, cm := range group {
				if seen[cm.Start] {
					continue
				}
				seen[cm.Start] = true
				ids, ok := parseSuppression(cm.Text)
				if !ok {
					continue
				}
				line := int(cm.Start.Line)
				for _, id := range ids {
					if !known(id) {
						bad = append(bad, Finding{File: cm.Start.Filename(), Line: line, Col: int(cm.Start.Col),
							Check: CheckSuppressUnknown, Message: fmt.Sprintf("%q is not a fabplan lint check; nothing is suppressed", id)})
					}
				}
				switch {
				case !wholeLine(lines, cm.Start):
					s.add(line, ids)
				case line < firstStmt:
					for _, id := range ids {
						s.file[id] = true
					}
				default:
					next := nextCodeLine(lines, line)
					for l := next; l <= max(next, stmtEnd[next]); l++ {
						s.add(l, ids)
					}
				}
			}
		}
		return true
	})
	return s, bad
}

func (s suppressions) add(line int, ids []string) {
	m := s.lines[line]
	if m == nil {
		m = map[string]bool{}
		s.lines[line] = m
	}
	for _, id := range ids {
		m[id] = true
	}
}

func parseSuppression(text string) ([]string, bool) {
	text = strings.TrimSpace(strings.TrimPrefix(text, "#"))
	rest, ok := strings.CutPrefix(text, suppressPrefix)
	if !ok {
		return nil, false
	}
	if i := strings.IndexAny(rest, " \t"); i >= 0 {
		rest = rest[:i]
	}
	var ids []string
	for id := range strings.SplitSeq(rest, ",") {
		if id = strings.TrimSpace(id); id != "" {
			ids = append(ids, id)
		}
	}
	return ids, len(ids) > 0
}

// wholeLine reports whether only blanks precede the comment on its line.
func wholeLine(lines [][]byte, p syntax.Position) bool {
	i := int(p.Line) - 1
	if i < 0 || i >= len(lines) {
		return false
	}
	before := []rune(string(lines[i]))
	if n := int(p.Col) - 1; n < len(before) {
		before = before[:n]
	}
	return strings.TrimSpace(string(before)) == ""
}

// nextCodeLine is the first line after line that is neither blank nor only a comment.
func nextCodeLine(lines [][]byte, line int) int {
	for i := line; i < len(lines); i++ {
		t := bytes.TrimSpace(lines[i])
		if len(t) > 0 && t[0] != '#' {
			return i + 1
		}
	}
	return line + 1
}
