package lint

import (
	"slices"
	"strings"
)

// param and spec mirror builtins.Param and builtins.Spec: the signature table that drives the
// signature checks. lint reads it through this small adapter so the checks can be tested with
// a table of their own.
type param struct {
	Name     string
	Type     string
	Required bool
	Enum     []string
	Secret   bool
}

type spec struct {
	Name   string
	Params []param
	OneOf  [][]string
}

func (s *spec) param(name string) (param, bool) {
	i := slices.IndexFunc(s.Params, func(p param) bool { return p.Name == name })
	if i < 0 {
		return param{}, false
	}
	return s.Params[i], true
}

// signatures indexes a catalog: builtins by dotted name, and the members of each module.
type signatures struct {
	byName  map[string]*spec
	modules map[string][]string // "fabric" -> ["item", "lookup", "workspace", ...]; "fabric.lookup" -> [...]
	globals map[string]bool     // names a plan may use without load(): modules and top-level builtins
}

func newSignatures(specs []spec, extraGlobals []string) *signatures {
	s := &signatures{byName: map[string]*spec{}, modules: map[string][]string{}, globals: map[string]bool{}}
	for i := range specs {
		sp := &specs[i]
		s.byName[sp.Name] = sp
		name := sp.Name
		// fabric.lookup.item: "item" is a member of fabric.lookup, which is a member of fabric.
		for {
			i := strings.LastIndex(name, ".")
			if i < 0 {
				s.globals[name] = true
				break
			}
			mod, member := name[:i], name[i+1:]
			if slices.Contains(s.modules[mod], member) {
				break
			}
			s.modules[mod] = append(s.modules[mod], member)
			name = mod
		}
	}
	for _, g := range extraGlobals {
		s.globals[g] = true
	}
	return s
}

func (s *signatures) isPredeclared(name string) bool { return s.globals[name] }
