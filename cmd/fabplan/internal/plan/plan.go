// Package plan implements `fabplan plan`: what `run` would change, against live state, changing
// nothing.
package plan

import (
	"context"
	"os"

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
}

// NewCmd builds the command.
func NewCmd(f *cli.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{F: f}
	cmd := &cobra.Command{
		Use:   "plan PLAN",
		Short: "Show what run would change, without changing anything",
		Long: `Evaluates the plan, reads live state and prints, per resource, what fabplan run would do:
+ create, ~ update in place, <= read (lookups). Nothing is changed.

Exit codes: 0 success (with --detailed-exitcode: no changes), 1 error, 2 bad arguments or a plan that
does not evaluate (with --detailed-exitcode: 2 also means the plan has changes).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.PlanFile = args[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return Run(cmd.Context(), opts)
		},
	}
	f.BindConnectionFlags(cmd.Flags())
	opts.Input.Bind(cmd.Flags())
	cmd.Flags().IntVar(&opts.Parallelism, "parallelism", 8, "how many refreshes run at once")
	cmd.Flags().BoolVar(&opts.DetailedExitCode, "detailed-exitcode", false, "exit 2 when the plan has changes, 0 when it has none")
	cmd.Flags().BoolVarP(&opts.Verbose, "verbose", "v", false, "also show resources that need no change")
	return cmd
}

// Run carries out `fabplan plan`.
func Run(ctx context.Context, opts *Options) error {
	f := opts.F
	eo, err := opts.Input.EvalOptions(opts.PlanFile, os.Environ())
	if err != nil {
		return err
	}
	g, err := builtins.Evaluate(eo)
	if err != nil {
		return err
	}
	client, err := f.Client()
	if err != nil {
		return err
	}
	defer f.Close()
	p, err := engine.Refresh(ctx, g, engine.NewRuntime(client), opts.Parallelism)
	if err != nil {
		return err
	}
	if !p.HasChanges() && !opts.Verbose {
		view.NoChanges(f.IO.Out, opts.PlanFile)
	} else {
		view.Plan(f.IO.Out, p, view.PlanOptions{Verbose: opts.Verbose, Styles: view.NewStyles(f.IO.Color)})
	}
	if opts.DetailedExitCode && p.HasChanges() {
		return &cli.ExitCodeError{Code: cli.ExitChanges}
	}
	return nil
}
