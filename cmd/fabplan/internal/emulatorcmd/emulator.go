// Package emulatorcmd implements `fabplan emulator`: a long-running local Fabric for developing
// plans without a tenant.
package emulatorcmd

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/fabplan/fabplan/cmd/fabplan/internal/cli"
	"github.com/fabplan/fabplan/emulator"
)

// NewCmd builds the command. Its flags are the emulator's own (emulator.Config), so the command
// and the package cannot drift apart.
func NewCmd(f *cli.Factory) *cobra.Command {
	cfg := &emulator.Config{Seed: 1}
	cmd := &cobra.Command{
		Use:   "emulator",
		Short: "Serve a local, fault-injecting Fabric, Entra ID, Graph and Key Vault over TLS",
		Long: `Serves a local emulator of the Fabric REST API, the Entra ID token endpoints, Microsoft Graph and
Key Vault over HTTPS with its own CA, until interrupted. It prints the base URLs, the CA file, the tenant
and client id/secret of a seeded service principal, and the environment to export; fabplan (and
Microsoft's own clients) then work against it unchanged. Faults are injected with --faults or through
POST /_emulator/faults; GET /_emulator/state and /_emulator/requests show what happened. With --state the
tenant survives restarts, so separate fabplan runs see the same estate. See docs/emulator.md.

Exit codes: 0 stopped by a signal, 1 could not start, 2 bad flags or files.`,
		Example: `  fabplan emulator --addr 127.0.0.1:8443 --state emulator-state.json
  fabplan emulator --throttle-rate 50 --latency 25ms --lro-delay 1s   # a realistic, busy Fabric`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return Run(cmd.Context(), f, cfg)
		},
	}
	cfg.RegisterFlags(cmd.Flags())
	return cmd
}

// Run serves until ctx is done.
func Run(ctx context.Context, f *cli.Factory, cfg *emulator.Config) error {
	opts, err := cfg.Options()
	if err != nil {
		return cli.Usagef(err)
	}
	emu, err := emulator.Start(opts)
	if err != nil {
		return err
	}
	defer emu.Close()
	fmt.Fprint(f.IO.Out, emu.Info().Banner())
	fmt.Fprintln(f.IO.Out, "\nPress Ctrl-C to stop.")
	<-ctx.Done()
	fmt.Fprintln(f.IO.ErrOut, "emulator stopped")
	return nil
}
