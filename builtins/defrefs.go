package builtins

import (
	"bytes"

	"github.com/fabplan/fabplan/engine"
	"github.com/fabplan/fabplan/fabric"
)

// refToken is a replace= token whose value is known only after apply, such as a lakehouse's id in
// a notebook's metadata or its SQL endpoint's connection string.
type refToken struct {
	token []byte
	ref   *Ref
}

// deps are the resources whose attributes the definition needs.
func (d *definitionValue) deps() []engine.Addr {
	var out []engine.Addr
	for _, r := range d.refs {
		out = append(out, r.ref.addr)
	}
	return out
}

// render returns the parts with every such token replaced; known is false when a value is not
// known yet (the resource will be created by this run), in which case those tokens stay as they are.
func (d *definitionValue) render(rt *engine.Runtime) (parts []fabric.Part, known bool) {
	if len(d.refs) == 0 {
		return d.parts, true
	}
	known = true
	parts = make([]fabric.Part, len(d.parts))
	for i, p := range d.parts {
		payload := p.Payload
		for _, r := range d.refs {
			if !bytes.Contains(payload, r.token) {
				continue
			}
			id := ""
			if rt != nil {
				id = rt.Output(r.ref.addr, r.ref.field)
			}
			if id == "" {
				known = false
				continue
			}
			payload = bytes.ReplaceAll(payload, r.token, []byte(id))
		}
		parts[i] = fabric.Part{Path: p.Path, Payload: payload}
	}
	return parts, known
}
