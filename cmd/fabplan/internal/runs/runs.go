// Package runs implements `fabplan runs` and `fabplan runs show`: the journals of past runs.
package runs

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fabplan/fabplan/cmd/fabplan/internal/cli"
	"github.com/fabplan/fabplan/engine/journal"
)

// NewCmd builds `fabplan runs` with its `show` subcommand.
func NewCmd(f *cli.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "List runs and their state",
		Long: `Lists the runs recorded in the state directory, oldest first: id, state (committed, rolled-back,
rollback-incomplete, or incomplete for a run that is going on or crashed), plan, and how many changes it
made and undid.

Exit codes: 0 success, 1 the state directory cannot be read.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			list, err := journal.List(f.State())
			if err != nil {
				return err
			}
			if len(list) == 0 {
				fmt.Fprintf(f.IO.ErrOut, "no runs in %s\n", journal.RunsDir(f.State()))
				return nil
			}
			for _, s := range list {
				fmt.Fprintf(f.IO.Out, "%s  %s  %s  %d change(s), %d undone\n", s.ID, s.State, s.Plan, s.Changes, s.Undone)
			}
			return nil
		},
	}
	f.BindStateFlags(cmd.PersistentFlags())
	cmd.AddCommand(newShowCmd(f))
	return cmd
}

func newShowCmd(f *cli.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "show RUN",
		Short: "Print one run's journal",
		Long: `Prints a run's journal, one record per line: type, step, action, and the undo it registered.
RUN is a run id from fabplan runs, or "last".

Exit codes: 0 success, 1 no such run.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := Resolve(f.State(), args[0])
			if err != nil {
				return err
			}
			recs, err := journal.Read(f.State(), id)
			if err != nil {
				return err
			}
			Write(f.IO.Out, recs)
			return nil
		},
	}
}

// Resolve turns "last" into the newest run's id.
func Resolve(stateDir, id string) (string, error) {
	if id != "last" {
		return id, nil
	}
	list, err := journal.List(stateDir)
	if err != nil {
		return "", err
	}
	if len(list) == 0 {
		return "", fmt.Errorf("no runs in %s", journal.RunsDir(stateDir))
	}
	return list[len(list)-1].ID, nil
}

// Write prints records as aligned columns.
func Write(w io.Writer, recs []journal.Record) {
	width := 0
	for _, r := range recs {
		width = max(width, len(r.Step))
	}
	for _, r := range recs {
		cols := []string{fmt.Sprintf("%-12s", r.Type)}
		switch r.Type {
		case journal.Begin:
			cols = append(cols, r.Plan)
		case journal.Commit, journal.RolledBack, journal.Abandoned:
		default:
			cols = append(cols, fmt.Sprintf("%-*s", width, r.Step), fmt.Sprintf("%-7s", r.Action))
			if r.Undo != nil && r.Undo.Op != "" {
				cols = append(cols, "undo "+r.Undo.Op)
			}
			switch {
			case r.Code != "":
				cols = append(cols, "error "+r.Code)
			case r.Error != "":
				cols = append(cols, "error: "+firstLine(r.Error))
			}
		}
		fmt.Fprintln(w, strings.TrimRight(strings.Join(cols, "  "), " "))
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
