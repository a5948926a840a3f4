package cli

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

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
	// Interactive is true when In and ErrOut are terminals outside CI (prompts are possible).
	Interactive bool
	// Live is true when ErrOut is a terminal outside CI: progress may redraw one line in place.
	Live bool
}

// System returns the process's streams. CI (any value but "" or "false", as CI services set it)
// or TF_BUILD (Azure Pipelines) makes them non-interactive whatever the terminals say;
// FABPLAN_PROMPT=always asks on standard input even without a terminal (scripts answering
// prompts), FABPLAN_PROMPT=never never asks.
func System() *IOStreams {
	noColor := os.Getenv("NO_COLOR") != ""
	outTTY := isatty.IsTerminal(os.Stdout.Fd())
	errTTY := isatty.IsTerminal(os.Stderr.Fd())
	ci := InCI(os.Getenv)
	interactive := isatty.IsTerminal(os.Stdin.Fd()) && errTTY && !ci
	switch os.Getenv("FABPLAN_PROMPT") {
	case "always":
		interactive = true
	case "never":
		interactive = false
	}
	return &IOStreams{
		In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr,
		Color:       outTTY && !noColor && os.Getenv("TERM") != "dumb",
		Interactive: interactive,
		Live:        errTTY && !ci && os.Getenv("TERM") != "dumb",
	}
}

// InCI reports whether fabplan runs in a CI service (CI set by GitHub Actions, GitLab and most
// others; TF_BUILD by Azure Pipelines).
func InCI(getenv func(string) string) bool {
	ci := strings.ToLower(getenv("CI"))
	return (ci != "" && ci != "false" && ci != "0") || getenv("TF_BUILD") != ""
}

// Confirm asks question on ErrOut and reads one line of In; only an answer in accept (compared
// without case) confirms.
func (s *IOStreams) Confirm(question string, accept ...string) bool {
	fmt.Fprint(s.ErrOut, question)
	answer, _ := bufio.NewReader(s.In).ReadString('\n')
	a := strings.ToLower(strings.TrimSpace(answer))
	for _, ok := range accept {
		if a == ok {
			return true
		}
	}
	return false
}

// Test returns streams backed by buffers.
func Test() (*IOStreams, *bytes.Buffer, *bytes.Buffer) {
	out, errOut := &bytes.Buffer{}, &bytes.Buffer{}
	return &IOStreams{In: &bytes.Buffer{}, Out: out, ErrOut: errOut}, out, errOut
}
