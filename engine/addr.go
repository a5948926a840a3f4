package engine

import (
	"regexp"
	"strings"
)

// Addr names a resource the same way in plans, output, the journal and errors,
// for example `workspace.sales/item.Notebook.etl`.
type Addr string

var plainName = regexp.MustCompile(`^[A-Za-z0-9_.\-]+$`)

// Segment builds one address segment, quoting a name that has characters other than
// letters, digits, '_', '.' or '-' so that addresses stay unambiguous.
func Segment(kind string, parts ...string) string {
	var b strings.Builder
	b.WriteString(kind)
	for _, p := range parts {
		b.WriteByte('.')
		if plainName.MatchString(p) && !strings.Contains(p, "/") {
			b.WriteString(p)
		} else {
			b.WriteString(`"` + strings.ReplaceAll(p, `"`, `\"`) + `"`)
		}
	}
	return b.String()
}

// Join appends child segments to a parent address.
func (a Addr) Join(segment string) Addr {
	if a == "" {
		return Addr(segment)
	}
	return Addr(string(a) + "/" + segment)
}

// Root returns the first segment: the workspace a resource lives in, or the resource itself.
func (a Addr) Root() Addr {
	quoted := false
	for i, c := range string(a) {
		switch {
		case c == '"' && (i == 0 || a[i-1] != '\\'):
			quoted = !quoted
		case c == '/' && !quoted:
			return a[:i]
		}
	}
	return a
}
