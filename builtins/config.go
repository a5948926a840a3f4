package builtins

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// config(): per-environment values, validated against a JSON Schema.
//
// Values come from env/<name>.json beside the plan (fabplan run --env NAME), overridden by --var
// k=v and FABPLAN_VAR_k. Plans have no env(): everything a plan depends on is in files and flags,
// so the same inputs always evaluate to the same plan.

type configBuiltin struct{}

func (configBuiltin) Spec() Spec {
	return Spec{
		Name: "config",
		Doc:  "Returns the environment's configuration (env/<env>.json, then --var and FABPLAN_VAR_* overrides) as a struct, after validating it against a JSON Schema.",
		Params: []Param{
			{Name: "schema", Type: "string", Doc: "JSON Schema file, relative to the calling file; every violation is reported with its path."},
		},
	}
}

func (configBuiltin) Interpret(ev *evaluation, c *call) (starlark.Value, error) {
	var sch *jsonschema.Schema
	var schemaPath string
	if c.has("schema") {
		path, err := ev.resolvePath(filepath.Dir(c.site.File), c.str("schema"))
		if err != nil {
			return nil, fmt.Errorf("config: schema: %v", err)
		}
		b, err := ev.readInside(path)
		if err != nil {
			var ee *escapeError
			if errors.As(err, &ee) {
				return nil, &ruleError{RuleSymlink, fmt.Errorf("config: schema: %v", err)}
			}
			return nil, fmt.Errorf("config: schema %s: %v", path, errors.Unwrap(err))
		}
		if sch, err = compileSchema(path, b); err != nil {
			return nil, fmt.Errorf("config: %v", err)
		}
		schemaPath = path
	}
	vars, err := varNames(ev.opts.Vars, sch)
	if err != nil {
		return nil, fmt.Errorf("config: %v", err)
	}
	values, source, err := ev.configValues(vars)
	if err != nil {
		var re *ruleError
		if errors.As(err, &re) {
			return nil, &ruleError{re.rule, fmt.Errorf("config: %v", err)}
		}
		return nil, fmt.Errorf("config: %v", err)
	}
	if sch != nil {
		coerceVars(values, vars, sch)
		if len(vars) > 0 {
			source += " (with --var overrides)"
		}
		if err := sch.Validate(values); err != nil {
			var ve *jsonschema.ValidationError
			if !errors.As(err, &ve) {
				return nil, fmt.Errorf("config: %v", err)
			}
			// Without --env the file's values are all missing: name the environments there are
			// rather than every property they would have supplied.
			if ev.opts.Env == "" {
				if envs := ev.environments(); len(envs) > 0 {
					return nil, fmt.Errorf("config: no --env given; this plan's environments are %s (%s); "+
						"pass --env NAME", strings.Join(envs, ", "), filepath.Join(ev.envDir(), "*.json"))
				}
			}
			return nil, fmt.Errorf("config: %s does not match %s:\n%s", source, schemaPath, strings.Join(violations(ve), "\n"))
		}
	}
	return toStarlark(values), nil
}

// envDir is where the environment files are: --env-dir, or env beside the entry plan.
func (ev *evaluation) envDir() string {
	if ev.opts.EnvDir != "" {
		return ev.opts.EnvDir
	}
	return filepath.Join(filepath.Dir(ev.entry), "env")
}

// environments lists the environments the plan has (the names of the env directory's JSON files).
func (ev *evaluation) environments() []string {
	entries, err := os.ReadDir(ev.envDir())
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".json"); ok && !e.IsDir() && name != "" {
			names = append(names, name)
		}
	}
	return names
}

// varNames gives each override the name of the schema property it sets, matching names without
// regard to case: Azure DevOps upper-cases pipeline variables, so FABPLAN_VAR_CAPACITY must set
// "capacity". An exact match wins; two properties differing only in case make the name ambiguous.
func varNames(vars map[string]string, sch *jsonschema.Schema) (map[string]string, error) {
	if sch == nil || len(vars) == 0 {
		return vars, nil
	}
	props := make([]string, 0, len(sch.Properties))
	for p := range sch.Properties {
		props = append(props, p)
	}
	sort.Strings(props)
	out := make(map[string]string, len(vars))
	exact := map[string]bool{}
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		name := k
		if _, ok := sch.Properties[k]; !ok {
			var matches []string
			for _, p := range props {
				if strings.EqualFold(p, k) {
					matches = append(matches, p)
				}
			}
			if len(matches) > 1 {
				return nil, fmt.Errorf("variable %s matches properties %s of the schema, which differ only in case; "+
					"use --var with the exact name", k, strings.Join(matches, " and "))
			}
			if len(matches) == 1 {
				name = matches[0]
			}
		}
		// --var NAME=... (exact) beats FABPLAN_VAR_NAME upper-cased by a pipeline.
		if _, seen := out[name]; seen && (exact[name] || name != k) {
			continue
		}
		out[name], exact[name] = vars[k], name == k
	}
	return out, nil
}

