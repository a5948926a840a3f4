package emulator

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// specEnv names a directory holding the official Fabric REST API specification (a copy of
// microsoft/fabric-rest-api-specs); without it the spec is looked for as shared/fabric-specs beside the
// repository or beside any directory above it (a worktree, a CI clone in another folder).
const specEnv = "FABPLAN_FABRIC_SPECS"

// findSpecDir locates the spec or says, in full, how to provide it.
func findSpecDir() (string, error) {
	has := func(d string) bool {
		_, err := os.Stat(filepath.Join(d, "platform", "swagger.json"))
		return err == nil
	}
	if d := os.Getenv(specEnv); d != "" {
		if !has(d) {
			return "", fmt.Errorf("%w: %s=%s has no platform/swagger.json", errNoSpec, specEnv, d)
		}
		return d, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if c := filepath.Join(d, "shared", "fabric-specs"); has(c) {
			return c, nil
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	return "", fmt.Errorf("%w: no shared/fabric-specs beside %s or any directory above it; put a copy of "+
		"microsoft/fabric-rest-api-specs there or set %s to one (the emulator's responses are checked against it)",
		errNoSpec, wd, specEnv)
}

const specBase = "https://fabric-specs.invalid/"

// specOp is one operation of one of the spec's swagger files (platform and the item types).
type specOp struct {
	file         string // the swagger file, relative to the spec directory
	method, path string
	re           *regexp.Regexp
	beta         bool // the operation is the ?beta=true variant
	params       int
	responses    map[string]bool // status codes (and "default") that have a schema
}

// specValidator validates response bodies against the schema the spec gives for their operation.
type specValidator struct {
	mu       sync.Mutex
	c        *jsonschema.Compiler
	ops      []*specOp
	compiled map[string]*jsonschema.Schema
	checked  map[*specOp]bool // operations a response body was validated for
}

// errNoSpec means the spec could not be found.
var errNoSpec = errors.New("no Fabric spec")

var (
	specOnce sync.Once
	specVal  *specValidator
	specErr  error
)

// loadSpec compiles the spec once per test binary.
func loadSpec() (*specValidator, error) {
	specOnce.Do(func() {
		dir, err := findSpecDir()
		if err != nil {
			specErr = err
			return
		}
		specVal, specErr = newSpecValidator(dir)
	})
	return specVal, specErr
}

func newSpecValidator(dir string) (*specValidator, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft4)
	c.UseRegexpEngine(lenientRegexp)
	var files []string
	seen := map[string]bool{}
	for _, pat := range []string{"*/swagger.json", "*/definitions.json", "platform/definitions/*.json", "common/*.json"} {
		m, _ := filepath.Glob(filepath.Join(dir, pat))
		for _, f := range m {
			if !seen[f] {
				seen[f] = true
				files = append(files, f)
			}
		}
	}
	swaggers := map[string]map[string]any{} // by path relative to dir
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		dropBadTypes(doc)
		rel, _ := filepath.Rel(dir, f)
		rel = filepath.ToSlash(rel)
		if err := c.AddResource(specBase+rel, doc); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		if strings.HasSuffix(f, "swagger.json") {
			swaggers[rel] = doc.(map[string]any)
		}
	}
	v := &specValidator{c: c, compiled: map[string]*jsonschema.Schema{}, checked: map[*specOp]bool{}}
	for file, swagger := range swaggers {
		paths, _ := swagger["paths"].(map[string]any)
		for p, item := range paths {
			// "?beta=true" paths are the preview variant of an operation, "?beta=false" the default one.
			key := p
			p, query, _ := strings.Cut(p, "?")
			beta := query == "beta=true"
			if query != "" && query != "beta=true" && query != "beta=false" {
				continue
			}
			params := strings.Count(p, "{")
			quoted := regexp.QuoteMeta(regexp.MustCompile(`\{[^}]+\}`).ReplaceAllString(p, "\x00"))
			re := regexp.MustCompile("^/v1" + strings.ReplaceAll(quoted, "\x00", `[^/]+`) + "$")
			for m, raw := range item.(map[string]any) {
				op, ok := raw.(map[string]any)
				if !ok {
					continue
				}
				so := &specOp{file: file, method: strings.ToUpper(m), path: key, beta: beta, re: re, params: params,
					responses: map[string]bool{}}
				for code, r := range op["responses"].(map[string]any) {
					if s, ok := r.(map[string]any)["schema"].(map[string]any); ok && s["type"] != "file" {
						so.responses[code] = true
					}
				}
				v.ops = append(v.ops, so)
			}
		}
	}
	sort.Slice(v.ops, func(i, j int) bool { return v.ops[i].params < v.ops[j].params })
	return v, nil
}

