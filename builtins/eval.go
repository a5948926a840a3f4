package builtins

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
	"go.starlark.net/syntax"

	"github.com/fabplan/fabplan/engine"
	"github.com/fabplan/fabplan/secrets"
)

// FileOptions is the Starlark dialect of plans: sets and top-level if/for are allowed; while,
// recursion and global reassignment are not, so plans stay declarative.
var FileOptions = &syntax.FileOptions{Set: true, TopLevelControl: true}

// EvalOptions configure one evaluation.
type EvalOptions struct {
	File string // the plan
	Root string // load() and definitions may not escape it; default: the plan's directory
	// Env names an environment: env/<Env>.json beside the plan supplies config values.
	Env     string
	EnvDir  string            // default "env" beside the plan
	Vars    map[string]string // --var and FABPLAN_VAR_* overrides
	Offline bool              // lint: lookups and secrets are stubbed
	Secrets *secrets.Resolver // resolves secret() values for parameters that take them; nil = none (refused unless Offline)
	// Principals resolves principals given by name during refresh; nil = only ids are accepted.
	Principals *PrincipalResolver
	// Print receives print() output; nil drops it.
	Print func(msg string)
	// MaxSteps and Timeout bound evaluation; zero means the defaults.
	MaxSteps uint64
	Timeout  time.Duration
}

// builtin is one entry of the Starlark API.
type builtin interface {
	Spec() Spec
	// Interpret turns a checked call into a value, recording resources in the graph.
	Interpret(ev *evaluation, c *call) (starlark.Value, error)
}

// undoer is a builtin whose resources register undo operations.
type undoer interface {
	UndoOps() engine.UndoRegistry
}

// registry is the one list of builtins; everything else (globals, Catalog, undo ops) derives
// from it.
func registry() []builtin {
	return []builtin{
		workspaceBuiltin{}, capacityBuiltin{}, itemBuiltin{}, definitionBuiltin{}, folderBuiltin{},
		roleAssignmentBuiltin{}, configBuiltin{}, secretBuiltin{}, gitConnectionBuiltin{}, connectionBuiltin{},
		shortcutBuiltin{}, scheduleBuiltin{},
		lookupWorkspaceBuiltin{}, lookupItemBuiltin{}, lookupConnectionBuiltin{}, itemsFromDirBuiltin{}, replacementBuiltin{},

		principalBuiltin{kind: "user"}, principalBuiltin{kind: "group"}, principalBuiltin{kind: "service_principal"},
	}
}

// UndoRegistry returns every undo operation the builtins define.
func UndoRegistry() engine.UndoRegistry {
	reg := engine.UndoRegistry{}
	for _, b := range registry() {
		u, ok := b.(undoer)
		if !ok {
			continue
		}
		for op, fn := range u.UndoOps() {
			if _, dup := reg[op]; dup {
				panic("builtins: undo op registered twice: " + op)
			}
			reg[op] = fn
		}
	}
	return reg
}

// call is one checked builtin call.
type call struct {
	*args
	pos engine.Pos // the outermost frame in the entry plan: where errors point
	// site is the innermost frame: the file whose text holds the call, which relative paths
	// (fabric.definition) are resolved against.
	site engine.Pos
	th   *starlark.Thread // the calling thread: a builtin calling a plan's function uses it
}

// evaluation is the state of one plan evaluation, carried on the Starlark thread.
type evaluation struct {
	// ctx is the caller's, bounded by the evaluation timeout; blocking lookups take it.
	ctx      context.Context
	opts     EvalOptions
	root     string
	realRoot string // root with symbolic links resolved: every file read must be inside it
	entry    string
	graph    *engine.Graph
	diags    engine.Diagnostics
	// trace is the backtrace of the builtin call being interpreted, when it came through helper
	// functions; add records it with the resource.
	trace string
}

const threadKey = "fabplan.evaluation"

func evaluationOf(th *starlark.Thread) *evaluation {
	ev, _ := th.Local(threadKey).(*evaluation)
	return ev
}

