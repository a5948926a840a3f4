package lint

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"go.starlark.net/syntax"

	"github.com/fabplan/fabplan/builtins"
	"github.com/fabplan/fabplan/secrets"
)

// Options say what to lint.
type Options struct {
	// Paths are files and directories; directories are searched for *.star files (skipping
	// hidden directories and testdata). Empty means ".". Files they load are linted too.
	Paths []string
	// Root is the directory load() may not leave. Empty means the directory of each entry plan
	// (a file no other linted file loads), as `fabplan run` does.
	Root string
	// Disable lists check ids to skip entirely (an unknown id is a usage error).
	Disable []string
	// NoEval skips offline evaluation of entry plans (checks eval, eval-duplicate, eval-cycle),
	// leaving only the static checks. env-schema stays: it reads files, it does not evaluate.
	NoEval bool

	// sigs and eval replace the builtins package in tests; nil means builtins.Catalog() and
	// builtins.Evaluate.
	sigs *signatures
	eval evaluator
}

// unit is one Starlark file taking part in a lint run.
type unit struct {
	name     string // as shown in findings: the discovered path, or the loader's dir joined with the module
	abs      string
	src      []byte
	file     *syntax.File // nil when the file does not parse
	loads    []*loadRef
	loaded   bool   // some other file loads it
	root     string // absolute plan root
	linted   bool   // in the set of files checked (given, or loaded from inside the root)
	library  bool
	badLoads map[syntax.Position]bool // loads that failed (missing or escaping): their symbols are not "unused"
	escaped  bool                     // reached only through a symbolic link out of the plan root: not reported on
	findings []Finding
	supp     suppressions // the file's disable comments
}

type loadRef struct {
	pos      syntax.Position
	module   string
	name     string // the path as the loading file names it
	abs      string
	absolute bool  // an absolute path or a Bazel-style label: plans load by relative path only
	target   *unit // nil when the file does not exist
}

// linter is the state of one Run. Nothing in it outlives the call.
type linter struct {
	opts     Options
	checks   map[string]Check
	disabled map[string]bool
	sigs     *signatures
	eval     evaluator
	units    map[string]*unit // by absolute path
	order    []*unit          // in discovery order, then load order
	extra    []Finding        // from evaluation
}

// Run lints the plans named by opts and returns every finding that is neither disabled nor
// suppressed. The error is a *UsageError for a bad option or path (exit status 2); problems in
// the plans themselves are findings, never errors.
func Run(opts Options) (Report, error) {
	l := &linter{opts: opts, checks: map[string]Check{}, disabled: map[string]bool{}, units: map[string]*unit{}}
	for _, c := range Checks() {
		l.checks[c.ID] = c
	}
	for _, id := range opts.Disable {
		if _, ok := l.checks[id]; !ok {
			return Report{}, &UsageError{Msg: fmt.Sprintf("--disable: unknown check %q (docs/lint.md lists them)", id)}
		}
		l.disabled[id] = true
	}
	l.sigs = opts.sigs
	if l.sigs == nil {
		l.sigs = builtinSignatures()
	}
	l.eval = opts.eval
	if l.eval == nil {
		l.eval = builtinEvaluator
	}
	files, err := discover(opts.Paths)
	if err != nil {
		return Report{}, err
	}
	if err := l.gather(files); err != nil {
		return Report{}, err
	}
	l.assignRoots()
	l.checkCycles()
	l.perFile()
	if !opts.NoEval {
		l.evaluate()
	}
	return l.report(), nil
}

// gather reads and parses the given files and, transitively, every file they load.
func (l *linter) gather(files []string) error {
	queue := make([]*unit, 0, len(files))
	for _, name := range files {
		u, err := l.add(name)
		if err != nil {
			return &UsageError{Msg: err.Error()}
		}
		u.linted = true
		queue = append(queue, u)
	}
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		if u.file == nil {
			continue
		}
		for _, stmt := range u.file.Stmts {
			ld, ok := stmt.(*syntax.LoadStmt)
			if !ok {
				continue
			}
			module, _ := ld.Module.Value.(string)
			name := filepath.Join(filepath.Dir(u.name), filepath.FromSlash(module))
			ref := &loadRef{pos: ld.Module.TokenPos, module: module, name: name, abs: absPath(name)}
			if filepath.IsAbs(module) || strings.HasPrefix(module, "//") || strings.HasPrefix(module, "@") {
				ref.absolute = true
				ref.abs = module
				u.loads = append(u.loads, ref)
				continue
			}
			u.loads = append(u.loads, ref)
			if t, ok := l.units[ref.abs]; ok {
				ref.target = t
				t.loaded = true
				continue
			}
			info, err := os.Stat(name)
			if err != nil || info.IsDir() {
				continue
			}
			t, err := l.add(name)
			if err != nil {
				continue // unreadable: reported as load-missing
			}
			ref.target = t
			t.loaded = true
			queue = append(queue, t)
		}
	}
	return nil
}

