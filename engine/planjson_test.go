package engine

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/fabplan/fabplan/fabric"
)

// planSchema compiles the JSON Schema published in docs/plan-json.md.
func planSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	md, err := os.ReadFile(filepath.Join("..", "docs", "plan-json.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)## Schema.*?```json\n(.*?)```").FindSubmatch(md)
	if m == nil {
		t.Fatal("docs/plan-json.md has no ```json block under ## Schema")
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(m[1]))
	if err != nil {
		t.Fatalf("schema in docs/plan-json.md: %v", err)
	}
	const id = "https://fabplan.dev/schemas/plan/1.json"
	c := jsonschema.NewCompiler()
	if err := c.AddResource(id, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(id)
	if err != nil {
		t.Fatalf("schema in docs/plan-json.md: %v", err)
	}
	return sch
}

func validate(t *testing.T, sch *jsonschema.Schema, b []byte) error {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	return sch.Validate(v)
}

// everyAction is a plan with one change of each action, a sensitive and an unknown attribute,
// text and binary part diffs and an unmanaged item.
func everyAction() *Plan {
	pos := Pos{File: "plans/p.star", Line: 3, Col: 1}
	live := []fabric.Part{{Path: "a.py", Payload: []byte("x = 1\n")}, {Path: "img.png", Payload: []byte{0, 1}}, {Path: "old.sql", Payload: []byte("select 1\n")}}
	plan := []fabric.Part{{Path: "a.py", Payload: []byte("x = 2\n")}, {Path: "img.png", Payload: []byte{0, 2}}, {Path: "new.json", Payload: []byte(`{"a":1}`)}}
	return &Plan{
		Changes: []Change{
			{Addr: "capacity.c", Kind: "capacity", Action: Read, Pos: pos, ID: "cap", Live: Live{Exists: true, ID: "cap"},
				Attrs: []AttrChange{{Name: "name", Old: "c", New: "c"}}},
			{Addr: "workspace.w", Kind: "workspace", Action: NoOp, Pos: pos, ID: "ws", Live: Live{Exists: true, ID: "ws", Attrs: map[string]string{"name": "w"}},
				Attrs: []AttrChange{{Name: "name", Old: "w", New: "w"}}},
			{Addr: "workspace.w/item.Notebook.n", Kind: "item", Action: Create, Pos: pos, Deps: []Addr{"workspace.w"},
				Attrs: []AttrChange{{Name: "name", New: "n"}, {Name: "id", Unknown: true}, {Name: "definition", New: DefinitionDigest(plan), Parts: PlannedParts(plan)}}},
			{Addr: "workspace.w/item.Notebook.u", Kind: "item", Action: Update, Pos: pos, ID: "u", Live: Live{Exists: true, ID: "u"},
				Attrs: []AttrChange{{Name: "description", Old: "a", New: "b"}, {Name: "definition", Old: DefinitionDigest(live), New: DefinitionDigest(plan), Parts: DiffParts(live, plan)}}},
			{Addr: "workspace.w/git", Kind: "git_connection", Action: Replace, Pos: pos, ID: "g", Reason: "the provider cannot change in place", Live: Live{Exists: true, ID: "g"},
				Attrs: []AttrChange{{Name: "provider", Old: "GitHub", New: "AzureDevOps", ForcesReplace: true}, {Name: "token", Old: "s3cret-old", New: "s3cret-new", Sensitive: true}}},
			{Addr: "workspace.w/item.Notebook.gone", Kind: "item", Action: Delete, ID: "d", Reason: "pruned", Live: Live{Exists: true, ID: "d"},
				Attrs: []AttrChange{{Name: "name", Old: "gone"}}},
		},
		Unmanaged: []Unmanaged{{Addr: "workspace.w/item.Notebook.x", Workspace: "workspace.w", Kind: "item", Type: "Notebook", Name: "x", ID: "x1", Reason: "not created by fabplan"}},
	}
}

func TestDocumentMatchesSchema(t *testing.T) {
	sch := planSchema(t)
	var buf bytes.Buffer
	d := NewDocument(everyAction(), Source{File: "plans/p.star", Env: "prod", Vars: map[string]string{"k": "v"}, Targets: []Addr{"workspace.w"}}, "test")
	if err := d.Write(&buf); err != nil {
		t.Fatal(err)
	}
	if err := validate(t, sch, buf.Bytes()); err != nil {
		t.Fatalf("document does not match docs/plan-json.md: %v\n%s", err, buf.Bytes())
	}
	if strings.Contains(buf.String(), "s3cret") {
		t.Errorf("a sensitive value reached the document:\n%s", buf.String())
	}
	s := d.Summary
	if s.Add != 1 || s.Change != 1 || s.Replace != 1 || s.Destroy != 1 || s.Read != 1 || s.NoOp != 1 || s.Unmanaged != 1 || !s.HasChanges {
		t.Errorf("summary %+v", s)
	}
	// A document the schema must refuse: the schema is not a formality.
	for name, edit := range map[string]func(map[string]any){
		"unknown action":        func(m map[string]any) { change(m, 0)["action"] = "destroy" },
		"missing live_digest":   func(m map[string]any) { delete(change(m, 0), "live_digest") },
		"sensitive with values": func(m map[string]any) { attr(m, 4, 1)["old"] = "leak" },
		"unknown with a value":  func(m map[string]any) { attr(m, 2, 1)["new"] = "id" },
		"binary part with diff": func(m map[string]any) { part(m, 3, 1, 1)["diff"] = "-a\n+b\n" },
		"major version 2":       func(m map[string]any) { m["format_version"] = "2.0" },
	} {
		var m map[string]any
		if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		edit(m)
		b, _ := json.Marshal(m)
		if validate(t, sch, b) == nil {
			t.Errorf("%s: the schema accepts it", name)
		}
	}
}

func change(m map[string]any, i int) map[string]any {
	return m["resource_changes"].([]any)[i].(map[string]any)
}
func attr(m map[string]any, c, i int) map[string]any {
	return change(m, c)["attributes"].([]any)[i].(map[string]any)
}
func part(m map[string]any, c, a, i int) map[string]any {
	return attr(m, c, a)["parts"].([]any)[i].(map[string]any)
}

// TestGoldenJSONMatchesSchema validates the JSON the real binary printed in the plan scripts (their
// golden sections are compared with the output, so validating them validates the output).
func TestGoldenJSONMatchesSchema(t *testing.T) {
	sch := planSchema(t)
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "script", "plan_*.txtar"))
	n := 0
	for _, f := range files {
		ar, err := txtar.ParseFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, file := range ar.Files {
			if !strings.HasPrefix(file.Name, "want") || !strings.HasSuffix(file.Name, ".json") {
				continue
			}
			n++
			if err := validate(t, sch, file.Data); err != nil {
				t.Errorf("%s: %s: %v", filepath.Base(f), file.Name, err)
			}
		}
	}
	if n == 0 {
		t.Fatal("no want*.json section in testdata/script/plan_*.txtar")
	}
}