// dropBadTypes removes "type" keywords that name no JSON type (the spec writes "type": "OneLake" beside a
// $ref in places); the $ref says the same, and the metaschema check would refuse the whole file.
func dropBadTypes(v any) {
	switch x := v.(type) {
	case map[string]any:
		if t, ok := x["type"].(string); ok && !slices.Contains([]string{"array", "boolean", "integer", "null",
			"number", "object", "string", "file"}, t) {
			if _, isSchema := x["$ref"]; isSchema {
				delete(x, "type")
			}
		}
		for _, y := range x {
			dropBadTypes(y)
		}
	case []any:
		for _, y := range x {
			dropBadTypes(y)
		}
	}
}

// lenientRegexp compiles patterns with Go's regexp; a pattern Go cannot compile (the spec uses Perl
// lookaheads in places) matches everything rather than failing the whole schema.
func lenientRegexp(s string) (jsonschema.Regexp, error) {
	if re, err := regexp.Compile(s); err == nil {
		return re, nil
	}
	return anyString(s), nil
}

type anyString string

func (a anyString) String() string          { return string(a) }
func (a anyString) MatchString(string) bool { return true }

// find is the operation of a request target (path and query).
func (v *specValidator) find(method, target string) *specOp {
	path, query, _ := strings.Cut(target, "?")
	q, _ := url.ParseQuery(query)
	beta := strings.EqualFold(q.Get("beta"), "true")
	for _, op := range v.ops {
		if op.method == method && op.beta == beta && op.re.MatchString(path) {
			return op
		}
	}
	for _, op := range v.ops { // an operation that has no preview variant
		if op.method == method && op.re.MatchString(path) {
			return op
		}
	}
	return nil
}

func pointerEscape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// validate checks one response to a request target (path and query); it reports whether the spec has a
// schema for it and what does not conform ("" when all does).
func (v *specValidator) validate(method, target string, status int, body []byte) (bool, string) {
	path, _, _ := strings.Cut(target, "?")
	op := v.find(method, target)
	if op == nil {
		return false, ""
	}
	code := strconv.Itoa(status)
	if !op.responses[code] {
		if status < 300 || !op.responses["default"] {
			return false, ""
		}
		code = "default"
	}
	loc := specBase + op.file + "#/paths/" + pointerEscape(op.path) + "/" + strings.ToLower(op.method) + "/responses/" + code + "/schema"
	v.mu.Lock()
	sch, ok := v.compiled[loc]
	if !ok {
		var err error
		sch, err = v.c.Compile(loc)
		if err != nil {
			v.mu.Unlock()
			return true, fmt.Sprintf("compile %s: %v", loc, err)
		}
		v.compiled[loc] = sch
	}
	v.checked[op] = true
	v.mu.Unlock()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return true, fmt.Sprintf("%s %s -> %d: body is not JSON: %v", method, path, status, err)
	}
	if err := sch.Validate(doc); err != nil {
		return true, fmt.Sprintf("%s %s -> %d (%s %s): %v\nbody: %s", method, path, status, op.method, op.path, err, truncate(string(body), 600))
	}
	return true, ""
}

