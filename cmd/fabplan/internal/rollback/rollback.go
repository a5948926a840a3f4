// Package rollback implements `fabplan rollback RUN`: undo a run that crashed, or one that
// committed, from its journal alone.
package rollback

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/fabplan/fabplan/builtins"
	"github.com/fabplan/fabplan/cmd/fabplan/internal/cli"
	"github.com/fabplan/fabplan/cmd/fabplan/internal/report"
	"github.com/fabplan/fabplan/cmd/fabplan/internal/runs"
	"github.com/fabplan/fabplan/cmd/fabplan/internal/view"
	"github.com/fabplan/fabplan/engine"
	"github.com/fabplan/fabplan/engine/journal"
	"github.com/fabplan/fabplan/state"
)

// Options are the flags of `fabplan rollback`.
type Options struct {
	F   *cli.Factory
	Run string
	Yes bool
	// PlanFile and Env narrow "last" to the runs of one plan and environment.
	PlanFile string
	Env      string
	EnvSet   bool
	// OtherIdentity lets an identity other than the run's roll it back (same endpoint and tenant).
	OtherIdentity bool
	DryRun        bool // show the rollback plan and stop
	Force         bool // undo objects changed since the run too
	AllowDestroy  bool // delete data-bearing items a committed run created
	Parallelism   int
	Deadline      time.Duration
	JSON          bool // --json: the outcome as JSON on stdout
}

