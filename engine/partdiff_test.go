package engine

import (
	"strings"
	"testing"

	"github.com/fabplan/fabplan/fabric"
)

func TestNormalizePart(t *testing.T) {
	for _, tc := range []struct {
		name, path, a, b string
		same             bool
	}{
		{"json key order and whitespace", "pipeline.json", `{"b":1,"a":[1, 2]}`, "{\n  \"a\": [1,2],\n  \"b\": 1\n}", true},
		{"json value change", "x.json", `{"a":1}`, `{"a":2}`, false},
		{"large json numbers keep their digits", "x.json", `{"a":12345678901234567890}`, `{"a":12345678901234567891}`, false},
		{"crlf line endings", "notebook-content.py", "a\r\nb\r\n", "a\nb\n", true},
		{"text change", "notebook-content.py", "a\n", "b\n", false},
		{"server-managed pipeline fields", "pipeline-content.json",
			`{"properties":{"activities":[],"lastModifiedByObjectId":"x","lastPublishTime":"2024-01-01"}}`,
			`{"properties":{"activities":[]}}`, true},
		{"same member name elsewhere is kept", "pipeline-content.json",
			`{"lastPublishTime":"a"}`, `{"lastPublishTime":"b"}`, false},
		{"platform logicalId", ".platform",
			`{"config":{"logicalId":"1","version":"2.0"}}`, `{"config":{"logicalId":"2","version":"2.0"}}`, true},
		{"invalid json is compared as text", "x.json", `{"a":`, `{"a": `, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := NormalizePart(tc.path, []byte(tc.a)), NormalizePart(tc.path, []byte(tc.b))
			if (string(a) == string(b)) != tc.same {
				t.Errorf("normalized %q and %q: same = %v, want %v", a, b, !tc.same, tc.same)
			}
		})
	}
}

func TestDiffParts(t *testing.T) {
	png := []byte{0x89, 'P', 'N', 'G', 0, 1, 2}
	live := []fabric.Part{
		{Path: "notebook-content.py", Payload: []byte("# Fabric notebook source\ndf = spark.read.csv(\"a\")\n")},
		{Path: "gone.sql", Payload: []byte("select 1\n")},
		{Path: "same.json", Payload: []byte(`{"b":2,"a":1}`)},
		{Path: "logo.png", Payload: png},
		{Path: ".platform", Payload: []byte(`{"config":{"logicalId":"x"}}`)},
	}
	plan := []fabric.Part{
		{Path: "notebook-content.py", Payload: []byte("# Fabric notebook source\ndf = spark.read.parquet(\"a\")\n")},
		{Path: "same.json", Payload: []byte("{\"a\": 1, \"b\": 2}")},
		{Path: "new.json", Payload: []byte(`{"k":"v"}`)},
		{Path: "logo.png", Payload: append(png, 3)},
	}
	got := DiffParts(live, plan)
	var summary []string
	for _, d := range got {
		summary = append(summary, d.Path+" "+d.Action.String())
	}
	want := "gone.sql delete, logo.png update, new.json create, notebook-content.py update, same.json no-op"
	if s := strings.Join(summary, ", "); s != want {
		t.Fatalf("parts: %s\nwant:  %s", s, want)
	}
	byPath := map[string]PartDiff{}
	for _, d := range got {
		byPath[d.Path] = d
	}
	nb := byPath["notebook-content.py"]
	wantDiff := `--- live/notebook-content.py
+++ plan/notebook-content.py
@@ -1,2 +1,2 @@
 # Fabric notebook source
-df = spark.read.csv("a")
+df = spark.read.parquet("a")
`
	if nb.Diff != wantDiff {
		t.Errorf("notebook diff:\n%s\nwant:\n%s", nb.Diff, wantDiff)
	}
	img := byPath["logo.png"]
	if !img.Binary || img.Diff != "" || img.Old.Size != 7 || img.New.Size != 8 || img.Old.SHA256 == img.New.SHA256 {
		t.Errorf("binary part: %+v old %+v new %+v", img, img.Old, img.New)
	}
	if g := byPath["gone.sql"]; g.New != nil || g.Old == nil || !strings.Contains(g.Diff, "-select 1") {
		t.Errorf("deleted part: %+v", g)
	}
	if s := byPath["same.json"]; s.Diff != "" || s.Old.SHA256 != s.New.SHA256 {
		t.Errorf("unchanged part: %+v", s)
	}
}

func TestDefinitionDigest(t *testing.T) {
	a := []fabric.Part{{Path: "b.json", Payload: []byte(`{"x":1,"y":2}`)}, {Path: "a.py", Payload: []byte("print(1)\r\n")}}
	b := []fabric.Part{{Path: "a.py", Payload: []byte("print(1)\n")}, {Path: "b.json", Payload: []byte("{\"y\": 2, \"x\": 1}")},
		{Path: ".platform", Payload: []byte(`{"config":{"logicalId":"z"}}`)}}
	if DefinitionDigest(a) != DefinitionDigest(b) {
		t.Errorf("equivalent definitions digest differently: %s vs %s", DefinitionDigest(a), DefinitionDigest(b))
	}
	c := []fabric.Part{{Path: "a.py", Payload: []byte("print(2)\n")}, {Path: "b.json", Payload: []byte(`{"x":1,"y":2}`)}}
	if DefinitionDigest(a) == DefinitionDigest(c) {
		t.Errorf("different definitions share digest %s", DefinitionDigest(a))
	}
	if got := PlannedParts(b); len(got) != 2 || got[0].Path != "a.py" || got[0].Action != Create || got[0].Diff != "" {
		t.Errorf("planned parts: %+v", got)
	}
}
