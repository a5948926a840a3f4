// Package run implements `fabplan run`: evaluate a plan, refresh live state, apply the changes,
// roll back on failure.
package run

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	"go.opentelemetry.io/otel/trace"

	"github.com/fabplan/fabplan/builtins"
	"github.com/fabplan/fabplan/cmd/fabplan/internal/cli"
	"github.com/fabplan/fabplan/cmd/fabplan/internal/login"
	cmdPlan "github.com/fabplan/fabplan/cmd/fabplan/internal/plan"
	"github.com/fabplan/fabplan/cmd/fabplan/internal/report"
	"github.com/fabplan/fabplan/cmd/fabplan/internal/view"
	"github.com/fabplan/fabplan/engine"
	"github.com/fabplan/fabplan/engine/journal"
	"github.com/fabplan/fabplan/fabric"
	"github.com/fabplan/fabplan/telemetry"
)

// Options are the flags of `fabplan run`.
type Options struct {
	F           *cli.Factory
	PlanFile    string
	Input       cli.PlanInput
	Parallelism int
	NoRollback  bool
	DryRun      bool     // --dry-run: show the plan, change nothing (fabplan plan)
	SavedPlan   string   // --plan FILE: apply exactly the plan saved by fabplan plan --out
	Targets     []string // --target ADDRESS
	// RollbackDeadline bounds the rollback of a failed run (--rollback-deadline).
	RollbackDeadline time.Duration
	// Limit, when set, narrows the refreshed plan before it is shown and applied (fabplan serve
	// --reconcile's policy makes the changes it does not allow no-ops).
	Limit   func(*engine.Plan)
	Report  string // --report FILE: the run report (JSON)
	Summary string // --summary FILE: append a Markdown summary (default $GITHUB_STEP_SUMMARY)
	JSON    bool   // --json: the run report on stdout instead of text
	// Yes applies without asking (--yes). Without it, an interactive run shows the plan and asks;
	// in CI or without a terminal it proceeds, as does a saved plan (it was reviewed when made).
	Yes bool
}

// NewCmd builds the command; runF replaces the run function in tests of the flags.
func NewCmd(f *cli.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{F: f}
	cmd := &cobra.Command{
		Use:   "run PLAN",
		Short: "Apply a plan to Fabric, rolling back on failure",
		Long: `Evaluates the Starlark plan, reads live state, and applies the difference in dependency order
with bounded parallelism. Every change is journalled under <state-dir>/runs/<run-id>/ before and after
it is made; if a change fails, the changes already made are rolled back in reverse order.

On a terminal, run shows the plan and applies it only if you answer "yes" (--yes skips the question).
In CI (CI or TF_BUILD set) or without a terminal it applies at once; so does --plan FILE, whose plan
was reviewed when it was saved. FABPLAN_PROMPT=always asks even without a terminal, never never asks.

Exit codes: 0 applied (or nothing to do), 1 a change or its rollback failed, 2 bad arguments, a plan
that does not evaluate, or an answer other than "yes".`,
		Example: `  fabplan run --emulator plans/demo.star                  # against the embedded emulator
  fabplan run plans/sales/estate.star --env prod          # against Fabric, identity from AZURE_* variables`,
		Args: cobra.RangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.PlanFile = args[0]
			}
			if err := checkPlanFlags(cmd, opts); err != nil {
				return err
			}
			if opts.DryRun {
				return cmdPlan.Run(cmd.Context(), &cmdPlan.Options{F: f, PlanFile: opts.PlanFile, Input: opts.Input,
					Parallelism: opts.Parallelism, Targets: opts.Targets})
			}
			if opts.Parallelism < 1 {
				return cli.Usagef(fmt.Errorf("--parallelism must be at least 1"))
			}
			if f.Getenv("FEATURE_USE_ROLLBACK") == "false" {
				opts.NoRollback = true
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return Run(cmd.Context(), opts)
		},
	}
	f.BindConnectionFlags(cmd.Flags())
	f.BindStateFlags(cmd.Flags())
	f.BindLockFlags(cmd.Flags())
	opts.Input.Bind(cmd.Flags())
	cmd.Flags().IntVar(&opts.Parallelism, "parallelism", engine.DefaultParallelism,
		"at most how many changes are in flight at once (the throttle paces requests below this cap)")
	cmd.Flags().BoolVar(&opts.NoRollback, "no-rollback", false, "leave a failed run's changes in place (env FEATURE_USE_ROLLBACK=false); undo later with fabplan rollback")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "show what would change and change nothing (as fabplan plan)")
	cmd.Flags().StringVar(&opts.SavedPlan, "plan", "", "apply exactly the plan saved in `FILE` by fabplan plan --out; refused if live state changed since")
	cmdPlan.BindTargets(cmd, &opts.Targets)
	cli.BindRollbackDeadline(cmd.Flags(), &opts.RollbackDeadline)
	cmd.Flags().StringVar(&opts.Report, "report", "", "write the run report (JSON, docs/run-report.md) to `FILE`")
	cmd.Flags().StringVar(&opts.Summary, "summary", "", "append a Markdown summary of the run to `FILE` (default $GITHUB_STEP_SUMMARY)")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the run report (JSON) on stdout; the plan text goes to stderr")
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "apply without asking (a terminal asks by default; CI never does)")
	return cmd
}