func (l *linter) add(name string) (*unit, error) {
	abs := absPath(name)
	if u, ok := l.units[abs]; ok {
		return u, nil
	}
	src, err := os.ReadFile(name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: no such file", name)
		}
		return nil, err
	}
	u := &unit{name: name, abs: abs, src: src}
	l.units[abs] = u
	l.order = append(l.order, u)
	// The bytes are checked before the parser sees them: a NUL would end the file early.
	if line, col, msg, ok := builtins.CheckText(src); !ok {
		u.findings = append(u.findings, Finding{File: name, Line: line, Col: col, Check: CheckText, Message: msg})
		return u, nil
	}
	f, err := builtins.FileOptions.Parse(name, src, syntax.RetainComments)
	if err != nil {
		u.findings = append(u.findings, syntaxFindings(name, err)...)
	} else {
		u.file = f
	}
	return u, nil
}

func absPath(name string) string {
	if a, err := filepath.Abs(name); err == nil {
		return a
	}
	return filepath.Clean(name)
}

func syntaxFindings(name string, err error) []Finding {
	var se syntax.Error
	if errors.As(err, &se) {
		return []Finding{{File: name, Line: int(se.Pos.Line), Col: int(se.Pos.Col), Check: CheckSyntax, Message: se.Msg}}
	}
	return []Finding{{File: name, Line: 1, Col: 1, Check: CheckSyntax, Message: err.Error()}}
}

// assignRoots gives each file its plan root, reports loads that leave it or name missing
// files, and extends the linted set to the files loaded from inside the root.
func (l *linter) assignRoots() {
	var entries []*unit
	for _, u := range l.order {
		if !u.loaded {
			entries = append(entries, u)
		}
	}
	slices.SortFunc(entries, func(a, b *unit) int { return strings.Compare(a.name, b.name) })
	root := func(u *unit) string {
		if l.opts.Root != "" {
			return absPath(l.opts.Root)
		}
		return filepath.Dir(u.abs)
	}
	var walk func(u *unit, r string)
	walk = func(u *unit, r string) {
		if u.root != "" {
			return
		}
		u.root = r
		for _, ref := range u.loads {
			if ref.target != nil && within(r, ref.abs) {
				walk(ref.target, r)
			}
		}
	}
	for _, u := range entries {
		walk(u, root(u))
	}
	for _, u := range l.order { // only in load cycles that no entry plan reaches
		walk(u, root(u))
	}
	// The linted set grows along loads that stay inside the root.
	marked := map[*unit]bool{}
	var mark func(u *unit)
	mark = func(u *unit) {
		if marked[u] {
			return
		}
		marked[u] = true
		for _, ref := range u.loads {
			var linkErr error
			if !ref.absolute && within(u.root, ref.abs) && ref.target != nil {
				linkErr = builtins.CheckInside(builtins.RealPath(u.root), displayDir(u.root), ref.name)
			}
			if ref.absolute || !within(u.root, ref.abs) || ref.target == nil || linkErr != nil {
				if u.badLoads == nil {
					u.badLoads = map[syntax.Position]bool{}
				}
				u.badLoads[ref.pos] = true
			}
			switch {
			case linkErr != nil:
				u.findings = append(u.findings, Finding{File: u.name, Line: int(ref.pos.Line), Col: int(ref.pos.Col), Check: CheckSymlink,
					Message: fmt.Sprintf("load(%q): %v", ref.module, linkErr)})
				if !ref.target.linted {
					ref.target.escaped = true
				}
			case ref.absolute:
				u.findings = append(u.findings, Finding{File: u.name, Line: int(ref.pos.Line), Col: int(ref.pos.Col), Check: CheckLoadEscape,
					Message: fmt.Sprintf("load(%q): plans load files by a path relative to the loading file, such as \"lib/naming.star\"", ref.module)})
			case !within(u.root, ref.abs):
				u.findings = append(u.findings, Finding{File: u.name, Line: int(ref.pos.Line), Col: int(ref.pos.Col), Check: CheckLoadEscape,
					Message: fmt.Sprintf("load(%q) leaves the plan root %s; keep libraries under the root", ref.module, displayDir(u.root))})
			case ref.target == nil:
				u.findings = append(u.findings, Finding{File: u.name, Line: int(ref.pos.Line), Col: int(ref.pos.Col), Check: CheckLoadMissing,
					Message: fmt.Sprintf("load(%q): file not found (paths are relative to %s)", ref.module, displayDir(filepath.Dir(u.abs)))})
			default:
				ref.target.library = true
				ref.target.linted = true
				mark(ref.target)
			}
		}
	}
	for _, u := range l.order {
		if u.linted {
			mark(u)
		}
	}
}

