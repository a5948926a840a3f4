package builtins

import (
	"regexp"
	"testing"

	"github.com/theory/jsonpath"
)

// A JSONPath rule changes the selected values only: the rest of the part keeps its bytes
// (spacing, key order, escapes), and a value selected twice (.. and a filter) is replaced once.
func TestRuleApplyJSONPathKeepsTheRest(t *testing.T) {
	in := "{\n  \"b\": 1,\n  \"a\": {\"conn\": \"dev\", \"x\": \"q\\\"s\"},\n  \"list\": [ {\"conn\": \"dev2\"} ]\n}\n"
	r := &rule{replacement: &replacement{kind: kindJSONPath, jp: jsonpath.MustParse("$..conn")}}
	out, ok := r.apply([]byte(in), []byte(`p"rod`), true)
	want := "{\n  \"b\": 1,\n  \"a\": {\"conn\": \"p\\\"rod\", \"x\": \"q\\\"s\"},\n  \"list\": [ {\"conn\": \"p\\\"rod\"} ]\n}\n"
	if !ok || string(out) != want {
		t.Fatalf("got %v %q, want %q", ok, out, want)
	}
	if _, ok := r.apply([]byte(in), []byte("x"), false); ok {
		t.Fatal("a JSONPath rule applied to a part that is not JSON")
	}
	r.jp = jsonpath.MustParse("$.missing")
	if _, ok := r.apply([]byte(in), []byte("x"), true); ok {
		t.Fatal("a JSONPath rule that selects nothing reported a match")
	}
}

// A regex rule replaces its first capture group, or the whole match without one.
func TestRuleApplyRegexGroup(t *testing.T) {
	r := &rule{replacement: &replacement{kind: kindRegex, re: regexp.MustCompile(`server = "([^"]+)"`)}}
	out, ok := r.apply([]byte(`server = "dev"; other = "dev"`), []byte("prod"), false)
	if !ok || string(out) != `server = "prod"; other = "dev"` {
		t.Fatalf("got %v %q", ok, out)
	}
	r.re = regexp.MustCompile(`d.v`)
	if out, _ := r.apply([]byte("dev dav"), []byte("x"), false); string(out) != "x x" {
		t.Fatalf("got %q", out)
	}
}

// Scopes: every filter given must match; file_paths are globs with **.
func TestReplacementScope(t *testing.T) {
	r := &replacement{itemTypes: []string{"Notebook"}, itemNames: []string{"a"}, filePaths: []string{"**/notebook-content.py"}}
	if !r.inScope("Notebook", "a", "ETL/a.Notebook/notebook-content.py") {
		t.Fatal("in scope refused")
	}
	for _, c := range [][3]string{{"Report", "a", "a.Notebook/notebook-content.py"}, {"Notebook", "b", "b.Notebook/notebook-content.py"},
		{"Notebook", "a", "a.Notebook/.platform"}} {
		if r.inScope(c[0], c[1], c[2]) {
			t.Fatalf("%v in scope", c)
		}
	}
}