// checkPlanFlags checks how PLAN, --plan, --dry-run and --target combine: a saved plan fixes the
// plan file, its inputs and targets.
func checkPlanFlags(cmd *cobra.Command, opts *Options) error {
	if opts.SavedPlan == "" {
		if opts.PlanFile == "" {
			return cli.Usagef(fmt.Errorf("run takes a plan file (or --plan FILE saved by fabplan plan --out)"))
		}
		return nil
	}
	for _, name := range []string{"dry-run", "target", "env", "env-dir", "var"} {
		if cmd.Flags().Changed(name) {
			return cli.Usagef(fmt.Errorf("--plan applies a saved plan as it is; --%s cannot change it (make a new plan instead)", name))
		}
	}
	return nil
}

// Run carries out `fabplan run` inside the run's span, and writes its report and summary.
func Run(ctx context.Context, opts *Options) error {
	f := opts.F
	tel, err := f.Telemetry()
	if err != nil {
		return err
	}
	rep := report.New(f.Version, opts.PlanFile, time.Now())
	ctx, span := tel.StartRun(ctx, "", opts.PlanFile)
	if tid := trace.SpanContextFromContext(ctx).TraceID(); tid.IsValid() {
		rep.TraceID = tid.String()
	}
	var st runState
	err = run(ctx, opts, rep, span, &st)
	var stats fabric.Stats
	if st.client != nil {
		stats = st.client.Stats()
	}
	result := report.Result(st.changed, err)
	rep.Finish(result, err, stats, time.Now())
	span.End(ctx, result, err)
	return errors.Join(err, writeReports(opts, rep))
}

// runState is what Run learns from run for the report.
type runState struct {
	client  *fabric.Client
	changed bool
}

// writeReports writes --report, --json and the Markdown summary; a failure to write one is an
// error of the run too (a pipeline that asked for a report must not miss it silently).
func writeReports(opts *Options, rep *report.Report) error {
	f := opts.F
	redact := f.Redactor().Redact
	var errs []error
	if opts.Report != "" {
		errs = append(errs, rep.WriteFile(opts.Report, redact))
	}
	if opts.JSON {
		errs = append(errs, rep.WriteJSON(f.IO.Out, redact))
	}
	summary := opts.Summary
	if summary == "" {
		summary = f.Getenv("GITHUB_STEP_SUMMARY")
	}
	if summary != "" {
		errs = append(errs, rep.AppendMarkdown(summary, redact))
	}
	return errors.Join(errs...)
}