func within(root, path string) bool {
	rel, err := filepath.Rel(root, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// displayDir shows a directory relative to the working directory when it can.
func displayDir(abs string) string {
	if wd, err := os.Getwd(); err == nil {
		if rel, err := filepath.Rel(wd, abs); err == nil && !strings.HasPrefix(rel, "..") {
			return rel
		}
	}
	return abs
}

// checkCycles reports each load cycle once, at the load that closes it.
func (l *linter) checkCycles() {
	const (
		white = iota
		grey
		black
	)
	color := map[*unit]int{}
	var stack []*unit
	var visit func(u *unit)
	visit = func(u *unit) {
		color[u] = grey
		stack = append(stack, u)
		for _, ref := range u.loads {
			t := ref.target
			if t == nil || !t.linted {
				continue
			}
			switch color[t] {
			case white:
				visit(t)
			case grey:
				i := slices.Index(stack, t)
				names := make([]string, 0, len(stack)-i+1)
				for _, s := range stack[i:] {
					names = append(names, s.name)
				}
				names = append(names, t.name)
				u.findings = append(u.findings, Finding{File: u.name, Line: int(ref.pos.Line), Col: int(ref.pos.Col), Check: CheckLoadCycle,
					Message: "load cycle: " + strings.Join(names, " -> ") + "; move what both need into a file that neither loads"})
			}
		}
		stack = stack[:len(stack)-1]
		color[u] = black
	}
	for _, u := range l.sorted() {
		if color[u] == white {
			visit(u)
		}
	}
}

func (l *linter) sorted() []*unit {
	var us []*unit
	for _, u := range l.order {
		if u.linted {
			us = append(us, u)
		}
	}
	slices.SortFunc(us, func(a, b *unit) int { return strings.Compare(a.name, b.name) })
	return us
}

// perFile runs the single-file checks, one file per worker.
func (l *linter) perFile() {
	us := l.sorted()
	parallel(len(us), func(i int) {
		u := us[i]
		if u.file == nil {
			return
		}
		u.findings = append(u.findings, l.checkFile(u)...)
		var bad []Finding
		u.supp, bad = collectSuppressions(u.file, u.src, l.known)
		u.findings = append(u.findings, bad...)
	})
}

// parallel calls fn(0) ... fn(n-1) on up to GOMAXPROCS goroutines and waits for them all.
func parallel(n int, fn func(i int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), max(n, 1)) {
		wg.Go(func() {
			for i := range next {
				fn(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// checkFile runs every single-file check. It reads only u and the linter's immutable tables.
func (l *linter) checkFile(u *unit) []Finding {
	var fs []Finding
	fs = append(fs, l.resolveFile(u)...)
	fs = append(fs, unusedLoads(u)...)
	fs = append(fs, l.signatureFindings(u)...)
	fs = append(fs, secretFindings(u, l.sigs)...)
	fs = append(fs, riskFindings(u, l.sigs, l.dataBearing)...)
	fs = append(fs, styleFindings(u)...)
	if !u.loaded {
		fs = append(fs, envSchemaFindings(u, l.sigs)...)
		fs = append(fs, dotenvFindings(u)...)
	}
	return fs
}

func (l *linter) known(id string) bool { _, ok := l.checks[id]; return ok }

// dataBearing reads the builtins' list, the one the engine enforces at deploy time.
func (l *linter) dataBearing(itemType string) bool { return builtins.DataBearing[itemType] }

// severity is the finding's own (style warnings carry theirs) or its check's.
func (l *linter) severity(f Finding) Severity {
	if f.Severity != 0 {
		return f.Severity
	}
	return l.checks[f.Check].Severity
}

// report filters, classifies and sorts the findings of every file.
func (l *linter) report() Report {
	var r Report
	supp := map[string]suppressions{}
	var all []Finding
	for _, u := range l.sorted() {
		r.Files = append(r.Files, u.name)
		all = append(all, u.findings...)
		supp[filepath.Clean(u.name)] = u.supp
	}
	for _, u := range l.order {
		if !u.linted && !u.escaped {
			all = append(all, u.findings...) // from evaluation of files outside the linted set
		}
	}
	all = append(all, l.extra...)
	for _, f := range all {
		if l.disabled[f.Check] || supp[filepath.Clean(f.File)].covers(f) {
			continue
		}
		f.Severity = l.severity(f)
		r.Findings = append(r.Findings, f)
	}
	r.Findings = sortFindings(r.Findings)
	return r
}

// dotenvFindings checks the .env file beside an entry plan the way fabplan run reads it (the
// values are never shown).
func dotenvFindings(u *unit) []Finding {
	path := filepath.Join(filepath.Dir(u.name), ".env")
	if _, err := os.Lstat(path); err != nil {
		return nil
	}
	_, err := secrets.ReadEnvFile(path)
	var ee *secrets.EnvFileError
	if !errors.As(err, &ee) {
		return nil
	}
	f := Finding{File: path, Line: max(ee.Line, 1), Col: 1, Check: CheckDotenv, Message: ee.Msg}
	switch ee.Kind {
	case secrets.EnvFileLink:
		f.Check, f.Message = CheckSymlink, path+" "+ee.Msg
	case secrets.EnvFileText:
		f.Check = CheckText
	}
	return []Finding{f}
}
