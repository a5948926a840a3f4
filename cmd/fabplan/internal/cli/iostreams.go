package cli

import (
	"bytes"
	"io"
	"os"

	"github.com/mattn/go-isatty"
)

// IOStreams bundles the standard streams with the terminal decisions made about them. Data goes
// to Out; progress, warnings and errors go to ErrOut.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// Color is true when Out is a terminal and NO_COLOR is unset or empty (no-color.org).
	Color bool
	// Interactive is true when In and ErrOut are terminals (prompts are possible).
	Interactive bool
}

// System returns the process's streams.
func System() *IOStreams {
	noColor := os.Getenv("NO_COLOR") != ""
	outTTY := isatty.IsTerminal(os.Stdout.Fd())
	return &IOStreams{
		In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr,
		Color:       outTTY && !noColor && os.Getenv("TERM") != "dumb",
		Interactive: isatty.IsTerminal(os.Stdin.Fd()) && isatty.IsTerminal(os.Stderr.Fd()),
	}
}

// Test returns streams backed by buffers.
func Test() (*IOStreams, *bytes.Buffer, *bytes.Buffer) {
	out, errOut := &bytes.Buffer{}, &bytes.Buffer{}
	return &IOStreams{In: &bytes.Buffer{}, Out: out, ErrOut: errOut}, out, errOut
}
