package lintcmd

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/fabplan/fabplan/cmd/fabplan/internal/cli"
	"github.com/fabplan/fabplan/lint"
)

// Options are the flags of `fabplan lint`.
type Options struct {
	Paths   []string
	Format  string
	FailOn  string
	Disable []string
	NoEval  bool
	Root    string
}

// NewCmd builds the command.
func NewCmd(f *cli.Factory) *cobra.Command {
	opts := &Options{}
	cmd := &cobra.Command{
		Use:   "lint [PATH...]",
		Short: "Check plans for what would fail or deploy something wrong (offline)",
		Long: `Checks plan files (*.star under each PATH, default ".", and every file they load): syntax and
undefined names, calls of fabplan builtins against their signatures, load() problems, secrets written
as literals, risky changes (prune, prune that may delete data-bearing items, missing definition
parts), an offline evaluation (runtime errors, duplicates, cycles, env/*.json against the plan's
schema) and style. Each finding has an id; docs/lint.md documents every check. Suppress one with a
comment "# fabplan:disable=ID". Needs no network and no credentials.

Exit codes: 0 no findings at or above --fail-on, 1 findings, 2 bad arguments.`,
		Example: `  fabplan lint plans/
  fabplan lint --format github plans/        # GitHub workflow annotations
  fabplan lint --format sarif plans/ > lint.sarif`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Paths = args
			return Run(f, opts)
		},
	}
	cmd.Flags().StringVar(&opts.Format, "format", "text", "output: text, json, github or sarif")
	cmd.Flags().StringVar(&opts.FailOn, "fail-on", "error", "lowest severity that fails: info, warning or error")
	cmd.Flags().StringSliceVar(&opts.Disable, "disable", nil, "check ids to skip")
	cmd.Flags().BoolVar(&opts.NoEval, "no-eval", false, "static checks only (no offline evaluation)")
	cmd.Flags().StringVar(&opts.Root, "root", "", "directory load() may not leave (default: each plan's directory)")
	return cmd
}

// Run lints and writes the report to stdout.
func Run(f *cli.Factory, opts *Options) error {
	format, err := lint.ParseOutputFormat(opts.Format)
	if err != nil {
		return cli.Usagef(err)
	}
	failOn, err := lint.ParseSeverity(opts.FailOn)
	if err != nil {
		return cli.Usagef(fmt.Errorf("--fail-on: %w", err))
	}
	rep, err := lint.Run(lint.Options{Paths: opts.Paths, Root: opts.Root, Disable: opts.Disable, NoEval: opts.NoEval})
	if err != nil {
		var ue *lint.UsageError
		if errors.As(err, &ue) {
			return cli.Usagef(err)
		}
		return err
	}
	if err := rep.Write(f.IO.Out, format); err != nil {
		return err
	}
	if code := rep.ExitCode(failOn); code != lint.ExitClean {
		if format == lint.TextOutput {
			fmt.Fprintf(f.IO.ErrOut, "%d finding(s) at or above %s\n", rep.Count(failOn), opts.FailOn)
		}
		return &cli.ExitCodeError{Code: code}
	}
	return nil
}
