package builtins

import (
	"fmt"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/fabplan/fabplan/engine"
	"github.com/fabplan/fabplan/fabric"
	"github.com/fabplan/fabplan/secrets"
)

// secret("name"): an opaque value resolved by the secrets package (Key Vault, else the environment,
// else a .env file), never visible to the plan.

type secretBuiltin struct{}

func (secretBuiltin) Spec() Spec {
	return Spec{
		Name: "secret",
		Doc: "An opaque secret: read from Azure Key Vault when a vault is configured (FABPLAN_KEY_VAULT_URL), else from the " +
			"environment variable NAME upper-cased with - as _, else from a .env file beside the plan. It prints as " +
			"<secret:NAME>, cannot be concatenated, compared or used as a name or description, and only parameters that " +
			"take secrets accept it (fabric.definition replace values).",
		Params: []Param{{Name: "name", Type: "string", Required: true, Doc: "Secret name: 1-127 letters, digits and dashes."}},
	}
}

func (secretBuiltin) Interpret(ev *evaluation, c *call) (starlark.Value, error) {
	name := c.str("name")
	if err := secrets.CheckName(name); err != nil {
		return nil, fmt.Errorf("secret: %v", err)
	}
	if ev.opts.Secrets != nil {
		ev.opts.Secrets.Declare(name, c.pos.String())
	}
	return &Secret{name: name}, nil
}

// Secret is an opaque secret value: it prints as <secret:name>, cannot be concatenated, hashed or
// compared with another secret, and only parameters that take secrets accept it.
type Secret struct {
	name string
}

var (
	_ starlark.Value      = (*Secret)(nil)
	_ starlark.Comparable = (*Secret)(nil)
	_ starlark.HasBinary  = (*Secret)(nil)
)

func (s *Secret) String() string       { return "<secret:" + s.name + ">" }
func (s *Secret) Type() string         { return "secret" }
func (s *Secret) Freeze()              {}
func (s *Secret) Truth() starlark.Bool { return true }
func (s *Secret) Hash() (uint32, error) {
	return 0, fmt.Errorf("a secret cannot be hashed or used as a key")
}

// CompareSameType refuses: comparing two secrets would reveal whether their values are equal.
func (s *Secret) CompareSameType(syntax.Token, starlark.Value, int) (bool, error) {
	return false, fmt.Errorf("secrets cannot be compared")
}

// Binary refuses every operator, so that a secret cannot be concatenated or formatted into a
// string that would carry its value.
func (s *Secret) Binary(op syntax.Token, _ starlark.Value, _ starlark.Side) (starlark.Value, error) {
	return nil, fmt.Errorf("%s: a secret cannot be used with %s; pass secret() directly to a parameter that takes secrets", s, op)
}

// Name is the secret's name (never its value).
func (s *Secret) Name() string { return s.name }

// reveal returns a secret's value for a parameter that takes secrets. Offline evaluation (lint)
// gets the <secret:name> placeholder; an online evaluation without a secret source is refused, so
// that the placeholder can never reach Fabric.
func (ev *evaluation) reveal(s *Secret) (string, error) {
	if ev.opts.Offline {
		return s.String(), nil
	}
	if ev.opts.Secrets == nil {
		return "", fmt.Errorf("%s: no secret source is configured for this evaluation", s)
	}
	v, _, err := ev.opts.Secrets.Resolve(ev.ctx, s.name)
	return v, err
}

// hideSecrets marks a definition attribute sensitive, without its parts, when a secret was
// substituted into the definition, or when the live definition held secrets when fabplan last
// wrote it (liveSensitive): a diff would show the new value, or a previous one this run never
// resolved and so cannot redact, for instance after the plan stopped using secret().
func (d *definitionValue) hideSecrets(a engine.AttrChange, liveSensitive bool) engine.AttrChange {
	if d.sensitive || liveSensitive {
		a.Sensitive, a.Parts = true, nil
	}
	return a
}

// templateAttr fingerprints a sensitive definition's files with <secret:name> where the values go.
// Plans cannot show or hash the definition itself, so without it a saved plan could not tell that
// someone edited the files between `plan --out` and `run --plan`. It describes the plan's side
// only: on an existing item it is never a change in itself.
func (d *definitionValue) templateAttr(exists bool) []engine.AttrChange {
	if !d.sensitive {
		return nil
	}
	digest := definitionDigest(d.template)
	a := engine.AttrChange{Name: "definition_template", New: digest}
	if exists {
		a.Old = digest
	}
	return []engine.AttrChange{a}
}

// journalled is the pre-image of a definition the journal may hold for undo. A definition that
// takes secrets, or one whose live version held secrets when fabplan last wrote it
// (liveSensitive), is live with secret values in it (the current ones, or earlier ones this run
// never resolved and so cannot redact), and the journal never holds a secret: its pre-image is left
// out, so a rollback restores the item's metadata and the next run re-applies the definition.
func (d *definitionValue) journalled(pre *fabric.Definition, liveSensitive bool) *fabric.Definition {
	if d != nil && d.sensitive || liveSensitive {
		return nil
	}
	return pre
}

// liveSensitive reports whether the object id held secret values when fabplan last wrote it, as
// the journals of the state directory say (engine.Runtime.Sensitive).
func liveSensitive(rt *engine.Runtime, id string) bool {
	return rt != nil && id != "" && rt.Sensitive[id]
}