// configValues merges the environment file and the variable overrides, once per evaluation.
func (ev *evaluation) configValues(vars map[string]string) (map[string]any, string, error) {
	values := map[string]any{}
	source := "the configuration"
	if ev.opts.Env != "" {
		dir := ev.envDir()
		path := filepath.Join(dir, ev.opts.Env+".json")
		// An --env-dir outside the plan root is the user's choice; links inside it still may not
		// lead out of it.
		realDir, shownDir := ev.realRoot, ev.root
		if ev.opts.EnvDir != "" && !within(ev.realRoot, RealPath(dir)) {
			realDir, shownDir = RealPath(dir), dir
		}
		if err := CheckInside(realDir, shownDir, path); err != nil {
			return nil, "", &ruleError{RuleSymlink, err}
		}
		b, err := os.ReadFile(path)
		if err != nil {
			have := ""
			if envs := ev.environments(); len(envs) > 0 {
				have = " (this plan has " + strings.Join(envs, ", ") + ")"
			}
			return nil, "", fmt.Errorf("--env %s: cannot read %s; create it, or pass another --env%s or --env-dir",
				ev.opts.Env, path, have)
		}
		if line, col, msg, ok := CheckText(b); !ok {
			return nil, "", &ruleError{RuleText, fmt.Errorf("%s:%d:%d: %s", path, line, col, msg)}
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if err := dec.Decode(&values); err != nil {
			return nil, "", fmt.Errorf("%s: not a JSON object: %v", path, err)
		}
		if _, err := dec.Token(); err != io.EOF {
			line, col := lineCol(b, int(dec.InputOffset()))
			return nil, "", fmt.Errorf("%s:%d:%d: unexpected data after the JSON object; an environment file holds one object",
				path, line, col)
		}
		source = path
	}
	for k, v := range vars {
		if v == "" {
			continue // an empty FABPLAN_VAR_x is unset
		}
		values[k] = v
	}
	return values, source, nil
}

func compileSchema(path string, b []byte) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("schema %s is not JSON: %v", path, err)
	}
	abs, _ := filepath.Abs(path)
	id := "file://" + filepath.ToSlash(abs)
	c := jsonschema.NewCompiler()
	if err := c.AddResource(id, doc); err != nil {
		return nil, fmt.Errorf("schema %s: %v", path, err)
	}
	sch, err := c.Compile(id)
	if err != nil {
		return nil, fmt.Errorf("schema %s is not a valid JSON Schema: %v", path, err)
	}
	return sch, nil
}

// coerceVars turns --var strings into the JSON type the schema expects for that property, so
// that --var replicas=3 satisfies {"type": "integer"}.
func coerceVars(values map[string]any, vars map[string]string, sch *jsonschema.Schema) {
	for k, s := range vars {
		prop, ok := sch.Properties[k]
		if !ok || prop.Types == nil {
			continue
		}
		types := prop.Types.ToStrings()
		switch {
		case slices.Contains(types, "integer") || slices.Contains(types, "number"):
			if _, err := strconv.ParseFloat(s, 64); err == nil {
				values[k] = json.Number(s)
			}
		case slices.Contains(types, "boolean"):
			if b, err := strconv.ParseBool(s); err == nil {
				values[k] = b
			}
		}
	}
}

// violations lists every leaf failure as "/path: message".
func violations(ve *jsonschema.ValidationError) []string {
	p := message.NewPrinter(language.English)
	var out []string
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			loc := "/" + strings.Join(e.InstanceLocation, "/")
			out = append(out, "  "+loc+": "+e.ErrorKind.LocalizedString(p))
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	sort.Strings(out)
	return out
}

// toStarlark converts decoded JSON into frozen Starlark values: objects become structs.
func toStarlark(v any) starlark.Value {
	switch x := v.(type) {
	case nil:
		return starlark.None
	case bool:
		return starlark.Bool(x)
	case string:
		return starlark.String(x)
	case json.Number:
		if i, ok := new(big.Int).SetString(string(x), 10); ok {
			return starlark.MakeBigInt(i)
		}
		f, _ := x.Float64()
		return starlark.Float(f)
	case []any:
		l := make([]starlark.Value, len(x))
		for i, e := range x {
			l[i] = toStarlark(e)
		}
		list := starlark.NewList(l)
		list.Freeze()
		return list
	case map[string]any:
		d := starlark.StringDict{}
		for k, e := range x {
			d[k] = toStarlark(e)
		}
		s := starlarkstruct.FromStringDict(starlark.String("config"), d)
		s.Freeze()
		return s
	}
	return starlark.String(fmt.Sprint(v))
}