func TestReadDocumentRefusesOtherMajor(t *testing.T) {
	for in, want := range map[string]string{
		`{"format_version":"2.0"}`: "plan format 2.0 is not supported",
		`{}`:                       "format_version is missing",
		`not json`:                 "not a fabplan plan",
	} {
		_, err := ReadDocument(strings.NewReader(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", in, err, want)
		}
	}
	d, err := ReadDocument(strings.NewReader(`{"format_version":"1.7","source":{"file":"p.star"}}`))
	if err != nil || d.Source.File != "p.star" {
		t.Errorf("a newer minor version must be read: %v", err)
	}
}

func TestCheckCurrent(t *testing.T) {
	saved := NewDocument(everyAction(), Source{File: "p.star"}, "")
	if err := saved.CheckCurrent(NewDocument(everyAction(), Source{File: "p.star"}, "")); err != nil {
		t.Fatalf("the same plan is stale: %v", err)
	}

	drifted := everyAction()
	drifted.Changes[3].Live.Attrs = map[string]string{"description": "c"}
	drifted.Changes[3].Attrs[0].Old = "c"
	edited := everyAction()
	edited.Changes[2].Attrs[0].New = "renamed"
	gone := everyAction()
	gone.Changes = gone.Changes[:5]
	dropped := everyAction()
	dropped.Changes = append(dropped.Changes[:2], dropped.Changes[3:]...)
	newDelete := everyAction()
	newDelete.Changes = append(newDelete.Changes, Change{Addr: "workspace.w/item.Notebook.new", Kind: "item", Action: Delete, ID: "n2",
		Live: Live{Exists: true, ID: "n2"}, Attrs: []AttrChange{{Name: "name", Old: "new"}}})
	for name, tc := range map[string]struct {
		now  *Plan
		want string
	}{
		"live drift":        {drifted, `workspace.w/item.Notebook.u: live description changed since the plan was made: "a" -> "c"`},
		"plan edited":       {edited, `workspace.w/item.Notebook.n: planned name changed since the plan was saved: "n" -> "renamed"`},
		"prune delete gone": {gone, `workspace.w/item.Notebook.gone: the saved plan deletes it, but prune would not now`},
		"declaration gone":  {dropped, `workspace.w/item.Notebook.n: the saved plan holds it but the plan no longer declares it`},
		"new prune delete":  {newDelete, `workspace.w/item.Notebook.new: prune would delete it now, but the saved plan does not`},
	} {
		err := saved.CheckCurrent(NewDocument(tc.now, Source{File: "p.star"}, ""))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v\nwant it to contain %q", name, err, tc.want)
		}
	}
}

