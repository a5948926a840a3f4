package builtins

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
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
			{Name: "parameters", Type: "list[replacement]", Doc: "Rules from fabric.replacement(...) (regex, JSONPath, scoped by item type, item name and file path), applied after replace, in order."},
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
	rules, err := ev.definitionRules(c, nil)
	if err != nil {
		return nil, fmt.Errorf("fabric.definition: %w", err)
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
	pf, _ := parsePlatform(files)
	scope := defScope{itemType: pf.Metadata.Type, itemName: pf.Metadata.DisplayName, prefix: filepath.ToSlash(filepath.Clean(rel))}
	used := ev.readDefinition(def, files, rules, keep, scope, c.pos)
	for i, u := range used {
		if !u {
			ev.diags = append(ev.diags, diag(c.pos, RuleReplaceUnused,
				"fabric.definition: %s occurs in none of the files of %s; correct the key or remove it", rules[i].describe(), dir))
		}
	}
	if len(def.parts) == 0 {
		return nil, fmt.Errorf("fabric.definition: folder %s holds no parts", dir)
	}
	return handle, nil
}

// definitionRules resolves a call's replace dict (literal rules, in the dict's order) and its
// parameters list; items are fabric.items_from_dir's discovered items, for function values.
func (ev *evaluation) definitionRules(c *call, items *starlark.Dict) ([]*rule, error) {
	var rules []*rule
	if d, ok := c.value("replace").(*starlark.Dict); ok {
		for _, kv := range d.Items() {
			k, ok1 := starlark.AsString(kv[0])
			switch kv[1].(type) {
			case starlark.String, *Secret, *Ref:
			default:
				ok1 = false
			}
			if !ok1 {
				return nil, fmt.Errorf("replace must map strings to strings, secret() or an id such as ws.id, got %s: %s", kv[0].Type(), kv[1].Type())
			}
			if k == "" {
				return nil, fmt.Errorf("replace has an empty key")
			}
			r, err := ev.resolveRule(c.th, &replacement{pos: c.pos, find: k, kind: kindLiteral, value: kv[1]}, nil)
			if err != nil {
				return nil, err
			}
			rules = append(rules, r)
		}
	}
	if l := c.value("parameters"); l != nil {
		it := l.(starlark.Iterable).Iterate()
		defer it.Done()
		var x starlark.Value
		for it.Next(&x) {
			r, err := ev.resolveRule(c.th, x.(*Handle).data.(*replacement), items)
			if err != nil {
				return nil, err
			}
			rules = append(rules, r)
		}
	}
	return rules, nil
}

// defScope is what a definition's rules are scoped by: its item's type and name, and the prefix
// of its parts' paths as file_paths globs see them.
type defScope struct {
	itemType, itemName, prefix string
}

// platformFile is the part of an item folder's .platform fabplan reads.
type platformFile struct {
	Metadata struct {
		Type        string `json:"type"`
		DisplayName string `json:"displayName"`
		Description string `json:"description"`
	} `json:"metadata"`
	Config struct {
		LogicalID string `json:"logicalId"`
	} `json:"config"`
}

// parsePlatform reads the .platform among files; ok is false when there is none or it does not
// parse (the part checks report that).
func parsePlatform(files []treeFile) (pf platformFile, ok bool) {
	for _, f := range files {
		if f.rel == ".platform" {
			return pf, json.Unmarshal(f.data, &pf) == nil
		}
	}
	return pf, false
}

// readDefinition fills def from the files of its folder, applying rules in order to the parts in
// their scope, and checks each part. used[i] reports whether rules[i] matched somewhere.
func (ev *evaluation) readDefinition(def *definitionValue, files []treeFile, rules []*rule, keep []string, scope defScope, pos engine.Pos) []bool {
	used := make([]bool, len(rules))
	for _, r := range rules {
		def.sensitive = def.sensitive || r.sensitive
	}
	size := 0
	for _, f := range files {
		data, shown := f.data, filepath.Join(def.path, filepath.FromSlash(f.rel))
		tmpl := data
		rel := f.rel
		if scope.prefix != "" && scope.prefix != "." {
			rel = scope.prefix + "/" + f.rel
		}
		isJSON := jsonExts[partExt(f.rel)]
		for i, r := range rules {
			if f.rel == ".platform" && r.ref != nil || !r.inScope(scope.itemType, scope.itemName, rel) {
				continue
			}
			val, shownVal := r.val, r.shown
			if r.ref != nil {
				token := []byte(r.find)
				if r.kind != kindLiteral || len(r.filePaths) > 0 {
					token = refPlaceholder(len(def.refs))
				}
				val, shownVal = token, token
				if !slices.ContainsFunc(def.refs, func(t refToken) bool { return bytes.Equal(t.token, token) }) {
					def.refs = append(def.refs, refToken{token: token, ref: r.ref})
				}
			}
			var matched bool
			data, matched = r.apply(data, val, isJSON)
			if def.sensitive {
				tmpl, _ = r.apply(tmpl, shownVal, isJSON)
			}
			used[i] = used[i] || matched
		}
		if def.sensitive {
			def.template = append(def.template, fabric.Part{Path: f.rel, Payload: tmpl})
		}
		ev.diags = append(ev.diags, def.checkPart(shown, f, data, keep, pos)...)
		size += partRequestSize(f.rel, data)
		if f.rel == ".platform" {
			def.platform = data
			continue
		}
		def.parts = append(def.parts, fabric.Part{Path: f.rel, Payload: data})
	}
	if size > maxRequestBody {
		ev.diags = append(ev.diags, diag(pos, RuleDefinitionSize,
			"fabric.definition: %s makes a request of about %d bytes; Fabric accepts at most %d: move large files out of the folder",
			def.path, size, maxRequestBody))
	}
	sort.Slice(def.parts, func(i, j int) bool { return def.parts[i].Path < def.parts[j].Path })
	return used
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
