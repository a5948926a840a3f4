// Package root assembles fabplan's commands and maps errors to exit codes, in one place.
package root

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/fabplan/fabplan/cmd/fabplan/internal/adopt"
	"github.com/fabplan/fabplan/cmd/fabplan/internal/cli"
	"github.com/fabplan/fabplan/cmd/fabplan/internal/doctor"
	"github.com/fabplan/fabplan/cmd/fabplan/internal/emulatorcmd"
	"github.com/fabplan/fabplan/cmd/fabplan/internal/fmtcmd"
	"github.com/fabplan/fabplan/cmd/fabplan/internal/importcmd"
	"github.com/fabplan/fabplan/cmd/fabplan/internal/lintcmd"
	"github.com/fabplan/fabplan/cmd/fabplan/internal/login"
	"github.com/fabplan/fabplan/cmd/fabplan/internal/migrate"
	"github.com/fabplan/fabplan/cmd/fabplan/internal/plan"
	"github.com/fabplan/fabplan/cmd/fabplan/internal/rollback"
	"github.com/fabplan/fabplan/cmd/fabplan/internal/run"
	"github.com/fabplan/fabplan/cmd/fabplan/internal/runs"
	"github.com/fabplan/fabplan/cmd/fabplan/internal/serve"
	"github.com/fabplan/fabplan/cmd/fabplan/internal/statecmd"
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
		migrate.NewCmd(f),
		runs.NewCmd(f),
		statecmd.NewCmd(f),
		rollback.NewCmd(f),
		adopt.NewCmd(f),
		importcmd.NewCmd(f),
		version.NewCmd(f),
		login.NewCmd(f, nil),
		doctor.NewCmd(f, nil),
		serve.NewCmd(f),
	)
	markCommandErrors(cmd)
	return cmd
}

// commandError is an error a command's own run function returned. Any other error from Execute
// is cobra's, raised before a command ran: a wrong number of arguments, an unknown command or
// flag, a missing required flag. The difference is made by who returned the error, never by
// what its message says (a Fabric message may well say "accepts at most").
type commandError struct{ err error }

func (e *commandError) Error() string { return e.err.Error() }
func (e *commandError) Unwrap() error { return e.err }

// markCommandErrors wraps the run function of every command of the tree so that its errors are
// commandErrors.
func markCommandErrors(c *cobra.Command) {
	if run := c.RunE; run != nil {
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if err := run(cmd, args); err != nil {
				return &commandError{err}
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		markCommandErrors(sub)
	}
}

// Main runs fabplan and returns the process exit code.
func Main() int {
	io := cli.System()
	f := cli.NewFactory(io, version.Current())
	flush := io.Redact(f.Redactor())
	defer flush()
	defer f.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	defer abortOnSecondSignal(io, flush)()
	cmd := NewCmd(f)
	cmd.SetOut(io.Out)
	cmd.SetErr(io.ErrOut)
	err := cmd.ExecuteContext(ctx)
	code := ExitCode(err, io, cmd)
	f.ShutdownTelemetry()
	return code
}

// abortOnSecondSignal makes a second interrupt end the process at once, as in Terraform: the first
// one stops new changes and lets the rollback run, which may hang on a service that does not
// answer; the second leaves what is not undone to `fabplan rollback`. The journal loses nothing:
// every record is synced as it is written, a torn last line is ignored, and the state lock goes
// with the process.
func abortOnSecondSignal(io *cli.IOStreams, flush func()) (stop func()) {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		for n := 1; ; n++ {
			select {
			case <-done:
				return
			case s := <-sigs:
				if n == 1 {
					fmt.Fprintf(io.ErrOut, "%v received: stopping gracefully (a run starts no new change and rolls back "+
						"what it did). Interrupt again to exit at once.\n", s)
					continue
				}
				fmt.Fprintln(io.ErrOut, "Two interrupts received: exiting now. Changes not yet undone stay in the "+
					"journal; undo them with `fabplan rollback last` (fabplan runs lists the runs).")
				flush()
				os.Exit(cli.ExitError)
			}
		}
	}()
	return func() {
		signal.Stop(sigs)
		close(done)
	}
}

// ExitCode prints err once and returns the exit code it maps to.
func ExitCode(err error, io *cli.IOStreams, cmd *cobra.Command) int {
	if err == nil {
		return cli.ExitOK
	}
	var (
		ds     engine.Diagnostics
		usage  *cli.UsageError
		code   *cli.ExitCodeError
		cmdErr *commandError
	)
	if !errors.As(err, &cmdErr) && !errors.As(err, &usage) && !errors.As(err, &code) && !errors.As(err, &ds) {
		// cobra's own error, before any command ran: the command line is wrong.
		err = cli.Usagef(err)
	}
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
	}
	fmt.Fprintln(io.ErrOut, "Error:", err)
	return cli.ExitError
}
