package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/fabplan/fabplan/builtins"
)

// PlanInput is what a plan's evaluation depends on besides its files: the environment and
// variable overrides. Plans have no env(): these flags are the only way in.
type PlanInput struct {
	Env    string
	EnvDir string
	Vars   []string
}

// Bind adds --env, --env-dir and --var.
func (in *PlanInput) Bind(fs *pflag.FlagSet) {
	fs.StringVar(&in.Env, "env", "", "environment: config() reads env/NAME.json beside the plan")
	fs.StringVar(&in.EnvDir, "env-dir", "", "directory of environment files (default: env beside the plan)")
	fs.StringArrayVar(&in.Vars, "var", nil, "override a config value, KEY=VALUE (repeatable; also FABPLAN_VAR_KEY)")
}

// EvalOptions builds the evaluation options for a plan file. FABPLAN_VAR_* variables apply first,
// --var flags override them.
func (in *PlanInput) EvalOptions(file string, environ []string) (builtins.EvalOptions, error) {
	vars := map[string]string{}
	for _, kv := range environ {
		if rest, ok := strings.CutPrefix(kv, "FABPLAN_VAR_"); ok {
			if k, v, ok := strings.Cut(rest, "="); ok && k != "" && v != "" {
				vars[k] = v
			}
		}
	}
	for _, kv := range in.Vars {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return builtins.EvalOptions{}, Usagef(fmt.Errorf("--var %q: want KEY=VALUE", kv))
		}
		vars[k] = v
	}
	return builtins.EvalOptions{File: file, Env: in.Env, EnvDir: in.EnvDir, Vars: vars}, nil
}
