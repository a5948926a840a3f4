// Package rollback implements `fabplan rollback RUN`: undo a run that crashed, or one that
// committed, from its journal alone.
package rollback

import (
	"bufio"
	"context"
	"fmt"
	"strings"

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
}

// NewCmd builds the command.
func NewCmd(f *cli.Factory) *cobra.Command {
	opts := &Options{F: f}
	cmd := &cobra.Command{
		Use:   "rollback RUN",
		Short: "Undo a run from its journal",
		Long: `Undoes every change a run made, newest first, from its journal: a run that crashed (changes whose
outcome is unknown are reconciled against live state), or a committed one. Asks for confirmation
unless --yes is given; in CI (no terminal) --yes is required. RUN is a run id or "last".

Exit codes: 0 rolled back, 1 some changes could not be undone (each is listed with its id), 2 bad
arguments or no confirmation.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Run = args[0]
			return Run(cmd.Context(), opts)
		},
	}
	f.BindConnectionFlags(cmd.Flags())
	f.BindStateFlags(cmd.Flags())
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "do not ask for confirmation")
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
	id, err := runs.Resolve(f.State(), opts.Run)
	if err != nil {
		return err
	}
	j, recs, err := journal.Reopen(f.State(), id)
	if err != nil {
		return err
	}
	defer j.Close()
	sum := journal.Summarize(id, recs)
	if sum.State == journal.StateRolledBack {
		fmt.Fprintf(f.IO.Out, "Run %s is already rolled back; nothing to do.\n", id)
		return nil
	}
	if !opts.Yes {
		if !f.IO.Interactive {
			return cli.Usagef(fmt.Errorf("rollback of run %s (%s, %d change(s)) needs confirmation: pass --yes", id, sum.State, sum.Changes))
		}
		fmt.Fprintf(f.IO.ErrOut, "Undo %d change(s) of run %s (%s, plan %s)? [y/N] ", sum.Changes, id, sum.State, sum.Plan)
		answer, _ := bufio.NewReader(f.IO.In).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
			return &cli.ExitCodeError{Code: cli.ExitUsage, Err: fmt.Errorf("rollback cancelled")}
		}
	}
	client, err := f.Client()
	if err != nil {
		return err
	}
	res := engine.Rollback(context.WithoutCancel(ctx), recs, j, engine.NewRuntime(client), builtins.UndoRegistry(), view.NewProgress(f.IO.ErrOut))
	if !res.OK() {
		return res
	}
	fmt.Fprintf(f.IO.Out, "Rolled back run %s: %d change(s) undone, %d unfinished change(s) reconciled.\n", id, res.Undone, res.Reconciled)
	return nil
}
