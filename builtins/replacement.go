package builtins

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
	"github.com/theory/jsonpath"
	"go.starlark.net/starlark"

	"github.com/fabplan/fabplan/engine"
)

// fabric.replacement: one parameterisation rule, at parameter.yml's level. fabric.definition's
// replace dict is the same mechanism with literal, unscoped rules; every rule is applied by
// applyRule, whether it came from replace, parameters= or fabric.items_from_dir.

type replacementBuiltin struct{}

// Replacement kinds.
const (
	kindLiteral  = "literal"
	kindRegex    = "regex"
	kindJSONPath = "jsonpath"
)

func (replacementBuiltin) Spec() Spec {
	return Spec{
		Name: "fabric.replacement",
		Doc: "A replacement rule for definition parts (fabric-cicd's parameter.yml find_replace and key_value_replace): " +
			"pass a list of them as parameters= to fabric.definition or fabric.items_from_dir. A rule that matches " +
			"nothing in the files in its scope is an error.",
		Params: []Param{
			{Name: "find", Type: "string", Required: true, Doc: "What to find: the literal text, a regular expression (RE2; the text of its first capture group is replaced, or the whole match when it has none), or a JSONPath query (RFC 9535; every value it selects in a JSON part is replaced by the value as a JSON string)."},
			{Name: "value", Type: "any", Required: true, Doc: "The replacement: a string (e.g. from config()), secret(\"name\") (resolved at evaluation, redacted from all output), an id known after apply (ws.id, lake.id: the item then depends on that resource), or, in fabric.items_from_dir, a function given the discovered items by \"Name.Type\" (lambda items: items[\"Sales.Lakehouse\"].id)."},
			{Name: "kind", Type: "string", Enum: []string{kindLiteral, kindRegex, kindJSONPath}, Doc: "How find is read (default literal)."},
			{Name: "item_types", Type: "list", Doc: "Only parts of items of these types."},
			{Name: "item_names", Type: "list", Doc: "Only parts of items with these display names."},
			{Name: "file_paths", Type: "list", Doc: "Only parts whose path matches one of these globs (* within a name, ** across folders), relative to the fabric.items_from_dir folder, or to the file calling fabric.definition."},
		},
	}
}

// replacement is what fabric.replacement returns.
type replacement struct {
	pos                             engine.Pos
	find, kind                      string
	re                              *regexp.Regexp
	jp                              *jsonpath.Path
	value                           starlark.Value
	itemTypes, itemNames, filePaths []string
}

func (replacementBuiltin) Interpret(ev *evaluation, c *call) (starlark.Value, error) {
	r := &replacement{pos: c.pos, find: c.str("find"), kind: c.str("kind"), value: c.value("value")}
	if r.kind == "" {
		r.kind = kindLiteral
	}
	if r.find == "" {
		return nil, fmt.Errorf("fabric.replacement: find must not be empty")
	}
	var err error
	switch r.kind {
	case kindRegex:
		if r.re, err = regexp.Compile(r.find); err != nil {
			return nil, fmt.Errorf("fabric.replacement: find is not a valid regular expression: %v", err)
		}
	case kindJSONPath:
		if r.jp, err = jsonpath.Parse(r.find); err != nil {
			return nil, fmt.Errorf("fabric.replacement: find is not a valid JSONPath query: %v", err)
		}
	}
	switch r.value.(type) {
	case starlark.String, *Secret, *Ref, starlark.Callable:
	default:
		return nil, fmt.Errorf("fabric.replacement: value must be a string, secret(), an id such as ws.id, or a function of the items; got %s",
			r.value.Type())
	}
	for name, dst := range map[string]*[]string{"item_types": &r.itemTypes, "item_names": &r.itemNames, "file_paths": &r.filePaths} {
		if *dst, err = stringList(c.value(name)); err != nil {
			return nil, fmt.Errorf("fabric.replacement: %s: %v", name, err)
		}
	}
	for _, t := range r.itemTypes {
		if !slices.Contains(ItemTypes, t) {
			return nil, fmt.Errorf("fabric.replacement: item_types: %q is not a Fabric item type%s", t, suggest(t, ItemTypes))
		}
	}
	for _, p := range r.filePaths {
		if !doublestar.ValidatePattern(p) {
			return nil, fmt.Errorf("fabric.replacement: file_paths: %q is not a valid glob", p)
		}
	}
	return newHandle("replacement", "", starlark.StringDict{"find": starlark.String(r.find), "kind": starlark.String(r.kind)}, r), nil
}

