package plan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fabplan/fabplan/builtins"
	"github.com/fabplan/fabplan/cmd/fabplan/internal/cli"
	"github.com/fabplan/fabplan/cmd/fabplan/internal/view"
	"github.com/fabplan/fabplan/engine"
)

// Options are the flags of `fabplan plan`.
type Options struct {
	F                *cli.Factory
	PlanFile         string
	Input            cli.PlanInput
	Parallelism      int
	DetailedExitCode bool
	Verbose          bool
	JSON             bool
	Out              string
	Summary          string // --summary FILE: append the plan as Markdown (default $GITHUB_STEP_SUMMARY)
	Targets          []string
}

// NewCmd builds the command.
func NewCmd(f *cli.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{F: f}
	cmd := &cobra.Command{
		Use:   "plan PLAN",
		Short: "Show what run would change, without changing anything",
		Long: `Evaluates the plan, reads live state and prints, per resource, what fabplan run would do:
+ create, ~ update in place, -/+ replace, - delete, <= read (lookups); with --verbose also the
resources that need no change. Item definitions are compared part by part after normalization and
shown as unified diffs. Items in the plan's workspaces that the plan does not declare are listed as
not managed. Nothing is changed: only reads are sent to Fabric.

--json prints the plan as a versioned JSON document (docs/plan-json.md) instead of text. --out FILE
saves that document; fabplan run --plan FILE applies exactly it, and refuses if live state changed
since. --summary FILE appends the plan as Markdown (a table of the changes and the text plan), for
a pull request comment; in GitHub Actions it goes to the job summary by default.

Exit codes: 0 success, 1 error, 2 bad arguments or a plan that does not evaluate.
With --detailed-exitcode: 0 no changes, 1 error (any, once the flags are parsed), 2 changes.`,
		Example: `  fabplan plan plans/sales/estate.star --env prod
  fabplan plan plans/sales/estate.star --env prod --out prod.plan.json && fabplan run --plan prod.plan.json
  fabplan plan plans/sales/estate.star --env prod --target workspace.sales --json
  fabplan plan --emulator plans/demo.star     # against the embedded emulator`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if len(args) != 1 {
				err = cli.Usagef(fmt.Errorf("plan takes one plan file, got %d arguments", len(args)))
			} else if opts.Parallelism < 1 {
				err = cli.Usagef(fmt.Errorf("--parallelism must be at least 1"))
			} else if opts.Out != "" && sameFile(opts.Out, args[0]) {
				err = cli.Usagef(fmt.Errorf("--out %s is the plan file itself; save the plan to another file", opts.Out))
			} else {
				opts.PlanFile = args[0]
				if runF != nil {
					err = runF(cmd.Context(), opts)
				} else {
					err = Run(cmd.Context(), opts)
				}
			}
			return detailedError(opts.DetailedExitCode, err)
		},
	}
	// A bad flag is an error like any other under --detailed-exitcode: exit 2 would tell CI
	// "changes". pflag stops at the first bad flag, so --detailed-exitcode may come after it:
	// the raw arguments say whether it was asked for.
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return detailedError(detailedRequested(os.Args[1:]), cli.Usagef(err))
	})
	f.BindConnectionFlags(cmd.Flags())
	// The state directory's journals say which objects fabplan created: only those are pruned.
	f.BindStateFlags(cmd.Flags())
	opts.Input.Bind(cmd.Flags())
	BindTargets(cmd, &opts.Targets)
	cmd.Flags().IntVar(&opts.Parallelism, "parallelism", engine.DefaultParallelism,
		"at most how many reads are in flight at once (the throttle paces requests below this cap)")
	cmd.Flags().BoolVar(&opts.DetailedExitCode, "detailed-exitcode", false, "exit 0 when the plan has no changes, 2 when it has, 1 on any error")
	cmd.Flags().BoolVarP(&opts.Verbose, "verbose", "v", false, "also show resources that need no change")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the plan as JSON (format: docs/plan-json.md)")
	cmd.Flags().StringVar(&opts.Out, "out", "", "save the plan to `FILE`, for fabplan run --plan FILE")
	cmd.Flags().StringVar(&opts.Summary, "summary", "", "append the plan as Markdown to `FILE`, e.g. for a pull request comment (default $GITHUB_STEP_SUMMARY)")
	return cmd
}

// BindTargets adds the repeatable --target flag.
func BindTargets(cmd *cobra.Command, targets *[]string) {
	cmd.Flags().StringArrayVar(targets, "target", nil, "only this resource and what it depends on, by `ADDRESS` as the plan prints it (repeatable)")
}

