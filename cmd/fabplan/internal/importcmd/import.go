// Package importcmd implements `fabplan import WORKSPACE...`: write the plan and definition folders
// of live workspaces.
package importcmd

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/fabplan/fabplan/builtins"
	"github.com/fabplan/fabplan/cmd/fabplan/internal/cli"
	"github.com/fabplan/fabplan/lint"
)

// Options are the flags of `fabplan import`.
type Options struct {
	F          *cli.Factory
	Workspaces []string
	Out        string
	Force      bool
}

// NewCmd builds the command.
func NewCmd(f *cli.Factory) *cobra.Command {
	opts := &Options{F: f}
	cmd := &cobra.Command{
		Use:   "import WORKSPACE...",
		Short: "Write a plan and definition folders from live workspaces",
		Long: `Reads each workspace (by display name or id) and writes, under --out, a plan (main.star) that
declares it as it is: description and capacity, folders, items with their definitions, and role
assignments. Each definition goes to <workspace>/<folders>/<name>.<Type>/ in Fabric's Git format, with
its .platform file. fabplan plan on the result shows no changes; follow with fabplan adopt to let prune
and rollback manage the imported objects. What cannot be declared (a Dashboard, which the API cannot
create) is listed on stderr and in no file.

--out must not exist or be empty, unless --force, which overwrites the files import writes (others in
the directory are left as they are).

Exit codes: 0 imported, 1 error (a workspace not found), 2 bad arguments or --out not empty.`,
		Example: `  fabplan import sales-dev sales-shared --out plans/sales
  fabplan import --emulator demo --out /tmp/demo --force`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cli.Usagef(errors.New("import takes one or more workspaces (display name or id)"))
			}
			if opts.Out == "" {
				return cli.Usagef(errors.New("--out DIR is required: where the plan and definitions go"))
			}
			opts.Workspaces = args
			return Run(cmd.Context(), opts)
		},
	}
	f.BindConnectionFlags(cmd.Flags())
	cmd.Flags().StringVarP(&opts.Out, "out", "o", "", "write the plan and definitions to `DIR`")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "write into a DIR that is not empty, overwriting the files import writes")
	return cmd
}

// Run carries out `fabplan import`.
func Run(ctx context.Context, opts *Options) error {
	f := opts.F
	if !opts.Force {
		entries, err := os.ReadDir(opts.Out)
		switch {
		case err == nil && len(entries) > 0:
			return cli.Usagef(fmt.Errorf("--out %s is not empty; choose another directory or pass --force to overwrite", opts.Out))
		case err != nil && !errors.Is(err, fs.ErrNotExist):
			return cli.Usagef(fmt.Errorf("--out: %w", err))
		}
	}
	client, err := f.Client()
	if err != nil {
		return err
	}
	defer f.Close()
	res, err := builtins.Import(ctx, client, opts.Workspaces)
	if err != nil {
		return err
	}
	for _, file := range res.Files {
		data := file.Data
		if file.Path == builtins.PlanFileName {
			// The plan is written as fabplan fmt would leave it.
			if data, err = lint.Format(file.Path, data); err != nil {
				return fmt.Errorf("import: formatting the plan: %w", err)
			}
		}
		name := filepath.Join(opts.Out, filepath.FromSlash(file.Path))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(name, data, 0o644); err != nil {
			return err
		}
	}
	for _, s := range res.Skipped {
		fmt.Fprintf(f.IO.ErrOut, "not imported: %s\n", s)
	}
	fmt.Fprintf(f.IO.Out, "Imported %d workspace(s) to %s (%d files); check with: fabplan plan %s\n",
		len(opts.Workspaces), opts.Out, len(res.Files), filepath.Join(opts.Out, builtins.PlanFileName))
	return nil
}
