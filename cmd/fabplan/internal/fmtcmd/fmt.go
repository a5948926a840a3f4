package fmtcmd

import (
	"github.com/spf13/cobra"

	"github.com/fabplan/fabplan/cmd/fabplan/internal/cli"
	"github.com/fabplan/fabplan/lint"
)

// Options are the flags of `fabplan fmt`.
type Options struct {
	Paths              []string
	Write, Check, Diff bool
}

// NewCmd builds the command.
func NewCmd(f *cli.Factory) *cobra.Command {
	opts := &Options{}
	cmd := &cobra.Command{
		Use:   "fmt [PATH...]",
		Short: "Format plans (buildifier style)",
		Long: `Formats plan files (*.star under each PATH, default ".") the way buildifier formats Starlark: double
quotes, "name = value" keyword arguments, four-space indents, comments kept. Without flags the formatted
sources go to stdout; -w rewrites the files, --check lists the files that are not formatted, --diff
shows what would change. Needs no network and no credentials.

Exit codes: 0 success (with --check: every file formatted), 1 --check found unformatted files, 2 bad
arguments or a file that does not parse.`,
		Example: `  fabplan fmt -w plans/
  fabplan fmt --check plans/     # in CI`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Paths = args
			res, err := lint.FormatPaths(lint.FormatOptions{Paths: opts.Paths, Write: opts.Write, Check: opts.Check, Diff: opts.Diff}, f.IO.Out)
			if err != nil {
				return &cli.ExitCodeError{Code: cli.ExitUsage, Err: err}
			}
			if code := res.ExitCode(); code != lint.ExitClean {
				return &cli.ExitCodeError{Code: code}
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&opts.Write, "write", "w", false, "rewrite files in place")
	cmd.Flags().BoolVar(&opts.Check, "check", false, "list files that are not formatted; exit 1 if any")
	cmd.Flags().BoolVar(&opts.Diff, "diff", false, "show unified diffs of what would change")
	return cmd
}
