package lint

import (
	"slices"

	"github.com/fabplan/fabplan/builtins"
)

// Check describes one check: the id used in output and in `# fabplan:disable=ID`, its severity,
// what it catches and how to fix it. docs/lint.md documents each one with an example, and a
// test keeps that page in step with this table.
type Check struct {
	ID       string
	Severity Severity
	Group    string // "core", "load", "signature", "secret", "risk", "eval", "fabric", "style"
	Summary  string // what it catches, one sentence
	Fix      string // what to do about it, one sentence
}

// Check ids. Style checks reuse buildtools' warning names (see styleWarnings).
const (
	CheckSyntax            = "syntax"
	CheckResolve           = "resolve"
	CheckLoadMissing       = "load-missing"
	CheckLoadEscape        = "load-escape"
	CheckLoadUnused        = "load-unused"
	CheckLoadCycle         = "load-cycle"
	CheckUnknownBuiltin    = "unknown-builtin"
	CheckUnknownArg        = "unknown-arg"
	CheckMissingArg        = "missing-arg"
	CheckOneOf             = "one-of"
	CheckArgType           = "arg-type"
	CheckArgEnum           = "arg-enum"
	CheckSecretLiteral     = "secret-literal"
	CheckSecretEntropy     = "secret-entropy"
	CheckGUIDLiteral       = "guid-literal"
	CheckPrune             = "prune"
	CheckAllowDestroy      = "allow-destroy"
	CheckDefinitionMissing = "definition-missing"
	CheckDefinitionParts   = "definition-parts"
	CheckEval              = "eval"
	CheckEvalDuplicate     = "eval-duplicate"
	CheckEvalCycle         = "eval-cycle"
	CheckEnvSchema         = "env-schema"
	CheckSuppressUnknown   = "suppress-unknown"
	CheckDotenv            = "dotenv"
	// CheckText is builtins.RuleText: lint applies it to the files it reads itself, too.
	CheckText = builtins.RuleText
	// CheckSymlink is builtins.RuleSymlink, which lint applies to load() statically.
	CheckSymlink = builtins.RuleSymlink
)

// styleWarnings are the buildtools warnings fabplan runs, with the severity it gives them. Each
// name must be in warn.AllWarnings (warn.FileWarnings calls os.Exit on an unknown name); a test
// checks that. Bazel-only warnings are left out; so are "load" (load-unused covers it with
// resolver bindings rather than names) and "redefined-variable" (the resolver already rejects
// reassigning a global in the plan dialect). The slice is new on each call.
func styleWarnings() []styleWarning {
	return []styleWarning{
		{"unused-variable", Warning, false, "A variable is assigned but never read.", "Remove it, or name it with a leading underscore if it must stay."},
		{"uninitialized", Error, false, "A variable may be read before it is assigned.", "Assign it on every path before use."},
		{"unreachable", Warning, false, "A statement follows return, break or continue and never runs.", "Delete the dead code."},
		{"no-effect", Warning, false, "An expression statement has no effect (for example a bare comparison or a string that is not a docstring).", "Delete it, or assign or call what was meant."},
		{"return-value", Warning, false, "A function returns a value on some paths and nothing on others.", "Return a value (or None explicitly) on every path."},
		{"print", Info, false, "print() in a plan writes to the run's output.", "Remove debugging prints before merging."},
		{"name-conventions", Warning, false, "A name breaks Starlark conventions (lower_snake_case variables and functions, UPPER_SNAKE_CASE constants).", "Rename it."},
		{"dict-concatenation", Warning, false, "Dictionaries are joined with + (not supported by Starlark).", "Use dict(a, **b) or d.update(...)."},
		{"string-iteration", Warning, false, "A string is iterated directly (not allowed in Starlark).", "Iterate over s.elems() or a list."},
		{"list-append", Info, false, "A list is extended with += [x].", "Use .append(x)."},
		{"integer-division", Warning, false, "/ is used on integers.", "Use // for integer division."},
		{"confusing-name", Warning, false, "A name is l, I or O, easily confused with 1 and 0.", "Use a descriptive name."},
		{"module-docstring", Info, true, "A library file (one loaded by others) has no module docstring.", "Start the file with a string literal that says what it provides."},
		{"function-docstring", Info, true, "A public function of a library file with a non-trivial body has no docstring.", "Add a docstring as the first statement of the function."},
	}
}

// styleWarning is one buildtools warning as fabplan runs it.
type styleWarning struct {
	Name     string
	Severity Severity
	Library  bool // only for files that other files load
	Summary  string
	Fix      string
}

