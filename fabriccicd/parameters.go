// Package fabriccicd translates fabric-cicd's parameter.yml into fabplan Starlark: each
// find_replace and key_value_replace entry becomes a fabric.replacement(...) rule, and what has no
// equivalent is reported, with its line, instead of being dropped.
package fabriccicd

import (
	"bytes"
	"fmt"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/fabplan/fabplan/builtins"
	"github.com/fabplan/fabplan/lint"
)

// Note is a part of the parameter file the translation could not carry over.
type Note struct {
	Line    int
	Section string
	Message string
}

func (n Note) String() string { return fmt.Sprintf("%d: %s: %s", n.Line, n.Section, n.Message) }

// Result is a translated parameter file.
type Result struct {
	Starlark []byte // a module defining parameters(workspace, environment), formatted
	Notes    []Note // what was not translated, in file order
	Rules    int    // how many rules Starlark holds
}

// SyntaxError is a parameter file that is not YAML, or not parameter.yml's shape.
type SyntaxError struct {
	File string
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// allEnvironments is fabric-cicd's replace_value key for a value every environment gets.
const allEnvironments = "_ALL_"

// Translate turns parameter.yml (read from file, for messages) into a Starlark module.
func Translate(file string, src []byte) (*Result, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, &SyntaxError{file, yamlErrorLine(err.Error()), "not valid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	t := &translator{file: file}
	if len(doc.Content) == 0 {
		return nil, &SyntaxError{file, 1, "the file is empty; parameter.yml holds find_replace, key_value_replace, ... sections"}
	}
	top := doc.Content[0]
	if top.Kind != yaml.MappingNode {
		return nil, &SyntaxError{file, top.Line, "want a mapping of sections (find_replace:, key_value_replace:, ...)"}
	}
	for i := 0; i+1 < len(top.Content); i += 2 {
		key, val := top.Content[i], top.Content[i+1]
		var err error
		switch key.Value {
		case "find_replace":
			err = t.section(key.Value, val, t.findReplace)
		case "key_value_replace":
			err = t.section(key.Value, val, t.keyValueReplace)
		case "spark_pool":
			t.note(key.Line, key.Value, "not translated: fabplan sends an Environment's Sparkcompute.yml as written; "+
				"edit instance_pool_id in the Environment's folder, or add a fabric.replacement for it per environment")
		case "semantic_model_binding":
			t.note(key.Line, key.Value, "not translated: fabplan does not bind semantic models to connections; "+
				"bind them once in Fabric (the binding is kept across definition updates)")
		default:
			t.note(key.Line, key.Value, "not translated: fabplan has no equivalent of this section")
		}
		if err != nil {
			return nil, err
		}
	}
	out, err := lint.Format("parameters.star", t.render())
	if err != nil {
		return nil, fmt.Errorf("formatting the translation: %v", err)
	}
	return &Result{Starlark: out, Notes: t.notes, Rules: len(t.rules)}, nil
}

func yamlErrorLine(msg string) int {
	if _, rest, ok := strings.Cut(msg, "line "); ok {
		n, _ := strconv.Atoi(strings.TrimRight(strings.SplitN(rest, ":", 2)[0], " "))
		if n > 0 {
			return n
		}
	}
	return 1
}

// rule is one fabric.replacement to write.
type rule struct {
	line                            int
	section, find, kind             string
	values                          map[string]string // environment -> Starlark expression
	itemTypes, itemNames, filePaths []string
	comments                        []string
}

type translator struct {
	file  string
	rules []rule
	notes []Note
}

func (t *translator) note(line int, section, msg string) {
	t.notes = append(t.notes, Note{Line: line, Section: section, Message: msg})
}

func (t *translator) errorf(n *yaml.Node, format string, args ...any) error {
	return &SyntaxError{t.file, n.Line, fmt.Sprintf(format, args...)}
}

// section reads a list section, or the older mapping form (find value -> environments).
func (t *translator) section(name string, n *yaml.Node, entry func(name string, e *yaml.Node) error) error {
	switch n.Kind {
	case yaml.SequenceNode:
		for _, e := range n.Content {
			if e.Kind != yaml.MappingNode {
				return t.errorf(e, "%s: each entry is a mapping (find_value:, replace_value:, ...)", name)
			}
			if err := entry(name, e); err != nil {
				return err
			}
		}
		return nil
	case yaml.MappingNode:
		if name != "find_replace" {
			break
		}
		// fabric-cicd's first format: find_replace: {<find>: {<env>: <value>}}.
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			e := &yaml.Node{Kind: yaml.MappingNode, Line: k.Line, Content: []*yaml.Node{
				{Kind: yaml.ScalarNode, Value: "find_value"}, k,
				{Kind: yaml.ScalarNode, Value: "replace_value"}, v,
			}}
			if err := entry(name, e); err != nil {
				return err
			}
		}
		return nil
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return nil
		}
	}
	return t.errorf(n, "%s: want a list of entries", name)
}

