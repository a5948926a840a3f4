package lint

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/fabplan/fabplan/builtins"
	"github.com/fabplan/fabplan/engine"
)

// testOptions lints paths statically with builtins' real catalog; tests that evaluate set eval.
func testOptions(paths ...string) Options {
	return Options{Paths: paths, NoEval: true}
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
		eval  evaluator // non-nil: evaluate with it; use builtinEvaluator for the real one
	}{
		{CheckSyntax, "", []string{"plan.star:2"}, nil},
		{CheckResolve, "", []string{"plan.star:1", "plan.star:2"}, nil},
		{CheckLoadMissing, "", []string{"plan.star:1"}, nil},
		{CheckLoadEscape, "plans", []string{"labels.star:1", "plan.star:1"}, nil},
		{CheckLoadUnused, "", []string{"plan.star:1"}, nil},
		{CheckLoadCycle, "", []string{"b.star:3"}, nil},
		{CheckUnknownBuiltin, "", []string{"plan.star:1", "plan.star:2"}, nil},
		{CheckUnknownArg, "", []string{"plan.star:1", "plan.star:2"}, nil},
		{CheckMissingArg, "", []string{"plan.star:1", "plan.star:2"}, nil},
		{CheckOneOf, "", []string{"plan.star:1", "plan.star:2"}, nil},
		{CheckArgType, "", []string{"plan.star:1", "plan.star:2", "plan.star:3", "plan.star:6", "plan.star:7"}, nil},
		{CheckArgEnum, "", []string{"plan.star:2", "plan.star:3"}, nil},
		{CheckSecretLiteral, "", []string{"plan.star:4", "plan.star:5", "plan.star:6", "plan.star:8"}, nil},
		{CheckSecretEntropy, "", []string{"plan.star:1"}, nil},
		{CheckDotenv, "", []string{".env:2"}, nil},
		{CheckGUIDLiteral, "", []string{"plan.star:1", "plan.star:6"}, nil},
		{CheckPrune, "", []string{"plan.star:1"}, nil},
		{CheckAllowDestroy, "", []string{"plan.star:1", "plan.star:4"}, nil},
		{CheckDefinitionMissing, "", []string{"plan.star:1"}, nil},
		{CheckDefinitionParts, "", []string{"plan.star:2", "plan.star:3"}, nil},
		{CheckSuppressUnknown, "", []string{"plan.star:1"}, nil},
		{CheckEval, "", []string{"plan.star:1"}, builtinEvaluator},
		{CheckEvalDuplicate, "", []string{"plan.star:2"}, builtinEvaluator},
		// No plan can build a dependency cycle yet (handles exist before they are referenced):
		// this runs the engine's cycle diagnostic through a stand-in evaluator.
		{CheckEvalCycle, "", []string{"plan.star:1"}, fakeEvaluator(engine.Diagnostic{
			Pos: engine.Pos{Line: 1, Col: 5}, Message: "dependency cycle: workspace.a -> workspace.b -> workspace.a"})},
		{CheckEnvSchema, "", []string{"env/broken.json:2", "env/prod.json:2", "env/prod.json:3", "env/test.json:1", "env/test.json:1"}, nil},
		{builtins.RuleSymlink, "", []string{"definition.star:2", "plan.star:1"}, builtinEvaluator},
		{builtins.RuleText, "", []string{"plan.star:1"}, builtinEvaluator},
		{builtins.RuleNameInvalid, "", []string{"plan.star:1", "plan.star:2", "plan.star:3", "plan.star:4"}, builtinEvaluator},
		{builtins.RuleNameCase, "", []string{"plan.star:2", "plan.star:4"}, builtinEvaluator},
		{builtins.RuleFolderDepth, "", []string{"plan.star:7"}, builtinEvaluator},
		{builtins.RuleItemNotCreatable, "", []string{"plan.star:2"}, builtinEvaluator},
		{builtins.RuleDefinitionRequired, "", []string{"plan.star:2"}, builtinEvaluator},
		{builtins.RuleDefinitionUnsupport, "", []string{"plan.star:2"}, builtinEvaluator},
		{builtins.RuleDefinitionFormat, "", []string{"plan.star:2", "plan.star:3"}, builtinEvaluator},
		{builtins.RuleDefinitionPBIR, "", []string{"r/definition.pbir:3"}, builtinEvaluator},
		{builtins.RuleDefinitionExclusive, "", []string{"plan.star:2"}, builtinEvaluator},
		{builtins.RuleDefinitionPlatform, "", []string{"nb/.platform:3", "plan.star:3"}, builtinEvaluator},
		{builtins.RuleDefinitionJSON, "", []string{"p/pipeline-content.json:2", "plan.star:3"}, builtinEvaluator},
		{builtins.RuleDefinitionNotebook, "", []string{"nb/notebook-content.ipynb:1"}, builtinEvaluator},
		{builtins.RuleDefinitionSize, "", []string{"plan.star:2"}, builtinEvaluator},
		{builtins.RuleReplaceUnused, "", []string{"plan.star:2"}, builtinEvaluator},
		{builtins.RuleReplaceLeftover, "", []string{"nb/notebook-content.py:3"}, builtinEvaluator},
		{"unused-variable", "", []string{"plan.star:2"}, nil},
		{"uninitialized", "", []string{"plan.star:4"}, nil},
		{"unreachable", "", []string{"plan.star:3"}, nil},
		{"no-effect", "", []string{"plan.star:2"}, nil},
		{"return-value", "", []string{"plan.star:1"}, nil},
		{"print", "", []string{"plan.star:1"}, nil},
		{"name-conventions", "", []string{"plan.star:1"}, nil},
		{"dict-concatenation", "", []string{"plan.star:1"}, nil},
		{"string-iteration", "", []string{"plan.star:2"}, nil},
		{"list-append", "", []string{"plan.star:3"}, nil},
		{"integer-division", "", []string{"plan.star:1"}, nil},
		{"confusing-name", "", []string{"plan.star:1"}, nil},
		{"module-docstring", "", []string{"lib.star:1"}, nil},
		{"function-docstring", "", []string{"lib.star:3"}, nil},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		covered[tt.check] = true
		t.Run(tt.check, func(t *testing.T) {
			dir := filepath.Join("testdata", "fire", tt.check, tt.path)
			if tt.check == builtins.RuleDefinitionSize {
				dir = bigDefinition(t, dir)
			}
			opts := testOptions(dir)
			if tt.eval != nil {
				opts.NoEval, opts.eval = false, tt.eval
			}
			r, err := Run(opts)
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
		if !covered[c.ID] {
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
	if len(r.Files) != 4 {
		t.Errorf("linted %v, want config/plan.star, plan.star, secrets.star and the loaded lib/naming.star", r.Files)
	}
}

// fakeEvaluator returns d, placed in the evaluated plan file.
func fakeEvaluator(d engine.Diagnostic) evaluator {
	return func(file, root, env string) error {
		d.Pos.File = file
		return engine.Diagnostics{d}
	}
}

// TestCleanPlanEvaluates is the "does not fire" case of the evaluation checks: the clean plan
// evaluates offline with builtins.Evaluate, and a plan with static errors is not evaluated.
func TestCleanPlanEvaluates(t *testing.T) {
	opts := testOptions(filepath.Join("testdata", "clean"))
	opts.NoEval = false
	r, err := Run(opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Findings) > 0 {
		t.Errorf("clean plan has findings:\n%s", textOf(r))
	}
	calls := 0
	opts = testOptions(filepath.Join("testdata", "fire", "resolve"))
	opts.NoEval, opts.eval = false, func(string, string, string) error { calls++; return nil }
	if _, err := Run(opts); err != nil {
		t.Fatal(err)
	}
	if calls != 0 {
		t.Errorf("a plan with a resolve error was evaluated")
	}
}

// evaluatedEnvs lints dir with a stand-in evaluator and returns the environments it was
// asked to evaluate, sorted.
func evaluatedEnvs(t *testing.T, dir string) []string {
	var envs []string
	var mu sync.Mutex
	opts := testOptions(dir)
	opts.NoEval, opts.eval = false, func(_, _, env string) error {
		mu.Lock()
		envs = append(envs, env)
		mu.Unlock()
		return nil
	}
	if _, err := Run(opts); err != nil {
		t.Fatal(err)
	}
	slices.Sort(envs)
	return envs
}

// TestEvalPerEnvironment checks that each env/*.json beside a plan gets its own evaluation.
func TestEvalPerEnvironment(t *testing.T) {
	if got, want := evaluatedEnvs(t, filepath.Join("testdata", "clean", "config")), []string{"dev", "prod"}; !slices.Equal(got, want) {
		t.Errorf("evaluated with envs %v, want %v", got, want)
	}
}

// TestEvalSkipsBadEnvironments: an env file env-schema rejected is not evaluated again (the
// config() call would fail on it with the same complaint); the good ones are.
func TestEvalSkipsBadEnvironments(t *testing.T) {
	if got, want := evaluatedEnvs(t, filepath.Join("testdata", "fire", "env-schema")), []string{"dev"}; !slices.Equal(got, want) {
		t.Errorf("evaluated with envs %v, want %v", got, want)
	}
}

func textOf(r Report) string {
	var b strings.Builder
	if err := r.Write(&b, TextOutput); err != nil {
		return err.Error()
	}
	return b.String()
}

// bigDefinition copies the definition-size fixture and adds a part too large for one request
// (kept out of the repository).
func bigDefinition(t *testing.T, dir string) string {
	tmp := t.TempDir()
	if err := os.CopyFS(tmp, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("# padding to make the notebook too large for one request\n"), 160_000)
	if err := os.WriteFile(filepath.Join(tmp, "big", "data.py"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	return tmp
}
