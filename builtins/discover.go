package builtins

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
	"go.starlark.net/starlark"

	"github.com/fabplan/fabplan/engine"
)

// fabric.items_from_dir: every item folder (Fabric's Git format, <Name>.<Type>/.platform) under a
// directory, declared through fabric.item, fabric.definition and fabric.folder themselves (their
// Specs check the synthesized calls, so an option those builtins gain works here too).

type itemsFromDirBuiltin struct{}

func (itemsFromDirBuiltin) Spec() Spec {
	return Spec{
		Name: "fabric.items_from_dir",
		Doc: "Declares every item folder under a directory (Fabric's Git format, as fabric-cicd deploys it: a folder " +
			"with a .platform file naming the item's type and display name) as fabric.item with its definition. " +
			"Returns a dict of the item handles by \"Name.Type\". An item that refers to another's logicalId gets " +
			"that item's id once it exists, and depends on it.",
		Params: []Param{
			{Name: "workspace", Type: "workspace", Required: true, Doc: "The workspace, from fabric.workspace(...)."},
			{Name: "path", Type: "string", Required: true, Doc: "Directory, relative to the calling file (fabric-cicd's repository_directory); it may not leave the plan root."},
			{Name: "folders", Type: "bool", Doc: "True: mirror the subdirectories holding items as fabric.folder(...)s; default: every item at the workspace root."},
			{Name: "include", Type: "list", Doc: "Globs of item folder paths relative to path (\"Reports/*\", \"**/*.Notebook\"); default: every item."},
			{Name: "exclude", Type: "list", Doc: "Globs of item folder paths to leave out."},
			{Name: "types", Type: "list", Doc: "Item types in scope (fabric-cicd's item_type_in_scope); default: every type."},
			{Name: "parameters", Type: "list[replacement]", Doc: "Rules from fabric.replacement(...) applied to every item's parts in their scope; a rule that matches nothing in any item is an error."},
			{Name: "overrides", Type: "dict", Doc: "\"Name.Type\" -> dict of options for that item: any fabric.item parameter other than workspace, type, name and definition (depends_on, description, folder, ...) and the fabric.definition parameters format, replace, parameters and keep_tokens."},
		},
	}
}

// discovered is one item folder found under the directory.
type discovered struct {
	dir, rel string // the folder, and its path relative to the directory (with /)
	files    []treeFile
	pf       platformFile
	key      string // Name.Type
	handle   *Handle
	res      *itemResource
}