// NewCmd builds the command.
func NewCmd(f *cli.Factory) *cobra.Command {
	opts := &Options{F: f}
	cmd := &cobra.Command{
		Use:   "rollback RUN",
		Short: "Undo a run from its journal",
		Long: `Undoes every change a run made from its journal, in reverse dependency order (independent undos
at once): a run that crashed (changes whose outcome is unknown are reconciled against live state), or a
committed one. RUN is a run id or "last": the last run of this target (Fabric endpoint and tenant),
narrowed by --plan-file and --env when the state directory holds runs of several plans or envs.

A rollback is a plan: it first reads the objects the run touched and shows what it will do. An object
changed since the run (live state differs from what the run left) is a conflict: listed and left alone
unless --force. Deleting a data-bearing item (Lakehouse, Warehouse, ...) a committed run created needs
--allow-destroy. --dry-run shows the plan and stops.

The run's journal must name the same Fabric endpoint, tenant and identity as now; another identity
may roll it back with --other-identity. A run made with --emulator is rolled back in the embedded
emulator, whose objects live beside the journals (emulator.json in the state directory): RUN given by
id is found there by itself; "last" needs --emulator. Asks for confirmation unless --yes is given; in CI (no terminal)
--yes is required.

Exit codes: 0 rolled back (or nothing to undo), 1 some changes could not be undone (each is listed with
its id) or the run was made against another target, 2 bad arguments or no confirmation.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Run = args[0]
			opts.EnvSet = cmd.Flags().Changed("env")
			if opts.Parallelism < 1 {
				return cli.Usagef(fmt.Errorf("--parallelism must be at least 1"))
			}
			return Run(cmd.Context(), opts)
		},
	}
	f.BindConnectionFlags(cmd.Flags())
	f.BindStateFlags(cmd.Flags())
	f.BindLockFlags(cmd.Flags())
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "do not ask for confirmation")
	cmd.Flags().StringVar(&opts.PlanFile, "plan-file", "", "with last: the last run of this plan `FILE`")
	cmd.Flags().StringVar(&opts.Env, "env", "", "with last: the last run of this environment")
	cmd.Flags().BoolVar(&opts.OtherIdentity, "other-identity", false, "roll back a run another identity made (same endpoint and tenant)")
	cmd.Flags().IntVar(&opts.Parallelism, "parallelism", engine.DefaultParallelism,
		"at most how many independent undos (and reads) are in flight at once (the throttle paces requests below this cap)")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "show what the rollback would do and change nothing")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "undo objects changed since the run too, throwing those changes away")
	cmd.Flags().BoolVar(&opts.AllowDestroy, "allow-destroy", false, "delete data-bearing items (Lakehouse, Warehouse, ...) the run created, and their data")
	cli.BindRollbackDeadline(cmd.Flags(), &opts.Deadline)
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the outcome as JSON on stdout (docs/run-report.md)")
	return cmd
}

// Run carries out the rollback.
func Run(ctx context.Context, opts *Options) error {
	f := opts.F
	f.UsePlan(opts.PlanFile)
	st, err := f.Store()
	if err != nil {
		return err
	}
	var env *string
	if opts.EnvSet {
		env = &opts.Env
	}
	// A run made against the embedded emulator can only be undone there: its journal says so.
	if !f.Emulator && opts.Run != "last" && madeInEmbedded(ctx, st, opts.Run) {
		fmt.Fprintf(f.IO.ErrOut, "run %s was made against the embedded emulator: rolling it back there (--emulator)\n",
			opts.Run)
		f.Emulator = true
	}
	client, err := f.Client()
	if err != nil {
		if !f.Emulator && opts.Run == "last" {
			if id, rerr := runs.Resolve(ctx, st, "last", runs.Filter{Plan: opts.PlanFile, Env: env}); rerr == nil &&
				madeInEmbedded(ctx, st, id) {
				return fmt.Errorf("%w\nhint: the last run, %s, was made against the embedded emulator: "+
					"fabplan rollback --emulator last", err, id)
			}
		}
		return err
	}
	target, err := f.Target(ctx, client)
	if err != nil {
		return err
	}
	flt := runs.Filter{Plan: opts.PlanFile, Env: env, Target: &target}
	id, err := runs.Resolve(ctx, st, opts.Run, flt)
	if err != nil {
		return err
	}
	recs, err := journal.Read(ctx, st, id)
	if err != nil {
		return err
	}
	sum := journal.Summarize(id, recs)
	if err := journal.CheckTarget(id, sum.Target, target, opts.OtherIdentity); err != nil {
		return err
	}
	// The run's estate is locked, as the run itself locked it: no run of that estate, and no other
	// rollback of it, goes on meanwhile. The journal is read again under the lock.
	runTarget := target
	if sum.Target != nil {
		runTarget = *sum.Target
	}
	_, unlock, err := f.LockEstate(ctx, cli.EstateKey(sum.Plan, sum.Env, runTarget), id, target)
	if err != nil {
		return err
	}
	defer unlock()
	j, recs, err := journal.Reopen(ctx, st, id)
	if err != nil {
		return err
	}
	defer j.Close()
	j.SetRedact(f.Redactor().Redact)
	sum = journal.Summarize(id, recs)
	nothing := func(format string, args ...any) error {
		if opts.JSON {
			return writeJSON(f.IO.Out, id, &report.Rollback{Outcome: "nothing_to_do", Failures: []report.RollbackFailure{}})
		}
		fmt.Fprintf(f.IO.Out, format, args...)
		return nil
	}
	switch {
	case sum.State == journal.StateRolledBack:
		return nothing("Run %s is already rolled back; nothing to do.\n", id)
	case sum.Interrupted:
		return nothing("Run %s ended before any change (%s); nothing to undo.\n", id, runs.Counts(sum))
	case sum.Left() == 0:
		return nothing("Run %s left nothing to undo (%s).\n", id, runs.Counts(sum))
	}
	rt, err := f.Runtime(ctx, client)
	if err != nil {
		return err
	}
	rp, err := engine.PlanRollback(ctx, recs, rt, builtins.PreviewRegistry(), opts.Parallelism, opts.Force)
	if err != nil {
		return fmt.Errorf("reading live state before rolling back run %s (nothing was changed): %w", id, err)
	}
	out := f.IO.Out
	if opts.JSON {
		out = f.IO.ErrOut // stdout carries the JSON outcome alone
	}
	showPlan(f, out, id, j.Path(), sum, rp, opts.Force)
	if opts.DryRun {
		return nil
	}
	if len(rp.Destroys) > 0 && !opts.AllowDestroy {
		return cli.Usagef(fmt.Errorf("the rollback would delete %d data-bearing item(s) that committed run %s created, with their data: %s; pass --allow-destroy if the data may go (nothing was changed)",
			len(rp.Destroys), id, joinAddrs(rp.Destroys)))
	}
	if err := confirm(f, id, sum, opts.Yes); err != nil {
		return err
	}
	leave := rp.Leave()
	if opts.Force {
		leave = nil
	}
	res := engine.Rollback(context.WithoutCancel(ctx), recs, rt, engine.RollbackOptions{
		Journal: j, Undo: builtins.UndoRegistry(), Observer: view.NewProgress(f.IO.ErrOut),
		Parallelism: opts.Parallelism, Deadline: opts.Deadline, By: &target, Leave: leave,
	})
	if opts.JSON {
		if err := writeJSON(f.IO.Out, id, report.RollbackOf(res)); err != nil {
			return err
		}
	}
	if !res.OK() {
		return fmt.Errorf("run %s, rollback attempt %d: %w", id, res.Attempt, res)
	}
	if opts.JSON {
		return nil
	}
	fmt.Fprintf(f.IO.Out, "Rolled back run %s: %s (%d change(s) undone, %d unfinished change(s) reconciled).\n",
		id, res.Status(), res.Undone, res.Reconciled)
	return nil
}

// madeInEmbedded reports whether the journal of run id names the embedded emulator as its target.
func madeInEmbedded(ctx context.Context, st state.Store, id string) bool {
	recs, err := journal.Read(ctx, st, id)
	if err != nil {
		return false // the rollback reports a missing or unreadable journal itself
	}
	sum := journal.Summarize(id, recs)
	return sum.Target != nil && sum.Target.Endpoint == cli.EmbeddedEndpoint
}

// showPlan prints what the rollback will do, through the plan renderer, and the conflicts.
func showPlan(f *cli.Factory, w io.Writer, id, journalPath string, sum journal.Summary, rp *engine.RollbackPlan,
	force bool) {
	fmt.Fprintf(f.IO.ErrOut, "rollback of run %s: journal %s\n", id, journalPath)
	fmt.Fprintf(w, "Rollback of a run of %s (%s, %s):\n", sum.Plan, sum.State, runs.Counts(sum))
	view.Plan(w, rp.Plan, view.PlanOptions{Styles: view.NewStyles(f.IO.Color)})
	if len(rp.Destroys) > 0 {
		fmt.Fprintf(w, "Deletes data-bearing items with their data (needs --allow-destroy): %s\n", joinAddrs(rp.Destroys))
	}
	if len(rp.Conflicts) == 0 {
		return
	}
	if force {
		fmt.Fprintln(w, "Changed since the run, undone anyway (--force):")
	} else {
		fmt.Fprintln(w, "Left alone:")
	}
	for _, c := range rp.Conflicts {
		fmt.Fprintf(w, "    %s (%s): %s\n", c.Addr, c.ID, c)
	}
}

// confirm asks on a terminal; without one, --yes is required.
func confirm(f *cli.Factory, id string, sum journal.Summary, yes bool) error {
	if yes {
		return nil
	}
	if !f.IO.Interactive {
		return cli.Usagef(fmt.Errorf("rollback of run %s (%s, %d change(s) to undo) needs confirmation: pass --yes", id, sum.State, sum.Left()))
	}
	if !f.IO.Confirm(fmt.Sprintf("Carry out this rollback of run %s? [y/N] ", id), "y", "yes") {
		return &cli.ExitCodeError{Code: cli.ExitUsage, Err: fmt.Errorf("rollback cancelled")}
	}
	return nil
}

func joinAddrs(as []engine.Addr) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = string(a)
	}
	return strings.Join(s, ", ")
}

// outcome is what `rollback --json` prints.
type outcome struct {
	SchemaVersion int    `json:"schemaVersion"`
	RunID         string `json:"runId"`
	*report.Rollback
}

func writeJSON(w io.Writer, runID string, rb *report.Rollback) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(outcome{SchemaVersion: report.SchemaVersion, RunID: runID, Rollback: rb})
}
