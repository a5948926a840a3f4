package builtins

import (
	"fmt"

	"go.starlark.net/starlark"
)

// principal.user, principal.group, principal.service_principal

// principalBuiltin declares one of the three principal constructors.
type principalBuiltin struct{ kind string }

// principalValue identifies an Entra principal, by object id or by a name Graph resolves.
type principalValue struct {
	Type string // Fabric's principal type: User, Group, ServicePrincipal
	ID   string // Entra object id, when given
	// Exactly one lookup key is set when ID is empty.
	UPN, Name, AppID string
}

// key is how the principal appears in addresses.
func (p *principalValue) key() string {
	for _, k := range []string{p.ID, p.UPN, p.Name, p.AppID} {
		if k != "" {
			return k
		}
	}
	return ""
}

func (b principalBuiltin) Spec() Spec {
	switch b.kind {
	case "user":
		return Spec{Name: "principal.user", Doc: "An Entra user, by user principal name or object id.",
			Params: []Param{{Name: "upn", Type: "string", Doc: "User principal name."}, {Name: "id", Type: "string", Doc: "Entra object id."}},
			OneOf:  [][]string{{"upn", "id"}}}
	case "group":
		return Spec{Name: "principal.group", Doc: "An Entra group, by display name (must match exactly one group) or object id.",
			Params: []Param{{Name: "name", Type: "string", Doc: "Group display name."}, {Name: "id", Type: "string", Doc: "Entra object id."}},
			OneOf:  [][]string{{"name", "id"}}}
	default:
		return Spec{Name: "principal.service_principal", Doc: "An Entra service principal, by application (client) id or object id.",
			Params: []Param{{Name: "app_id", Type: "string", Doc: "Application (client) id."}, {Name: "id", Type: "string", Doc: "Service principal object id (not the app id)."}},
			OneOf:  [][]string{{"app_id", "id"}}}
	}
}

func (b principalBuiltin) Interpret(_ *evaluation, c *call) (starlark.Value, error) {
	p := &principalValue{ID: c.str("id"), UPN: c.str("upn"), Name: c.str("name"), AppID: c.str("app_id")}
	switch b.kind {
	case "user":
		p.Type = "User"
	case "group":
		p.Type = "Group"
	default:
		p.Type = "ServicePrincipal"
	}
	if p.ID != "" && !isGUID(p.ID) {
		return nil, fmt.Errorf("%s: id %q is not a GUID (Entra object ids look like 00000000-0000-0000-0000-000000000000)", b.Spec().Name, p.ID)
	}
	return newHandle("principal", "", starlark.StringDict{
		"type": starlark.String(p.Type), "key": starlark.String(p.key()),
	}, p), nil
}

func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}
