package builtins

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fabplan/fabplan/engine"
)

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Skip("no symbolic links here:", err)
	}
}

// TestLinksInsideRootAreFollowed: a definition folder may hold links that stay inside the plan
// root (a shared file, a linked folder); they are read as what they point to.
func TestLinksInsideRootAreFollowed(t *testing.T) {
	root := writeTree(t, map[string]string{
		"plan.star": `ws = fabric.workspace(name = "a")
fabric.item(workspace = ws, type = "Notebook", name = "n", definition = fabric.definition(path = "nb"))
`,
		"shared/notebook-content.py": "# Fabric notebook source\nprint('shared')\n",
		"shared/lib/util.py":         "x = 1\n",
	})
	os.MkdirAll(filepath.Join(root, "nb"), 0o755)
	symlink(t, "../shared/notebook-content.py", filepath.Join(root, "nb", "notebook-content.py"))
	symlink(t, "../shared/lib", filepath.Join(root, "nb", "lib"))
	g, err := Evaluate(context.Background(), EvalOptions{File: filepath.Join(root, "plan.star"), Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	it := g.Resources()[1].(*itemResource)
	var paths []string
	for _, p := range it.definition.parts {
		paths = append(paths, p.Path+"="+strings.TrimSpace(string(p.Payload)))
	}
	if got, want := strings.Join(paths, " "), "lib/util.py=x = 1 notebook-content.py=# Fabric notebook source\nprint('shared')"; got != want {
		t.Errorf("parts %q, want %q", got, want)
	}
}

// TestLinkOutOfRootNamesLinkAndTarget: the refusal names the link as written and its target,
// and carries the rule's id.
func TestLinkOutOfRootNamesLinkAndTarget(t *testing.T) {
	outside := writeTree(t, map[string]string{"secret.py": "SENTINEL\n"})
	root := writeTree(t, map[string]string{
		"plan.star": `ws = fabric.workspace(name = "a")
fabric.item(workspace = ws, type = "Notebook", name = "n", definition = fabric.definition(path = "nb"))
`,
		"nb/notebook-content.py": "# Fabric notebook source\n",
	})
	target := filepath.Join(outside, "secret.py")
	symlink(t, target, filepath.Join(root, "nb", "extra.py"))
	_, err := Evaluate(context.Background(), EvalOptions{File: filepath.Join(root, "plan.star"), Offline: true})
	var ds engine.Diagnostics
	if !errors.As(err, &ds) || len(ds) != 1 || ds[0].Check != RuleSymlink || ds[0].Pos.Line != 2 ||
		!strings.Contains(ds[0].Message, filepath.Join(root, "nb", "extra.py")+" is a symbolic link to "+target) {
		t.Fatalf("got %v; want one path-symlink diagnostic at line 2 naming the link and %s", err, target)
	}
}

func TestCheckText(t *testing.T) {
	for _, tc := range []struct {
		in        string
		line, col int
		ok        bool
	}{
		{"fabric.workspace(name = \"é\")\n", 0, 0, true},
		{"a\nbé\x00", 2, 3, false},
		{"ab\xffc", 1, 3, false},
		{"\xe9t\xe9", 1, 1, false},
	} {
		line, col, _, ok := CheckText([]byte(tc.in))
		if ok != tc.ok || line != tc.line || col != tc.col {
			t.Errorf("CheckText(%q) = %d:%d %v; want %d:%d %v", tc.in, line, col, ok, tc.line, tc.col, tc.ok)
		}
	}
}

// TestRuleMessagesEscapeControls: a name with a terminal escape is reported with the escape
// shown, not sent to the terminal.
func TestRuleMessagesEscapeControls(t *testing.T) {
	dir := writeTree(t, map[string]string{"plan.star": `fabric.workspace(name = "a\x1b[2Jb\nc")` + "\n"})
	_, err := Evaluate(context.Background(), EvalOptions{File: filepath.Join(dir, "plan.star"), Offline: true})
	var ds engine.Diagnostics
	if !errors.As(err, &ds) || len(ds) == 0 {
		t.Fatalf("got %v", err)
	}
	for _, d := range ds {
		if strings.ContainsAny(d.Message, "\x1b\n") || !strings.Contains(d.Message, `\u001B[2Jb\u000Ac`) {
			t.Errorf("message %q: want the escape and line break shown as \\u001B and \\u000A", d.Message)
		}
	}
}
