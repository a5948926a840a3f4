package lint

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const messy = `# Sales workspace.
load('lib/naming.star','display_name')
ws=fabric.workspace(name=display_name('sales'),description='Sales analytics, owned by the data team',prune=False) # keep
def f(x):
  return x
`

const tidy = `# Sales workspace.
load("lib/naming.star", "display_name")

ws = fabric.workspace(name = display_name("sales"), description = "Sales analytics, owned by the data team", prune = False)  # keep

def f(x):
    return x
`

func TestFormat(t *testing.T) {
	got, err := Format("plan.star", []byte(messy))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != tidy {
		t.Errorf("Format:\n%s\nwant:\n%s", got, tidy)
	}
	again, err := Format("plan.star", got)
	if err != nil || !bytes.Equal(again, got) {
		t.Errorf("Format is not idempotent:\n%s", again)
	}
}

func TestFormatRejects(t *testing.T) {
	for name, src := range map[string]string{
		"syntax": "ws = fabric.workspace(name = \"a\"\n",
		"while":  "def f():\n    while True:\n        pass\n",
	} {
		_, err := Format("bad.star", []byte(src))
		if err == nil || !strings.HasPrefix(err.Error(), "bad.star:") {
			t.Errorf("%s: Format error = %v, want one naming bad.star:line", name, err)
		}
	}
}

func TestFormatPaths(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bad := write("bad.star", messy)
	good := write("good.star", tidy)

	var out bytes.Buffer
	res, err := FormatPaths(FormatOptions{Paths: []string{dir}, Check: true}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Unformatted, []string{bad}) || out.String() != bad+"\n" || res.ExitCode() != ExitFindings {
		t.Errorf("--check: unformatted %v, output %q, exit %d", res.Unformatted, out.String(), res.ExitCode())
	}

	out.Reset()
	res, err = FormatPaths(FormatOptions{Paths: []string{dir}, Diff: true}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if d := out.String(); !strings.Contains(d, "--- "+bad) || !strings.Contains(d, "+load(\"lib/naming.star\", \"display_name\")") || strings.Contains(d, good) {
		t.Errorf("--diff output:\n%s", d)
	}
	if res.ExitCode() != ExitClean {
		t.Errorf("--diff alone: exit %d, want 0", res.ExitCode())
	}

	out.Reset()
	if _, err := FormatPaths(FormatOptions{Paths: []string{good}}, &out); err != nil || out.String() != tidy {
		t.Errorf("default mode printed %q, %v", out.String(), err)
	}

	out.Reset()
	if _, err := FormatPaths(FormatOptions{Paths: []string{dir}, Write: true}, &out); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(bad); string(b) != tidy {
		t.Errorf("-w left:\n%s", b)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("-w left temporary files: %v", entries)
	}
	res, err = FormatPaths(FormatOptions{Paths: []string{dir}, Check: true}, &out)
	if err != nil || len(res.Unformatted) != 0 || res.ExitCode() != ExitClean {
		t.Errorf("after -w, --check: %v %v", res.Unformatted, err)
	}

	broken := write("broken.star", "x = (\n")
	_, err = FormatPaths(FormatOptions{Paths: []string{dir}, Check: true}, &out)
	if err == nil || !strings.Contains(err.Error(), broken+":") {
		t.Errorf("syntax error: got %v, want an error naming %s", err, broken)
	}
}

// TestPlansFormatted keeps the lint fixtures that must be clean in buildifier style, as
// `fabplan fmt --check` would.
func TestCleanFixtureFormatted(t *testing.T) {
	res, err := FormatPaths(FormatOptions{Paths: []string{filepath.Join("testdata", "clean")}, Check: true}, new(bytes.Buffer))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Unformatted) > 0 {
		t.Errorf("unformatted: %v", res.Unformatted)
	}
}

// FuzzFormat checks that formatting is stable and keeps a plan parseable. The fixtures are the
// seed corpus, so plain `go test` runs them; `go test -fuzz FuzzFormat ./lint` explores further.
func FuzzFormat(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join("testdata", "*", "*", "*.star"))
	if err != nil {
		f.Fatal(err)
	}
	more, _ := filepath.Glob(filepath.Join("testdata", "*", "*.star"))
	for _, p := range append(seeds, more...) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(messy))
	f.Fuzz(func(t *testing.T, src []byte) {
		out, err := Format("fuzz.star", src)
		if err != nil {
			return
		}
		again, err := Format("fuzz.star", out)
		if err != nil {
			t.Fatalf("formatted source does not parse: %v\n%s", err, out)
		}
		if !bytes.Equal(again, out) {
			t.Fatalf("not idempotent:\n%s\n---\n%s", out, again)
		}
	})
}