// describe names the rule in messages.
func (r *replacement) describe() string {
	if r.kind == kindLiteral {
		return fmt.Sprintf("replace key %q", r.find)
	}
	return fmt.Sprintf("%s replacement %q (at %s)", r.kind, r.find, r.pos)
}

// inScope reports whether a part (rel: its path as file_paths sees it) of an item is in the rule's scope.
func (r *replacement) inScope(itemType, itemName, rel string) bool {
	if len(r.itemTypes) > 0 && !slices.Contains(r.itemTypes, itemType) {
		return false
	}
	if len(r.itemNames) > 0 && !slices.Contains(r.itemNames, itemName) {
		return false
	}
	if len(r.filePaths) == 0 {
		return true
	}
	for _, p := range r.filePaths {
		if ok, _ := doublestar.Match(p, rel); ok {
			return true
		}
	}
	return false
}

// rule is a replacement with its value resolved for one evaluation: the bytes to put in, the bytes
// plans may show (a secret's <secret:NAME>), or an id known after apply.
type rule struct {
	*replacement
	val, shown []byte
	ref        *Ref // the value is this id: literal rules keep find as the token, others put in a placeholder
	sensitive  bool
}

// resolveRule turns a replacement's value into bytes. items are the discovered items, for a
// value that is a function of them (nil outside fabric.items_from_dir).
func (ev *evaluation) resolveRule(th *starlark.Thread, r *replacement, items *starlark.Dict) (*rule, error) {
	v := r.value
	if fn, ok := v.(starlark.Callable); ok {
		if items == nil {
			return nil, fmt.Errorf("%s: a function value is only for fabric.items_from_dir, where it is given the discovered items", r.describe())
		}
		out, err := starlark.Call(th, fn, starlark.Tuple{items}, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: value: %v", r.describe(), err)
		}
		v = out
	}
	switch x := v.(type) {
	case starlark.String:
		return &rule{replacement: r, val: []byte(x), shown: []byte(x)}, nil
	case *Secret:
		s, err := ev.reveal(x)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.describe(), err)
		}
		return &rule{replacement: r, val: []byte(s), shown: []byte(x.String()), sensitive: true}, nil
	case *Ref:
		return &rule{replacement: r, ref: x}, nil
	}
	return nil, fmt.Errorf("%s: value must be a string, secret() or an id such as ws.id; got %s", r.describe(), v.Type())
}

// refPlaceholder is put in a part where a regex or JSONPath rule puts an id known after apply;
// render swaps it for the id, as it does a literal rule's token.
func refPlaceholder(n int) []byte { return []byte("{{fabplan.ref." + strconv.Itoa(n) + "}}") }

// apply replaces what the rule finds in data with val; matched reports whether it found anything.
// JSONPath rules apply to JSON parts only (isJSON) and leave a part that does not parse alone
// (the part's own check reports it).
func (r *rule) apply(data, val []byte, isJSON bool) (out []byte, matched bool) {
	switch r.kind {
	case kindRegex:
		locs := r.re.FindAllSubmatchIndex(data, -1)
		if len(locs) == 0 {
			return data, false
		}
		var spans [][2]int
		for _, l := range locs {
			if len(l) >= 4 && l[2] >= 0 {
				spans = append(spans, [2]int{l[2], l[3]})
			} else {
				spans = append(spans, [2]int{l[0], l[1]})
			}
		}
		return splice(data, spans, val), true
	case kindJSONPath:
		if !isJSON {
			return data, false
		}
		var doc any
		if json.Unmarshal(data, &doc) != nil {
			return data, false
		}
		nodes := r.jp.SelectLocated(doc)
		if len(nodes) == 0 {
			return data, false
		}
		enc, _ := json.Marshal(string(val))
		var spans [][2]int
		for np := range nodes.Paths() {
			if s, e, ok := jsonSpan(data, np.Pointer()); ok {
				spans = append(spans, [2]int{s, e})
			}
		}
		return splice(data, spans, enc), len(spans) > 0
	}
	if len(r.find) == 0 || !bytes.Contains(data, []byte(r.find)) {
		return data, false
	}
	return bytes.ReplaceAll(data, []byte(r.find), val), true
}