func (b itemsFromDirBuiltin) Interpret(ev *evaluation, c *call) (starlark.Value, error) {
	const fn = "fabric.items_from_dir"
	ws := c.handle("workspace")
	rel := c.str("path")
	dir, err := ev.resolvePath(filepath.Dir(c.site.File), rel)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", fn, err)
	}
	out := starlark.NewDict(0)
	var lists [3][]string
	for i, name := range []string{"include", "exclude", "types"} {
		if lists[i], err = stringList(c.value(name)); err != nil {
			return nil, fmt.Errorf("%s: %s: %v", fn, name, err)
		}
	}
	include, exclude, types := lists[0], lists[1], lists[2]
	for _, g := range append(slices.Clone(include), exclude...) {
		if !doublestar.ValidatePattern(g) {
			return nil, fmt.Errorf("%s: %q is not a valid glob", fn, g)
		}
	}
	for _, t := range types {
		if !slices.Contains(ItemTypes, t) {
			return nil, fmt.Errorf("%s: types: %q is not a Fabric item type%s", fn, t, suggest(t, ItemTypes))
		}
	}
	if err := ev.checkReal(dir); err != nil {
		ev.diags = append(ev.diags, diag(c.pos, RuleSymlink, "%s: %v", fn, err))
		return out, nil
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		ev.diags = append(ev.diags, engine.Diagnostic{Pos: c.pos,
			Message: fmt.Sprintf("%s: directory %s does not exist; the path is relative to %s", fn, dir, filepath.Dir(c.site.File))})
		return out, nil
	}
	found, err := ev.findItemFolders(dir)
	if err != nil {
		var ee *escapeError
		if errors.As(err, &ee) {
			ev.diags = append(ev.diags, diag(c.pos, RuleSymlink, "%s: %v", fn, err))
			return out, nil
		}
		return nil, fmt.Errorf("%s: %v", fn, err)
	}
	var items []*discovered
	for _, d := range found {
		if !globMatch(include, d.rel, true) || globMatch(exclude, d.rel, false) {
			continue
		}
		if d.files, err = ev.readTree(d.dir); err != nil {
			var ee *escapeError
			if errors.As(err, &ee) {
				ev.diags = append(ev.diags, diag(c.pos, RuleSymlink, "%s: %v", fn, err))
				continue
			}
			return nil, fmt.Errorf("%s: %v", fn, err)
		}
		pf, ok := parsePlatform(d.files)
		platform := filepath.Join(d.dir, ".platform")
		if !ok || pf.Metadata.Type == "" || pf.Metadata.DisplayName == "" {
			ev.diags = append(ev.diags, diag(engine.Pos{File: platform, Line: 1, Col: 1}, RuleDefinitionPlatform,
				"%s is not a Fabric .platform file (want JSON with metadata.type and metadata.displayName); export the item again (found by %s at %s)",
				platform, fn, c.pos))
			continue
		}
		if len(types) > 0 && !slices.Contains(types, pf.Metadata.Type) {
			continue
		}
		d.pf, d.key = pf, pf.Metadata.DisplayName+"."+pf.Metadata.Type
		items = append(items, d)
	}
	overrides, err := b.overrides(c, items)
	if err != nil {
		return nil, err
	}
	// Items first, so that a replacement value may be a function of them.
	folders := map[string]*Handle{}
	for _, d := range items {
		kw := []starlark.Tuple{
			{starlark.String("workspace"), ws},
			{starlark.String("type"), starlark.String(d.pf.Metadata.Type)},
			{starlark.String("name"), starlark.String(d.pf.Metadata.DisplayName)},
		}
		if desc := d.pf.Metadata.Description; desc != "" && !overrides[d.key].has("description") {
			kw = append(kw, starlark.Tuple{starlark.String("description"), starlark.String(desc)})
		}
		if parent := path.Dir(d.rel); c.boolean("folders") && parent != "." && !overrides[d.key].has("folder") {
			f, err := ev.mirrorFolder(c, ws, parent, folders)
			if err != nil {
				return nil, err
			}
			kw = append(kw, starlark.Tuple{starlark.String("folder"), f})
		}
		if o := overrides[d.key]; o != nil {
			kw = append(kw, o.item...)
		}
		v, err := ev.interpretAs(itemBuiltin{}, c, kw)
		if err != nil {
			return nil, fmt.Errorf("%s: item %s: %w", fn, d.key, err)
		}
		d.handle = v.(*Handle)
		d.res = d.handle.data.(*itemResource)
		if err := out.SetKey(starlark.String(d.key), d.handle); err != nil {
			return nil, err
		}
	}
	out.Freeze()
	rules, err := ev.definitionRules(c, out)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn, err)
	}
	used := make([]bool, len(rules))
	for _, d := range items {
		u, err := ev.discoveredDefinition(c, d, items, rules, overrides[d.key], out)
		if err != nil {
			return nil, fmt.Errorf("%s: item %s: %w", fn, d.key, err)
		}
		for i := range used {
			used[i] = used[i] || u[i]
		}
	}
	for i, u := range used {
		if !u {
			ev.diags = append(ev.diags, diag(c.pos, RuleReplaceUnused,
				"%s: %s matches nothing in the items found under %s; correct it, widen its scope, or remove it", fn, rules[i].describe(), dir))
		}
	}
	return out, nil
}

// itemOverrides are one item's options, split by the builtin that takes them.
type itemOverrides struct {
	item, definition []starlark.Tuple
}

