// Package rollback implements `fabplan rollback RUN`: undo a run that crashed, or one that
// committed, from its journal alone.
package rollback

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/fabplan/fabplan/builtins"
	"github.com/fabplan/fabplan/cmd/fabplan/internal/cli"
	"github.com/fabplan/fabplan/cmd/fabplan/internal/runs"
	"github.com/fabplan/fabplan/cmd/fabplan/internal/view"
	"github.com/fabplan/fabplan/engine"
	"github.com/fabplan/fabplan/engine/journal"
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
	Parallelism   int
	Deadline      time.Duration
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

The run's journal must name the same Fabric endpoint, tenant and identity as now; another identity
may roll it back with --other-identity. Asks for confirmation unless --yes is given; in CI (no terminal)
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
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "do not ask for confirmation")
	cmd.Flags().StringVar(&opts.PlanFile, "plan-file", "", "with last: the last run of this plan `FILE`")
	cmd.Flags().StringVar(&opts.Env, "env", "", "with last: the last run of this environment")
	cmd.Flags().BoolVar(&opts.OtherIdentity, "other-identity", false, "roll back a run another identity made (same endpoint and tenant)")
	cmd.Flags().IntVar(&opts.Parallelism, "parallelism", 4, "how many independent undos run at once")
	cli.BindRollbackDeadline(cmd.Flags(), &opts.Deadline)
	return cmd
}

// Run carries out the rollback.
func Run(ctx context.Context, opts *Options) error {
	f := opts.F
	unlock, err := journal.Lock(f.State())
	if err != nil {
		return err
	}
	defer unlock()
	client, err := f.Client()
	if err != nil {
		return err
	}
	target, err := f.Target(ctx, client)
	if err != nil {
		return err
	}
	flt := runs.Filter{Plan: opts.PlanFile, Target: &target}
	if opts.EnvSet {
		flt.Env = &opts.Env
	}
	id, err := runs.Resolve(f.State(), opts.Run, flt)
	if err != nil {
		return err
	}
	j, recs, err := journal.Reopen(f.State(), id)
	if err != nil {
		return err
	}
	defer j.Close()
	j.SetRedact(f.Redactor().Redact)
	sum := journal.Summarize(id, recs)
	if err := journal.CheckTarget(id, sum.Target, target, opts.OtherIdentity); err != nil {
		return err
	}
	switch {
	case sum.State == journal.StateRolledBack:
		fmt.Fprintf(f.IO.Out, "Run %s is already rolled back; nothing to do.\n", id)
		return nil
	case sum.Interrupted:
		fmt.Fprintf(f.IO.Out, "Run %s ended before any change (%s); nothing to undo.\n", id, runs.Counts(sum))
		return nil
	case sum.Left() == 0:
		fmt.Fprintf(f.IO.Out, "Run %s left nothing to undo (%s).\n", id, runs.Counts(sum))
		return nil
	}
	if !opts.Yes {
		if !f.IO.Interactive {
			return cli.Usagef(fmt.Errorf("rollback of run %s (%s, %d change(s)) needs confirmation: pass --yes", id, sum.State, sum.Left()))
		}
		fmt.Fprintf(f.IO.ErrOut, "Undo %d change(s) of run %s (%s, plan %s)? [y/N] ", sum.Left(), id, sum.State, sum.Plan)
		answer, _ := bufio.NewReader(f.IO.In).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
			return &cli.ExitCodeError{Code: cli.ExitUsage, Err: fmt.Errorf("rollback cancelled")}
		}
	}
	rt, err := f.Runtime(ctx, client)
	if err != nil {
		return err
	}
	res := engine.Rollback(context.WithoutCancel(ctx), recs, rt, engine.RollbackOptions{
		Journal: j, Undo: builtins.UndoRegistry(), Observer: view.NewProgress(f.IO.ErrOut),
		Parallelism: opts.Parallelism, Deadline: opts.Deadline, By: &target,
	})
	if !res.OK() {
		return fmt.Errorf("run %s, rollback attempt %d: %w", id, res.Attempt, res)
	}
	fmt.Fprintf(f.IO.Out, "Rolled back run %s: %s (%d change(s) undone, %d unfinished change(s) reconciled).\n",
		id, res.Status(), res.Undone, res.Reconciled)
	return nil
}
