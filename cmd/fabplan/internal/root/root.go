// Package root assembles fabplan's commands and maps errors to exit codes, in one place.
package root

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/fabplan/fabplan/cmd/fabplan/internal/cli"
	"github.com/fabplan/fabplan/cmd/fabplan/internal/doctor"
	"github.com/fabplan/fabplan/cmd/fabplan/internal/emulatorcmd"
	"github.com/fabplan/fabplan/cmd/fabplan/internal/fmtcmd"
	"github.com/fabplan/fabplan/cmd/fabplan/internal/lintcmd"
	"github.com/fabplan/fabplan/cmd/fabplan/internal/login"
	"github.com/fabplan/fabplan/cmd/fabplan/internal/plan"
	"github.com/fabplan/fabplan/cmd/fabplan/internal/rollback"
	"github.com/fabplan/fabplan/cmd/fabplan/internal/run"
	"github.com/fabplan/fabplan/cmd/fabplan/internal/runs"
	"github.com/fabplan/fabplan/cmd/fabplan/internal/serve"
	"github.com/fabplan/fabplan/cmd/fabplan/internal/version"
	"github.com/fabplan/fabplan/engine"
)

// NewCmd builds the root command with every subcommand.
func NewCmd(f *cli.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "fabplan",
		Short: "Deploy Microsoft Fabric estates from Starlark plans, with rollback",
		Long: `fabplan deploys Microsoft Fabric workspaces, capacity assignments, role assignments, folders
and items with their definitions from plans written in Starlark. A failed run is rolled back.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cmd.PersistentFlags().BoolVarP(&f.Verbose, "verbose-log", "", false, "log details (requests, retries) to stderr")
	cmd.PersistentFlags().StringVar(&f.LogFormat, "log-format", "text", "format of log lines on stderr: text or json")
	cmd.PersistentPreRunE = func(*cobra.Command, []string) error {
		if f.LogFormat != "text" && f.LogFormat != "json" {
			return cli.Usagef(fmt.Errorf("--log-format %q: use text or json", f.LogFormat))
		}
		return nil
	}
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return cli.Usagef(err) })
	cmd.AddCommand(
		run.NewCmd(f, nil),
		plan.NewCmd(f, nil),
		emulatorcmd.NewCmd(f),
		lintcmd.NewCmd(f),
		fmtcmd.NewCmd(f),
		runs.NewCmd(f),
		rollback.NewCmd(f),
		version.NewCmd(f),
		login.NewCmd(f, nil),
		doctor.NewCmd(f, nil),
		serve.NewCmd(f),
	)
	return cmd
}

// Main runs fabplan and returns the process exit code.
func Main() int {
	io := cli.System()
	f := cli.NewFactory(io, version.Current())
	defer io.Redact(f.Redactor())()
	defer f.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd := NewCmd(f)
	cmd.SetOut(io.Out)
	cmd.SetErr(io.ErrOut)
	err := cmd.ExecuteContext(ctx)
	code := ExitCode(err, io, cmd)
	f.ShutdownTelemetry()
	return code
}

// ExitCode prints err once and returns the exit code it maps to.
func ExitCode(err error, io *cli.IOStreams, cmd *cobra.Command) int {
	if err == nil {
		return cli.ExitOK
	}
	var (
		ds    engine.Diagnostics
		usage *cli.UsageError
		code  *cli.ExitCodeError
	)
	switch {
	case errors.As(err, &code):
		if code.Err != nil {
			fmt.Fprintln(io.ErrOut, "Error:", code.Err)
		}
		return code.Code
	case errors.As(err, &ds):
		for _, d := range ds {
			fmt.Fprintln(io.ErrOut, d.String())
		}
		if len(ds) > 1 {
			fmt.Fprintf(io.ErrOut, "%d problems; nothing was changed.\n", len(ds))
		}
		return cli.ExitUsage
	case errors.As(err, &usage):
		fmt.Fprintln(io.ErrOut, "Error:", usage.Err)
		fmt.Fprintln(io.ErrOut, "Run 'fabplan --help' or 'fabplan COMMAND --help' for usage.")
		return cli.ExitUsage
	case isCobraArgError(err):
		fmt.Fprintln(io.ErrOut, "Error:", err)
		fmt.Fprintln(io.ErrOut, "Run 'fabplan --help' or 'fabplan COMMAND --help' for usage.")
		return cli.ExitUsage
	}
	fmt.Fprintln(io.ErrOut, "Error:", err)
	return cli.ExitError
}

// isCobraArgError recognizes cobra's own argument errors (wrong count, unknown command), which it
// returns as plain errors.
func isCobraArgError(err error) bool {
	msg := err.Error()
	for _, p := range []string{"accepts ", "requires at least", "unknown command", "unknown flag", "unknown shorthand"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}
