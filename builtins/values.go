package builtins

import (
	"fmt"
	"hash/fnv"
	"sort"

	"go.starlark.net/starlark"

	"github.com/fabplan/fabplan/engine"
)

// Handle is what a builtin returns: a reference to a declared resource (or to a value such as a
// definition). Passing a handle to another builtin creates a dependency edge.
type Handle struct {
	kind  string
	addr  engine.Addr
	attrs starlark.StringDict
	// data is the builtin's own payload (the resource, or a definition's parts).
	data any
	// outputs are the attributes known after apply the resource has besides id (see Attribute);
	// use records which ones the plan reads; what names the handle in errors ("a Lakehouse").
	outputs []Attribute
	use     *attributeUse
	what    string
}

var (
	_ starlark.HasAttrs = (*Handle)(nil)
	_ starlark.Value    = (*Ref)(nil)
)

func newHandle(kind string, addr engine.Addr, attrs starlark.StringDict, data any) *Handle {
	if attrs == nil {
		attrs = starlark.StringDict{}
	}
	if addr != "" {
		attrs["id"] = &Ref{addr: addr, field: "id"}
		attrs["address"] = starlark.String(addr)
	}
	return &Handle{kind: kind, addr: addr, attrs: attrs, data: data}
}

func (h *Handle) String() string {
	if h.addr != "" {
		return fmt.Sprintf("%s(%s)", h.kind, h.addr)
	}
	return h.kind + "(...)"
}
func (h *Handle) Type() string          { return h.kind }
func (h *Handle) Freeze()               {}
func (h *Handle) Truth() starlark.Bool  { return true }
func (h *Handle) Hash() (uint32, error) { return hashString(string(h.addr)), nil }
func (h *Handle) Attr(name string) (starlark.Value, error) {
	if v, ok := h.attrs[name]; ok {
		return v, nil
	}
	return h.attr(name)
}
func (h *Handle) AttrNames() []string {
	names := make([]string, 0, len(h.attrs)+len(h.outputs))
	for k := range h.attrs {
		names = append(names, k)
	}
	for _, a := range h.outputs {
		names = append(names, a.Name)
	}
	sort.Strings(names)
	return names
}

// Addr is the address of the resource behind the handle.
func (h *Handle) Addr() engine.Addr { return h.addr }

// Ref is a value known only after apply, such as ws.id or lake.sql_endpoint_id.
type Ref struct {
	addr  engine.Addr
	field string
}

func (r *Ref) String() string        { return fmt.Sprintf("(%s.%s, known after apply)", r.addr, r.field) }
func (r *Ref) Type() string          { return "ref" }
func (r *Ref) Freeze()               {}
func (r *Ref) Truth() starlark.Bool  { return true }
func (r *Ref) Hash() (uint32, error) { return hashString(string(r.addr) + "." + r.field), nil }

func hashString(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}
