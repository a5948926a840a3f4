package builtins

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"go.starlark.net/starlark"

	"github.com/fabplan/fabplan/engine"

	"github.com/fabplan/fabplan/fabric"
)

// fabric.definition: an item's parts, read from a folder beside the plan (Fabric's Git layout).

type definitionBuiltin struct{}

func (definitionBuiltin) Spec() Spec {
	return Spec{
		Name: "fabric.definition",
		Doc:  "Reads an item definition from a folder beside the plan (Fabric's Git folder layout: .platform plus parts), replacing environment-specific tokens.",
		Params: []Param{
			{Name: "path", Type: "string", Required: true, Doc: "Folder, relative to the file whose code names it (the plan, or a library it loads); it may not leave the plan root."},
			{Name: "format", Type: "string", Doc: "Definition format, e.g. ipynb, TMDL, PBIR; default: the item type's default."},
			{Name: "replace", Type: "dict", Doc: "Token -> string, secret(\"name\") or an id known only after apply (ws.id, lake.id: the item then depends on that resource); every occurrence in every part is replaced (secret values are resolved at evaluation and redacted from all output)."},
		},
	}
}

// definitionValue is what fabric.definition returns.
type definitionValue struct {
	path     string
	format   string
	parts    []fabric.Part // without .platform, sorted by path
	platform []byte        // the .platform file, if any
	// sensitive is set when a secret() value was substituted: plans show the definition as
	// (sensitive), without its parts.
	sensitive bool
	// refs are tokens replaced by live ids, once known.
	refs []refToken
	// template holds, for a sensitive definition, its parts with <secret:name> where the values
	// go: safe to fingerprint in plans.
	template []fabric.Part
}

func (definitionBuiltin) Interpret(ev *evaluation, c *call) (starlark.Value, error) {
	rel := c.str("path")
	dir, err := ev.resolvePath(filepath.Dir(c.site.File), rel)
	if err != nil {
		return nil, fmt.Errorf("fabric.definition: %v", err)
	}
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		ev.diags = append(ev.diags, engine.Diagnostic{Pos: c.pos,
			Message: fmt.Sprintf("fabric.definition: folder %s does not exist; create it beside the plan with the item's parts", dir)})
		return newHandle("definition", "", starlark.StringDict{"path": starlark.String(rel)}, &definitionValue{path: dir, format: c.str("format")}), nil
	}
	var replace [][2][]byte
	// template is replace with every secret value swapped for <secret:name>: what the definition
	// is made of, without the values, so that a saved plan can tell an edit of its files.
	var template [][2][]byte
	var refs []refToken
	sensitive := false
	if d, ok := c.value("replace").(*starlark.Dict); ok {
		for _, kv := range d.Items() {
			k, ok1 := starlark.AsString(kv[0])
			if ref, isRef := kv[1].(*Ref); isRef && ok1 {
				// Known after apply: substituted when the item is planned and applied.
				refs = append(refs, refToken{token: []byte(k), ref: ref})
				continue
			}
			v, ok2 := starlark.AsString(kv[1])
			shown := v
			if s, isSecret := kv[1].(*Secret); isSecret {
				if v, err = ev.reveal(s); err != nil {
					return nil, fmt.Errorf("fabric.definition: replace %q: %w", k, err)
				}
				ok2, sensitive, shown = true, true, s.String()
			}
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("fabric.definition: replace must map strings to strings, secret() or an id such as ws.id, got %s: %s", kv[0].Type(), kv[1].Type())
			}
			replace = append(replace, [2][]byte{[]byte(k), []byte(v)})
			template = append(template, [2][]byte{[]byte(k), []byte(shown)})
		}
	}
	def := &definitionValue{path: dir, format: c.str("format"), sensitive: sensitive, refs: refs}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		name, _ := filepath.Rel(dir, p)
		name = filepath.ToSlash(name)
		if sensitive {
			shown := data
			for _, r := range template {
				shown = bytes.ReplaceAll(shown, r[0], r[1])
			}
			def.template = append(def.template, fabric.Part{Path: name, Payload: shown})
		}
		for _, r := range replace {
			data = bytes.ReplaceAll(data, r[0], r[1])
		}
		if name == ".platform" {
			def.platform = data
			return nil
		}
		def.parts = append(def.parts, fabric.Part{Path: name, Payload: data})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("fabric.definition: reading %s: %v", dir, err)
	}
	if len(def.parts) == 0 {
		return nil, fmt.Errorf("fabric.definition: folder %s holds no parts", dir)
	}
	sort.Slice(def.parts, func(i, j int) bool { return def.parts[i].Path < def.parts[j].Path })
	return newHandle("definition", "", starlark.StringDict{"path": starlark.String(rel)}, def), nil
}

// RequiredParts lists, per item type, the parts Fabric cannot create the item without; each entry
// is a set of alternatives (any one satisfies it). A name ending in "/" is a folder, one with "*"
// a pattern (path.Match). Evaluation and lint both check definitions against it.
var RequiredParts = map[string][][]string{
	"Report":        {{"definition.pbir"}, {"report.json", "definition/"}},
	"SemanticModel": {{"definition.pbism"}, {"model.bim", "definition/*.tmdl"}},
}

// MissingParts returns, for each required group of an item type with no alternative present, the
// group's description; has reports whether a part (or folder, or pattern) is present.
func MissingParts(itemType string, has func(part string) bool) []string {
	var missing []string
	for _, alts := range RequiredParts[itemType] {
		found := false
		for _, alt := range alts {
			if has(alt) {
				found = true
				break
			}
		}
		if !found {
			missing = append(missing, strings.Join(alts, " or "))
		}
	}
	return missing
}

// definitionRequired lists the item types Fabric will not create without a definition.
var definitionRequired = map[string]bool{
	"Report": true, "SemanticModel": true, "PaginatedReport": true, "MirroredDatabase": true, "MirroredCatalog": true,
}

// missingParts returns the required parts (or alternatives) a definition lacks.
func (d *definitionValue) missingParts(itemType string) []string {
	return MissingParts(itemType, func(want string) bool {
		for _, p := range d.parts {
			switch {
			case strings.HasSuffix(want, "/") && strings.HasPrefix(p.Path, want):
				return true
			case strings.Contains(want, "*"):
				if ok, _ := path.Match(want, p.Path); ok {
					return true
				}
			case p.Path == want:
				return true
			}
		}
		return false
	})
}

func (d *definitionValue) toFabric(rt *engine.Runtime) *fabric.Definition {
	parts, _ := d.render(rt)
	return &fabric.Definition{Format: d.format, Parts: parts}
}