// Checks returns every check, in documentation order. The slice is new on each call.
func Checks() []Check {
	cs := []Check{
		{CheckSyntax, Error, "core", "The file does not parse as Starlark (with sets and top-level if/for allowed).", "Fix the syntax at the reported position."},
		{CheckResolve, Error, "core", "A name is undefined, or used in a way the resolver rejects (global reassignment, load inside a function, ...).", "Define or load the name, or correct the spelling suggested."},
		{CheckSuppressUnknown, Warning, "core", "A # fabplan:disable= comment names a check that does not exist.", "Correct the id; docs/lint.md lists every check."},
		{CheckLoadMissing, Error, "load", "load() names a file that does not exist.", "Correct the path; it is relative to the file that contains the load."},
		{CheckLoadEscape, Error, "load", "load() names a file outside the plan root.", "Move the library under the plan root, or lint and run with a wider --root."},
		{CheckLoadUnused, Warning, "load", "A symbol imported by load() is never used.", "Remove it from the load statement."},
		{CheckLoadCycle, Error, "load", "Files load each other in a cycle.", "Move the shared definitions into a third file that both load."},
		{CheckUnknownBuiltin, Error, "signature", "A call names a fabplan builtin or module attribute that does not exist.", "Use the name suggested, or see docs/builtins.md."},
		{CheckUnknownArg, Error, "signature", "A builtin is called with a keyword argument it does not take.", "Use the parameter suggested, or remove the argument."},
		{CheckMissingArg, Error, "signature", "A builtin is called without a required argument.", "Pass the argument."},
		{CheckOneOf, Error, "signature", "A builtin needs exactly one of a group of arguments (for example upn or id) and got none or several.", "Pass exactly one of them."},
		{CheckArgType, Error, "signature", "A literal argument has the wrong type (for example a string where a bool is expected).", "Pass a value of the declared type."},
		{CheckArgEnum, Error, "signature", "A literal argument is not one of the values the parameter allows (role, item type, principal type, git provider, ...).", "Use one of the listed values; the closest is suggested."},
		{CheckSecretLiteral, Error, "secret", "A password, client secret, PAT, token or key is written as a literal instead of coming from secret().", "Store the value in Key Vault (or the environment) and pass secret(\"name\")."},
		{CheckSecretEntropy, Warning, "secret", "A string literal looks like a credential (long, random, no spaces).", "Move it to Key Vault and read it with secret(); suppress the line if it is not a secret."},
		{CheckDotenv, Error, "secret", "The .env file beside the plan does not parse (a line that is not KEY=VALUE, an unterminated quote).", "Fix the line reported; values stay out of the message."},
		{CheckGUIDLiteral, Warning, "secret", "A GUID literal is passed where a workspace, item, folder or capacity reference is expected.", "Pass the handle returned by the builtin that declares or looks up the resource."},
		{CheckPrune, Warning, "risk", "prune=True deletes the items fabplan created in the workspace that the plan no longer declares.", "Make sure the plan declares everything to keep, then suppress the line to confirm."},
		{CheckAllowDestroy, Warning, "risk", "A workspace has prune=True and allow_destroy=True, so a run deletes a data-bearing item (Lakehouse, Warehouse, Eventhouse, KQLDatabase, SQLDatabase) and its data once the plan stops declaring it.", "Drop allow_destroy unless that is intended; then suppress the line to confirm."},
		{CheckDefinitionMissing, Error, "risk", "An item definition folder does not exist.", "Correct the path; it is relative to the plan file."},
		{CheckDefinitionParts, Error, "risk", "An item definition folder lacks a part its item type requires (Report: definition.pbir and report.json or definition/; SemanticModel: definition.pbism and model.bim or definition/*.tmdl).", "Export the item again with all its parts."},
		{CheckEval, Error, "eval", "Evaluating the plan offline fails (a runtime error, a failed validation).", "Fix the error at the reported position."},
		{CheckEvalDuplicate, Error, "eval", "Two declarations name the same resource.", "Remove one, or give them different names."},
		{CheckEvalCycle, Error, "eval", "Resources depend on each other in a cycle.", "Break the cycle."},
		{CheckEnvSchema, Error, "eval", "A file env/<name>.json does not match the schema the plan passes to config(schema=...).", "Fix the value at the reported JSON path."},
	}
	// Fabric's rules: evaluation enforces them (before refresh), and lint reports what
	// evaluation finds under the rule's id. One table, builtins.Rules.
	for _, r := range builtins.Rules() {
		cs = append(cs, Check{r.ID, Error, "fabric", r.Summary, r.Fix})
	}
	for _, w := range styleWarnings() {
		cs = append(cs, Check{w.Name, w.Severity, "style", w.Summary, w.Fix})
	}
	return cs
}

// LookupCheck returns the check with the given id.
func LookupCheck(id string) (Check, bool) {
	cs := Checks()
	i := slices.IndexFunc(cs, func(c Check) bool { return c.ID == id })
	if i < 0 {
		return Check{}, false
	}
	return cs[i], true
}