// sameFile reports whether two paths name the same existing file (--out must not overwrite the
// plan it is computed from).
func sameFile(a, b string) bool {
	sa, err := os.Stat(a)
	if err != nil {
		return false
	}
	sb, err := os.Stat(b)
	return err == nil && os.SameFile(sa, sb)
}

// detailedRequested reports whether args ask for --detailed-exitcode (before any "--").
func detailedRequested(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "--detailed-exitcode", "--detailed-exitcode=true", "--detailed-exitcode=1":
			return true
		}
	}
	return false
}

// detailedError maps every error to exit code 1 under --detailed-exitcode, where 2 means changes.
func detailedError(detailed bool, err error) error {
	var code *cli.ExitCodeError
	if !detailed || err == nil || errors.As(err, &code) {
		return err
	}
	return &cli.ExitCodeError{Code: cli.ExitError, Err: err}
}

// Run carries out `fabplan plan`.
func Run(ctx context.Context, opts *Options) error {
	f := opts.F
	f.UsePlan(opts.PlanFile)
	eo, err := opts.Input.EvalOptions(opts.PlanFile, os.Environ())
	if err != nil {
		return err
	}
	src := SourceOf(eo, opts.Targets)
	// Evaluate first: a plan that does not evaluate is reported without any credentials.
	g, err := Evaluate(ctx, src, f.Lookups)
	if err != nil {
		return err
	}
	client, err := f.Client()
	if err != nil {
		return err
	}
	defer f.Close()
	rt, err := f.Runtime(ctx, client)
	if err != nil {
		return err
	}
	res, err := Refresh(ctx, g, src, rt, opts.Parallelism)
	if err != nil {
		return err
	}
	doc := engine.NewDocument(res.Plan, src, f.Version)
	if opts.Out != "" {
		if err := Save(opts.Out, doc, f.Redactor().Redact); err != nil {
			return err
		}
	}
	if err := appendSummary(opts, doc); err != nil {
		return err
	}
	out := f.IO.Out
	switch {
	case opts.JSON:
		if err := doc.Write(out); err != nil {
			return err
		}
	case !doc.Summary.HasChanges && !opts.Verbose:
		view.Unmanaged(out, doc)
		view.NoChanges(out, opts.PlanFile)
	default:
		view.Document(out, doc, view.PlanOptions{Verbose: opts.Verbose, Styles: view.NewStyles(f.IO.Color)})
	}
	if opts.Out != "" && !opts.JSON {
		fmt.Fprintf(out, "Saved the plan to %s; apply exactly it with: fabplan run --plan %s\n", opts.Out, opts.Out)
	}
	if opts.DetailedExitCode && doc.Summary.HasChanges {
		return &cli.ExitCodeError{Code: cli.ExitChanges}
	}
	return nil
}

// appendSummary appends the plan as Markdown to --summary FILE or $GITHUB_STEP_SUMMARY, redacted.
func appendSummary(opts *Options, doc *engine.Document) error {
	path := opts.Summary
	if path == "" {
		path = opts.F.Getenv("GITHUB_STEP_SUMMARY")
	}
	if path == "" {
		return nil
	}
	var b bytes.Buffer
	view.PlanMarkdown(&b, doc)
	file, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("summary: %w", err)
	}
	if _, err := file.WriteString(opts.F.Redactor().Redact(b.String())); err != nil {
		file.Close()
		return fmt.Errorf("summary %s: %w", path, err)
	}
	return file.Close()
}

// SourceOf records what a plan is computed from.
func SourceOf(eo builtins.EvalOptions, targets []string) engine.Source {
	src := engine.Source{File: eo.File, Env: eo.Env, EnvDir: eo.EnvDir, Vars: eo.Vars}
	if len(src.Vars) == 0 {
		src.Vars = nil
	}
	for _, t := range targets {
		src.Targets = append(src.Targets, engine.Addr(t))
	}
	return src
}

// EvalOptions are the evaluation options that reproduce a source.
func EvalOptions(src engine.Source) builtins.EvalOptions {
	return builtins.EvalOptions{File: src.File, Env: src.Env, EnvDir: src.EnvDir, Vars: src.Vars}
}

// Result is a computed plan with the graph it applies to.
type Result struct {
	Graph *engine.Graph
	Plan  *engine.Plan
}

// Compute evaluates the source's plan file, keeps only its targets (and what they depend on) and
// refreshes live state into a plan.
//
// prepare, when given, completes the evaluation options first (the CLI's secret and principal
// resolvers: Factory.Lookups).
func Compute(ctx context.Context, src engine.Source, rt *engine.Runtime, parallelism int, prepare ...func(*builtins.EvalOptions) error) (*Result, error) {
	g, err := Evaluate(ctx, src, prepare...)
	if err != nil {
		return nil, err
	}
	return Refresh(ctx, g, src, rt, parallelism)
}

