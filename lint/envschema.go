package lint

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.starlark.net/syntax"

	"github.com/fabplan/fabplan/builtins"
)

// configBuiltin is the builtin whose schema argument describes env/<name>.json.
const configBuiltin = "config"

// envSchemaFindings validates every env/*.json beside an entry plan against the JSON Schema file
// the plan passes to config(schema = "...") (relative to the plan), reporting each violation at
// the JSON value concerned. Evaluation checks the same, one environment at a time and at the
// config() call; this finds them all, where they are. A schema path computed at run time is
// left to evaluation.
func envSchemaFindings(u *unit, sigs *signatures) []Finding {
	var out []Finding
	values := assignedValues(u.file)
	dir := filepath.Dir(u.name)
	sigs.walkBuiltinCalls(u.file, configBuiltin, func(_ *syntax.CallExpr, a callArgs) {
		arg, ok := a.arg("schema")
		if !ok {
			return
		}
		if id, isID := arg.(*syntax.Ident); isID && values[id.Binding] != nil {
			arg = values[id.Binding]
		}
		schemaPath, _ := stringLit(arg)
		schemaDoc, where, err := schemaOf(arg, dir)
		if err != nil {
			out = append(out, u.finding(arg, CheckEnvSchema, err.Error()))
			return
		}
		if schemaDoc == nil {
			return // not a literal: evaluation checks it
		}
		sch, err := compileSchema(schemaDoc, where)
		if err != nil {
			out = append(out, u.finding(arg, CheckEnvSchema, fmt.Sprintf("the config schema does not compile: %v", err)))
			return
		}
		for _, env := range envNames(dir) {
			out = append(out, validateEnvFile(filepath.Join(dir, "env", env+".json"), filepath.Join(dir, filepath.FromSlash(schemaPath)), sch)...)
		}
	})
	return out
}

// schemaOf reads the schema file a literal path names (relative to the plan, as config()
// resolves it); nil when the argument is not a literal.
func schemaOf(arg syntax.Expr, dir string) (any, string, error) {
	rel, ok := stringLit(arg)
	if !ok {
		return nil, "", nil
	}
	path := filepath.Join(dir, filepath.FromSlash(rel))
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("config schema %s cannot be read: %v", path, errors.Unwrap(err))
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return nil, "", fmt.Errorf("config schema %s is not JSON: %v", path, err)
	}
	abs, _ := filepath.Abs(path)
	return doc, "file://" + filepath.ToSlash(abs), nil
}

func compileSchema(doc any, url string) (*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	if err := c.AddResource(url, doc); err != nil {
		return nil, err
	}
	return c.Compile(url)
}

// validateEnvFile reports each way an environment file breaks the schema, at the JSON value
// concerned.
func validateEnvFile(path, schemaPath string, sch *jsonschema.Schema) []Finding {
	src, err := os.ReadFile(path)
	if err != nil {
		return []Finding{{File: path, Line: 1, Col: 1, Check: CheckEnvSchema, Message: err.Error()}}
	}
	if line, col, msg, ok := builtins.CheckText(src); !ok {
		return []Finding{{File: path, Line: line, Col: col, Check: CheckText, Message: msg}}
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(src))
	if err != nil {
		line, col := 1, 1
		var se *json.SyntaxError
		switch {
		case errors.As(err, &se):
			line, col = offsetPos(src, int(se.Offset))
		case errors.Is(err, io.ErrUnexpectedEOF):
			line, col = offsetPos(src, len(src))
		}
		return []Finding{{File: path, Line: line, Col: col, Check: CheckEnvSchema, Message: "not valid JSON: " + err.Error()}}
	}
	err = sch.Validate(inst)
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return nil
	}
	var out []Finding
	for _, unit := range ve.BasicOutput().Errors {
		if unit.Error == nil || len(unit.Errors) > 0 {
			continue
		}
		msg := unit.Error.String()
		if strings.HasPrefix(msg, "validation failed") {
			continue
		}
		ptr := unit.InstanceLocation
		line, col := jsonPointerPos(src, ptr)
		if ptr == "" {
			ptr = "/"
		}
		out = append(out, Finding{File: path, Line: line, Col: col, Check: CheckEnvSchema,
			Message: fmt.Sprintf("%s: %s (schema %s)", ptr, msg, schemaPath)})
	}
	return out
}

// jsonPointerPos finds the line and column of the value at a JSON pointer ("/a/0/b") in src;
// 1:1 when it cannot (the root, or a value that is missing).
func jsonPointerPos(src []byte, ptr string) (int, int) {
	if ptr == "" {
		return 1, 1
	}
	var want []string
	for tok := range strings.SplitSeq(strings.TrimPrefix(ptr, "/"), "/") {
		want = append(want, strings.NewReplacer("~1", "/", "~0", "~").Replace(tok))
	}
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.UseNumber()
	// skip reads one whole value.
	skip := func() error {
		depth := 0
		for {
			tok, err := dec.Token()
			if err != nil {
				return err
			}
			if d, ok := tok.(json.Delim); ok {
				if d == '{' || d == '[' {
					depth++
				} else {
					depth--
				}
			}
			if depth == 0 {
				return nil
			}
		}
	}
	// find descends along want only, so the depth is the position in the path.
	var find func(depth int) (int, bool)
	find = func(depth int) (int, bool) {
		if depth == len(want) {
			return valueStart(src, int(dec.InputOffset())), true
		}
		tok, err := dec.Token()
		if err != nil {
			return 0, false
		}
		d, ok := tok.(json.Delim)
		if !ok {
			return 0, false
		}
		for i := 0; dec.More(); i++ {
			key := strconv.Itoa(i)
			if d == '{' {
				kt, err := dec.Token()
				if err != nil {
					return 0, false
				}
				key, _ = kt.(string)
			}
			if key == want[depth] {
				return find(depth + 1)
			}
			if skip() != nil {
				return 0, false
			}
		}
		return 0, false
	}
	if off, ok := find(0); ok {
		return offsetPos(src, off)
	}
	return 1, 1
}

// valueStart skips the separators and blanks json.Decoder leaves before a value.
func valueStart(src []byte, off int) int {
	for off < len(src) && strings.IndexByte(" \t\r\n:,", src[off]) >= 0 {
		off++
	}
	return off
}

// offsetPos converts a byte offset to a 1-based line and rune column.
func offsetPos(src []byte, off int) (int, int) {
	off = min(max(off, 0), len(src))
	before := src[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	start := bytes.LastIndexByte(before, '\n') + 1
	return line, len([]rune(string(before[start:]))) + 1
}
