package builtins

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fabplan/fabplan/engine"
)

// FuzzEvaluate evaluates arbitrary plan bytes offline, beside a small definition folder and
// library the plan may use. Whatever the bytes, evaluation must not panic, every problem must be
// engine.Diagnostics naming a file, a plan that is not UTF-8 text or holds a NUL is refused as
// such (so a NUL can never cut a plan short), and a plan that evaluates holds no resource that
// breaks one of Fabric's rules. Seeds are the example plans, lint's fixtures and the malformed
// corpus.
func FuzzEvaluate(f *testing.F) {
	for _, pattern := range []string{
		"../plans/*.star", "../lint/testdata/*/*/*.star", "../lint/testdata/*/*.star", "../testdata/malformed/*/plan.star",
	} {
		seeds, _ := filepath.Glob(pattern)
		for _, p := range seeds {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	dir := f.TempDir()
	for name, text := range map[string]string{
		"lib.star":                   "x = \"lib\"\n",
		"nb/notebook-content.py":     "# Fabric notebook source\nlake = '{{LAKE}}'\n",
		"p/pipeline-content.json":    "{\"name\": \"{{NAME}}\"}\n",
		"m/definition.pbism":         "{\"version\": \"4.0\"}\n",
		"m/model.bim":                "{\"model\": {}}\n",
		"env/dev.json":               "{\"name\": \"sales\"}\n",
		"schema.json":                "{\"type\": \"object\"}\n",
		"r/definition.pbir":          "{\"version\": \"1.0\"}\n",
		"r/report.json":              "{}\n",
		"nb2/notebook-content.ipynb": "{\"nbformat\": 4, \"cells\": []}\n",
	} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			f.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			f.Fatal(err)
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		// Beside the fixtures, in the plan root (each fuzzing process has its own dir).
		plan := filepath.Join(dir, "plan.star")
		if err := os.WriteFile(plan, src, 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(plan)
		g, err := Evaluate(context.Background(), EvalOptions{File: plan, Env: "dev", Offline: true, MaxSteps: 200_000, Timeout: 5 * time.Second})
		_, _, _, text := CheckText(src)
		if err != nil {
			var ds engine.Diagnostics
			if !errors.As(err, &ds) || len(ds) == 0 {
				t.Fatalf("error that is not diagnostics: %v", err)
			}
			for _, d := range ds {
				if d.Pos.File == "" {
					t.Errorf("diagnostic without a file: %+v", d)
				}
			}
			if !text && (len(ds) != 1 || ds[0].Check != RuleText || ds[0].Pos.File != plan) {
				t.Errorf("a plan that is not text gave %v", err)
			}
			return
		}
		if !text {
			t.Fatalf("a plan that is not UTF-8 text without NUL evaluated")
		}
		for _, r := range g.Resources() {
			var ds []engine.Diagnostic
			switch x := r.(type) {
			case *workspaceResource:
				ds = validateWorkspace(x)
			case *itemResource:
				ds = validateItem(x)
			case *folderResource:
				ds = validateFolder(x)
			}
			if len(ds) > 0 {
				t.Errorf("%s evaluated although it breaks a rule: %v", r.Addr(), ds)
			}
		}
	})
}