// Evaluate evaluates the source's plan file and keeps only its targets and what they depend on.
func Evaluate(ctx context.Context, src engine.Source, prepare ...func(*builtins.EvalOptions) error) (*engine.Graph, error) {
	eo := EvalOptions(src)
	for _, p := range prepare {
		if err := p(&eo); err != nil {
			return nil, err
		}
	}
	g, err := builtins.Evaluate(ctx, eo)
	if err != nil {
		return nil, err
	}
	return Target(g, src.Targets)
}

// Refresh reads live state for an evaluated graph into a plan.
func Refresh(ctx context.Context, g *engine.Graph, src engine.Source, rt *engine.Runtime, parallelism int) (*Result, error) {
	p, err := engine.Refresh(ctx, g, rt, parallelism)
	if err != nil {
		return nil, err
	}
	Untargeted(p, src.Targets)
	return &Result{Graph: g, Plan: p}, nil
}

// Untargeted keeps a --target plan to the targets and what they depend on: the deletes that prune
// finds in a targeted workspace are neither, so they are listed as not managed instead.
func Untargeted(p *engine.Plan, targets []engine.Addr) {
	if len(targets) == 0 {
		return
	}
	kept := p.Changes[:0]
	for _, c := range p.Changes {
		if c.Action == engine.Delete && !slices.Contains(targets, c.Addr) {
			u := engine.Unmanaged{Addr: c.Addr, Workspace: c.Addr.Root(), Kind: c.Kind, ID: c.ID, Reason: "prune deletes it, but not under --target"}
			for _, a := range c.Attrs {
				switch a.Name {
				case "type":
					u.Type = a.Old
				case "name":
					u.Name = a.Old
				}
			}
			p.Unmanaged = append(p.Unmanaged, u)
			continue
		}
		kept = append(kept, c)
	}
	p.Changes = kept
}

// Target keeps the targeted resources and their dependencies; no targets keeps the whole graph.
func Target(g *engine.Graph, targets []engine.Addr) (*engine.Graph, error) {
	if len(targets) == 0 {
		return g, nil
	}
	for _, t := range targets {
		if g.Declares(t) {
			continue
		}
		// A name with spaces is quoted in its address (workspace."Sales BI"); the shell drops
		// quotes that are not escaped, so the closest address is the likely intent.
		var addrs []string
		for _, r := range g.Resources() {
			addrs = append(addrs, string(r.Addr()))
		}
		msg := fmt.Sprintf("--target %s: the plan declares no such resource", t)
		if best := closestAddr(string(t), addrs); best != "" {
			msg += fmt.Sprintf(" (did you mean %s?)", best)
		}
		return nil, cli.Usagef(errors.New(msg))
	}
	sub, err := g.Subgraph(targets)
	if err != nil {
		return nil, cli.Usagef(err)
	}
	return sub, nil
}

// closestAddr suggests a declared address for one the plan does not declare. Addresses share
// long prefixes (workspace.sales/item.), so the edit distance is judged on what follows the
// shared prefix: workspace.nope suggests nothing, workspace.Sales BI suggests workspace."Sales BI".
func closestAddr(got string, addrs []string) string {
	best := builtins.Closest(got, addrs)
	if best == "" {
		return ""
	}
	n := 0
	for n < len(got) && n < len(best) && got[n] == best[n] {
		n++
	}
	if builtins.Closest(got[n:], []string{best[n:]}) == "" {
		return ""
	}
	return best
}

// Save writes a plan document to a file only its owner can read (it holds the plan's variables).
//
// The document never holds a secret (NewDocument leaves sensitive values out); redact scrubs the
// text once more anyway, as every other output is, so that no future field can leak one.
func Save(file string, d *engine.Document, redact func(string) string) error {
	var b strings.Builder
	if err := d.Write(&b); err != nil {
		return fmt.Errorf("--out %s: %w", file, err)
	}
	if err := os.WriteFile(file, []byte(redact(b.String())), 0o600); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	return nil
}

// Load reads a saved plan.
func Load(file string) (*engine.Document, error) {
	fh, err := os.Open(file)
	if err != nil {
		return nil, cli.Usagef(fmt.Errorf("--plan: %w", err))
	}
	defer fh.Close()
	d, err := engine.ReadDocument(fh)
	if err != nil {
		return nil, cli.Usagef(fmt.Errorf("--plan %s: %w", file, err))
	}
	return d, nil
}
