package builtins

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/fabplan/fabplan/engine"
)

// Rule is one of Fabric's rules (or a rule about the files a plan reads) that evaluation
// enforces before anything is refreshed or changed. lint reports each under its ID, with the
// same messages, because lint evaluates plans with the same code; docs/lint.md cites each
// rule's source.
type Rule struct {
	ID      string
	Summary string // what it catches, one sentence
	Fix     string // what to do about it, one sentence
}

// Rule ids.
const (
	RuleSymlink             = "path-symlink"
	RuleText                = "text-encoding"
	RuleNameInvalid         = "name-invalid"
	RuleNameCase            = "name-case"
	RuleFolderDepth         = "folder-depth"
	RuleItemNotCreatable    = "item-not-creatable"
	RuleDefinitionParts     = "definition-parts" // also a static lint check: lint.CheckDefinitionParts
	RuleDefinitionUnsupport = "definition-unsupported"
	RuleDefinitionExclusive = "definition-exclusive"
	RuleDefinitionFormat    = "definition-format"
	RuleDefinitionPBIR      = "definition-pbir"
	RuleDefinitionPlatform  = "definition-platform"
	RuleDefinitionJSON      = "definition-json"
	RuleDefinitionNotebook  = "definition-notebook"
	RuleDefinitionSize      = "definition-size"
	RuleReplaceUnused       = "replace-unused"
	RuleReplaceLeftover     = "replace-leftover"
	RuleDefinitionRequired  = "definition-required"
)

// Rules lists the rules evaluation enforces, in documentation order (definition-parts is listed
// with lint's static checks, which find most of its cases without evaluating). The slice is new
// on each call.
func Rules() []Rule {
	return []Rule{
		{RuleSymlink, "A file the plan reads (a loaded module, a definition folder or part, a schema, an environment file) is a symbolic link that resolves outside the plan root.", "Copy the file into the plan root instead of linking to it."},
		{RuleText, "A plan, a loaded module, a definition's text part or an environment file is not valid UTF-8, or holds a NUL byte.", "Save the file as UTF-8 and remove the byte at the reported position."},
		{RuleNameInvalid, "A workspace, item or folder name, or a description, breaks Fabric's rules (empty, too long, control characters, characters the type does not allow, a reserved name).", "Rename it as the message says."},
		{RuleNameCase, "Two names differ only in case where Fabric compares them without regard to case (workspaces, items of one type in a workspace, folders under one parent).", "Give them names that differ in more than case, or declare the resource once."},
		{RuleFolderDepth, "Folders are nested more than 10 levels deep.", "Flatten the folder hierarchy to at most 10 levels."},
		{RuleItemNotCreatable, "The item type cannot be created through Fabric's API (Fabric makes it itself, or only the portal does).", "Remove the item; declare the item Fabric makes it from (a Lakehouse or Warehouse for its SQLEndpoint)."},
		{RuleDefinitionRequired, "An item type that Fabric creates only with a definition has none.", "Pass definition = fabric.definition(path = ...)."},
		{RuleDefinitionUnsupport, "A definition is given for an item type that takes none.", "Remove the definition argument."},
		{RuleDefinitionFormat, "A definition's format is not one its item type has (Report: PBIR-Legacy, PBIR; SemanticModel: TMDL, TMSL; Notebook: fabricGitSource, ipynb), or an ipynb notebook has no .ipynb part.", "Use one of the formats listed, or leave format out for the type's default."},
		{RuleDefinitionPBIR, "A Report's definition.pbir references its semantic model byPath, which the API rejects.", "Reference the semantic model byConnection in definition.pbir."},
		{RuleDefinitionExclusive, "A definition holds two formats that exclude each other (a SemanticModel with definition/*.tmdl and model.bim).", "Keep one format: delete model.bim or the definition/ folder."},
		{RuleDefinitionPlatform, "A definition's .platform file is not valid JSON, or names another item type.", "Fix the JSON at the reported position, or export the item again."},
		{RuleDefinitionJSON, "A JSON part of a definition (.json, .pbir, .pbism, .bim, .platform, .ipynb) does not parse, as written or after replace.", "Fix the JSON at the reported position, or the replace value that broke it."},
		{RuleDefinitionNotebook, "A .ipynb part is not a Jupyter notebook (a JSON object with nbformat 4 and a cells list).", "Export the notebook again in .ipynb form."},
		{RuleDefinitionSize, "A definition makes a request larger than Fabric accepts.", "Move large files (data, images) out of the definition folder."},
		{RuleReplaceUnused, "A replace key occurs in none of the definition's files.", "Correct the key, or remove it from replace."},
		{RuleReplaceLeftover, "A {{NAME}} token is left in a definition after replace.", "Add the token to replace, or list it in keep_tokens if it is meant to stay."},
	}
}

