package main

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/fabplan/fabplan/emulator"
)

// TestMalformed runs every case of testdata/malformed (plans, modules, env files, .env files
// and definition folders that are wrong in one way each) through `fabplan lint`, `fabplan plan`
// and `fabplan run` (the real binary, against one emulator): each must exit with an error that
// names where the problem is, without a panic and without a single mutating request.
//
// A case is a folder with plan.star and a case.txt of directives:
//
//	# what is wrong
//	want TEXT            a line every command's output must contain (file:line:col and the gist)
//	args ARG...          extra arguments for plan and run (--env dev)
//	link PATH TARGET     a symbolic link made before the commands run ($OUTSIDE is a folder
//	                     outside the case: lib.star, nb/notebook-content.py, schema.json,
//	                     dev.json, secrets.env, plan.star)
//	big PATH BYTES       a text file of that size, too large to keep in the repository
//	exit CMD CODE        the exit code of lint, plan or run (default 1, 2, 2)
func TestMalformed(t *testing.T) {
	cases, err := filepath.Glob(filepath.Join(repoRoot, "testdata", "malformed", "*", "case.txt"))
	if err != nil || len(cases) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	bin, err := exec.LookPath("fabplan")
	if err != nil {
		t.Fatalf("testscript.Main puts fabplan on PATH: %v", err)
	}
	emu, err := emulator.Start(emulator.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	outside := t.TempDir()
	for name, text := range map[string]string{
		"lib.star":                   "x = \"from outside the root\"\n",
		"plan.star":                  "fabric.workspace(name = \"outside\")\n",
		"nb/notebook-content.py":     "# Fabric notebook source\nprint('outside')\n",
		"schema.json":                "{\"type\": \"object\"}\n",
		"dev.json":                   "{\"name\": \"outside\"}\n",
		"secrets.env":                "DB_PASSWORD=SENTINEL-outside-the-root\n",
		"passwd/notebook-content.py": "root:x:0:0:root:/root:/bin/sh\n",
	} {
		p := filepath.Join(outside, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	id, secret := emu.ServicePrincipal()
	env := append(os.Environ(), "NO_COLOR=1", "CI=", "FABPLAN_FABRIC_URL="+emu.FabricURL(),
		"FABPLAN_AUTHORITY_HOST="+emu.AuthorityHost(), "FABPLAN_GRAPH_URL="+emu.GraphURL(),
		"SSL_CERT_FILE="+emu.CAFile(), "AZURE_TENANT_ID="+emu.TenantID(), "AZURE_CLIENT_ID="+id,
		"AZURE_CLIENT_SECRET="+secret)
	t.Run("cases", func(t *testing.T) {
		for _, c := range cases {
			dir := filepath.Dir(c)
			t.Run(filepath.Base(dir), func(t *testing.T) {
				t.Parallel()
				runMalformed(t, bin, dir, outside, env)
			})
		}
	})
	var mutations []string
	for _, r := range emu.Requests() {
		if isMutating(r.Method, r.Path) {
			mutations = append(mutations, r.Method+" "+r.Path)
		}
	}
	if len(mutations) > 0 {
		t.Errorf("malformed input reached Fabric: %d mutating requests:\n%s", len(mutations), strings.Join(mutations, "\n"))
	}
	if len(cases) < 60 {
		t.Errorf("%d cases; the corpus keeps at least 60", len(cases))
	}
}

type malformedCase struct {
	wants []string
	args  []string
	exit  map[string]int
}

func runMalformed(t *testing.T, bin, src, outside string, env []string) {
	work := t.TempDir()
	if err := os.CopyFS(work, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	mc := malformedCase{exit: map[string]int{"lint": 1, "plan": 2, "run": 2}}
	f, err := os.Open(filepath.Join(src, "case.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		verb, rest, _ := strings.Cut(line, " ")
		fields := strings.Fields(rest)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case verb == "want":
			mc.wants = append(mc.wants, rest)
		case verb == "args":
			mc.args = append(mc.args, fields...)
		case verb == "link" && len(fields) == 2:
			target := strings.Replace(fields[1], "$OUTSIDE", outside, 1)
			p := filepath.Join(work, filepath.FromSlash(fields[0]))
			os.Remove(p)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, p); err != nil {
				t.Skip("no symbolic links here:", err)
			}
		case verb == "big" && len(fields) == 2:
			n, err := strconv.Atoi(fields[1])
			if err != nil {
				t.Fatal(err)
			}
			line := []byte("# a line of padding, to make the part larger than one request may be\n")
			b := bytes.Repeat(line, n/len(line)+1)[:n]
			if err := os.WriteFile(filepath.Join(work, filepath.FromSlash(fields[0])), b, 0o644); err != nil {
				t.Fatal(err)
			}
		case verb == "exit" && len(fields) == 2:
			if mc.exit[fields[0]], err = strconv.Atoi(fields[1]); err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatalf("case.txt: unknown directive %q", line)
		}
	}
	if len(mc.wants) == 0 {
		t.Fatal("case.txt has no want line")
	}
	state := t.TempDir()
	for _, cmd := range [][]string{
		{"lint", "plan.star"},
		append([]string{"plan", "plan.star"}, mc.args...),
		append([]string{"run", "plan.star"}, mc.args...),
	} {
		c := exec.Command(bin, cmd...)
		c.Dir = work
		c.Env = append(env, "FABPLAN_STATE_DIR="+state)
		out, err := c.CombinedOutput()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		text := string(out)
		if code != mc.exit[cmd[0]] {
			t.Errorf("fabplan %s: exit %d, want %d:\n%s", strings.Join(cmd, " "), code, mc.exit[cmd[0]], text)
		}
		if strings.Contains(text, "panic:") || strings.Contains(text, "goroutine ") {
			t.Errorf("fabplan %s panicked:\n%s", cmd[0], text)
		}
		for _, w := range mc.wants {
			if !strings.Contains(text, w) {
				t.Errorf("fabplan %s: output lacks %q:\n%s", strings.Join(cmd, " "), w, text)
			}
		}
		if strings.Contains(text, "SENTINEL") {
			t.Errorf("fabplan %s shows a value from a file outside the root:\n%s", cmd[0], text)
		}
	}
}
