package lint

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.starlark.net/syntax"

	"github.com/fabplan/fabplan/builtins"
)

// Builtins the risk checks understand.
const (
	workspaceBuiltin  = "fabric.workspace"
	itemBuiltin       = "fabric.item"
	definitionBuiltin = "fabric.definition"
)

// riskFindings reports declarations that can destroy data or fail at deploy time: prune=True,
// data-bearing items exposed to prune without allow_destroy, and definition folders that are
// missing or incomplete.
func riskFindings(u *unit, sigs *signatures, dataBearing func(itemType string) bool) []Finding {
	var out []Finding
	assigned := assignedValues(u.file)
	callOf := func(e syntax.Expr) *syntax.CallExpr {
		if id, ok := e.(*syntax.Ident); ok {
			e = assigned[id.Binding]
		}
		c, _ := e.(*syntax.CallExpr)
		return c
	}
	sigs.walkBuiltinCalls(u.file, workspaceBuiltin, func(_ *syntax.CallExpr, a callArgs) {
		if v, ok := a.arg("prune"); ok && a.argTrue("prune") {
			out = append(out, u.finding(v, CheckPrune,
				"prune=True deletes every item fabplan created in this workspace that the plan no longer declares; check nothing needed was removed, then suppress this line to confirm"))
		}
	})
	definitionTypes := map[*syntax.CallExpr][]string{}
	sigs.walkBuiltinCalls(u.file, itemBuiltin, func(c *syntax.CallExpr, a callArgs) {
		typ, _ := a.argString("type")
		if d, ok := a.arg("definition"); ok {
			if dc := callOf(d); dc != nil {
				definitionTypes[dc] = append(definitionTypes[dc], typ)
			}
		}
		if !dataBearing(typ) {
			return
		}
		if v, ok := a.arg("allow_destroy"); ok {
			if b, known := boolLit(v); b || !known {
				return // allowed, or decided at run time
			}
		}
		ws, _ := a.arg("workspace")
		wc := callOf(ws)
		if wc == nil {
			return
		}
		if n, _ := builtinName(wc.Fn); n != workspaceBuiltin || !sigs.builtinArgs(wc, workspaceBuiltin).argTrue("prune") {
			return
		}
		name, _ := a.argString("name")
		out = append(out, u.finding(c.Fn, CheckAllowDestroy,
			fmt.Sprintf("%s %q sits in a workspace with prune=True: removing or renaming this declaration would delete it with its data, and the run would stop there; set allow_destroy=True to accept that, or drop prune", typ, name)))
	})
	sigs.walkBuiltinCalls(u.file, definitionBuiltin, func(c *syntax.CallExpr, a callArgs) {
		pathExpr, ok := a.arg("path")
		if !ok {
			return
		}
		rel, ok := stringLit(pathExpr)
		if !ok || filepath.IsAbs(rel) {
			return
		}
		dir := filepath.Join(filepath.Dir(u.name), filepath.FromSlash(rel))
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			out = append(out, u.finding(pathExpr, CheckDefinitionMissing,
				fmt.Sprintf("definition folder %s does not exist; the path is relative to %s", dir, filepath.Dir(u.name))))
			return
		}
		for _, typ := range definitionTypes[c] {
			if missing := missingParts(dir, typ); len(missing) > 0 {
				out = append(out, u.finding(pathExpr, CheckDefinitionParts,
					fmt.Sprintf("a %s definition needs %s, and %s has no %s", typ, describeParts(typ), dir, strings.Join(missing, " and no "))))
			}
		}
	})
	return out
}

// assignedValues maps each binding assigned exactly once from an expression (x = ...) to that
// expression, so that a variable can be traced back to the literal or builtin call that made
// its value. A binding assigned more than once maps to nil: its value depends on the path taken.
func assignedValues(f *syntax.File) map[any]syntax.Expr {
	m := map[any]syntax.Expr{}
	seen := map[any]bool{}
	syntax.Walk(f, func(n syntax.Node) bool {
		if as, ok := n.(*syntax.AssignStmt); ok {
			if id, ok := as.LHS.(*syntax.Ident); ok && id.Binding != nil {
				if seen[id.Binding] || as.Op != syntax.EQ {
					m[id.Binding] = nil
				} else {
					m[id.Binding] = as.RHS
				}
				seen[id.Binding] = true
			}
		}
		return true
	})
	return m
}

func describeParts(typ string) string {
	var groups []string
	for _, alts := range builtins.RequiredParts[typ] {
		groups = append(groups, strings.Join(alts, " or "))
	}
	return strings.Join(groups, " and ")
}

// missingParts returns, for each required group with no alternative present, its description.
func missingParts(dir, typ string) []string {
	return builtins.MissingParts(typ, func(part string) bool { return partExists(dir, part) })
}

func partExists(dir, part string) bool {
	if strings.ContainsAny(part, "*?[") {
		m, _ := filepath.Glob(filepath.Join(dir, filepath.FromSlash(part)))
		return len(m) > 0
	}
	st, err := os.Stat(filepath.Join(dir, filepath.FromSlash(strings.TrimSuffix(part, "/"))))
	if err != nil {
		return false
	}
	return st.IsDir() == strings.HasSuffix(part, "/")
}
