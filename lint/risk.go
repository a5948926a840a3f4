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
// prune with allow_destroy=True (which lets prune delete data-bearing items), and definition
// folders that are missing or incomplete.
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
	// Items first: a workspace's allow-destroy finding names the data-bearing items declared in it.
	definitionTypes := map[*syntax.CallExpr][]string{}
	dataItems := map[*syntax.CallExpr][]string{} // workspace call -> data-bearing items declared in it
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
		ws, _ := a.arg("workspace")
		if wc := callOf(ws); wc != nil {
			name, _ := a.argString("name")
			dataItems[wc] = append(dataItems[wc], fmt.Sprintf("%s %q", typ, name))
		}
	})
	sigs.walkBuiltinCalls(u.file, workspaceBuiltin, func(c *syntax.CallExpr, a callArgs) {
		prune, pruned := a.arg("prune")
		if !pruned || !a.argTrue("prune") {
			return
		}
		out = append(out, u.finding(prune, CheckPrune,
			"prune=True deletes the items fabplan created in this workspace that the plan no longer declares (data-bearing ones only with allow_destroy=True); check nothing needed was removed, then suppress this line to confirm"))
		// Without allow_destroy, prune leaves data-bearing items alone (the plan lists them as not
		// managed); with it, dropping one from the plan deletes its data for good.
		if v, ok := a.arg("allow_destroy"); ok && a.argTrue("allow_destroy") {
			at := "any data-bearing item (Lakehouse, Warehouse, ...) fabplan created here"
			if items := dataItems[c]; len(items) > 0 {
				at = strings.Join(items, ", ") + " or any other data-bearing item fabplan created here"
			}
			out = append(out, u.finding(v, CheckAllowDestroy,
				fmt.Sprintf("with prune=True, allow_destroy=True makes a run delete %s, with its data, as soon as the plan stops declaring it (a removed or renamed line); rollback cannot restore the data. Drop allow_destroy unless that is intended, then suppress this line to confirm", at)))
		}
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
