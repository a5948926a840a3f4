package builtins

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fabplan/fabplan/engine"
)

// writeTree writes files (path -> content) under a temp dir and returns it.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// evalIn evaluates dir/plan.star with paths relative to dir, as a user in that directory would.
func evalIn(t *testing.T, dir string) (*engine.Graph, error) {
	t.Helper()
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	return Evaluate(context.Background(), EvalOptions{File: "plan.star"})
}

func TestEvaluateBuildsGraphWithEdges(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"plan.star": `
load("lib/estate.star", "notebook")
ws = fabric.workspace(name = "sales", capacity = fabric.capacity(name = "F64"))
lake = fabric.item(workspace = ws, type = "Lakehouse", name = "lake")
notebook(ws, "etl", [lake])
`,
		"lib/estate.star": `
def notebook(ws, name, deps):
    return fabric.item(workspace = ws, type = "Notebook", name = name,
                       definition = fabric.definition(path = "../nb", replace = {"@LAKE@": "lake"}),
                       depends_on = deps)
`,
		"nb/notebook-content.py": "use @LAKE@\n",
		"nb/.platform":           `{"metadata":{"type":"Notebook"}}`,
	})
	g, err := evalIn(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	var addrs []string
	for _, r := range g.Order() {
		addrs = append(addrs, string(r.Addr()))
	}
	want := "capacity.F64 workspace.sales workspace.sales/item.Lakehouse.lake workspace.sales/item.Notebook.etl"
	if got := strings.Join(addrs, " "); got != want {
		t.Errorf("order = %s\nwant    %s", got, want)
	}
	nb, _ := g.Get("workspace.sales/item.Notebook.etl")
	if pos := nb.Pos().String(); pos != "plan.star:5:9" {
		t.Errorf("position = %s, want the plan line that called the helper (plan.star:5:9)", pos)
	}
	it := nb.(*itemResource)
	if string(it.definition.parts[0].Payload) != "use lake\n" || it.definition.platform == nil {
		t.Errorf("definition parts = %+v", it.definition)
	}
}

func TestEvaluateErrorsNamePositions(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{"syntax", map[string]string{"plan.star": "ws = fabric.workspace(name = \"a\"\n"},
			[]string{"plan.star:2:1: syntax error"}},
		{"unknown keyword", map[string]string{"plan.star": `fabric.workspace(nme = "a")`},
			[]string{"plan.star:1:17: fabric.workspace: unexpected keyword argument \"nme\" (did you mean name?)"}},
		{"unknown builtin", map[string]string{"plan.star": `fabric.workspce(name = "a")`},
			[]string{"plan.star:1:7: module has no .workspce field or method"}},
		{"undefined name", map[string]string{"plan.star": `x = nope`},
			[]string{"plan.star:1:5: undefined: nope"}},
		{"bad enum", map[string]string{"plan.star": "ws = fabric.workspace(name = \"a\")\nfabric.item(workspace = ws, type = \"Notebok\", name = \"n\")"},
			[]string{`plan.star:2:12: fabric.item: for parameter type: "Notebok" is not one of`, "(did you mean Notebook?)"}},
		{"wrong handle", map[string]string{"plan.star": `fabric.item(workspace = "ws", type = "Notebook", name = "n")`},
			[]string{"plan.star:1:12: fabric.item: for parameter workspace: got string, want workspace"}},
		{"duplicate", map[string]string{"plan.star": "fabric.workspace(name = \"a\")\nfabric.workspace(name = \"a\")"},
			[]string{"plan.star:2:17: workspace.a is declared twice; give one of them another name (see plan.star:1:17)"}},
		{"missing definition folder", map[string]string{"plan.star": "fabric.definition(path = \"nope\")"},
			[]string{"plan.star:1:18: fabric.definition: folder nope does not exist"}},
		{"report without required parts", map[string]string{
			"plan.star":         "ws = fabric.workspace(name = \"a\")\nfabric.item(workspace = ws, type = \"Report\", name = \"r\", definition = fabric.definition(path = \"r\"))",
			"r/definition.pbir": "{}"},
			[]string{"plan.star:2:12: workspace.a/item.Report.r: definition r lacks required parts: report.json or definition/"}},
		{"load escapes root", map[string]string{"plan.star": `load("../x.star", "y")`},
			[]string{"plan.star:1:1: load: ../x.star is outside the plan root"}},
		{"load cycle", map[string]string{"plan.star": `load("a.star", "x")`, "a.star": "load(\"b.star\", \"y\")\nx = 1", "b.star": "load(\"a.star\", \"x\")\ny = 1"},
			[]string{"load: cycle"}},
		{"missing plan", map[string]string{"other.star": ""},
			[]string{"plan.star: plan file does not exist; check the path"}},
		{"secret literal where a secret is expected", map[string]string{"plan.star": `principal.user(upn = 1)`},
			[]string{"plan.star:1:15: principal.user: for parameter upn: got int, want string"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := evalIn(t, writeTree(t, tc.files))
			if err == nil {
				t.Fatal("no error")
			}
			if _, ok := err.(engine.Diagnostics); !ok {
				t.Errorf("error is %T, want engine.Diagnostics", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error:\n%s\nwant it to contain:\n%s", err, w)
				}
			}
		})
	}
}

