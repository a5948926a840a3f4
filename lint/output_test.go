package lint

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

func sampleReport() Report {
	return Report{
		Files: []string{"plans/prod.star"},
		Findings: []Finding{
			{File: "plans/prod.star", Line: 3, Col: 5, Severity: Error, Check: CheckArgEnum, Message: `fabric.item: for parameter type: "Lakehose" is not one of the allowed values (did you mean Lakehouse?)`},
			{File: "plans/prod.star", Line: 7, Col: 1, Severity: Warning, Check: CheckPrune, Message: "prune=True deletes things,\nreally: 100%"},
			{File: "plans/lib/a b.star", Line: 1, Col: 1, Severity: Info, Check: "module-docstring", Message: "no docstring"},
		},
	}
}

func TestWriteText(t *testing.T) {
	var b bytes.Buffer
	if err := sampleReport().Write(&b, TextOutput); err != nil {
		t.Fatal(err)
	}
	want := `plans/prod.star:3:5: error: fabric.item: for parameter type: "Lakehose" is not one of the allowed values (did you mean Lakehouse?) [arg-enum]
plans/prod.star:7:1: warning: prune=True deletes things, [prune]
    really: 100%
plans/lib/a b.star:1:1: info: no docstring [module-docstring]
`
	if b.String() != want {
		t.Errorf("text output:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	if err := (Report{}).Write(&b, TextOutput); err != nil || b.Len() != 0 {
		t.Errorf("clean report wrote %q, %v", b.String(), err)
	}
}

func TestWriteJSON(t *testing.T) {
	var b bytes.Buffer
	if err := sampleReport().Write(&b, JSONOutput); err != nil {
		t.Fatal(err)
	}
	var doc jsonReport
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.FormatVersion != 1 || doc.Files != 1 || len(doc.Findings) != 3 {
		t.Errorf("json report: %+v", doc)
	}
	if doc.Summary["error"] != 1 || doc.Summary["warning"] != 1 || doc.Summary["info"] != 1 {
		t.Errorf("summary = %v", doc.Summary)
	}
	if f := doc.Findings[0]; f.Severity != Error || f.Check != CheckArgEnum || f.Line != 3 || f.Col != 5 {
		t.Errorf("first finding = %+v", f)
	}
	b.Reset()
	if err := (Report{}).Write(&b, JSONOutput); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"findings": []`) || !strings.Contains(sampleJSON(t), `"severity": "error"`) {
		t.Errorf("clean report must have an empty findings array, got %s", b.String())
	}
}

func sampleJSON(t *testing.T) string {
	var b bytes.Buffer
	if err := sampleReport().Write(&b, JSONOutput); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestWriteGitHub(t *testing.T) {
	var b bytes.Buffer
	if err := sampleReport().Write(&b, GitHubOutput); err != nil {
		t.Fatal(err)
	}
	want := `::error file=plans/prod.star,line=3,col=5,title=fabplan lint (arg-enum)::fabric.item: for parameter type: "Lakehose" is not one of the allowed values (did you mean Lakehouse?) [arg-enum]
::warning file=plans/prod.star,line=7,col=1,title=fabplan lint (prune)::prune=True deletes things,%0Areally: 100%25 [prune]
::notice file=plans/lib/a b.star,line=1,col=1,title=fabplan lint (module-docstring)::no docstring [module-docstring]
`
	if b.String() != want {
		t.Errorf("github output:\n%s\nwant:\n%s", b.String(), want)
	}
}

// TestSARIFSchema validates SARIF output against testdata/sarif-2.1.0-subset.schema.json. The
// official schema (sarif-schema-2.1.0.json) cannot be downloaded here, so the test uses a
// subset written from the specification: every object fabplan emits, with the official
// property names, required members, enums and minimums, closed against unknown properties.
// It does not cover the parts of SARIF fabplan never writes.
func TestSARIFSchema(t *testing.T) {
	schema := compileSARIFSchema(t)
	real, err := Run(testOptions(filepath.Join("testdata", "fire", "definition-parts"), filepath.Join("testdata", "fire", "syntax")))
	if err != nil {
		t.Fatal(err)
	}
	if len(real.Findings) == 0 {
		t.Fatal("expected findings from the fixtures")
	}
	for name, r := range map[string]Report{"sample": sampleReport(), "run": real, "clean": {}, "absolute": {Findings: []Finding{{File: "/abs/plan.star", Line: 1, Col: 1, Severity: Error, Check: CheckSyntax, Message: "x"}}}} {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := r.Write(&b, SARIFOutput); err != nil {
				t.Fatal(err)
			}
			inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			if err := schema.Validate(inst); err != nil {
				t.Errorf("SARIF does not validate: %v\n%s", err, b.String())
			}
			// What the schema cannot say: each result's ruleIndex names its own rule.
			var log sarifLog
			if err := json.Unmarshal(b.Bytes(), &log); err != nil {
				t.Fatal(err)
			}
			run := log.Runs[0]
			for _, res := range run.Results {
				if rule := run.Tool.Driver.Rules[res.RuleIndex]; rule.ID != res.RuleID {
					t.Errorf("result %s has ruleIndex %d, which is rule %s", res.RuleID, res.RuleIndex, rule.ID)
				}
			}
		})
	}
}

// TestSARIFSchemaRejects makes sure the schema subset is not vacuous.
func TestSARIFSchemaRejects(t *testing.T) {
	schema := compileSARIFSchema(t)
	for _, doc := range []string{
		`{"version":"2.1.0","runs":[]}`,
		`{"version":"2.0.0","runs":[{"tool":{"driver":{"name":"x"}}}]}`,
		`{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x"}},"results":[{"message":{"text":"m"},"level":"fatal"}]}]}`,
		`{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x"}},"results":[{"message":{"text":"m"},"ruleID":"x"}]}]}`,
		`{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x"}},"results":[{"message":{"text":"m"},"locations":[{"physicalLocation":{"artifactLocation":{"uri":"a"},"region":{"startLine":0}}}]}]}]}`,
	} {
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(doc))
		if err != nil {
			t.Fatal(err)
		}
		if schema.Validate(inst) == nil {
			t.Errorf("schema accepted %s", doc)
		}
	}
}

func compileSARIFSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "sarif-2.1.0-subset.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	const id = "https://fabplan.test/sarif-2.1.0-subset.schema.json"
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(id, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(id)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
