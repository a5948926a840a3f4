// Package emulatorcmd implements `fabplan emulator`: a long-running local Fabric for developing
// plans without a tenant.
package emulatorcmd

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/fabplan/fabplan/cmd/fabplan/internal/cli"
	"github.com/fabplan/fabplan/emulator"
)

// Options are the flags of `fabplan emulator`.
type Options struct {
	Addr      string
	Dir       string
	StateFile string
	Fixtures  string
	Seed      int64
	LRODelay  time.Duration
}

// NewCmd builds the command.
func NewCmd(f *cli.Factory) *cobra.Command {
	opts := &Options{}
	cmd := &cobra.Command{
		Use:   "emulator",
		Short: "Serve a local, fault-injecting Fabric, Entra ID, Graph and Key Vault over TLS",
		Long: `Serves a local emulator of the Fabric REST API, the Entra ID token endpoints, Microsoft Graph and
Key Vault over HTTPS with its own CA, until interrupted. It prints the base URLs, the CA file, and the
tenant and client id/secret of a seeded service principal, as environment variables to export; fabplan
(and Microsoft's own clients) then work against it unchanged. Faults are injected through
POST /_emulator/faults; GET /_emulator/state and /_emulator/requests show what happened.
See docs/emulator.md.

Exit codes: 0 stopped by a signal, 1 could not start, 2 bad flags.`,
		Example: `  fabplan emulator --addr 127.0.0.1:8443 --state emulator-state.json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return Run(cmd.Context(), f, opts)
		},
	}
	cmd.Flags().StringVar(&opts.Addr, "addr", "127.0.0.1:8443", "listen address")
	cmd.Flags().StringVar(&opts.Dir, "dir", ".fabplan/emulator", "where the CA certificate (ca.pem) is written")
	cmd.Flags().StringVar(&opts.StateFile, "state", "", "persist the emulator's state to this file and load it at start")
	cmd.Flags().StringVar(&opts.Fixtures, "fixtures", "", "JSON file seeding capacities, principals, Graph objects, secrets and permissions")
	cmd.Flags().Int64Var(&opts.Seed, "seed", 1, "seed of the random number generator (ids, random faults, jitter)")
	cmd.Flags().DurationVar(&opts.LRODelay, "lro-delay", 0, "how long long-running operations stay Running")
	return cmd
}

// Run serves until ctx is done.
func Run(ctx context.Context, f *cli.Factory, opts *Options) error {
	eo := emulator.Options{Addr: opts.Addr, Dir: opts.Dir, StateFile: opts.StateFile, Seed: opts.Seed, LRODelay: opts.LRODelay}
	if opts.Fixtures != "" {
		fx, err := emulator.LoadFixtures(opts.Fixtures)
		if err != nil {
			return cli.Usagef(fmt.Errorf("--fixtures: %w", err))
		}
		eo.Fixtures = fx
	}
	emu, err := emulator.Start(eo)
	if err != nil {
		return err
	}
	defer emu.Close()
	id, secret := emu.ServicePrincipal()
	fmt.Fprintf(f.IO.Out, `Fabric emulator listening on %s

export FABPLAN_FABRIC_URL=%s
export FABPLAN_GRAPH_URL=%s
export FABPLAN_KEY_VAULT_URL=%s
export FABPLAN_AUTHORITY_HOST=%s
export SSL_CERT_FILE=%s
export AZURE_TENANT_ID=%s
export AZURE_CLIENT_ID=%s
export AZURE_CLIENT_SECRET=%s

Control: %s/_emulator/state, %s/_emulator/requests, POST %s/_emulator/faults
Press Ctrl-C to stop.
`, emu.URL(), emu.FabricURL(), emu.GraphURL(), emu.KeyVaultURL(), emu.AuthorityHost(), emu.CAFile(),
		emu.TenantID(), id, secret, emu.URL(), emu.URL(), emu.URL())
	<-ctx.Done()
	fmt.Fprintln(f.IO.ErrOut, "emulator stopped")
	return nil
}