func TestCatalogCoversRegistry(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range Catalog() {
		if seen[s.Name] {
			t.Errorf("%s listed twice", s.Name)
		}
		seen[s.Name] = true
		if s.Doc == "" {
			t.Errorf("%s has no doc", s.Name)
		}
		for _, p := range s.Params {
			if p.Doc == "" || p.Type == "" {
				t.Errorf("%s.%s lacks doc or type", s.Name, p.Name)
			}
		}
	}
	for _, name := range []string{"fabric.workspace", "fabric.item", "fabric.definition", "fabric.capacity", "principal.user"} {
		if !seen[name] {
			t.Errorf("%s missing from Catalog", name)
		}
	}
}

func TestHelperCallsKeepTheirBacktrace(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"plan.star": "load(\"lib.star\", \"estate\")\nestate(\"a\")\nfabric.workspace(name = \"direct\")\n",
		"lib.star":  "def estate(name):\n    return fabric.workspace(name = name)\n",
	})
	g, err := evalIn(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	tr := g.Trace("workspace.a")
	if !strings.Contains(tr, "plan.star:2:7: in <toplevel>") || !strings.Contains(tr, "lib.star:2:28: in estate") {
		t.Errorf("trace = %q", tr)
	}
	if tr := g.Trace("workspace.direct"); tr != "" {
		t.Errorf("a direct call has a trace: %q", tr)
	}
}

func TestSandboxBoundsEvaluation(t *testing.T) {
	dir := writeTree(t, map[string]string{"plan.star": "def spin():\n    for i in range(1000000000):\n        pass\nspin()\n"})
	plan := filepath.Join(dir, "plan.star")
	_, err := Evaluate(context.Background(), EvalOptions{File: plan, MaxSteps: 10000})
	if err == nil || !strings.Contains(err.Error(), "too many steps") {
		t.Errorf("step limit: %v", err)
	}
	_, err = Evaluate(context.Background(), EvalOptions{File: plan, Timeout: 50 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "evaluation took longer than 50ms") {
		t.Errorf("wall-clock limit: %v", err)
	}
	// Plans have no way to reach the environment or the file system on their own.
	dir = writeTree(t, map[string]string{"plan.star": "x = env('HOME')\n"})
	if _, err := Evaluate(context.Background(), EvalOptions{File: filepath.Join(dir, "plan.star")}); err == nil || !strings.Contains(err.Error(), "undefined: env") {
		t.Errorf("env() must not exist: %v", err)
	}
}
