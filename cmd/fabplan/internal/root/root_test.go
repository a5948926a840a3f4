package root

import (
	"errors"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/fabplan/fabplan/cmd/fabplan/internal/cli"
	"github.com/fabplan/fabplan/cmd/fabplan/internal/version"
)

// Exit codes follow from who returned an error, not from its words: a command that fails with a
// message that reads like cobra's own ("accepts at most") still exits 1, and cobra's own errors
// exit 2 with the usage hint.
func TestExitCodesComeFromTheErrorsType(t *testing.T) {
	io, _, _ := cli.Test()
	f := cli.NewFactory(io, version.Current())
	tree := NewCmd(f)
	failing := &cobra.Command{Use: "fail", Args: cobra.ExactArgs(1), RunE: func(*cobra.Command, []string) error {
		return errors.New("CreateItem: InvalidRequest: the request accepts at most 1 definition; unknown command")
	}}
	tree.AddCommand(failing)
	markCommandErrors(failing)

	for _, tc := range []struct {
		args  []string
		code  int
		usage bool
	}{
		{[]string{"fail", "x"}, cli.ExitError, false},     // the command ran and failed
		{[]string{"fail"}, cli.ExitUsage, true},           // cobra: wrong number of arguments
		{[]string{"fail", "x", "y"}, cli.ExitUsage, true}, // cobra: accepts 1 arg(s)
		{[]string{"nope"}, cli.ExitUsage, true},           // cobra: unknown command
		{[]string{"fail", "--nope", "x"}, cli.ExitUsage, true},
		{[]string{"rollback"}, cli.ExitUsage, true}, // a real command's argument check
	} {
		io, _, errOut := cli.Test()
		tree.SetArgs(tc.args)
		tree.SetOut(io.Out)
		tree.SetErr(io.ErrOut)
		err := tree.Execute()
		code := ExitCode(err, io, tree)
		hint := strings.Contains(errOut.String(), "for usage")
		if code != tc.code || hint != tc.usage {
			t.Errorf("fabplan %s: exit %d (usage hint %v), want %d (%v); stderr:\n%s", strings.Join(tc.args, " "),
				code, hint, tc.code, tc.usage, errOut)
		}
	}
}