// Fabric's limits, with their sources in docs/lint.md.
const (
	maxWorkspaceName        = 256
	maxWorkspaceDescription = 4000
	maxItemName             = 256
	maxItemDescription      = 256
	maxFolderName           = 255
	maxFolderDepth          = 10
	maxLakehouseName        = 123
	// maxRequestBody is the largest request body fabplan sends (an item definition, base64 and
	// JSON included): Fabric answers RequestBodyTooLarge above it.
	maxRequestBody = 8 << 20
)

// reservedWorkspaceName is Fabric's reserved workspace name (compared without regard to case).
const reservedWorkspaceName = "Admin monitoring"

// folderForbidden are the characters folder names may not contain.
const folderForbidden = `~"#.&*:<>?/\{|}`

// reservedFolderNames may not be used as folder names (compared without regard to case).
var reservedFolderNames = []string{"$recycle.bin", "recycled", "recycler"}

// notCreatable are item types the API cannot create.
var notCreatable = map[string]string{
	"SQLEndpoint":       "Fabric creates a SQLEndpoint with each Lakehouse and Warehouse",
	"MirroredWarehouse": "Fabric creates a MirroredWarehouse with each mirrored database",
	"Dashboard":         "dashboards are made in the Power BI portal only",
}

// definitionFormats are the formats each item type's definition has (the first is the default).
var definitionFormats = map[string][]string{
	"Report":        {"PBIR-Legacy", "PBIR"},
	"SemanticModel": {"TMDL", "TMSL"},
	"Notebook":      {"fabricGitSource", "ipynb"},
}

// noDefinition are item types whose create request takes no definition.
var noDefinition = map[string]bool{"Warehouse": true, "MLModel": true, "MLExperiment": true}

// diag is a rule's diagnostic. Control characters and bytes that are not UTF-8 (which a bad
// name brings into the message through its address) are shown escaped, never sent to a terminal.
func diag(pos engine.Pos, rule, format string, args ...any) engine.Diagnostic {
	return engine.Diagnostic{Pos: pos, Check: rule, Message: printable(fmt.Sprintf(format, args...))}
}

