package builtins

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/fabplan/fabplan/engine"
)

// The checks of one definition part that need no item type: text, JSON, notebooks, leftover
// tokens. They run when fabric.definition reads the folder; the type's own rules run when the
// item that uses the definition is validated (validateItem).

// textExts are the extensions of parts that are text; others (images, archives) are sent as
// they are.
var textExts = map[string]bool{
	".py": true, ".sql": true, ".scala": true, ".r": true, ".json": true, ".ipynb": true, ".pbir": true,
	".pbism": true, ".bim": true, ".tmdl": true, ".platform": true, ".txt": true, ".md": true, ".yml": true,
	".yaml": true, ".xml": true, ".csv": true, ".kql": true, ".csl": true, ".dax": true, ".m": true, ".pq": true,
	".toml": true, ".ini": true, ".sh": true, ".js": true, ".html": true, ".css": true,
}

// jsonExts are the extensions of parts that are JSON documents.
var jsonExts = map[string]bool{".json": true, ".ipynb": true, ".pbir": true, ".pbism": true, ".bim": true, ".platform": true}

func partExt(rel string) string {
	base := path.Base(rel)
	if base == ".platform" {
		return ".platform"
	}
	return strings.ToLower(path.Ext(base))
}

// tokenPattern is a {{NAME}} placeholder, the form fabplan's examples and Fabric's Git exports
// use for values set per environment.
var tokenPattern = regexp.MustCompile(`\{\{\s*[A-Za-z_][A-Za-z0-9_.\-]*\s*\}\}`)

// lineCol turns a byte offset of b into a 1-based line and column (in characters).
func lineCol(b []byte, off int) (int, int) {
	off = min(max(off, 0), len(b))
	line := 1 + bytes.Count(b[:off], []byte("\n"))
	start := bytes.LastIndexByte(b[:off], '\n') + 1
	return line, 1 + len([]rune(string(b[start:off])))
}

// checkPart checks one part: shown is its path as reported, f what was read, data the bytes after
// replace, keep the tokens allowed to stay, at the fabric.definition call.
func (d *definitionValue) checkPart(shown string, f treeFile, data []byte, keep []string, at engine.Pos) []engine.Diagnostic {
	ext := partExt(f.rel)
	if !textExts[ext] {
		return nil
	}
	filePos := func(b []byte, off int) engine.Pos {
		l, c := lineCol(b, off)
		return engine.Pos{File: shown, Line: l, Col: c}
	}
	if line, col, msg, ok := CheckText(f.data); !ok {
		return []engine.Diagnostic{diag(engine.Pos{File: shown, Line: line, Col: col}, RuleText,
			"%s (a text part of the definition at %s)", msg, at)}
	}
	if _, _, msg, ok := CheckText(data); !ok {
		return []engine.Diagnostic{diag(at, RuleText, "fabric.definition: after replace, %s is not valid text: %s", shown, msg)}
	}
	var ds []engine.Diagnostic
	for _, loc := range tokenPattern.FindAllIndex(data, -1) {
		tok := string(data[loc[0]:loc[1]])
		if slices.Contains(keep, tok) || slices.ContainsFunc(d.refs, func(r refToken) bool { return string(r.token) == tok }) {
			continue
		}
		pos := filePos(data, loc[0])
		if i := bytes.Index(f.data, []byte(tok)); i >= 0 {
			pos = filePos(f.data, i)
		}
		ds = append(ds, diag(pos, RuleReplaceLeftover,
			"%s is left in the part after replace (definition at %s); add it to replace, or to keep_tokens if it is meant to stay", tok, at))
		break // one per part: the rest are usually the same mistake
	}
	if !jsonExts[ext] {
		return ds
	}
	rule := RuleDefinitionJSON
	if ext == ".platform" {
		rule = RuleDefinitionPlatform
	}
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		var origErr error
		if origErr = json.Unmarshal(f.data, new(any)); origErr != nil {
			return append(ds, diag(filePos(f.data, jsonOffset(origErr, len(f.data))), rule, "%s is not valid JSON: %s (definition at %s)",
				path.Base(f.rel), jsonReason(origErr), at))
		}
		if d.sensitive {
			return append(ds, diag(at, rule, "fabric.definition: after replace, %s is no longer valid JSON; check the replace values", shown))
		}
		line, _ := lineCol(data, jsonOffset(err, len(data)))
		return append(ds, diag(at, rule, "fabric.definition: after replace, %s is no longer valid JSON (%s at line %d); a replace value needs JSON escaping",
			shown, jsonReason(err), line))
	}
	switch ext {
	case ".platform":
		var pf struct {
			Metadata struct {
				Type string `json:"type"`
			} `json:"metadata"`
		}
		if err := json.Unmarshal(data, &pf); err != nil {
			return append(ds, diag(filePos(data, 0), rule, ".platform: %s (definition at %s); want {\"metadata\": {\"type\": ...}}", jsonReason(err), at))
		}
		d.platformType, d.platformFile = pf.Metadata.Type, shown
	case ".ipynb":
		if msg := notebookProblem(data); msg != "" {
			ds = append(ds, diag(filePos(data, 0), RuleDefinitionNotebook, "%s is not a Jupyter notebook: %s (definition at %s)", path.Base(f.rel), msg, at))
		}
	}
	return ds
}

// notebookProblem says why a JSON document is not an nbformat 4 notebook.
func notebookProblem(data []byte) string {
	var nb struct {
		NBFormat *int              `json:"nbformat"`
		Cells    *[]map[string]any `json:"cells"`
	}
	if err := json.Unmarshal(data, &nb); err != nil {
		return "want a JSON object with nbformat and cells"
	}
	switch {
	case nb.NBFormat == nil:
		return "no nbformat"
	case *nb.NBFormat < 4:
		return fmt.Sprintf("nbformat %d; Fabric reads nbformat 4", *nb.NBFormat)
	case nb.Cells == nil:
		return "no cells list"
	}
	for i, c := range *nb.Cells {
		if _, ok := c["cell_type"].(string); !ok {
			return fmt.Sprintf("cell %d has no cell_type", i)
		}
	}
	return ""
}

// jsonOffset is where a JSON error is, as a byte offset (the end of the input when unknown).
func jsonOffset(err error, n int) int {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return int(se.Offset) - 1
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return int(te.Offset) - 1
	}
	return n
}

func jsonReason(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return se.Error()
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// partRequestSize is what a part adds to a create or updateDefinition request: its payload in
// base64, its path and the JSON around them.
func partRequestSize(rel string, data []byte) int {
	return base64.StdEncoding.EncodedLen(len(data)) + len(rel) + len(`{"path":"","payload":"","payloadType":"InlineBase64"},`)
}