func (o *itemOverrides) has(name string) bool {
	if o == nil {
		return false
	}
	for _, kv := range append(slices.Clone(o.item), o.definition...) {
		if string(kv[0].(starlark.String)) == name {
			return true
		}
	}
	return false
}

// overrides reads the overrides dict: each key a discovered item, each option one fabric.item or
// fabric.definition takes.
func (itemsFromDirBuiltin) overrides(c *call, items []*discovered) (map[string]*itemOverrides, error) {
	const fn = "fabric.items_from_dir"
	out := map[string]*itemOverrides{}
	d, ok := c.value("overrides").(*starlark.Dict)
	if !ok {
		return out, nil
	}
	var keys []string
	for _, it := range items {
		keys = append(keys, it.key)
	}
	itemSpec, defSpec := specOf(itemBuiltin{}), specOf(definitionBuiltin{})
	fixed := []string{"workspace", "type", "name", "definition", "path"}
	var allowed []string
	for _, p := range append(slices.Clone(itemSpec.Params), defSpec.Params...) {
		if !slices.Contains(fixed, p.Name) {
			allowed = append(allowed, p.Name)
		}
	}
	for _, kv := range d.Items() {
		key, ok := starlark.AsString(kv[0])
		if !ok {
			return nil, fmt.Errorf("%s: overrides: keys are \"Name.Type\" strings, got %s", fn, kv[0].Type())
		}
		if !slices.Contains(keys, key) {
			return nil, fmt.Errorf("%s: overrides: no item %q was found (items are named \"DisplayName.Type\")%s", fn, key, suggest(key, keys))
		}
		opts, ok := kv[1].(*starlark.Dict)
		if !ok {
			return nil, fmt.Errorf("%s: overrides[%q]: want a dict of options, got %s", fn, key, kv[1].Type())
		}
		o := &itemOverrides{}
		for _, okv := range opts.Items() {
			name, _ := starlark.AsString(okv[0])
			if !slices.Contains(allowed, name) {
				return nil, fmt.Errorf("%s: overrides[%q]: %q is not an option here; use one of %s%s", fn, key, name,
					strings.Join(allowed, ", "), suggest(name, allowed))
			}
			kv := starlark.Tuple{starlark.String(name), okv[1]}
			if _, isItem := itemSpec.Param(name); isItem {
				o.item = append(o.item, kv)
			} else {
				o.definition = append(o.definition, kv)
			}
		}
		out[key] = o
	}
	return out, nil
}

// interpretAs runs another builtin for a call of this one, its arguments checked by that builtin's
// Spec, at the same position.
func (ev *evaluation) interpretAs(b builtin, c *call, kwargs []starlark.Tuple) (starlark.Value, error) {
	a, err := specOf(b).bind(nil, kwargs)
	if err != nil {
		return nil, err
	}
	return ev.interpret(b, &call{args: a, pos: c.pos, site: c.site, th: c.th})
}

// mirrorFolder returns the folder for a directory path (with /), declaring it and its parents.
func (ev *evaluation) mirrorFolder(c *call, ws *Handle, dir string, made map[string]*Handle) (*Handle, error) {
	if h, ok := made[dir]; ok {
		return h, nil
	}
	kw := []starlark.Tuple{{starlark.String("workspace"), ws}, {starlark.String("name"), starlark.String(path.Base(dir))}}
	if parent := path.Dir(dir); parent != "." {
		p, err := ev.mirrorFolder(c, ws, parent, made)
		if err != nil {
			return nil, err
		}
		kw = append(kw, starlark.Tuple{starlark.String("parent"), p})
	}
	v, err := ev.interpretAs(folderBuiltin{}, c, kw)
	if err != nil {
		return nil, fmt.Errorf("fabric.items_from_dir: folder %s: %w", dir, err)
	}
	made[dir] = v.(*Handle)
	return made[dir], nil
}

