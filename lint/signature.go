package lint

import (
	"fmt"
	"slices"
	"strings"

	"go.starlark.net/syntax"

	"github.com/fabplan/fabplan/builtins"
)

// signatureFindings checks every use of a builtin against the catalog: the attribute exists,
// keywords are known, required and one-of parameters are given, and literal values have the
// declared type and are in the declared enum. Values that are not literals are left to offline
// evaluation.
func (l *linter) signatureFindings(u *unit) []Finding {
	var out []Finding
	k := kinds{sigs: l.sigs, assigned: assignedValues(u.file)}
	syntax.Walk(u.file, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.CallExpr:
			name, ok := builtinName(n.Fn)
			if !ok {
				return true
			}
			if sp, ok := l.sigs.byName[name]; ok {
				out = append(out, k.checkCall(u, n, sp)...)
			}
		case *syntax.DotExpr:
			out = append(out, l.checkMember(u, n)...)
		}
		return true
	})
	return out
}

// checkMember reports fabric.workspce and the like, whether called or not.
func (l *linter) checkMember(u *unit, dot *syntax.DotExpr) []Finding {
	mod, ok := builtinName(dot.X)
	if !ok {
		return nil
	}
	members, ok := l.sigs.modules[mod]
	if !ok || slices.Contains(members, dot.Name.Name) {
		return nil
	}
	return []Finding{u.finding(dot.Name, CheckUnknownBuiltin,
		fmt.Sprintf("%s.%s is not a fabplan builtin%s", mod, dot.Name.Name, didYouMean(dot.Name.Name, members, mod+".")))}
}

func (k kinds) checkCall(u *unit, c *syntax.CallExpr, sp *spec) []Finding {
	var out []Finding
	a := splitArgs(c)
	given := map[string]syntax.Expr{}
	if len(a.positional) > len(sp.Params) {
		out = append(out, u.finding(a.positional[len(sp.Params)], CheckUnknownArg,
			fmt.Sprintf("%s takes at most %d positional arguments; name the arguments", sp.Name, len(sp.Params))))
	}
	for i, v := range a.positional {
		if i < len(sp.Params) {
			given[sp.Params[i].Name] = v
		}
	}
	names := make([]string, len(sp.Params))
	for i, p := range sp.Params {
		names[i] = p.Name
	}
	for _, kw := range a.keywords {
		if _, ok := sp.param(kw.name.Name); !ok {
			out = append(out, u.finding(kw.name, CheckUnknownArg,
				fmt.Sprintf("%s has no parameter %s%s", sp.Name, kw.name.Name, didYouMean(kw.name.Name, names, ""))))
			continue
		}
		given[kw.name.Name] = kw.value
	}
	for _, p := range sp.Params {
		v, ok := given[p.Name]
		if !ok {
			if p.Required && !a.rest {
				out = append(out, u.finding(c.Fn, CheckMissingArg, fmt.Sprintf("%s: missing required argument %s", sp.Name, p.Name)))
			}
			continue
		}
		if isNone(v) {
			if p.Required {
				out = append(out, u.finding(v, CheckMissingArg, fmt.Sprintf("%s: %s is required and cannot be None", sp.Name, p.Name)))
			}
			delete(given, p.Name)
			continue
		}
		out = append(out, k.checkValue(u, sp, p, v)...)
	}
	if !a.rest {
		for _, group := range sp.OneOf {
			n := 0
			for _, name := range group {
				if _, ok := given[name]; ok {
					n++
				}
			}
			if n != 1 {
				out = append(out, u.finding(c.Fn, CheckOneOf, fmt.Sprintf("%s: give exactly one of %s (got %d)", sp.Name, strings.Join(group, ", "), n)))
			}
		}
	}
	return out
}

func isNone(e syntax.Expr) bool {
	id, ok := e.(*syntax.Ident)
	return ok && id.Name == "None"
}

// checkValue checks a literal (or a builtin call, whose result kind is known) against the
// parameter's type and enum. Anything else is unknown until evaluation.
func (k kinds) checkValue(u *unit, sp *spec, p param, v syntax.Expr) []Finding {
	if strings.HasPrefix(p.Type, "list[") {
		return k.checkElements(u, sp, p, v)
	}
	got := k.of(v)
	if got == "" || p.Type == "any" || p.Type == "" {
		return nil
	}
	where := fmt.Sprintf("%s: for parameter %s", sp.Name, p.Name)
	switch {
	case p.Type == "secret" || p.Secret:
		if got == "string" {
			return nil // secret-literal reports it, with the fix
		}
		if got != "secret" {
			return []Finding{u.finding(v, CheckArgType, fmt.Sprintf("%s: got %s, want secret(\"name\")", where, got))}
		}
		return nil
	case handleKind(p.Type) && got == "string":
		if s, _ := stringLit(v); isGUID(s) {
			return nil // guid-literal reports it, with the fix
		}
	}
	if got != p.Type {
		return []Finding{u.finding(v, CheckArgType, fmt.Sprintf("%s: got %s, want %s", where, got, describeType(p.Type)))}
	}
	if s, ok := stringLit(v); ok && len(p.Enum) > 0 && !slices.Contains(p.Enum, s) {
		return []Finding{u.finding(v, CheckArgEnum, fmt.Sprintf("%s: %q is not one of the allowed values%s", where, s, enumHint(s, p.Enum)))}
	}
	return nil
}