// globals builds the predeclared names from the registry, refusing duplicates. A dotted name is
// a member of a module ("fabric.item"), possibly nested ("fabric.lookup.item").
func (ev *evaluation) globals() starlark.StringDict {
	type module struct {
		members map[string]starlark.Value
		subs    map[string]*module
	}
	newModule := func() *module { return &module{members: map[string]starlark.Value{}, subs: map[string]*module{}} }
	top := newModule()
	top.members["struct"] = starlark.NewBuiltin("struct", starlarkstruct.Make)
	for _, b := range registry() {
		spec := specOf(b)
		path := strings.Split(spec.Name, ".")
		m := top
		for _, p := range path[:len(path)-1] {
			if m.subs[p] == nil {
				m.subs[p] = newModule()
			}
			m = m.subs[p]
		}
		name := path[len(path)-1]
		if _, dup := m.members[name]; dup {
			panic("builtins: registered twice: " + spec.Name)
		}
		m.members[name] = ev.wrap(b)
	}
	var build func(name string, m *module) starlark.StringDict
	build = func(name string, m *module) starlark.StringDict {
		out := starlark.StringDict{}
		for k, v := range m.members {
			out[k] = v
		}
		for k, sub := range m.subs {
			if _, dup := out[k]; dup {
				panic("builtins: " + k + " is both a builtin and a module")
			}
			full := strings.TrimPrefix(name+"."+k, ".")
			out[k] = &starlarkstruct.Module{Name: full, Members: build(full, sub)}
		}
		return out
	}
	return build("", top)
}

// wrap is the one path every builtin call goes through: argument checking against the Spec and
// the call's position in the plan.
func (ev *evaluation) wrap(b builtin) *starlark.Builtin {
	spec := specOf(b)
	return starlark.NewBuiltin(spec.Name, func(th *starlark.Thread, _ *starlark.Builtin, positional starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		a, err := spec.bind(positional, kwargs)
		if err != nil {
			return nil, err
		}
		ev.trace = ""
		if th.CallStackDepth() > 2 || th.CallFrame(1).Pos.Filename() != ev.entry {
			ev.trace = strings.TrimRight(th.CallStack().String(), "\n")
		}
		return ev.interpret(b, &call{args: a, pos: ev.position(th), site: toPos(th.CallFrame(1).Pos), th: th})
	})
}

// interpret runs a checked call: its problems are recorded, the builtin interprets it, and its
// lifecycle options go with the resource. A builtin calling another for its own call (as
// fabric.items_from_dir declares items) comes through here too.
func (ev *evaluation) interpret(b builtin, c *call) (starlark.Value, error) {
	for _, msg := range c.problems {
		ev.diags = append(ev.diags, engine.Diagnostic{Pos: c.pos, Message: msg})
	}
	v, err := b.Interpret(ev, c)
	if err == nil {
		ev.recordLifecycle(c, v)
	}
	return v, err
}

// position is where a call appears: the outermost frame in the entry plan, so that a helper in a
// loaded file is reported at the line of the plan that called it.
func (ev *evaluation) position(th *starlark.Thread) engine.Pos {
	for _, fr := range th.CallStack() {
		if fr.Pos.Filename() == ev.entry {
			return toPos(fr.Pos)
		}
	}
	return toPos(th.CallFrame(1).Pos)
}

func toPos(p syntax.Position) engine.Pos {
	return engine.Pos{File: p.Filename(), Line: int(p.Line), Col: int(p.Col)}
}

func (ev *evaluation) add(r engine.Resource) {
	if d := ev.graph.Add(r); d != nil {
		ev.diags = append(ev.diags, *d)
		return
	}
	if ev.trace != "" {
		ev.graph.SetTrace(r.Addr(), ev.trace)
	}
}

