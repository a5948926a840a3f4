// Package migrate implements `fabplan migrate`: fabric-cicd's parameter.yml into Starlark.
package migrate

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/fabplan/fabplan/cmd/fabplan/internal/cli"
	"github.com/fabplan/fabplan/fabriccicd"
)

// Options are the flags of `fabplan migrate`.
type Options struct {
	File   string
	Output string
}

// NewCmd builds the command.
func NewCmd(f *cli.Factory) *cobra.Command {
	opts := &Options{}
	cmd := &cobra.Command{
		Use:   "migrate PARAMETER_FILE",
		Short: "Translate fabric-cicd's parameter.yml into fabplan replacement rules",
		Long: `Translates a fabric-cicd parameter.yml into a Starlark module defining parameters(workspace,
environment), which returns the fabric.replacement rules of that environment for fabric.items_from_dir.
find_replace (literal and is_regex), key_value_replace (JSONPath), the item_type, item_name and
file_path filters and the $workspace.id, $items.TYPE.NAME.ATTRIBUTE and $ENV:NAME values are
translated; what has no equivalent (spark_pool, semantic_model_binding, ...) is listed on stderr
with its line and as comments in the module. docs/migrating.md has the whole mapping.

Exit codes: 0 translated, 2 the file cannot be read or is not parameter.yml's shape.`,
		Example: `  fabplan migrate examples/fabric-cicd/workspace/parameter.yml
  fabplan migrate -o examples/fabric-cicd/parameters.star examples/fabric-cicd/workspace/parameter.yml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.File = args[0]
			return Run(f, opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "", "write the module to this file instead of stdout")
	return cmd
}

// Run translates the file.
func Run(f *cli.Factory, opts *Options) error {
	src, err := os.ReadFile(opts.File)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return &cli.ExitCodeError{Code: cli.ExitUsage, Err: fmt.Errorf("%s does not exist; give the path of fabric-cicd's parameter.yml", opts.File)}
		}
		return &cli.ExitCodeError{Code: cli.ExitUsage, Err: err}
	}
	res, err := fabriccicd.Translate(opts.File, src)
	if err != nil {
		return &cli.ExitCodeError{Code: cli.ExitUsage, Err: err}
	}
	for _, n := range res.Notes {
		fmt.Fprintf(f.IO.ErrOut, "%s:%s\n", opts.File, n)
	}
	if opts.Output == "" {
		_, err = f.IO.Out.Write(res.Starlark)
		return err
	}
	if err := os.WriteFile(opts.Output, res.Starlark, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(f.IO.ErrOut, "Wrote %d rules to %s.\n", res.Rules, opts.Output)
	return nil
}
