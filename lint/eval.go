package lint

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/fabplan/fabplan/builtins"
	"github.com/fabplan/fabplan/engine"
)

// evaluator runs one plan offline. env is "" or the name of an env/<name>.json file beside
// the plan. It returns the plan's problems; an error that is not engine.Diagnostics is
// reported at the plan's first line.
type evaluator func(file, root, env string) error

func builtinEvaluator(file, root, env string) error {
	_, err := builtins.Evaluate(context.Background(), builtins.EvalOptions{File: file, Root: root, Env: env, Offline: true})
	return err
}

// builtinSignatures adapts builtins.Catalog. "struct" is predeclared by evaluation but is
// not a fabplan builtin, so it has no Spec.
func builtinSignatures() *signatures {
	cat := builtins.Catalog()
	specs := make([]spec, 0, len(cat))
	for _, s := range cat {
		ps := make([]param, 0, len(s.Params))
		for _, p := range s.Params {
			ps = append(ps, param{Name: p.Name, Type: p.Type, Required: p.Required, Enum: p.Enum, Secret: p.Secret})
		}
		specs = append(specs, spec{Name: s.Name, Params: ps, OneOf: s.OneOf})
	}
	return newSignatures(specs, []string{"struct"})
}

// evaluate runs every entry plan offline, once per env/*.json file beside it (or once with no
// environment when there is none). A plan whose files already have static errors is skipped,
// and so is an environment file that env-schema rejected: evaluation would stop at the first of
// them and say it again.
func (l *linter) evaluate() {
	type job struct {
		u   *unit
		env string
	}
	var jobs []job
	for _, u := range l.sorted() {
		if u.loaded || l.hasErrors(u, map[*unit]bool{}) {
			continue
		}
		badEnv := map[string]bool{}
		for _, f := range u.findings {
			if (f.Check == CheckEnvSchema || f.Check == CheckText) && strings.HasSuffix(f.File, ".json") && !l.disabled[f.Check] {
				badEnv[filepath.Clean(f.File)] = true
			}
		}
		envs := envNames(filepath.Dir(u.name))
		if len(envs) == 0 {
			envs = []string{""}
		}
		for _, env := range envs {
			if !badEnv[filepath.Join(filepath.Dir(u.name), "env", env+".json")] {
				jobs = append(jobs, job{u, env})
			}
		}
	}
	results := make([][]Finding, len(jobs))
	parallel(len(jobs), func(i int) {
		j := jobs[i]
		root := l.opts.Root
		if root == "" {
			root = filepath.Dir(j.u.name)
		}
		results[i] = evalFindings(j.u.name, j.env, l.eval(j.u.name, root, j.env))
	})
	for _, fs := range results {
		l.extra = append(l.extra, fs...)
	}
}

// hasErrors reports whether u or a file it loads has an error-level finding from the static
// checks (disabled checks aside).
func (l *linter) hasErrors(u *unit, seen map[*unit]bool) bool {
	if seen[u] {
		return false
	}
	seen[u] = true
	if u.file == nil {
		return true
	}
	for _, f := range u.findings {
		// env-schema findings are about env files, which evaluate() skips one by one.
		if f.Check != CheckEnvSchema && !l.disabled[f.Check] && !u.supp.covers(f) && l.severity(f) >= Error {
			return true
		}
	}
	for _, ref := range u.loads {
		if ref.target != nil && l.hasErrors(ref.target, seen) {
			return true
		}
	}
	return false
}

// envNames lists the environments defined beside a plan: env/<name>.json.
func envNames(dir string) []string {
	entries, err := os.ReadDir(filepath.Join(dir, "env"))
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".json"); ok && !e.IsDir() {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// evalFindings turns evaluation diagnostics into findings. Duplicates carry the position of
// the first declaration; cycles are the graph's "dependency cycle" diagnostic; a problem
// located in a JSON file is an environment file that does not fit the schema.
func evalFindings(plan, env string, err error) []Finding {
	if err == nil {
		return nil
	}
	var ds engine.Diagnostics
	if !errors.As(err, &ds) {
		return []Finding{{File: plan, Line: 1, Col: 1, Check: CheckEval, Message: withEnv(err.Error(), env)}}
	}
	out := make([]Finding, 0, len(ds))
	for _, d := range ds {
		f := Finding{File: d.Pos.File, Line: max(d.Pos.Line, 1), Col: max(d.Pos.Col, 1), Check: CheckEval, Message: withEnv(d.Message, env)}
		switch {
		case d.Check != "":
			f.Check = d.Check // one of builtins.Rules, or definition-parts
		case d.Related.IsValid():
			f.Check = CheckEvalDuplicate
			f.Message += " (first declared at " + d.Related.String() + ")"
		case strings.HasPrefix(d.Message, "dependency cycle"):
			f.Check = CheckEvalCycle
		case strings.HasSuffix(d.Pos.File, ".json"):
			f.Check = CheckEnvSchema
		}
		if f.File == "" {
			f.File = plan
		}
		out = append(out, f)
	}
	return out
}

func withEnv(msg, env string) string {
	if env == "" {
		return msg
	}
	return msg + " (with env/" + env + ".json)"
}