// Evaluate runs a plan and returns the graph of resources it declares. It calls no API. Problems
// in the plan come back as engine.Diagnostics, each naming its file:line:col.
//
// ctx bounds the blocking calls evaluation makes (a secret a definition's replace reads from Key
// Vault): a cancelled ctx (Ctrl-C) or the evaluation timeout stops them and the plan's threads.
func Evaluate(ctx context.Context, opts EvalOptions) (*engine.Graph, error) {
	root := opts.Root
	if root == "" {
		root = filepath.Dir(opts.File)
	}
	ev := &evaluation{opts: opts, root: root, realRoot: RealPath(root), entry: opts.File, graph: engine.NewGraph()}
	src, err := ev.readInside(opts.File)
	if err != nil {
		var ee *escapeError
		if errors.As(err, &ee) {
			return nil, engine.Diagnostics{diag(engine.Pos{File: opts.File}, RuleSymlink, "%v", err)}
		}
		msg := fmt.Sprintf("cannot read the plan: %v", errors.Unwrap(err))
		if errors.Is(err, fs.ErrNotExist) {
			msg = "plan file does not exist; check the path"
		}
		return nil, engine.Diagnostics{{Pos: engine.Pos{File: opts.File}, Message: msg}}
	}
	if d := textDiagnostic(opts.File, src); d != nil {
		return nil, engine.Diagnostics{*d}
	}
	ev.graph.Files = []string{opts.File}
	predeclared := ev.globals()

	loader := newLoader(ev, predeclared)
	th := loader.thread(opts.File)
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	tooLong := fmt.Errorf("evaluation took longer than %s; plans must be quick to evaluate", timeout)
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, tooLong)
	defer cancel()
	ev.ctx = ctx
	stop := context.AfterFunc(ctx, func() { loader.cancel(context.Cause(ctx).Error()) })
	defer stop()

	_, err = starlark.ExecFileOptions(FileOptions, th, opts.File, src, predeclared)
	if err != nil {
		return nil, toDiagnostics(err, opts.File)
	}
	ev.graph.Files = append(ev.graph.Files, loader.files()...)
	// Every problem at once: those met during evaluation and those of the whole graph.
	ds := append(ev.diags, ev.graph.Validate()...)
	if ds = append(ds, checkNameCase(ev.graph)...); len(ds) > 0 {
		ds.Sort()
		return nil, ds
	}
	return ev.graph, nil
}

// toDiagnostics turns a Starlark error into positioned diagnostics.
func toDiagnostics(err error, file string) error {
	var ds engine.Diagnostics
	var synErr syntax.Error
	var resErrs resolve.ErrorList
	var evalErr *starlark.EvalError
	var loadErr *loadError
	switch {
	case errors.As(err, &loadErr):
		return loadErr.diag
	case errors.As(err, &synErr):
		ds = append(ds, engine.Diagnostic{Pos: toPos(synErr.Pos), Message: "syntax error: " + synErr.Msg})
	case errors.As(err, &resErrs):
		for _, e := range resErrs {
			ds = append(ds, engine.Diagnostic{Pos: toPos(e.Pos), Message: e.Msg})
		}
	case errors.As(err, &evalErr):
		if errors.As(evalErr.Unwrap(), &loadErr) {
			return loadErr.diag
		}
		var re *ruleError
		check := ""
		if errors.As(evalErr.Unwrap(), &re) {
			check = re.rule
		}
		pos := engine.Pos{File: file}
		for i := len(evalErr.CallStack) - 1; i >= 0; i-- {
			if fr := evalErr.CallStack[i]; fr.Pos.Filename() != "<builtin>" && fr.Pos.IsValid() {
				pos = toPos(fr.Pos)
				break
			}
		}
		msg := evalErr.Msg
		if len(evalErr.CallStack) > 2 {
			msg += "\n" + strings.TrimRight(evalErr.CallStack.String(), "\n")
		}
		ds = append(ds, engine.Diagnostic{Pos: pos, Message: msg, Check: check})
	default:
		return err
	}
	ds.Sort()
	return ds
}

// loader implements load(): paths relative to the loading file, never outside the plan root,
// each module evaluated once, cycles reported.
type loader struct {
	mu          sync.Mutex
	threads     []*starlark.Thread
	ev          *evaluation
	predeclared starlark.StringDict
	cache       map[string]*loadEntry
}

type loadEntry struct {
	globals starlark.StringDict
	err     error
	loading bool
}

type loadError struct{ diag engine.Diagnostics }

func (e *loadError) Error() string { return e.diag.Error() }

