// Package statecmd implements `fabplan state`: list, show, unlock and migrate the state that runs
// share (journals and estate locks), local or in Azure Blob Storage.
package statecmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/spf13/cobra"

	"github.com/fabplan/fabplan/cmd/fabplan/internal/cli"
	"github.com/fabplan/fabplan/cmd/fabplan/internal/runs"
	"github.com/fabplan/fabplan/engine/journal"
	"github.com/fabplan/fabplan/state"
)

// NewCmd builds `fabplan state` and its subcommands.
func NewCmd(f *cli.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "state",
		Short: "List, show, unlock and migrate the state runs share",
		Long: `The state is where run journals and estate locks live: a local directory (.fabplan), or a
container in Azure Blob Storage that every CI runner shares (--state azblob://ACCOUNT/CONTAINER/PREFIX).`,
	}
	f.BindStateFlags(cmd.PersistentFlags())
	cmd.AddCommand(newListCmd(f), newShowCmd(f), newUnlockCmd(f), newMigrateCmd(f))
	return cmd
}

func newListCmd(f *cli.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the runs and the held estate locks",
		Long: `Lists the state's location, its runs as fabplan runs does, and the estate locks held now with
their holders.

Exit codes: 0 success, 1 the state cannot be read.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := f.Store()
			if err != nil {
				return err
			}
			list, err := journal.List(cmd.Context(), st)
			if err != nil {
				return err
			}
			locks, err := st.Locks(cmd.Context())
			if err != nil {
				return err
			}
			out := f.IO.Out
			fmt.Fprintf(out, "state %s: %d run(s), %d lock(s) held\n", st.Location(), len(list), len(locks))
			for _, s := range list {
				fmt.Fprintln(out, "run  "+runs.Line(s))
			}
			for _, h := range locks {
				fmt.Fprintf(out, "lock %s  held by %s\n", h.Key, h)
			}
			return nil
		},
	}
}

func newShowCmd(f *cli.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "show RUN",
		Short: "Print one run's journal (as fabplan runs show)",
		Long: `Prints a run's journal, one record per line. RUN is a run id, or "last".

Exit codes: 0 success, 1 no such run.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runs.Show(cmd.Context(), f, args[0])
		},
	}
}

func newUnlockCmd(f *cli.Factory) *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "unlock KEY",
		Short: "Break an estate lock whose run is dead",
		Long: `Breaks the lock of the estate KEY (as a refused run or fabplan state list names it), whoever holds
it. Only for a lock whose run is dead: a run that is still going stops starting changes when it
notices, at its next lease renewal. A blob lock of a killed run also expires on its own within
15 seconds; a local lock is released by the operating system when its process exits, so a local
lock held by a live process cannot be broken. Asks for confirmation unless --yes is given.

Exit codes: 0 broken, 1 nothing to break or the state cannot be reached, 2 no confirmation.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			key := args[0]
			st, err := f.Store()
			if err != nil {
				return err
			}
			if !yes {
				if !f.IO.Interactive {
					return cli.Usagef(fmt.Errorf("breaking the lock of estate %s needs confirmation: pass --yes", key))
				}
				q := fmt.Sprintf("Break the lock of estate %s? Only do so if its run is dead. [y/N] ", key)
				if !f.IO.Confirm(q, "y", "yes") {
					return &cli.ExitCodeError{Code: cli.ExitUsage, Err: fmt.Errorf("unlock cancelled")}
				}
			}
			h, err := st.Break(cmd.Context(), key)
			if errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("estate %s is not locked in %s (fabplan state list shows the locks)", key, st.Location())
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(f.IO.Out, "Broke the lock of estate %s, held by %s.\n", key, h)
			return nil
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}

func newMigrateCmd(f *cli.Factory) *cobra.Command {
	var to string
	cmd := &cobra.Command{
		Use:   "migrate --to LOCATION",
		Short: "Copy every run's journal to another state location",
		Long: `Copies the journals of every run from the current state (--state, FABPLAN_STATE, the plan's
fabplan.state or .fabplan) to LOCATION, typically azblob://ACCOUNT/CONTAINER/PREFIX, so that runs,
rollback and prune from any machine know the history. Runs already at LOCATION with the same journal
are left as they are; a run there with a different journal is an error. Nothing is deleted.

Exit codes: 0 copied, 1 a journal could not be copied, 2 bad arguments.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if to == "" {
				return cli.Usagef(fmt.Errorf("migrate needs --to LOCATION (azblob://ACCOUNT/CONTAINER/PREFIX)"))
			}
			from, err := f.Store()
			if err != nil {
				return err
			}
			loc, err := state.ParseLocation(to)
			if err != nil {
				return cli.Usagef(fmt.Errorf("--to: %w", err))
			}
			dest, err := f.OpenStore(loc)
			if err != nil {
				return err
			}
			copied, same, err := Migrate(cmd.Context(), from, dest)
			fmt.Fprintf(f.IO.Out, "Copied %d run(s) from %s to %s (%d already there).\n", copied, from.Location(),
				dest.Location(), same)
			return err
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "the state `LOCATION` to copy to")
	return cmd
}

// Migrate copies every journal of from that to lacks. Journals are copied record by record (one
// append each, as a run writes them), checked whole first so that a damaged journal is not
// spread.
func Migrate(ctx context.Context, from, to state.Store) (copied, same int, err error) {
	ids, err := from.Runs(ctx)
	if err != nil {
		return 0, 0, err
	}
	for _, id := range ids {
		if _, err := journal.Read(ctx, from, id); err != nil {
			return copied, same, err
		}
		b, err := from.ReadJournal(ctx, id)
		if err != nil {
			return copied, same, err
		}
		have, err := to.ReadJournal(ctx, id)
		switch {
		case err == nil && bytes.Equal(have, b):
			same++
			continue
		case err == nil:
			return copied, same, fmt.Errorf("run %s is in %s already, with another journal; nothing of it was copied",
				id, to.Location())
		case !errors.Is(err, fs.ErrNotExist):
			return copied, same, err
		}
		j, err := to.CreateJournal(ctx, id)
		if err != nil {
			return copied, same, err
		}
		for line := range bytes.Lines(b) {
			if err := j.Append(ctx, line); err != nil {
				j.Close()
				return copied, same, fmt.Errorf("run %s: %w", id, err)
			}
		}
		j.Close()
		copied++
	}
	return copied, same, nil
}