// splice replaces each span of data with val; spans inside an earlier one are dropped.
func splice(data []byte, spans [][2]int, val []byte) []byte {
	sort.Slice(spans, func(i, j int) bool { return spans[i][0] < spans[j][0] })
	var out []byte
	at := 0
	for _, s := range spans {
		if s[0] < at {
			continue
		}
		out = append(append(out, data[at:s[0]]...), val...)
		at = s[1]
	}
	return append(out, data[at:]...)
}

// jsonSpan finds the byte span of the value a JSON Pointer (RFC 6901) names in a JSON text, so
// that a JSONPath replacement changes that value only and keeps the rest of the file as written.
func jsonSpan(data []byte, pointer string) (start, end int, ok bool) {
	var tokens []string
	if pointer != "" {
		for _, t := range strings.Split(pointer[1:], "/") {
			tokens = append(tokens, strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~"))
		}
	}
	s := &jsonScanner{data: data}
	s.space()
	for _, tok := range tokens {
		if !s.enter(tok) {
			return 0, 0, false
		}
	}
	start = s.i
	if !s.skipValue() {
		return 0, 0, false
	}
	return start, s.i, true
}

// jsonScanner walks a JSON text that is known to parse.
type jsonScanner struct {
	data []byte
	i    int
}

func (s *jsonScanner) space() {
	for s.i < len(s.data) && strings.IndexByte(" \t\r\n", s.data[s.i]) >= 0 {
		s.i++
	}
}

// enter moves to the value of member tok (in an object) or element tok (in an array).
func (s *jsonScanner) enter(tok string) bool {
	if s.i >= len(s.data) {
		return false
	}
	switch s.data[s.i] {
	case '{':
		s.i++
		for {
			s.space()
			if s.i >= len(s.data) || s.data[s.i] == '}' {
				return false
			}
			ks := s.i
			if !s.skipValue() {
				return false
			}
			var key string
			if json.Unmarshal(s.data[ks:s.i], &key) != nil {
				return false
			}
			s.space()
			s.i++ // ':'
			s.space()
			if key == tok {
				return true
			}
			if !s.skipValue() {
				return false
			}
			s.space()
			if s.i < len(s.data) && s.data[s.i] == ',' {
				s.i++
			}
		}
	case '[':
		n, err := strconv.Atoi(tok)
		if err != nil {
			return false
		}
		s.i++
		for k := 0; ; k++ {
			s.space()
			if s.i >= len(s.data) || s.data[s.i] == ']' {
				return false
			}
			if k == n {
				return true
			}
			if !s.skipValue() {
				return false
			}
			s.space()
			if s.i < len(s.data) && s.data[s.i] == ',' {
				s.i++
			}
		}
	}
	return false
}

// skipValue moves past one value.
func (s *jsonScanner) skipValue() bool {
	if s.i >= len(s.data) {
		return false
	}
	switch c := s.data[s.i]; c {
	case '"':
		for s.i++; s.i < len(s.data); s.i++ {
			switch s.data[s.i] {
			case '\\':
				s.i++
			case '"':
				s.i++
				return true
			}
		}
		return false
	case '{', '[':
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		s.i++
		for {
			s.space()
			if s.i >= len(s.data) {
				return false
			}
			if s.data[s.i] == closer {
				s.i++
				return true
			}
			if !s.skipValue() {
				return false
			}
			s.space()
			if s.i < len(s.data) && (s.data[s.i] == ',' || s.data[s.i] == ':') {
				s.i++
			}
		}
	default:
		for s.i < len(s.data) && strings.IndexByte(",}] \t\r\n", s.data[s.i]) < 0 {
			s.i++
		}
		return true
	}
}
