package builtins

import (
	"bytes"
	"errors"
	"fmt"
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
			{Name: "replace", Type: "dict", Doc: "Token -> string, secret(\"name\") or a value known only after apply (ws.id, lake.id, lake.sql_endpoint_connection_string and the other attributes of fabric.item and fabric.workspace: the item then depends on that resource); every occurrence in every part is replaced (secret values are resolved at evaluation and redacted from all output). A key that occurs in no file is an error."},
			{Name: "keep_tokens", Type: "list", Doc: "{{NAME}} tokens meant to stay in the parts as written; any other {{NAME}} left after replace is an error."},
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
	// platformType is the item type .platform names, if it names one; platformFile is its path.
	platformType, platformFile string
}

func (definitionBuiltin) Interpret(ev *evaluation, c *call) (starlark.Value, error) {
	rel := c.str("path")
	dir, err := ev.resolvePath(filepath.Dir(c.site.File), rel)
	if err != nil {
		return nil, fmt.Errorf("fabric.definition: %v", err)
	}
	def := &definitionValue{path: dir, format: c.str("format")}
	handle := newHandle("definition", "", starlark.StringDict{"path": starlark.String(rel)}, def)
	if err := ev.checkReal(dir); err != nil {
		ev.diags = append(ev.diags, diag(c.pos, RuleSymlink, "fabric.definition: %v", err))
		return handle, nil
	}
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		ev.diags = append(ev.diags, engine.Diagnostic{Pos: c.pos,
			Message: fmt.Sprintf("fabric.definition: folder %s does not exist; create it beside the plan with the item's parts", dir)})
		return handle, nil
	}
	var replace [][2][]byte
	// template is replace with every secret value swapped for <secret:name>: what the definition
	// is made of, without the values, so that a saved plan can tell an edit of its files.
	var template [][2][]byte
	if d, ok := c.value("replace").(*starlark.Dict); ok {
		for _, kv := range d.Items() {
			k, ok1 := starlark.AsString(kv[0])
			if ref, isRef := kv[1].(*Ref); isRef && ok1 {
				// Known after apply: substituted when the item is planned and applied.
				def.refs = append(def.refs, refToken{token: []byte(k), ref: ref})
				continue
			}
			v, ok2 := starlark.AsString(kv[1])
			shown := v
			if s, isSecret := kv[1].(*Secret); isSecret {
				if v, err = ev.reveal(s); err != nil {
					return nil, fmt.Errorf("fabric.definition: replace %q: %w", k, err)
				}
				ok2, def.sensitive, shown = true, true, s.String()
			}
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("fabric.definition: replace must map strings to strings, secret() or an id such as ws.id, got %s: %s", kv[0].Type(), kv[1].Type())
			}
			if k == "" {
				return nil, fmt.Errorf("fabric.definition: replace has an empty key")
			}
			replace = append(replace, [2][]byte{[]byte(k), []byte(v)})
			template = append(template, [2][]byte{[]byte(k), []byte(shown)})
		}
	}
	keep, err := stringList(c.value("keep_tokens"))
	if err != nil {
		return nil, fmt.Errorf("fabric.definition: keep_tokens: %v", err)
	}
	files, err := ev.readTree(dir)
	if err != nil {
		var ee *escapeError
		if errors.As(err, &ee) {
			ev.diags = append(ev.diags, diag(c.pos, RuleSymlink, "fabric.definition: %v", err))
			return handle, nil
		}
		return nil, fmt.Errorf("fabric.definition: %v", err)
	}
	used := make([]bool, len(replace)+len(def.refs))
	size := 0
	for _, f := range files {
		data, shown := f.data, filepath.Join(dir, filepath.FromSlash(f.rel))
		for i, r := range replace {
			used[i] = used[i] || bytes.Contains(data, r[0])
		}
		for i, r := range def.refs {
			used[len(replace)+i] = used[len(replace)+i] || bytes.Contains(data, r.token)
		}
		if def.sensitive {
			tmpl := data
			for _, r := range template {
				tmpl = bytes.ReplaceAll(tmpl, r[0], r[1])
			}
			def.template = append(def.template, fabric.Part{Path: f.rel, Payload: tmpl})
		}
		for _, r := range replace {
			data = bytes.ReplaceAll(data, r[0], r[1])
		}
		ev.diags = append(ev.diags, def.checkPart(shown, f, data, keep, c.pos)...)
		size += partRequestSize(f.rel, data)
		if f.rel == ".platform" {
			def.platform = data
			continue
		}
		def.parts = append(def.parts, fabric.Part{Path: f.rel, Payload: data})
	}
	for i, u := range used {
		if u {
			continue
		}
		key := ""
		if i < len(replace) {
			key = string(replace[i][0])
		} else {
			key = string(def.refs[i-len(replace)].token)
		}
		ev.diags = append(ev.diags, diag(c.pos, RuleReplaceUnused,
			"fabric.definition: replace key %q occurs in none of the files of %s; correct the key or remove it", key, dir))
	}
	if size > maxRequestBody {
		ev.diags = append(ev.diags, diag(c.pos, RuleDefinitionSize,
			"fabric.definition: %s makes a request of about %d bytes; Fabric accepts at most %d: move large files out of the folder",
			dir, size, maxRequestBody))
	}
	if len(def.parts) == 0 {
		return nil, fmt.Errorf("fabric.definition: folder %s holds no parts", dir)
	}
	sort.Slice(def.parts, func(i, j int) bool { return def.parts[i].Path < def.parts[j].Path })
	return handle, nil
}

// stringList reads an optional list of strings.
func stringList(v starlark.Value) ([]string, error) {
	if v == nil {
		return nil, nil
	}
	it := v.(starlark.Iterable).Iterate()
	defer it.Done()
	var out []string
	var x starlark.Value
	for it.Next(&x) {
		s, ok := starlark.AsString(x)
		if !ok {
			return nil, fmt.Errorf("got a list holding %s, want strings", x.Type())
		}
		out = append(out, s)
	}
	return out, nil
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
	return MissingParts(itemType, d.hasPart)
}

// hasPart reports whether the definition has a part: a path, a folder (ending in /) or a
// pattern (with *, path.Match).
func (d *definitionValue) hasPart(want string) bool {
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
}

func (d *definitionValue) toFabric(rt *engine.Runtime) *fabric.Definition {
	parts, _ := d.render(rt)
	return &fabric.Definition{Format: d.format, Parts: parts}
}