// discoveredDefinition gives a discovered item its definition: the folder's parts with the rules
// applied, then the item's own replace and parameters, then the ids of the other items whose
// logicalIds the parts mention. It returns which of rules matched.
func (ev *evaluation) discoveredDefinition(c *call, d *discovered, items []*discovered, rules []*rule, o *itemOverrides,
	all *starlark.Dict) ([]bool, error) {
	typ := d.pf.Metadata.Type
	hasParts := slices.ContainsFunc(d.files, func(f treeFile) bool { return f.rel != ".platform" })
	if noDefinition[typ] || !hasParts {
		return make([]bool, len(rules)), nil
	}
	var kw []starlark.Tuple
	if o != nil {
		kw = o.definition
	}
	a, err := specOf(definitionBuiltin{}).bind(nil, append([]starlark.Tuple{{starlark.String("path"), starlark.String(d.rel)}}, kw...))
	if err != nil {
		return nil, err
	}
	own, err := ev.definitionRules(&call{args: a, pos: c.pos, site: c.site, th: c.th}, all)
	if err != nil {
		return nil, err
	}
	keep, err := stringList(a.value("keep_tokens"))
	if err != nil {
		return nil, fmt.Errorf("keep_tokens: %v", err)
	}
	format := a.str("format")
	if format == "" && typ == "Notebook" && slices.ContainsFunc(d.files, func(f treeFile) bool { return strings.HasSuffix(f.rel, ".ipynb") }) {
		format = "ipynb"
	}
	all2 := append(slices.Clone(rules), own...)
	for _, other := range items {
		id := other.pf.Config.LogicalID
		if other == d || id == "" || strings.Trim(id, "0-") == "" {
			continue
		}
		if !slices.ContainsFunc(d.files, func(f treeFile) bool { return f.rel != ".platform" && bytes.Contains(f.data, []byte(id)) }) {
			continue
		}
		all2 = append(all2, &rule{replacement: &replacement{pos: c.pos, find: id, kind: kindLiteral}, ref: &Ref{addr: other.res.addr, field: "id"}})
	}
	def := &definitionValue{path: d.dir, format: format}
	used := ev.readDefinition(def, d.files, all2, keep, defScope{itemType: typ, itemName: d.pf.Metadata.DisplayName, prefix: d.rel}, c.pos)
	for i := range own {
		if !used[len(rules)+i] {
			ev.diags = append(ev.diags, diag(c.pos, RuleReplaceUnused,
				"fabric.items_from_dir: overrides[%q]: %s occurs in none of the files of %s; correct the key or remove it", d.key, own[i].describe(), d.dir))
		}
	}
	d.res.definition = def
	return used[:len(rules)], nil
}

// globMatch reports whether rel matches one of the globs; empty is what an empty list means.
func globMatch(globs []string, rel string, empty bool) bool {
	if len(globs) == 0 {
		return empty
	}
	for _, g := range globs {
		if ok, _ := doublestar.Match(g, rel); ok {
			return true
		}
	}
	return false
}

// findItemFolders lists the folders under dir that hold a .platform file, sorted by path; it does
// not look inside an item folder, nor in hidden folders (.git), and follows symbolic links only
// inside the plan root.
func (ev *evaluation) findItemFolders(dir string) ([]*discovered, error) {
	var out []*discovered
	var walk func(p, rel string, depth int) error
	walk = func(p, rel string, depth int) error {
		if depth > maxTreeDepth {
			return fmt.Errorf("%s: folders nested more than %d deep (a link loop?)", p, maxTreeDepth)
		}
		if st, err := os.Stat(filepath.Join(p, ".platform")); err == nil && st.Mode().IsRegular() && rel != "" {
			out = append(out, &discovered{dir: p, rel: rel})
			return nil
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".") {
				continue
			}
			ep := filepath.Join(p, e.Name())
			if e.Type()&fs.ModeSymlink != 0 {
				if err := ev.checkReal(ep); err != nil {
					return err
				}
			}
			if st, err := os.Stat(ep); err != nil || !st.IsDir() {
				continue
			}
			er := e.Name()
			if rel != "" {
				er = rel + "/" + e.Name()
			}
			if err := walk(ep, er, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(dir, "", 0); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].rel < out[j].rel })
	return out, nil
}
