package lint

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// testSpecs mirror the shape of builtins.Catalog() for the signature checks.
var testSpecs = []spec{
	{Name: "fabric.capacity", Params: []param{{Name: "name", Type: "string"}, {Name: "id", Type: "string"}}, OneOf: [][]string{{"name", "id"}}},
	{Name: "fabric.definition", Params: []param{{Name: "path", Type: "string", Required: true}, {Name: "format", Type: "string"}, {Name: "replace", Type: "dict"}}},
	{Name: "fabric.item", Params: []param{
		{Name: "workspace", Type: "workspace", Required: true},
		{Name: "type", Type: "string", Required: true, Enum: []string{"Lakehouse", "Notebook", "Report", "SemanticModel", "Warehouse"}},
		{Name: "name", Type: "string", Required: true},
		{Name: "description", Type: "string"},
		{Name: "folder", Type: "folder"},
		{Name: "definition", Type: "definition"},
		{Name: "depends_on", Type: "list[item]"},
		{Name: "allow_destroy", Type: "bool"},
	}},
	{Name: "fabric.workspace", Params: []param{
		{Name: "name", Type: "string", Required: true},
		{Name: "description", Type: "string"},
		{Name: "capacity", Type: "capacity"},
		{Name: "identity", Type: "bool"},
		{Name: "prune", Type: "bool"},
	}},
	{Name: "secret", Params: []param{{Name: "name", Type: "string", Required: true}}},
}

func testOptions(paths ...string) Options {
	return Options{Paths: paths, NoEval: true, sigs: newSignatures(slices.Clone(testSpecs), []string{"struct"})}
}

// where renders a finding's position relative to dir, for comparison.
func where(t *testing.T, dir string, f Finding) string {
	rel, err := filepath.Rel(dir, f.File)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%s:%d", filepath.ToSlash(rel), f.Line)
}

// TestChecksFire runs each check on a fixture made to trigger it, and compares where it fired.
func TestChecksFire(t *testing.T) {
	tests := []struct {
		check string
		path  string // under testdata/fire/<check>/; "" = the directory itself
		want  []string
	}{
		{CheckSyntax, "", []string{"plan.star:2"}},
		{CheckResolve, "", []string{"plan.star:1"}},
		{CheckLoadMissing, "", []string{"plan.star:1"}},
		{CheckLoadEscape, "plans", []string{"plan.star:1"}},
		{CheckLoadUnused, "", []string{"plan.star:1"}},
		{CheckLoadCycle, "", []string{"b.star:3"}},
		{CheckUnknownBuiltin, "", []string{"plan.star:1", "plan.star:2"}},
		{CheckUnknownArg, "", []string{"plan.star:1", "plan.star:2"}},
		{CheckMissingArg, "", []string{"plan.star:1", "plan.star:2"}},
		{CheckOneOf, "", []string{"plan.star:1", "plan.star:2"}},
		{CheckArgType, "", []string{"plan.star:1", "plan.star:2", "plan.star:3"}},
		{CheckArgEnum, "", []string{"plan.star:2"}},
		{CheckSecretLiteral, "", []string{"plan.star:4", "plan.star:5", "plan.star:6"}},
		{CheckSecretEntropy, "", []string{"plan.star:1"}},
		{CheckGUIDLiteral, "", []string{"plan.star:1", "plan.star:6"}},
		{CheckPrune, "", []string{"plan.star:1"}},
		{CheckAllowDestroy, "", []string{"plan.star:2"}},
		{CheckDefinitionMissing, "", []string{"plan.star:1"}},
		{CheckDefinitionParts, "", []string{"plan.star:2", "plan.star:3"}},
		{CheckSuppressUnknown, "", []string{"plan.star:1"}},
		{"unused-variable", "", []string{"plan.star:2"}},
		{"uninitialized", "", []string{"plan.star:4"}},
		{"unreachable", "", []string{"plan.star:3"}},
		{"no-effect", "", []string{"plan.star:2"}},
		{"redefined-variable", "", []string{"plan.star:2"}},
		{"return-value", "", []string{"plan.star:1"}},
		{"print", "", []string{"plan.star:1"}},
		{"name-conventions", "", []string{"plan.star:1"}},
		{"dict-concatenation", "", []string{"plan.star:1"}},
		{"string-iteration", "", []string{"plan.star:2"}},
		{"list-append", "", []string{"plan.star:3"}},
		{"integer-division", "", []string{"plan.star:1"}},
		{"confusing-name", "", []string{"plan.star:1"}},
		{"module-docstring", "", []string{"lib.star:1"}},
		{"function-docstring", "", []string{"lib.star:3"}},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		covered[tt.check] = true
		t.Run(tt.check, func(t *testing.T) {
			dir := filepath.Join("testdata", "fire", tt.check, tt.path)
			r, err := Run(testOptions(dir))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range r.Findings {
				if f.Check == tt.check {
					got = append(got, where(t, dir, f))
					if f.Message == "" || f.Severity == 0 {
						t.Errorf("finding without message or severity: %+v", f)
					}
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("%s fired at %v, want %v; all findings:\n%s", tt.check, got, tt.want, textOf(r))
			}
		})
	}
	for _, c := range Checks() {
		if !covered[c.ID] && c.Group != "eval" {
			t.Errorf("check %s has no firing test", c.ID)
		}
	}
}

// TestCleanPlan is the "does not fire" case of every static check: a realistic plan with
// loads, definitions and values that resemble secrets without being any.
func TestCleanPlan(t *testing.T) {
	r, err := Run(testOptions(filepath.Join("testdata", "clean")))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Findings) > 0 {
		t.Errorf("clean plan has findings:\n%s", textOf(r))
	}
	if len(r.Files) != 3 {
		t.Errorf("linted %v, want plan.star, secrets.star and the loaded lib/naming.star", r.Files)
	}
}

func textOf(r Report) string {
	var b strings.Builder
	if err := r.Write(&b, TextOutput); err != nil {
		return err.Error()
	}
	return b.String()
}
