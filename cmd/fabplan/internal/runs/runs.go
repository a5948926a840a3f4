// Package runs implements `fabplan runs` and `fabplan runs show`: the journals of past runs.
package runs

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/fabplan/fabplan/cmd/fabplan/internal/cli"
	"github.com/fabplan/fabplan/engine/journal"
	"github.com/fabplan/fabplan/state"
)

// NewCmd builds `fabplan runs` with its `show` subcommand.
func NewCmd(f *cli.Factory) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "List runs and their state",
		Long: `Lists the runs recorded in the state directory, oldest first: id, state (committed, rolled-back,
rollback-incomplete, or incomplete for a run that is going on or crashed), plan, environment, target
(Fabric endpoint, tenant and identity), and how many changes it made and how many of those are undone now.

Exit codes: 0 success, 1 the state directory cannot be read.`,
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
			if asJSON {
				return writeJSON(f.IO.Out, list)
			}
			if len(list) == 0 {
				fmt.Fprintf(f.IO.ErrOut, "no runs in %s\n", st.Location())
				return nil
			}
			for _, s := range list {
				fmt.Fprintln(f.IO.Out, Line(s))
			}
			return nil
		},
	}
	f.BindStateFlags(cmd.PersistentFlags())
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the runs as a JSON array")
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
			return Show(cmd.Context(), f, args[0])
		},
	}
}

// Show prints a run's journal (run is an id or "last").
func Show(ctx context.Context, f *cli.Factory, run string) error {
	st, err := f.Store()
	if err != nil {
		return err
	}
	id, err := Resolve(ctx, st, run, Filter{})
	if err != nil {
		return err
	}
	recs, err := journal.Read(ctx, st, id)
	if err != nil {
		return err
	}
	Write(f.IO.Out, recs)
	return nil
}

// Line is one run as `runs` lists it.
func Line(s journal.Summary) string {
	env := s.Env
	if env == "" {
		env = "(none)"
	}
	target := "target unknown"
	if s.Target != nil {
		target = s.Target.String()
	}
	return fmt.Sprintf("%s  %s  %s  env %s  %s  %s", s.ID, s.State, s.Plan, env, target, Counts(s))
}

// Counts says exactly what a run changed and what of it is undone.
func Counts(s journal.Summary) string {
	switch {
	case s.Error != "":
		return "failed before any change: " + firstLine(s.Error)
	case s.Interrupted:
		return "interrupted before any change"
	}
	out := fmt.Sprintf("%d change(s), %d undone", s.Changes, s.Undone)
	if s.Unfinished > 0 {
		out += fmt.Sprintf(", %d unfinished", s.Unfinished)
	}
	if s.Attempts > 0 {
		out += fmt.Sprintf("; %d rollback attempt(s)", s.Attempts)
		if s.Last != nil && s.Last.Left > 0 {
			out += fmt.Sprintf(", %d left", s.Last.Left)
		}
	}
	return out
}

// Filter narrows which runs "last" may mean: runs of one plan, env and target. A zero field
// matches anything.
type Filter struct {
	Plan   string
	Env    *string
	Target *journal.Target
}

func (flt Filter) matches(s journal.Summary) bool {
	return (flt.Plan == "" || filepath.Clean(flt.Plan) == filepath.Clean(s.Plan)) &&
		(flt.Env == nil || *flt.Env == s.Env) &&
		(flt.Target == nil || s.Target == nil || s.Target.SameFabric(*flt.Target))
}

// Resolve turns "last" into the id of the newest run the filter matches. When those runs are of
// several plans or envs, "last" is ambiguous and Resolve says which to name.
func Resolve(ctx context.Context, st state.Store, id string, flt Filter) (string, error) {
	if id != "last" {
		return id, nil
	}
	list, err := journal.List(ctx, st)
	if err != nil {
		return "", err
	}
	var match []journal.Summary
	kinds := map[string]bool{}
	for _, s := range list {
		if flt.matches(s) {
			match = append(match, s)
			kinds[fmt.Sprintf("%s --env %q", s.Plan, s.Env)] = true
		}
	}
	if len(match) == 0 {
		// The last run of this plan and env was made against another Fabric: say so, typed.
		other := flt.Target
		flt.Target = nil
		for i := len(list) - 1; i >= 0 && other != nil; i-- {
			if s := list[i]; flt.matches(s) {
				return "", journal.CheckTarget(s.ID, s.Target, *other, true)
			}
		}
		if len(list) > 0 {
			return "", fmt.Errorf("no run in %s matches this plan, env and target (%d other run(s); fabplan runs lists them)", st.Location(), len(list))
		}
		return "", fmt.Errorf("no runs in %s", st.Location())
	}
	if len(kinds) > 1 && (flt.Plan == "" || flt.Env == nil) {
		names := slices.Sorted(maps.Keys(kinds))
		return "", cli.Usagef(fmt.Errorf("\"last\" is ambiguous: the runs against this target are of %d plans or envs (%s); name one with --plan-file and --env, or give a run id",
			len(names), strings.Join(names, "; ")))
	}
	return match[len(match)-1].ID, nil
}

// Write prints records as aligned columns.
func Write(w io.Writer, recs []journal.Record) {
	width := 0
	for _, r := range recs {
		width = max(width, len(r.Step))
	}
	for _, r := range recs {
		cols := []string{fmt.Sprintf("%-14s", r.Type)}
		switch r.Type {
		case journal.Begin:
			cols = append(cols, r.Plan)
		case journal.RollbackBegin, journal.RollbackEnd:
			cols = append(cols, fmt.Sprintf("attempt %d", r.Attempt))
			if r.Outcome != nil {
				cols = append(cols, fmt.Sprintf("%d undone, %d left", r.Outcome.Undone, r.Outcome.Left))
			}
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

// Run is one run as `runs --json` prints it.
type Run struct {
	ID         string    `json:"id"`
	State      string    `json:"state"`
	Plan       string    `json:"plan"`
	Env        string    `json:"env,omitempty"`
	StartedAt  time.Time `json:"startedAt"`
	Changes    int       `json:"changes"`
	Undone     int       `json:"undone"`
	Unfinished int       `json:"unfinished"`
	Attempts   int       `json:"rollbackAttempts"`
	Error      string    `json:"error,omitempty"`
}

func writeJSON(w io.Writer, list []journal.Summary) error {
	out := make([]Run, 0, len(list))
	for _, s := range list {
		out = append(out, Run{ID: s.ID, State: string(s.State), Plan: s.Plan, Env: s.Env, StartedAt: s.Started.UTC(),
			Changes: s.Changes, Undone: s.Undone, Unfinished: s.Unfinished, Attempts: s.Attempts, Error: s.Error})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