// handleKind reports whether a parameter type is one whose values other builtins return.
func handleKind(t string) bool {
	switch t {
	case "workspace", "folder", "item", "capacity", "principal", "definition", "connection", "replacement":
		return true
	}
	return false
}

// kinds works out what kind of value an expression has without evaluating it.
type kinds struct {
	sigs     *signatures
	assigned map[any]syntax.Expr // single assignments, to follow a variable to its value
}

// of names the type of a literal, or of the value a builtin call returns, following variables
// assigned once; "" when it cannot be known without evaluating.
func (k kinds) of(e syntax.Expr) string {
	return k.kindOf(e, 0)
}

func (k kinds) kindOf(e syntax.Expr, depth int) string {
	switch e := e.(type) {
	case *syntax.Literal:
		switch e.Token {
		case syntax.STRING:
			return "string"
		case syntax.INT:
			return "int"
		case syntax.FLOAT:
			return "float"
		case syntax.BYTES:
			return "bytes"
		}
	case *syntax.Ident:
		if _, ok := boolLit(e); ok {
			return "bool"
		}
		// A global assigned once; depth bounds chains like a = b; b = a, which the resolver rejects
		// but a file with errors may still contain.
		if v := k.assigned[e.Binding]; v != nil && depth < 8 {
			return k.kindOf(v, depth+1)
		}
	case *syntax.ListExpr, *syntax.TupleExpr, *syntax.Comprehension:
		if c, ok := e.(*syntax.Comprehension); ok && c.Curly {
			return "dict"
		}
		return "list"
	case *syntax.DictExpr:
		return "dict"
	case *syntax.CallExpr:
		name, ok := builtinName(e.Fn)
		if !ok {
			return ""
		}
		if _, ok := k.sigs.byName[name]; !ok {
			return ""
		}
		return resultKind(name)
	}
	return ""
}

// checkElements checks the elements of a list literal passed for a list of handles.
func (k kinds) checkElements(u *unit, sp *spec, p param, v syntax.Expr) []Finding {
	elems, ok := listElems(v)
	if !ok {
		if got := k.of(v); got != "" && got != "list" {
			return []Finding{u.finding(v, CheckArgType, fmt.Sprintf("%s: for parameter %s: got %s, want %s", sp.Name, p.Name, got, describeType(p.Type)))}
		}
		return nil
	}
	elem := strings.TrimSuffix(strings.TrimPrefix(p.Type, "list["), "]")
	var out []Finding
	for _, e := range elems {
		got := k.of(e)
		if s, _ := stringLit(e); got == "" || got == elem || elem == "any" || isGUID(s) {
			continue
		}
		out = append(out, u.finding(e, CheckArgType, fmt.Sprintf("%s: for parameter %s: got a list holding %s, want %s", sp.Name, p.Name, got, describeType(p.Type))))
	}
	return out
}

// resultKind is the kind of value a builtin returns: fabric.X returns an X handle,
// principal.* a principal, secret() a secret. Other builtins are not assumed.
func resultKind(name string) string {
	mod, member, dotted := strings.Cut(name, ".")
	switch {
	case !dotted && mod == "secret":
		return "secret"
	case mod == "principal":
		return "principal"
	case mod == "fabric" && handleKind(member):
		return member
	case mod == "fabric" && strings.HasPrefix(member, "lookup.") && handleKind(strings.TrimPrefix(member, "lookup.")):
		return strings.TrimPrefix(member, "lookup.")
	}
	return ""
}

func describeType(t string) string {
	switch t {
	case "list[item]":
		return "a list of items"
	case "list[replacement]":
		return "a list of replacements (from fabric.replacement(...))"
	case "principal":
		return "principal (from principal.user, principal.group or principal.service_principal)"
	case "workspace", "folder", "item", "capacity", "definition", "connection", "replacement":
		return t + " (from fabric." + t + "(...))"
	}
	return t
}

func enumHint(got string, enum []string) string {
	if s := didYouMean(got, enum, ""); s != "" {
		return s
	}
	if len(enum) <= 12 {
		return "; use one of " + strings.Join(enum, ", ")
	}
	return "; see docs/builtins.md for the list"
}

// didYouMean returns " (did you mean PREFIX+X?)" for the closest candidate (builtins.Closest).
func didYouMean(got string, candidates []string, prefix string) string {
	if best := builtins.Closest(got, candidates); best != "" {
		return " (did you mean " + prefix + best + "?)"
	}
	return ""
}
