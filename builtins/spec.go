package builtins

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"go.starlark.net/starlark"
)

// Param is one parameter of a builtin.
type Param struct {
	Name string
	// Type is "string" "int" "bool" "list" "dict" "any", "secret", or a handle kind returned by
	// another builtin: "workspace" "folder" "item" "capacity" "principal" "definition";
	// "list[item]" and "list[replacement]" are lists of handles.
	Type     string
	Required bool
	Enum     []string // allowed literal values
	Secret   bool     // takes a secret() value; a plain string literal here is a lint finding
	Doc      string
}

// Spec is a builtin's declared signature.
type Spec struct {
	Name   string // as written in plans: "fabric.workspace", "principal.user", "config"
	Doc    string
	Params []Param
	OneOf  [][]string // exactly one of each group must be given
	// Attributes are the values known after apply that the builtin's handles have besides id, by
	// item type ("" = every object the builtin declares).
	Attributes map[string][]Attribute
	// Updatable names the attributes (as plans show them) the builtin's resource changes on an
	// object that exists: what ignore_changes may name (none when empty).
	Updatable []string
}

// Param returns the parameter called name.
func (s Spec) Param(name string) (Param, bool) {
	for _, p := range s.Params {
		if p.Name == name {
			return p, true
		}
	}
	return Param{}, false
}

// Catalog lists every builtin's signature, sorted by name.
func Catalog() []Spec {
	var out []Spec
	for _, b := range registry() {
		out = append(out, specOf(b))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// args holds a call's arguments after they were checked against the builtin's Spec.
type args struct {
	spec Spec
	vals map[string]starlark.Value
	// problems are errors evaluation can carry on past (a value outside its enum): they are
	// reported together with every other problem of the plan.
	problems []string
}

// bind checks a call against the spec: known keywords, required parameters, types, enums and
// one-of groups. Positional arguments are taken in declaration order.
func (s Spec) bind(positional starlark.Tuple, kwargs []starlark.Tuple) (*args, error) {
	a := &args{spec: s, vals: map[string]starlark.Value{}}
	if len(positional) > len(s.Params) {
		return nil, fmt.Errorf("%s: got %d positional arguments, want at most %d", s.Name, len(positional), len(s.Params))
	}
	for i, v := range positional {
		a.vals[s.Params[i].Name] = v
	}
	for _, kv := range kwargs {
		k := string(kv[0].(starlark.String))
		if _, ok := s.Param(k); !ok {
			return nil, fmt.Errorf("%s: unexpected keyword argument %q%s", s.Name, k, suggest(k, s.paramNames()))
		}
		if _, dup := a.vals[k]; dup {
			return nil, fmt.Errorf("%s: got multiple values for parameter %q", s.Name, k)
		}
		a.vals[k] = kv[1]
	}
	for _, p := range s.Params {
		v, ok := a.vals[p.Name]
		if ok && v == starlark.None && !p.Required {
			delete(a.vals, p.Name)
			continue
		}
		if !ok {
			if p.Required {
				return nil, fmt.Errorf("%s: missing argument for %s", s.Name, p.Name)
			}
			continue
		}
		if err := checkType(s.Name, p, v); err != nil {
			return nil, err
		}
		if str, ok := v.(starlark.String); ok && len(p.Enum) > 0 && !slices.Contains(p.Enum, string(str)) {
			a.problems = append(a.problems, fmt.Sprintf("%s: for parameter %s: %q is not one of %s%s",
				s.Name, p.Name, string(str), strings.Join(p.Enum, ", "), suggest(string(str), p.Enum)))
		}
	}
	for _, group := range s.OneOf {
		n := 0
		for _, name := range group {
			if _, ok := a.vals[name]; ok {
				n++
			}
		}
		if n != 1 {
			return nil, fmt.Errorf("%s: give exactly one of %s", s.Name, strings.Join(group, ", "))
		}
	}
	return a, nil
}

func (s Spec) paramNames() []string {
	names := make([]string, len(s.Params))
	for i, p := range s.Params {
		names[i] = p.Name
	}
	return names
}

func checkType(fn string, p Param, v starlark.Value) error {
	bad := func(want string) error {
		return fmt.Errorf("%s: for parameter %s: got %s, want %s", fn, p.Name, v.Type(), want)
	}
	switch p.Type {
	case "any":
	case "string":
		_, ok := v.(starlark.String)
		if !ok {
			if _, isSecret := v.(*Secret); isSecret {
				return fmt.Errorf("%s: for parameter %s: a secret cannot be used here; only parameters that take secrets accept secret()", fn, p.Name)
			}
			return bad("string")
		}
	case "secret":
		if _, ok := v.(*Secret); !ok {
			if _, isStr := v.(starlark.String); isStr {
				return fmt.Errorf("%s: for parameter %s: pass secret(\"name\"), not a string literal, so the value never sits in the plan", fn, p.Name)
			}
			return bad("secret")
		}
	case "int":
		if _, ok := v.(starlark.Int); !ok {
			return bad("int")
		}
	case "bool":
		if _, ok := v.(starlark.Bool); !ok {
			return bad("bool")
		}
	case "dict":
		if _, ok := v.(*starlark.Dict); !ok {
			return bad("dict")
		}
	case "list":
		if _, ok := v.(*starlark.List); !ok {
			if _, ok := v.(starlark.Tuple); !ok {
				return bad("list")
			}
		}
	case "list[item]", "list[any]", "list[replacement]":
		elem := strings.TrimSuffix(strings.TrimPrefix(p.Type, "list["), "]")
		iter, ok := v.(starlark.Iterable)
		if !ok {
			return bad("list of " + elem)
		}
		it := iter.Iterate()
		defer it.Done()
		var x starlark.Value
		for it.Next(&x) {
			if h, ok := x.(*Handle); elem != "any" && (!ok || h.kind != elem) {
				return fmt.Errorf("%s: for parameter %s: got a list holding %s, want a list of %s", fn, p.Name, x.Type(), elem)
			}
		}
	default: // a handle kind
		h, ok := v.(*Handle)
		if !ok || h.kind != p.Type {
			return bad(p.Type + " (the value returned by " + handleMaker(p.Type) + ")")
		}
	}
	return nil
}

func handleMaker(kind string) string {
	switch kind {
	case "principal":
		return "principal.user, principal.group or principal.service_principal"
	case "definition":
		return "fabric.definition"
	case "workspace", "item":
		return "fabric." + kind + " or fabric.lookup." + kind
	case "connection":
		return "fabric.lookup.connection"
	case "replacement":
		return "fabric.replacement"
	}
	return "fabric." + kind
}

func (a *args) has(name string) bool { _, ok := a.vals[name]; return ok }

func (a *args) str(name string) string {
	if s, ok := a.vals[name].(starlark.String); ok {
		return string(s)
	}
	return ""
}

func (a *args) boolean(name string) bool {
	b, _ := a.vals[name].(starlark.Bool)
	return bool(b)
}

func (a *args) handle(name string) *Handle {
	h, _ := a.vals[name].(*Handle)
	return h
}

func (a *args) value(name string) starlark.Value { return a.vals[name] }
