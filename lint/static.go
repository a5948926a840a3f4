package lint

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// resolveFile runs Starlark's resolver, the authority on undefined names. It annotates the
// tree with bindings, which unusedLoads then reads; it must run once per file.
func (l *linter) resolveFile(u *unit) []Finding {
	err := resolve.File(u.file, l.sigs.isPredeclared, starlark.Universe.Has)
	if err == nil {
		return nil
	}
	var list resolve.ErrorList
	if !errors.As(err, &list) {
		return []Finding{{File: u.name, Line: 1, Col: 1, Check: CheckResolve, Message: err.Error()}}
	}
	out := make([]Finding, 0, len(list))
	for _, e := range list {
		out = append(out, Finding{File: u.name, Line: int(e.Pos.Line), Col: int(e.Pos.Col), Check: CheckResolve, Message: l.undefinedHint(e.Msg)})
	}
	return out
}

// undefinedHint adds a suggestion to "undefined: NAME" when the resolver has none: it suggests
// only names of the file and its functions, since it cannot list predeclared ones. fabplan's
// own (secrt -> secret, fabirc -> fabric) are the ones plans misspell; Starlark's universe is
// left out, where short names make poor guesses (nme -> None).
func (l *linter) undefinedHint(msg string) string {
	name, ok := strings.CutPrefix(msg, "undefined: ")
	if !ok || strings.Contains(name, " ") {
		return msg
	}
	names := make([]string, 0, len(l.sigs.globals))
	for g := range l.sigs.globals {
		names = append(names, g)
	}
	slices.Sort(names)
	return msg + didYouMean(name, names, "")
}

// unusedLoads reports load() symbols that nothing refers to. Load bindings are local to a file
// in Starlark, so an unused one cannot be a re-export.
func unusedLoads(u *unit) []Finding {
	var loaded []*syntax.Ident
	for _, stmt := range u.file.Stmts {
		if ld, ok := stmt.(*syntax.LoadStmt); ok && !u.badLoads[ld.Module.TokenPos] {
			loaded = append(loaded, ld.To...)
		}
	}
	if len(loaded) == 0 {
		return nil
	}
	isDecl := map[*syntax.Ident]bool{}
	for _, id := range loaded {
		isDecl[id] = true
	}
	used := map[any]bool{}
	syntax.Walk(u.file, func(n syntax.Node) bool {
		if id, ok := n.(*syntax.Ident); ok && !isDecl[id] && id.Binding != nil {
			used[id.Binding] = true
		}
		return true
	})
	var out []Finding
	for _, id := range loaded {
		if id.Binding != nil && !used[id.Binding] {
			out = append(out, Finding{File: u.name, Line: int(id.NamePos.Line), Col: int(id.NamePos.Col), Check: CheckLoadUnused,
				Message: fmt.Sprintf("%s is loaded but never used; remove it from the load statement", id.Name)})
		}
	}
	return out
}