// TestSensitiveAttributeKeepsNoParts: the document leaves out everything a sensitive attribute
// holds, part diffs and hashes included, whatever the resource handed it.
func TestSensitiveAttributeKeepsNoParts(t *testing.T) {
	live := []fabric.Part{{Path: "a.py", Payload: []byte("pw = 'old-s3cret'\n")}}
	plan := []fabric.Part{{Path: "a.py", Payload: []byte("pw = 'new-s3cret'\n")}}
	p := &Plan{Changes: []Change{{Addr: "workspace.w/item.Notebook.n", Kind: "item", Action: Update, ID: "n", Live: Live{Exists: true, ID: "n"},
		Attrs: []AttrChange{{Name: "definition", Old: DefinitionDigest(live), New: DefinitionDigest(plan), Sensitive: true, Parts: DiffParts(live, plan)}}}}}
	var buf bytes.Buffer
	d := NewDocument(p, Source{File: "p.star"}, "")
	if err := d.Write(&buf); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "s3cret") || strings.Contains(buf.String(), DiffParts(live, plan)[0].New.SHA256) || d.Changes[0].Attributes[0].Parts != nil {
		t.Errorf("a sensitive attribute kept its parts:\n%s", buf.String())
	}
	if a := d.Changes[0].Attributes[0]; !a.Changed || !a.Sensitive || a.Old != nil || a.New != nil {
		t.Errorf("sensitive attribute %+v", a)
	}

	// The live digest leaves the sensitive live value out (it would let secret guesses be checked
	// against the plan file) and keeps every other attribute in.
	withSecret := func(def, desc string) string {
		c := p.Changes[0]
		c.Live.Attrs = map[string]string{"definition": def, "description": desc}
		return NewDocument(&Plan{Changes: []Change{c}}, Source{File: "p.star"}, "").Changes[0].LiveDigest
	}
	if withSecret("sha256:aaaaaaaaaaaa", "d") != withSecret("sha256:bbbbbbbbbbbb", "d") {
		t.Error("the live digest depends on a sensitive attribute's live value")
	}
	if withSecret("sha256:aaaaaaaaaaaa", "d") == withSecret("sha256:aaaaaaaaaaaa", "e") {
		t.Error("the live digest ignores a non-sensitive attribute")
	}
}

// TestDocsNameTheFormatVersion: docs/plan-json.md states the version fabplan writes, so a bump
// of FormatVersion cannot go out without its documentation.
func TestDocsNameTheFormatVersion(t *testing.T) {
	md, err := os.ReadFile(filepath.Join("..", "docs", "plan-json.md"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "now **`" + FormatVersion + "`**"; !strings.Contains(string(md), want) {
		t.Errorf("docs/plan-json.md does not say %s (FormatVersion is %s): document the change and its version rule", want, FormatVersion)
	}
}