// printable escapes control characters and invalid UTF-8 in s (rule messages are one line).
func printable(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unicode.IsControl(r):
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// checkChars refuses strings that are not UTF-8 or hold control characters. Descriptions may
// hold tabs and line breaks; names may not.
func checkChars(what, s string, multiline bool) string {
	if !utf8.ValidString(s) {
		return what + " is not valid UTF-8"
	}
	for i, r := range s {
		if unicode.IsControl(r) && !(multiline && (r == '\t' || r == '\n' || r == '\r')) {
			return fmt.Sprintf("%s holds the control character %U at byte %d", what, r, i)
		}
	}
	return ""
}

func tooLong(what, s string, limit int) string {
	if n := utf8.RuneCountInString(s); n > limit {
		return fmt.Sprintf("%s is %d characters long; Fabric allows at most %d", what, n, limit)
	}
	return ""
}

// nameProblems returns every broken rule of a name or description, as messages.
func nameProblems(checks ...string) []string {
	var out []string
	for _, c := range checks {
		if c != "" {
			out = append(out, c)
		}
	}
	return out
}

func workspaceNameProblems(name, description string) []string {
	p := nameProblems(checkChars("the workspace name", name, false), tooLong("the workspace name", name, maxWorkspaceName),
		checkChars("the workspace description", description, true),
		tooLong("the workspace description", description, maxWorkspaceDescription))
	if strings.EqualFold(strings.TrimSpace(name), reservedWorkspaceName) {
		p = append(p, fmt.Sprintf("%q is a reserved workspace name", reservedWorkspaceName))
	}
	if strings.TrimSpace(name) != name {
		p = append(p, "the workspace name starts or ends with white space; remove it")
	}
	return p
}

func itemNameProblems(typ, name, description string) []string {
	p := nameProblems(checkChars("the item name", name, false), tooLong("the item name", name, maxItemName),
		checkChars("the item description", description, true),
		tooLong("the item description", description, maxItemDescription))
	if strings.TrimSpace(name) != name {
		p = append(p, "the item name starts or ends with white space; remove it")
	}
	switch typ {
	case "Lakehouse":
		if !lakehouseName(name) {
			p = append(p, fmt.Sprintf("a Lakehouse name starts with a letter (A-Z, a-z) and holds only letters, digits and _, at most %d characters", maxLakehouseName))
		}
	case "Eventhouse", "KQLDatabase":
		if strings.IndexFunc(name, func(r rune) bool {
			return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' && r != '.' && r != '-'
		}) >= 0 {
			p = append(p, fmt.Sprintf("a %s name holds only letters, digits, _, . and -", typ))
		}
	}
	return p
}

func lakehouseName(s string) bool {
	if s == "" || len(s) > maxLakehouseName {
		return false
	}
	for i, r := range s {
		letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if !letter && (i == 0 || !(r >= '0' && r <= '9' || r == '_')) {
			return false
		}
	}
	return true
}

func folderNameProblems(name string) []string {
	p := nameProblems(checkChars("the folder name", name, false), tooLong("the folder name", name, maxFolderName))
	if strings.TrimSpace(name) != name {
		p = append(p, "the folder name starts or ends with white space")
	}
	if i := strings.IndexAny(name, folderForbidden); i >= 0 {
		p = append(p, fmt.Sprintf("the folder name holds %q; folder names may not hold any of %s", name[i], folderForbidden))
	}
	for _, r := range reservedFolderNames {
		if strings.EqualFold(name, r) {
			p = append(p, fmt.Sprintf("%q is a reserved folder name", name))
		}
	}
	return p
}

// nameKey is how Fabric compares display names: without regard to case.
func nameKey(parts ...string) string {
	return strings.ToLower(strings.Join(parts, "\x00"))
}

// checkNameCase reports names that differ only in case within their scope (the tenant for
// workspaces, a workspace and type for items, a parent folder for folders). Exact duplicates
// are the graph's to report (they have the same address).
func checkNameCase(g *engine.Graph) engine.Diagnostics {
	var ds engine.Diagnostics
	first := map[string]engine.Resource{}
	for _, r := range g.Resources() {
		var key, what, name string
		switch x := r.(type) {
		case *workspaceResource:
			key, what, name = nameKey("workspace", x.name), "workspace", x.name
		case *itemResource:
			key, what, name = nameKey("item", string(x.workspace), x.typ, x.name), x.typ, x.name
		case *folderResource:
			key, what, name = nameKey("folder", string(x.workspace), string(x.parent), x.name), "folder", x.name
		default:
			continue
		}
		prev, seen := first[key]
		if !seen {
			first[key] = r
			continue
		}
		if prev.Addr() == r.Addr() {
			continue
		}
		d := diag(r.Pos(), RuleNameCase, "%s: %s name %q differs only in case from %s, declared at %s; Fabric treats them as the same name",
			r.Addr(), what, name, prev.Addr(), prev.Pos())
		d.Related = prev.Pos()
		ds = append(ds, d)
	}
	return ds
}

// validateWorkspace applies the name rules to a workspace.
func validateWorkspace(r *workspaceResource) []engine.Diagnostic {
	var ds []engine.Diagnostic
	for _, p := range workspaceNameProblems(r.name, r.description) {
		ds = append(ds, diag(r.pos, RuleNameInvalid, "%s: %s", r.addr, p))
	}
	return ds
}

// validateFolder applies the name and depth rules to a folder.
func validateFolder(r *folderResource) []engine.Diagnostic {
	var ds []engine.Diagnostic
	for _, p := range folderNameProblems(r.name) {
		ds = append(ds, diag(r.pos, RuleNameInvalid, "%s: %s", r.addr, p))
	}
	if depth := strings.Count(r.path, "/") + 1; depth > maxFolderDepth {
		ds = append(ds, diag(r.pos, RuleFolderDepth, "%s is nested %d levels deep; Fabric allows at most %d", r.addr, depth, maxFolderDepth))
	}
	return ds
}

// validateItem applies the name, type and definition rules to an item.
func validateItem(r *itemResource) []engine.Diagnostic {
	var ds []engine.Diagnostic
	for _, p := range itemNameProblems(r.typ, r.name, r.description) {
		ds = append(ds, diag(r.pos, RuleNameInvalid, "%s: %s", r.addr, p))
	}
	if why, ok := notCreatable[r.typ]; ok {
		ds = append(ds, diag(r.pos, RuleItemNotCreatable, "%s: a %s cannot be created through Fabric's API (%s); remove it from the plan",
			r.addr, r.typ, why))
		return ds
	}
	d := r.definition
	switch {
	case d == nil && definitionRequired[r.typ]:
		ds = append(ds, diag(r.pos, RuleDefinitionRequired, "%s: a %s cannot be created without a definition; pass definition=fabric.definition(...)", r.addr, r.typ))
	case d == nil:
	case noDefinition[r.typ]:
		ds = append(ds, diag(r.pos, RuleDefinitionUnsupport, "%s: a %s takes no definition; remove definition=", r.addr, r.typ))
	default:
		if missing := d.missingParts(r.typ); len(missing) > 0 {
			ds = append(ds, diag(r.pos, RuleDefinitionParts, "%s: definition %s lacks required parts: %s", r.addr, d.path, strings.Join(missing, "; ")))
		}
		if formats, ok := definitionFormats[r.typ]; ok && d.format != "" && !slices.Contains(formats, d.format) {
			ds = append(ds, diag(r.pos, RuleDefinitionFormat, "%s: a %s definition has format %s, not %q%s",
				r.addr, r.typ, strings.Join(formats, " or "), d.format, suggest(d.format, formats)))
		}
		if r.typ == "Notebook" && d.format == "ipynb" && !d.hasPart("*.ipynb") {
			ds = append(ds, diag(r.pos, RuleDefinitionFormat, "%s: format ipynb needs a notebook-content.ipynb part, and %s has none", r.addr, d.path))
		}
		if r.typ == "Report" {
			ds = append(ds, d.checkPBIR(r)...)
		}
		if r.typ == "SemanticModel" && d.hasPart("model.bim") && d.hasPart("definition/*.tmdl") {
			ds = append(ds, diag(r.pos, RuleDefinitionExclusive,
				"%s: definition %s holds both model.bim (TMSL) and definition/*.tmdl (TMDL); a semantic model has one format: delete one of them", r.addr, d.path))
		}
		if d.platformType != "" && d.platformType != r.typ {
			ds = append(ds, diag(r.pos, RuleDefinitionPlatform, "%s: %s says the item is a %s, but the plan declares a %s; export the item again or correct the type",
				r.addr, d.platformFile, d.platformType, r.typ))
		}
	}
	return ds
}

// checkPBIR refuses a definition.pbir that references its semantic model byPath: the API takes
// byConnection only.
func (d *definitionValue) checkPBIR(r *itemResource) []engine.Diagnostic {
	for _, p := range d.parts {
		if p.Path != "definition.pbir" {
			continue
		}
		var pbir struct {
			DatasetReference map[string]json.RawMessage `json:"datasetReference"`
		}
		if json.Unmarshal(p.Payload, &pbir) != nil {
			return nil // definition-json reports it
		}
		if _, byPath := pbir.DatasetReference["byPath"]; byPath {
			line, col := lineCol(p.Payload, bytes.Index(p.Payload, []byte(`"byPath"`)))
			return []engine.Diagnostic{diag(engine.Pos{File: filepath.Join(d.path, "definition.pbir"), Line: line, Col: col}, RuleDefinitionPBIR,
				"%s: definition.pbir references its semantic model byPath, which Fabric's API rejects; reference it byConnection (item at %s)",
				r.addr, r.pos)}
		}
	}
	return nil
}
