package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/fabplan/fabplan/cmd/fabplan/internal/cli"
	"github.com/fabplan/fabplan/cmd/fabplan/internal/root"
)

// The documentation's commands are checked two ways. Every fabplan command a document shows (in a
// code block, in `inline code`, in a pipeline example, or in a command's --help examples) must name
// a real command and real flags, and the repository files it names must exist
// (TestDocCommandsParse). The README's commands are run, in order and as shown, against emulators
// (TestREADMECommandsRun): the --emulator ones against the embedded emulator, the others against a
// test emulator standing in for Fabric.

// docFiles are the documents whose commands are checked: the README, docs/ and the pipeline
// examples (their Markdown and their YAML).
func docFiles(t *testing.T) []string {
	files := []string{"README.md"}
	for _, dir := range []string{"docs", "examples"} {
		err := filepath.WalkDir(filepath.Join(repoRoot, dir), func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && (strings.HasSuffix(path, ".md") || strings.HasSuffix(path, ".yml")) {
				rel, _ := filepath.Rel(repoRoot, path)
				files = append(files, filepath.ToSlash(rel))
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return files
}

// docCommand is one fabplan command found in a document.
type docCommand struct {
	file string
	line int
	text string // the command as shown, from "fabplan" to the end of its shell segment
	run  bool   // a line of a code block (not inline code), which TestREADMECommandsRun may run as is
	// shellLine is the whole code-block line the command is on (for running it with sh).
	shellLine string
}

func (c docCommand) String() string { return fmt.Sprintf("%s:%d: %s", c.file, c.line, c.text) }

var (
	fence      = regexp.MustCompile("^\\s*```\\s*([A-Za-z0-9_-]*)")
	inlineCode = regexp.MustCompile("`(fabplan [^`]+)`")
	// A fabplan command inside a line: at its start (after a prompt), after a shell operator, or as
	// a pipeline step's script (run:, script:, inlineScript:). Quoted messages that mention fabplan
	// mid-sentence are not commands.
	cmdStart = regexp.MustCompile(`(?:^\s*(?:\$\s+)?|[;&|(]\s*|(?:run|script|inlineScript):\s*)(?:bin/|\./bin/)?fabplan\s+[a-z-]`)
	// Lines of fabplan's output quoted in a code block (they may say "...; fabplan waits ...").
	outputLine = regexp.MustCompile(`^\s*(hint|Error|Warning|fix):|^\s*(time|level)=`)
	// Keys of a pipeline whose values are names, not commands.
	yamlProse = regexp.MustCompile(`^\s*(- )?(name|displayName|group|artifact|category):`)
)

// extractCommands finds the fabplan commands of a Markdown document, or of a pipeline (YAML),
// where every line is code.
func extractCommands(file, text string) []docCommand {
	var out []docCommand
	inFence, lang := false, ""
	lines := strings.Split(text, "\n")
	for i, line := range lines {
		if strings.HasSuffix(file, ".yml") {
			if yamlProse.MatchString(line) {
				continue
			}
			for _, c := range commandsInLine(line) {
				out = append(out, docCommand{file: file, line: i + 1, text: c})
			}
			continue
		}
		if m := fence.FindStringSubmatch(line); m != nil {
			if inFence {
				inFence = false
			} else {
				inFence, lang = true, m[1]
			}
			continue
		}
		code := (inFence && !slices.Contains([]string{"python", "starlark", "json", "go", "txtar"}, lang)) ||
			(!inFence && strings.HasPrefix(line, "    ") && !strings.HasPrefix(strings.TrimSpace(line), "-"))
		if code {
			for _, c := range commandsInLine(line) {
				out = append(out, docCommand{file: file, line: i + 1, text: c, run: true, shellLine: line})
			}
			continue
		}
		if inFence {
			continue
		}
		for _, m := range inlineCode.FindAllStringSubmatch(line, -1) {
			for _, c := range commandsInLine(m[1]) {
				out = append(out, docCommand{file: file, line: i + 1, text: c})
			}
		}
	}
	return out
}

// commandsInLine returns each fabplan command of a shell line, cut at shell operators and comments.
func commandsInLine(line string) []string {
	if outputLine.MatchString(line) {
		return nil
	}
	if i := strings.Index(line, "#"); i == 0 || (i > 0 && strings.Contains(" \t", line[i-1:i])) {
		line = line[:i] // a comment
	}
	var out []string
	for _, loc := range cmdStart.FindAllStringIndex(line, -1) {
		rest := line[loc[0]:]
		rest = rest[strings.Index(rest, "fabplan"):]
		if i := strings.IndexAny(rest, "#|;&>)"); i >= 0 {
			rest = rest[:i]
		}
		out = append(out, strings.TrimSpace(rest))
	}
	return out
}

// docPlaceholder is a documented stand-in for a value: RUN, PLAN, FILE, KEY=VALUE, ...
var docPlaceholder = regexp.MustCompile(`[A-Z]{2,}|\.\.\.|<[^>]+>`)

// checkCommand reports what is wrong with a documented command: an unknown command or flag, a flag
// without its value, or a file of the repository's plans/ that does not exist.
func checkCommand(tree *cobra.Command, text string) error {
	words := strings.Fields(strings.NewReplacer("[", " ", "]", " ", `"`, "", "'", "").Replace(text))
	if len(words) == 0 || (words[0] != "fabplan" && !strings.HasSuffix(words[0], "/fabplan")) {
		return fmt.Errorf("not a fabplan command")
	}
	cmd, rest, err := tree.Find(words[1:])
	if err != nil {
		return err
	}
	if cmd == tree && len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		return fmt.Errorf("unknown command %q", rest[0])
	}
	var files []string
	for i := 0; i < len(rest); i++ {
		w := rest[i]
		if !strings.HasPrefix(w, "-") || w == "-" || w == "--" {
			if !strings.Contains(w, "|") { // a synopsis's alternatives (text|json) are no argument
				files = append(files, w)
			}
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(w, "-"), "=")
		var fl *pflag.Flag
		if strings.HasPrefix(w, "--") {
			fl = cmd.Flags().Lookup(name)
			if fl == nil {
				fl = cmd.InheritedFlags().Lookup(name)
			}
		} else if len(name) == 1 {
			fl = cmd.Flags().ShorthandLookup(name)
			if fl == nil {
				fl = cmd.InheritedFlags().ShorthandLookup(name)
			}
		}
		if fl == nil {
			return fmt.Errorf("fabplan %s has no flag %s", cmd.Name(), w)
		}
		if fl.Deprecated != "" || fl.Hidden {
			return fmt.Errorf("%s is hidden or deprecated: document its current name", w)
		}
		if fl.NoOptDefVal == "" && !hasValue { // the flag takes the next word as its value
			if i+1 >= len(rest) {
				return fmt.Errorf("%s needs a value", w)
			}
			i++
			value = rest[i]
		}
		// A file a flag writes need not exist yet.
		if value != "" && !slices.Contains([]string{"out", "output", "summary", "report"}, fl.Name) {
			files = append(files, value)
		}
	}
	for _, f := range files {
		f, _, _ = strings.Cut(f, "@") // serve --watch PLAN@ENV
		if !strings.HasPrefix(f, "plans/") || docPlaceholder.MatchString(f) {
			continue
		}
		if _, err := os.Stat(filepath.Join(repoRoot, filepath.FromSlash(f))); err != nil {
			return fmt.Errorf("%s does not exist in the repository", f)
		}
	}
	return nil
}

func testTree() *cobra.Command {
	io, _, _ := cli.Test()
	tree := root.NewCmd(cli.NewFactory(io, "test"))
	tree.InitDefaultCompletionCmd() // Execute adds it; documents show it
	return tree
}

// TestDocCommandsParse checks every documented command, and every command's --help examples.
func TestDocCommandsParse(t *testing.T) {
	tree := testTree()
	n := 0
	for _, file := range docFiles(t) {
		b, err := os.ReadFile(filepath.Join(repoRoot, file))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range extractCommands(file, string(b)) {
			n++
			if err := checkCommand(tree, c.text); err != nil {
				t.Errorf("%s: %v", c, err)
			}
		}
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, line := range strings.Split(c.Example, "\n") {
			for _, text := range commandsInLine(line) {
				n++
				if err := checkCommand(tree, text); err != nil {
					t.Errorf("fabplan %s --help example %q: %v", c.CommandPath(), text, err)
				}
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(tree)
	if n < 50 {
		t.Fatalf("found only %d documented commands: the extraction is broken", n)
	}
	t.Logf("%d documented commands checked", n)
}

// A broken command in a document fails the check: an unknown flag, a missing plan, an unknown
// command; and a correct one passes.
func TestCheckCommandCatchesBrokenOnes(t *testing.T) {
	tree := testTree()
	doc := strings.Join([]string{
		"Run it:",
		"",
		"    fabplan plan plans/prod.star --env prod   # what would change",
		"    fabplan run --emulatr plans/demo.star",
		"    fabplan lint plans/ && fabplan deploy plans/demo.star",
		"",
		"```yaml",
		"- run: fabplan plan --detailed-exitcode plans/sales/estate.star --env prod",
		"```",
		"Or `fabplan rollback --dry-run RUN` and `fabplan runs --jsonl`.",
	}, "\n")
	var bad []string
	for _, c := range extractCommands("doc.md", doc) {
		if err := checkCommand(tree, c.text); err != nil {
			bad = append(bad, fmt.Sprintf("%d %s: %v", c.line, c.text, err))
		}
	}
	want := []string{
		"3 fabplan plan plans/prod.star --env prod: plans/prod.star does not exist in the repository",
		"4 fabplan run --emulatr plans/demo.star: fabplan run has no flag --emulatr",
		`5 fabplan deploy plans/demo.star: unknown command "deploy" for "fabplan"`,
		"10 fabplan runs --jsonl: fabplan runs has no flag --jsonl",
	}
	if strings.Join(bad, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(bad, "\n"), strings.Join(want, "\n"))
	}
}

// notRunnable are the commands the README shows that do not end on their own or need a person:
// they are checked by TestDocCommandsParse and run by their own scripts (emulator_command,
// serve_*, login_device_code).
var notRunnable = map[string]bool{"emulator": true, "serve": true, "login": true}

// readmeScript turns the README's code-block commands into a testscript: each line runs with sh,
// as a user would type it, and must succeed; and each plan the README shows must lint clean and plan.
func readmeScript(t *testing.T, readme string) string {
	tree := testTree()
	var b strings.Builder
	b.WriteString("# Generated from README.md by TestREADMECommandsRun.\nrepo-copy plans\nemulator\n")
	seen := map[int]bool{}
	for _, c := range extractCommands("README.md", readme) {
		if !c.run || seen[c.line] {
			continue
		}
		seen[c.line] = true
		cmd, _, err := tree.Find(strings.Fields(c.text)[1:])
		if err != nil || notRunnable[cmd.Name()] {
			continue
		}
		line := strings.TrimSpace(c.shellLine)
		if i := strings.Index(line, " #"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		fmt.Fprintf(&b, "\n# README.md:%d\nexec sh -c '%s'\n", c.line, strings.ReplaceAll(line, "'", "''"))
	}
	// The plans the README shows evaluate and plan against the emulator's tenant: the capacity,
	// definition folders and principals they name exist there. They sit in plans/ as plans/demo.star
	// does, so that relative paths mean the same.
	var files strings.Builder
	for i, m := range regexp.MustCompile("(?s)```python\n(.*?)```").FindAllStringSubmatch(readme, -1) {
		name := fmt.Sprintf("plans/readme-%d.star", i+1)
		fmt.Fprintf(&b, "\n# README.md's plan %d\nexec fabplan lint %s\nexec fabplan plan --emulator %s\nstdout '^Plan: '\n",
			i+1, name, name)
		fmt.Fprintf(&files, "-- %s --\n%s", name, m[1])
	}
	return b.String() + files.String()
}

// TestREADMECommandsRun runs the README's commands as shown, in order, in a copy of plans/.
func TestREADMECommandsRun(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	script := readmeScript(t, string(b))
	if strings.Count(script, "exec sh") < 8 {
		t.Fatalf("the README's commands were not found:\n%s", script)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "readme.txtar"), []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, scriptParams(dir))
}

// TestDocJSONExamples checks a documented JSON example against the real output of the command the
// document names for it: each field shown must be there with that value ("…" ends a value cut
// short, and an array shown may leave elements out).
func TestDocJSONExamples(t *testing.T) {
	for _, tc := range []struct{ doc, command string }{
		{"docs/plan-json.md", "fabplan plan --emulator plans/demo.star --json"},
	} {
		b, err := os.ReadFile(filepath.Join(repoRoot, tc.doc))
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		i := strings.Index(text, "`"+tc.command+"`")
		if i < 0 {
			t.Fatalf("%s does not show `%s`", tc.doc, tc.command)
		}
		block := regexp.MustCompile("(?s)```json\n(.*?)```").FindStringSubmatch(text[i:])
		if block == nil {
			t.Fatalf("%s: no JSON example after `%s`", tc.doc, tc.command)
		}
		var want any
		if err := json.Unmarshal([]byte(block[1]), &want); err != nil {
			t.Fatalf("%s: the example is not JSON: %v", tc.doc, err)
		}
		got := runInProcess(t, strings.Fields(tc.command)[1:])
		if err := jsonSubset("", want, got); err != nil {
			t.Errorf("%s: the example differs from the output of %s: %v", tc.doc, tc.command, err)
		}
	}
}

// runInProcess runs fabplan with args in a copy of plans/ and returns its stdout as JSON.
func runInProcess(t *testing.T, args []string) any {
	dir := t.TempDir()
	if err := os.CopyFS(filepath.Join(dir, "plans"), os.DirFS(filepath.Join(repoRoot, "plans"))); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	io, out, errOut := cli.Test()
	f := cli.NewFactory(io, "devel")
	f.Getenv = func(k string) string {
		if k == "FABPLAN_STATE" {
			return filepath.Join(dir, ".fabplan")
		}
		return ""
	}
	defer f.Close()
	tree := root.NewCmd(f)
	tree.SetArgs(args)
	tree.SetOut(out)
	tree.SetErr(errOut)
	if err := tree.Execute(); err != nil {
		t.Fatalf("fabplan %s: %v\n%s", strings.Join(args, " "), err, errOut)
	}
	var v any
	if err := json.Unmarshal(out.Bytes(), &v); err != nil {
		t.Fatalf("fabplan %s printed no JSON: %v\n%s", strings.Join(args, " "), err, out)
	}
	return v
}

// jsonSubset reports the first field of want that got lacks or holds otherwise.
func jsonSubset(path string, want, got any) error {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: got %v, want an object", path, got)
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				return fmt.Errorf("%s.%s: missing", path, k)
			}
			if err := jsonSubset(path+"."+k, wv, gv); err != nil {
				return err
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok {
			return fmt.Errorf("%s: got %v, want an array", path, got)
		}
		if len(w) == 0 && len(g) != 0 {
			return fmt.Errorf("%s: got %d element(s), want none", path, len(g))
		}
		for i, wv := range w {
			if !slices.ContainsFunc(g, func(gv any) bool { return jsonSubset("", wv, gv) == nil }) {
				// Name the closest failure: the element of the same address (or name, or path), else
				// the one at the same index.
				if j := sameKey(wv, g); j >= 0 {
					return jsonSubset(fmt.Sprintf("%s[%d]", path, j), wv, g[j])
				}
				if i < len(g) {
					return jsonSubset(fmt.Sprintf("%s[%d]", path, i), wv, g[i])
				}
				return fmt.Errorf("%s[%d]: no such element", path, i)
			}
		}
	case string:
		if prefix, cut := strings.CutSuffix(w, "…"); cut {
			if s, ok := got.(string); !ok || !strings.HasPrefix(s, prefix) {
				return fmt.Errorf("%s: got %v, want %q", path, got, w)
			}
			return nil
		}
		if got != w {
			return fmt.Errorf("%s: got %v, want %q", path, got, w)
		}
	default:
		if !bytes.Equal(mustJSON(want), mustJSON(got)) {
			return fmt.Errorf("%s: got %v, want %v", path, got, want)
		}
	}
	return nil
}

// sameKey is the index of the element of g whose address, name or path is want's, or -1.
func sameKey(want any, g []any) int {
	w, ok := want.(map[string]any)
	if !ok {
		return -1
	}
	for _, key := range []string{"address", "name", "path"} {
		id, ok := w[key]
		if !ok {
			continue
		}
		return slices.IndexFunc(g, func(gv any) bool {
			gm, ok := gv.(map[string]any)
			return ok && gm[key] == id
		})
	}
	return -1
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// TestREADMEListsEveryDoc keeps the README's documentation list equal to docs/: each once.
func TestREADMEListsEveryDoc(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]int{}
	for _, m := range regexp.MustCompile(`(?m)^- (docs/[^:]+):`).FindAllStringSubmatch(string(b), -1) {
		listed[m[1]]++
	}
	entries, err := os.ReadDir(filepath.Join(repoRoot, "docs"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		name := "docs/" + e.Name()
		if e.IsDir() {
			name += "/"
		} else if !strings.HasSuffix(name, ".md") {
			continue
		}
		switch listed[name] {
		case 0:
			t.Errorf("README.md does not list %s under Documentation", name)
		case 1:
		default:
			t.Errorf("README.md lists %s %d times", name, listed[name])
		}
		delete(listed, name)
	}
	for name := range listed {
		t.Errorf("README.md lists %s, which does not exist", name)
	}
}