func field(e *yaml.Node, name string) *yaml.Node {
	for i := 0; i+1 < len(e.Content); i += 2 {
		if e.Content[i].Value == name {
			return e.Content[i+1]
		}
	}
	return nil
}

func (t *translator) findReplace(section string, e *yaml.Node) error {
	find := field(e, "find_value")
	if find == nil || find.Kind != yaml.ScalarNode || find.Value == "" {
		return t.errorf(e, "%s: an entry needs find_value (a string)", section)
	}
	r := rule{line: e.Line, section: section, find: find.Value, kind: "literal"}
	if re := field(e, "is_regex"); re != nil && strings.EqualFold(re.Value, "true") {
		r.kind = "regex"
	}
	return t.finish(section, e, r)
}

func (t *translator) keyValueReplace(section string, e *yaml.Node) error {
	find := field(e, "find_key")
	if find == nil || find.Kind != yaml.ScalarNode || find.Value == "" {
		return t.errorf(e, "%s: an entry needs find_key (a JSONPath)", section)
	}
	r := rule{line: e.Line, section: section, find: find.Value, kind: "jsonpath"}
	r.comments = append(r.comments, "JSON parts only: fabric-cicd also applied key_value_replace to YAML files")
	return t.finish(section, e, r)
}

// finish reads the replace values and filters shared by both sections.
func (t *translator) finish(section string, e *yaml.Node, r rule) error {
	rv := field(e, "replace_value")
	if rv == nil || rv.Kind != yaml.MappingNode {
		return t.errorf(e, "%s: %q needs replace_value: a mapping of environment -> value", section, r.find)
	}
	r.values = map[string]string{}
	for i := 0; i+1 < len(rv.Content); i += 2 {
		env, v := rv.Content[i], rv.Content[i+1]
		if v.Kind != yaml.ScalarNode {
			return t.errorf(v, "%s: %q: the value for %s is not a string", section, r.find, env.Value)
		}
		if v.Tag == "!!null" {
			continue // fabric-cicd skips an environment without a value
		}
		expr, comment := valueExpr(v.Value)
		r.values[env.Value] = expr
		if comment != "" {
			r.comments = append(r.comments, env.Value+": "+comment)
		}
	}
	var err error
	if r.itemTypes, err = t.stringsOf(section, field(e, "item_type")); err != nil {
		return err
	}
	for _, typ := range r.itemTypes {
		if !slices.Contains(builtins.ItemTypes, typ) {
			return t.errorf(field(e, "item_type"), "%s: %q is not a Fabric item type", section, typ)
		}
	}
	if r.itemNames, err = t.stringsOf(section, field(e, "item_name")); err != nil {
		return err
	}
	paths, err := t.stringsOf(section, field(e, "file_path"))
	if err != nil {
		return err
	}
	for _, p := range paths {
		p = strings.ReplaceAll(p, `\`, "/")
		if path.IsAbs(p) || (len(p) > 1 && p[1] == ':') {
			t.note(field(e, "file_path").Line, section, fmt.Sprintf(
				"file_path %q is absolute; fabplan matches paths relative to the items_from_dir folder: write it relative, the rule has it left out", p))
			continue
		}
		r.filePaths = append(r.filePaths, strings.TrimPrefix(p, "./"))
	}
	t.rules = append(t.rules, r)
	return nil
}

func (t *translator) stringsOf(section string, n *yaml.Node) ([]string, error) {
	if n == nil || n.Tag == "!!null" {
		return nil, nil
	}
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Value == "" {
			return nil, nil
		}
		return []string{n.Value}, nil
	case yaml.SequenceNode:
		var out []string
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				return nil, t.errorf(c, "%s: filters are strings or lists of strings", section)
			}
			out = append(out, c.Value)
		}
		return out, nil
	}
	return nil, t.errorf(n, "%s: filters are strings or lists of strings", section)
}

// valueExpr turns a replace value into a Starlark expression: fabric-cicd's $workspace.id,
// $items.TYPE.NAME.ATTRIBUTE and $ENV:NAME become the workspace's id, the discovered item's
// attribute and a config() value.
func valueExpr(v string) (expr, comment string) {
	switch {
	case v == "$workspace.id":
		return "workspace.id", ""
	case strings.HasPrefix(v, "$ENV:"):
		name := strings.TrimPrefix(v, "$ENV:")
		return fmt.Sprintf("getattr(config(), %s)", strconv.Quote(name)),
			fmt.Sprintf("was the environment variable %s: give it in env/<env>.json, --var %s=... or FABPLAN_VAR_%s", name, name, name)
	case strings.HasPrefix(v, "$items."):
		rest := strings.TrimPrefix(v, "$items.")
		typ, rest, ok1 := strings.Cut(rest, ".")
		i := strings.LastIndex(rest, ".")
		if !ok1 || i < 0 {
			return strconv.Quote(v), "not a $items.TYPE.NAME.ATTRIBUTE reference; kept as text"
		}
		name, attr := rest[:i], rest[i+1:]
		switch attr {
		case "id":
		case "sqlendpoint":
			attr = "sql_endpoint_connection_string"
			if typ == "Warehouse" {
				attr = "connection_string"
			}
		default:
			return strconv.Quote(v), fmt.Sprintf("fabric-cicd has no attribute %q; kept as text", attr)
		}
		return fmt.Sprintf("lambda items: items[%s].%s", strconv.Quote(name+"."+typ), attr), ""
	}
	return strconv.Quote(v), ""
}

// render writes the module.
func (t *translator) render() []byte {
	var b bytes.Buffer
	b.WriteString(`"""Replacement rules translated from fabric-cicd's parameter.yml by fabplan migrate.

Pass them to fabric.items_from_dir for the environment being deployed:

    load("parameters.star", "parameters")

    ws = fabric.workspace(name = "...")
    items = fabric.items_from_dir(workspace = ws, path = "...", parameters = parameters(ws, config().environment))

An environment a rule has no value for gets no rule, as fabric-cicd skipped the replacement.
"""

def parameters(workspace, environment):
    """The fabric.replacement rules for one environment of parameter.yml."""
    rules = []
`)
	for _, r := range t.rules {
		fmt.Fprintf(&b, "\n    # %s, line %d", r.section, r.line)
		for _, c := range r.comments {
			fmt.Fprintf(&b, "\n    # %s", c)
		}
		envs := make([]string, 0, len(r.values))
		for env := range r.values {
			if env != allEnvironments {
				envs = append(envs, env)
			}
		}
		sort.Strings(envs)
		all, hasAll := r.values[allEnvironments]
		// One branch per environment, so that a value (a config() key) is read only for its own.
		b.WriteString("\n    value = None\n")
		for i, env := range envs {
			kw := "elif"
			if i == 0 {
				kw = "if"
			}
			fmt.Fprintf(&b, "    %s environment == %s:\n        value = %s\n", kw, strconv.Quote(env), r.values[env])
		}
		switch {
		case hasAll && len(envs) > 0:
			fmt.Fprintf(&b, "    else:\n        value = %s\n", all)
		case hasAll:
			fmt.Fprintf(&b, "    value = %s\n", all)
		}
		b.WriteString("    if value != None:\n        rules.append(fabric.replacement(")
		fmt.Fprintf(&b, "find = %s, value = value", strconv.Quote(r.find))
		if r.kind != "literal" {
			fmt.Fprintf(&b, ", kind = %q", r.kind)
		}
		for _, f := range []struct {
			name string
			vals []string
		}{{"item_types", r.itemTypes}, {"item_names", r.itemNames}, {"file_paths", r.filePaths}} {
			if len(f.vals) == 0 {
				continue
			}
			q := make([]string, len(f.vals))
			for i, v := range f.vals {
				q[i] = strconv.Quote(v)
			}
			fmt.Fprintf(&b, ", %s = [%s]", f.name, strings.Join(q, ", "))
		}
		b.WriteString("))\n")
	}
	if len(t.notes) > 0 {
		b.WriteString("\n    # Not translated (see docs/migrating.md):\n")
		for _, n := range t.notes {
			fmt.Fprintf(&b, "    # - %s line %d: %s\n", n.Section, n.Line, n.Message)
		}
	}
	b.WriteString("    return rules\n")
	return b.Bytes()
}