// schemaCheck is a transport that validates every Fabric JSON response body against the spec.
type schemaCheck struct {
	base      http.RoundTripper
	v         *specValidator
	mu        sync.Mutex
	validated int
	problems  []string
}

func (s *schemaCheck) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := s.base.RoundTrip(req)
	if err != nil || s.v == nil || !strings.HasPrefix(req.URL.Path, "/v1/") ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		return resp, err
	}
	body, rerr := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if rerr != nil || len(bytes.TrimSpace(body)) == 0 {
		return resp, err
	}
	checked, problem := s.v.validate(req.Method, req.URL.RequestURI(), resp.StatusCode, body)
	s.mu.Lock()
	if checked {
		s.validated++
	}
	if problem != "" {
		s.problems = append(s.problems, problem)
	}
	s.mu.Unlock()
	return resp, err
}

// checkedClient returns an HTTP client for the emulator whose responses are validated against the spec; the
// test fails at its end if any body does not conform, and at once when the spec cannot be found.
func checkedClient(t testing.TB, e *Emulator) *http.Client {
	t.Helper()
	hc := e.HTTPClient()
	v, err := loadSpec()
	if err != nil {
		t.Fatalf("loading the Fabric spec: %v", err)
	}
	sc := &schemaCheck{base: hc.Transport, v: v}
	hc.Transport = sc
	t.Cleanup(func() {
		sc.mu.Lock()
		defer sc.mu.Unlock()
		for _, p := range sc.problems {
			t.Errorf("response does not match the Fabric spec: %s", p)
		}
		t.Logf("validated %d response bodies against the Fabric spec", sc.validated)
	})
	return hc
}

func TestSpecValidatorCatchesBadBodies(t *testing.T) {
	v, err := loadSpec()
	if err != nil {
		t.Fatal(err)
	}
	if checked, p := v.validate("GET", "/v1/workspaces/"+DefaultCapacityID, 200, []byte(`{"id":"x"}`)); !checked || p == "" {
		t.Errorf("a workspace without displayName passed validation (checked=%v)", checked)
	}
	if checked, p := v.validate("GET", "/v1/workspaces/"+DefaultCapacityID, 404, []byte(`{"errorCode":"WorkspaceNotFound","message":"m"}`)); !checked || p != "" {
		t.Errorf("a valid error body failed: %s", p)
	}
	if _, p := v.validate("POST", "/v1/workspaces/"+DefaultCapacityID+"/items", 201, []byte(`{"type":"NotAType"}`)); p == "" {
		t.Errorf("an unknown item type passed validation")
	}
	var ops []string
	for _, op := range v.ops {
		ops = append(ops, op.method+" "+op.path)
	}
	if len(ops) < 50 {
		t.Errorf("only %d operations read from the spec", len(ops))
	}
}

// The spec check never skips: without the spec the tests fail and say where it was looked for.
func TestSpecDirIsFoundOrNamed(t *testing.T) {
	if d, err := findSpecDir(); err != nil || !strings.HasSuffix(filepath.ToSlash(d), "fabric-specs") {
		t.Fatalf("the spec beside the repository was not found: %q %v", d, err)
	}
	empty := t.TempDir()
	t.Setenv(specEnv, empty)
	if _, err := findSpecDir(); !errors.Is(err, errNoSpec) || !strings.Contains(err.Error(), empty) {
		t.Errorf("%s pointing at an empty directory: %v", specEnv, err)
	}
	t.Setenv(specEnv, "")
	t.Chdir(empty)
	if _, err := findSpecDir(); !errors.Is(err, errNoSpec) || !strings.Contains(err.Error(), specEnv) ||
		!strings.Contains(err.Error(), "shared/fabric-specs") {
		t.Errorf("no spec anywhere: %v", err)
	}
}

// wasChecked reports whether a response of the spec operation (method and path as the spec writes them) has
// been validated in this test binary.
func (v *specValidator) wasChecked(method, path string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	for op, ok := range v.checked {
		if ok && op.method == method && op.path == path {
			return true
		}
	}
	return false
}
