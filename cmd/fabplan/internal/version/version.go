// Package version implements `fabplan version`.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/fabplan/fabplan/cmd/fabplan/internal/cli"
)

// NewCmd builds the command.
func NewCmd(f *cli.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print fabplan's version",
		Long:  "Prints fabplan's version, the Go version it was built with, and the Fabric SDK it uses.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sdk := "unknown"
			if bi, ok := debug.ReadBuildInfo(); ok {
				for _, d := range bi.Deps {
					if d.Path == "github.com/microsoft/fabric-sdk-go" {
						sdk = d.Version
					}
				}
			}
			fmt.Fprintf(f.IO.Out, "fabplan %s (%s, fabric-sdk-go %s)\n", f.Version, runtime.Version(), sdk)
			return nil
		},
	}
}

// Current is the version of this build: the module version when installed with go install,
// else "devel".
func Current() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}
