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

	"github.com/fabplan/fabplan/builtins"
	"github.com/fabplan/fabplan/cmd/fabplan/internal/cli"
	"github.com/fabplan/fabplan/cmd/fabplan/internal/view"
	"github.com/fabplan/fabplan/engine"
	"github.com/fabplan/fabplan/engine/journal"
)

// Options are the flags of `fabplan run`.
type Options struct {
	F           *cli.Factory
	PlanFile    string
	Input       cli.PlanInput
	Parallelism int
	NoRollback  bool
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

Exit codes: 0 applied (or nothing to do), 1 a change or its rollback failed, 2 bad arguments or a plan
that does not evaluate.`,
		Example: `  fabplan run --emulator plans/demo.star     # against the embedded emulator
  fabplan run plans/prod.star                # against Fabric, identity from AZURE_* variables`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.PlanFile = args[0]
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
	opts.Input.Bind(cmd.Flags())
	cmd.Flags().IntVar(&opts.Parallelism, "parallelism", 8, "how many changes run at once")
	cmd.Flags().BoolVar(&opts.NoRollback, "no-rollback", false, "leave a failed run's changes in place (env FEATURE_USE_ROLLBACK=false); undo later with fabplan rollback")
	return cmd
}

// Run carries out `fabplan run`.
func Run(ctx context.Context, opts *Options) error {
	f := opts.F
	io := f.IO
	eo, err := opts.Input.EvalOptions(opts.PlanFile, os.Environ())
	if err != nil {
		return err
	}
	eo.Print = func(msg string) { f.Logger().Info("plan print", "msg", msg) }
	g, err := builtins.Evaluate(eo)
	if err != nil {
		return err
	}
	client, err := f.Client()
	if err != nil {
		return err
	}
	defer f.Close()

	unlock, err := journal.Lock(f.State())
	if err != nil {
		return err
	}
	defer unlock()

	rt := engine.NewRuntime(client)
	plan, err := engine.Refresh(ctx, g, rt, opts.Parallelism)
	if err != nil {
		return err
	}
	if !plan.HasChanges() {
		view.NoChanges(io.Out, opts.PlanFile)
		return nil
	}
	view.Plan(io.Out, plan, view.PlanOptions{Styles: view.NewStyles(io.Color)})

	runID := NewRunID(time.Now())
	j, err := journal.Create(f.State(), runID, opts.PlanFile, f.Version)
	if err != nil {
		return err
	}
	defer j.Close()
	fmt.Fprintf(io.ErrOut, "run %s: journal %s\n", runID, j.Path())

	err = engine.Apply(ctx, g, plan, rt, engine.ApplyOptions{
		Parallelism: opts.Parallelism,
		Journal:     j,
		Observer:    view.NewProgress(io.ErrOut),
		NoRollback:  opts.NoRollback,
		Undo:        builtins.UndoRegistry(),
	})
	if err != nil {
		var ae *engine.ApplyError
		if errors.As(err, &ae) {
			return fmt.Errorf("run %s failed (journal %s):\n%w", runID, j.Path(), err)
		}
		return err
	}
	view.Summary(io.Out, plan)
	return nil
}

// NewRunID names a run: sortable by time, unique by a random suffix.
func NewRunID(now time.Time) string {
	b := make([]byte, 3)
	if _, err := rand.Read(b); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}
