package lint

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeBenchPlans generates n plan files under dir: one library in five, each plan loading two
// libraries and declaring a workspace with a lakehouse, a notebook, a semantic model and a report
// with definition folders, as a mid-sized estate would.
func writeBenchPlans(tb testing.TB, dir string, n int) {
	tb.Helper()
	write := func(name, src string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	write("items/Sales.SemanticModel/definition.pbism", "{}\n")
	write("items/Sales.SemanticModel/model.bim", "{}\n")
	write("items/Sales.Report/definition.pbir", "{}\n")
	write("items/Sales.Report/report.json", "{}\n")
	libs := n / 5
	for i := range libs {
		write(fmt.Sprintf("lib/lib%03d.star", i), fmt.Sprintf(`"""Naming helpers, set %[1]d."""

PREFIX_%[1]d = "team%[1]d"

def name_%[1]d(base, env = "dev"):
    """Returns the display name of base in env.

    Args:
      base: the short name.
      env: the environment.

    Returns:
      The display name.
    """
    parts = [PREFIX_%[1]d, base, env]
    return "-".join([p for p in parts if p])
`, i))
	}
	for i := range n - libs {
		a, b := i%libs, (i+1)%libs
		var s strings.Builder
		fmt.Fprintf(&s, `"""Plan %[1]d."""

load("lib/lib%03[2]d.star", "name_%[2]d")
load("lib/lib%03[3]d.star", "name_%[3]d")

ws = fabric.workspace(
    name = name_%[2]d("ws%[1]d"),
    description = "Workspace %[1]d",
    capacity = fabric.capacity(name = "demo-capacity"),
)

lake = fabric.item(workspace = ws, type = "Lakehouse", name = name_%[3]d("lake"))
`, i, a, b)
		for j := range 3 {
			fmt.Fprintf(&s, `
nb%[1]d = fabric.item(workspace = ws, type = "Notebook", name = "nb%[1]d", depends_on = [lake])
`, j)
		}
		s.WriteString(`
model = fabric.item(
    workspace = ws,
    type = "SemanticModel",
    name = "Sales",
    definition = fabric.definition(path = "items/Sales.SemanticModel"),
)

fabric.item(
    workspace = ws,
    type = "Report",
    name = "Sales",
    definition = fabric.definition(path = "items/Sales.Report"),
    depends_on = [model],
)
`)
		write(fmt.Sprintf("plan%03d.star", i), s.String())
	}
}

// BenchmarkLint200 lints 200 generated files (160 plans, 40 libraries), with offline evaluation
// of every plan: what `fabplan lint .` does in CI. Goal: under 1 s on 2 cores
// (go test ./lint -run '^$' -bench Lint200 -cpu 2).
func BenchmarkLint200(b *testing.B) {
	dir := b.TempDir()
	writeBenchPlans(b, dir, 200)
	opts := testOptions(dir)
	opts.NoEval = false
	r, err := Run(opts)
	if err != nil {
		b.Fatal(err)
	}
	if len(r.Files) != 200 || len(r.Findings) != 0 {
		b.Fatalf("linted %d files with %d findings, want 200 clean files:\n%s", len(r.Files), len(r.Findings), textOf(r))
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := Run(opts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFormat200 formats the same 200 files, as `fabplan fmt --check .` does.
func BenchmarkFormat200(b *testing.B) {
	dir := b.TempDir()
	writeBenchPlans(b, dir, 200)
	for b.Loop() {
		if _, err := FormatPaths(FormatOptions{Paths: []string{dir}, Check: true}, new(strings.Builder)); err != nil {
			b.Fatal(err)
		}
	}
}