func run(ctx context.Context, opts *Options, rep *report.Report, span *telemetry.Run, st *runState) error {
	f := opts.F
	io := f.IO
	out := io.Out
	if opts.JSON {
		out = io.ErrOut // stdout carries the report alone
	}
	tel, _ := f.Telemetry()
	eo, err := opts.Input.EvalOptions(opts.PlanFile, os.Environ())
	if err != nil {
		return err
	}
	var saved *engine.Document
	if opts.SavedPlan != "" {
		if saved, err = cmdPlan.Load(opts.SavedPlan); err != nil {
			return err
		}
		if opts.PlanFile != "" && opts.PlanFile != saved.Source.File {
			return cli.Usagef(fmt.Errorf("--plan %s was made from %s, not %s", opts.SavedPlan, saved.Source.File, opts.PlanFile))
		}
		opts.PlanFile, eo = saved.Source.File, cmdPlan.EvalOptions(saved.Source)
		for _, t := range saved.Source.Targets {
			opts.Targets = append(opts.Targets, string(t))
		}
	}
	f.UsePlan(opts.PlanFile)
	src := cmdPlan.SourceOf(eo, opts.Targets)
	eo.Print = func(msg string) { f.Logger().Info("plan print", "msg", msg) }
	if err := f.Lookups(&eo); err != nil {
		return err
	}
	evalCtx, phase := tel.StartPhase(ctx, telemetry.SpanEvaluate)
	g, err := builtins.Evaluate(evalCtx, eo)
	telemetry.EndSpan(phase, err)
	if err != nil {
		return err
	}
	if g, err = cmdPlan.Target(g, src.Targets); err != nil {
		return err
	}
	client, err := f.Client()
	if err != nil {
		return err
	}
	st.client = client
	defer f.Close()
	// Steps that need a signed-in user fail here, before any change, when fabplan runs as an app.
	if err := login.RequireUser(ctx, f, g); err != nil {
		return err
	}

	target, err := f.Target(ctx, client)
	if err != nil {
		return err
	}
	store, err := f.Store()
	if err != nil {
		return err
	}
	runID := NewRunID(time.Now())
	ctx, unlock, err := f.LockEstate(ctx, cli.EstateKey(opts.PlanFile, eo.Env, target), runID, target)
	if err != nil {
		return err
	}
	defer unlock()

	// The journal begins before refresh, so that a run killed at any point is listed and
	// `rollback last` never skips it to undo an older run.
	j, err := journal.Start(ctx, store, runID, BeginRecord(ctx, opts.PlanFile, f.Version, eo, g, target))
	if err != nil {
		return err
	}
	defer j.Close()
	j.SetRedact(f.Redactor().Redact)
	rep.RunID, rep.Journal = runID, j.Path()
	span.SetRunID(runID)
	// Until Apply, nothing has changed: a failure ends the run with no change made.
	endEarly := func(err error) error {
		if jerr := j.Append(journal.Record{Type: journal.Failed, Error: err.Error(), Code: fabric.ErrorCode(err)}); jerr != nil {
			return errors.Join(err, jerr)
		}
		return err
	}

	rt, err := f.Runtime(ctx, client)
	if err != nil {
		return endEarly(err)
	}
	plan, err := engine.Refresh(ctx, g, rt, opts.Parallelism)
	if err != nil {
		return endEarly(err)
	}
	cmdPlan.Untargeted(plan, src.Targets)
	// Drift is what differs, whatever this run is allowed to change.
	tel.Drift(ctx, opts.PlanFile, report.DriftByAction(plan))
	if opts.Limit != nil {
		opts.Limit(plan)
	}
	rep.Planned(plan)
	if saved != nil {
		if err := saved.CheckCurrent(engine.NewDocument(plan, src, f.Version)); err != nil {
			return endEarly(err)
		}
	}
	if !plan.HasChanges() {
		view.Unmanaged(out, engine.NewDocument(plan, src, f.Version))
		view.NoChanges(out, opts.PlanFile)
		return j.Append(engine.CommitRecord(g, plan, rt))
	}
	view.Plan(out, plan, view.PlanOptions{Styles: view.NewStyles(io.Color)})
	if !opts.Yes && saved == nil && io.Interactive {
		if !io.Confirm("\nApply these changes? Only 'yes' is accepted: ", "yes") {
			return endEarly(&cli.ExitCodeError{Code: cli.ExitUsage, Err: errCancelled})
		}
	}
	st.changed = true
	fmt.Fprintf(io.ErrOut, "run %s: journal %s\n", runID, j.Path())

	progress := view.NewProgress(io.ErrOut)
	if io.Live {
		progress = view.NewLiveProgress(io.ErrOut, plan.Mutations())
	}
	err = engine.Apply(ctx, g, plan, rt, engine.ApplyOptions{
		Parallelism: opts.Parallelism,
		Journal:     j,
		Observer:    rep.Observe(progress),
		NoRollback:  opts.NoRollback,
		Undo:        builtins.UndoRegistry(),

		RollbackDeadline: opts.RollbackDeadline,
	})
	progress.Finish()
	view.Requests(io.ErrOut, client.Stats())
	if err != nil {
		var ae *engine.ApplyError
		if errors.As(err, &ae) {
			// What never started is part of the account: the plan is not half-known to have run.
			if recs, rerr := j.Records(context.WithoutCancel(ctx)); rerr == nil {
				if ns := engine.NotStarted(plan, recs); len(ns) > 0 {
					return fmt.Errorf("run %s failed (journal %s):\n%w\n%s", runID, j.Path(), err, view.NotStarted(ns))
				}
			}
			return fmt.Errorf("run %s failed (journal %s):\n%w", runID, j.Path(), err)
		}
		return err
	}
	// The summary counts what the journal says ran, not what the plan meant to do.
	recs, err := j.Records(context.WithoutCancel(ctx))
	if err != nil {
		return err
	}
	view.Summary(out, engine.Ran(recs))
	return nil
}

// errCancelled ends a run whose plan was not confirmed; nothing was changed.
var errCancelled = errors.New("apply cancelled: nothing was changed")

// NewRunID names a run: sortable by time, unique by a random suffix.
func NewRunID(now time.Time) string {
	b := make([]byte, 3)
	if _, err := rand.Read(b); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}