func newLoader(ev *evaluation, predeclared starlark.StringDict) *loader {
	return &loader{ev: ev, predeclared: predeclared, cache: map[string]*loadEntry{}}
}

func (l *loader) thread(name string) *starlark.Thread {
	th := &starlark.Thread{Name: name, Load: l.load}
	l.mu.Lock()
	l.threads = append(l.threads, th)
	l.mu.Unlock()
	th.SetLocal(threadKey, l.ev)
	steps := l.ev.opts.MaxSteps
	if steps == 0 {
		steps = 50_000_000
	}
	th.SetMaxExecutionSteps(steps)
	th.Print = func(_ *starlark.Thread, msg string) {
		if l.ev.opts.Print != nil {
			l.ev.opts.Print(msg)
		}
	}
	return th
}

// cancel stops every thread of the evaluation.
func (l *loader) cancel(reason string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, th := range l.threads {
		th.Cancel(reason)
	}
}

func (l *loader) files() []string {
	var out []string
	for f := range l.cache {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

func (l *loader) load(th *starlark.Thread, module string) (starlark.StringDict, error) {
	from := th.CallFrame(0).Pos
	path, err := l.ev.resolvePath(filepath.Dir(from.Filename()), module)
	if err != nil {
		return nil, &loadError{engine.Diagnostics{{Pos: toPos(from), Message: "load: " + err.Error()}}}
	}
	if e, ok := l.cache[path]; ok {
		if e.loading {
			return nil, &loadError{engine.Diagnostics{{Pos: toPos(from), Message: fmt.Sprintf("load: cycle: %s loads itself through %s", path, from.Filename())}}}
		}
		return e.globals, e.err
	}
	src, err := l.ev.readInside(path)
	var ee *escapeError
	switch {
	case errors.As(err, &ee):
		return nil, &loadError{engine.Diagnostics{diag(toPos(from), RuleSymlink, "load(%q): %v", module, err)}}
	case err != nil:
		return nil, &loadError{engine.Diagnostics{{Pos: toPos(from), Message: fmt.Sprintf("load: cannot read %s: %v", module, errors.Unwrap(err))}}}
	}
	if d := textDiagnostic(path, src); d != nil {
		return nil, &loadError{engine.Diagnostics{*d}}
	}
	e := &loadEntry{loading: true}
	l.cache[path] = e
	globals, err := starlark.ExecFileOptions(FileOptions, l.thread(path), path, src, l.predeclared)
	e.loading = false
	if err != nil {
		var le *loadError
		if errors.As(err, &le) {
			e.err = le
		} else {
			ds, ok := toDiagnostics(err, path).(engine.Diagnostics)
			if !ok {
				ds = engine.Diagnostics{{Pos: engine.Pos{File: path}, Message: err.Error()}}
			}
			e.err = &loadError{ds}
		}
		return nil, e.err
	}
	e.globals = globals
	return globals, nil
}

// textDiagnostic reports a plan or module that is not UTF-8 text without NUL bytes. It runs on
// the bytes before Starlark sees them, so that a NUL cannot end a plan early.
func textDiagnostic(file string, src []byte) *engine.Diagnostic {
	line, col, msg, ok := CheckText(src)
	if ok {
		return nil
	}
	d := diag(engine.Pos{File: file, Line: line, Col: col}, RuleText, "%s", msg)
	return &d
}

// ruleError is an error a builtin returns that breaks one of the Rules: its diagnostic carries
// the rule's id.
type ruleError struct {
	rule string
	err  error
}

func (e *ruleError) Error() string { return e.err.Error() }
func (e *ruleError) Unwrap() error { return e.err }

// resolvePath resolves a plan-relative path and refuses one that leaves the plan root.
func (ev *evaluation) resolvePath(dir, rel string) (string, error) {
	if filepath.IsAbs(rel) {
		return "", fmt.Errorf("%s: use a path relative to the plan", rel)
	}
	p := filepath.Join(dir, rel)
	absRoot, err := filepath.Abs(ev.root)
	if err != nil {
		return "", err
	}
	absP, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	if r, err := filepath.Rel(absRoot, absP); err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("%s is outside the plan root %s", rel, ev.root)
	}
	return p, nil
}
