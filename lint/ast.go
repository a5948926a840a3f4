package lint

import (
	"slices"

	"go.starlark.net/resolve"
	"go.starlark.net/syntax"
)

// callArgs splits a call's arguments. Keyword values are keyed by name; rest is true when the
// call passes *args or **kwargs, which hides what is bound.
type callArgs struct {
	positional []syntax.Expr
	keywords   []keyword
	rest       bool
	spec       *spec // the builtin's signature, when known: it places positional arguments
}

type keyword struct {
	name  *syntax.Ident
	value syntax.Expr
}

func splitArgs(c *syntax.CallExpr) callArgs {
	var a callArgs
	for _, arg := range c.Args {
		switch arg := arg.(type) {
		case *syntax.BinaryExpr:
			if id, ok := arg.X.(*syntax.Ident); ok && arg.Op == syntax.EQ {
				a.keywords = append(a.keywords, keyword{id, arg.Y})
				continue
			}
			a.positional = append(a.positional, arg)
		case *syntax.UnaryExpr:
			if arg.Op == syntax.STAR || arg.Op == syntax.STARSTAR {
				a.rest = true
				continue
			}
			a.positional = append(a.positional, arg)
		default:
			a.positional = append(a.positional, arg)
		}
	}
	return a
}

func (a callArgs) keyword(name string) (syntax.Expr, bool) {
	for _, k := range a.keywords {
		if k.name.Name == name {
			return k.value, true
		}
	}
	return nil, false
}

// arg returns the argument for a parameter: by keyword, or by its position in the signature.
func (a callArgs) arg(name string) (syntax.Expr, bool) {
	if v, ok := a.keyword(name); ok {
		return v, true
	}
	if a.spec == nil {
		return nil, false
	}
	i := slices.IndexFunc(a.spec.Params, func(p param) bool { return p.Name == name })
	if i < 0 || i >= len(a.positional) {
		return nil, false
	}
	return a.positional[i], true
}

// argString returns the value of a parameter given as a string literal.
func (a callArgs) argString(name string) (string, bool) {
	v, ok := a.arg(name)
	if !ok {
		return "", false
	}
	return stringLit(v)
}

// argTrue reports whether a parameter is given as the literal True.
func (a callArgs) argTrue(name string) bool {
	v, ok := a.arg(name)
	if !ok {
		return false
	}
	b, _ := boolLit(v)
	return b
}

// builtinArgs splits a call's arguments and attaches the signature of the builtin it calls.
func (s *signatures) builtinArgs(c *syntax.CallExpr, builtin string) callArgs {
	a := splitArgs(c)
	a.spec = s.byName[builtin]
	return a
}

// walkBuiltinCalls calls fn for every call of the named builtin.
func (s *signatures) walkBuiltinCalls(f *syntax.File, builtin string, fn func(*syntax.CallExpr, callArgs)) {
	walkCalls(f, func(c *syntax.CallExpr) {
		if name, ok := builtinName(c.Fn); ok && name == builtin {
			fn(c, s.builtinArgs(c, builtin))
		}
	})
}

// builtinName returns the dotted name a call or attribute refers to when it is a predeclared
// name ("secret") or a member of a predeclared module ("fabric.item"). A local that shadows a
// predeclared name does not count: the resolver's binding says which is which.
func builtinName(e syntax.Expr) (string, bool) {
	switch e := e.(type) {
	case *syntax.Ident:
		return e.Name, isPredeclared(e)
	case *syntax.DotExpr:
		// A member of a module, possibly nested: fabric.item, fabric.lookup.item.
		if mod, ok := builtinName(e.X); ok {
			return mod + "." + e.Name.Name, true
		}
	}
	return "", false
}

func isPredeclared(id *syntax.Ident) bool {
	b, ok := id.Binding.(*resolve.Binding)
	return ok && b.Scope == resolve.Predeclared
}

// stringLit returns the value of a string literal.
func stringLit(e syntax.Expr) (string, bool) {
	if lit, ok := e.(*syntax.Literal); ok && lit.Token == syntax.STRING {
		s, ok := lit.Value.(string)
		return s, ok
	}
	return "", false
}

// boolLit reports the value of True or False (universal names, not rebindable).
func boolLit(e syntax.Expr) (value, ok bool) {
	if id, isID := e.(*syntax.Ident); isID {
		switch id.Name {
		case "True":
			return true, true
		case "False":
			return false, true
		}
	}
	return false, false
}

// listElems returns the elements of a list or tuple literal.
func listElems(e syntax.Expr) ([]syntax.Expr, bool) {
	switch e := e.(type) {
	case *syntax.ListExpr:
		return e.List, true
	case *syntax.TupleExpr:
		return e.List, true
	}
	return nil, false
}

// walkCalls calls fn for every call expression in the file.
func walkCalls(f *syntax.File, fn func(*syntax.CallExpr)) {
	syntax.Walk(f, func(n syntax.Node) bool {
		if c, ok := n.(*syntax.CallExpr); ok {
			fn(c)
		}
		return true
	})
}

func (u *unit) finding(e syntax.Node, check, msg string) Finding {
	start, _ := e.Span()
	return Finding{File: u.name, Line: int(start.Line), Col: int(start.Col), Check: check, Message: msg}
}
