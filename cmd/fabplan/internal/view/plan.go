package view

import (
	"fmt"
	"io"
	"strings"

	"github.com/fatih/color"

	"github.com/fabplan/fabplan/engine"
)

// Styles colours the plan; the zero value prints plain text.
type Styles struct {
	enabled bool
}

// NewStyles colours output when enabled is true.
func NewStyles(enabled bool) Styles { return Styles{enabled: enabled} }

func (s Styles) paint(a engine.Action, text string) string {
	if !s.enabled {
		return text
	}
	var c *color.Color
	switch a {
	case engine.Create:
		c = color.New(color.FgGreen)
	case engine.Update:
		c = color.New(color.FgYellow)
	case engine.Delete, engine.Replace:
		c = color.New(color.FgRed)
	case engine.Read:
		c = color.New(color.FgCyan)
	default:
		return text
	}
	c.EnableColor()
	return c.Sprint(text)
}

// PlanOptions choose what the plan shows.
type PlanOptions struct {
	Verbose bool // show no-op resources too
	Styles  Styles
}

// Plan writes the human-readable plan.
func Plan(w io.Writer, p *engine.Plan, opts PlanOptions) {
	for _, c := range p.Changes {
		if c.Action == engine.NoOp && !opts.Verbose {
			continue
		}
		Change(w, &c, opts.Styles)
	}
	add, change, replace, destroy := p.Counts()
	fmt.Fprintf(w, "Plan: %d to add, %d to change, %d to replace, %d to destroy.\n", add, change, replace, destroy)
}

// Change writes one resource's change with its attributes.
func Change(w io.Writer, c *engine.Change, st Styles) {
	sym := c.Action.Symbol()
	fmt.Fprintf(w, "%s %s %s\n", st.paint(c.Action, fmt.Sprintf("%-3s", sym)), c.Addr, describe(c))
	for _, a := range c.Attrs {
		if c.Action == engine.Update && !a.Changed() {
			continue
		}
		if c.Action == engine.NoOp || c.Action == engine.Read {
			fmt.Fprintf(w, "      %s = %s\n", a.Name, value(a.New, a.Sensitive, false))
			continue
		}
		switch {
		case c.Action == engine.Create:
			fmt.Fprintf(w, "      %s = %s\n", a.Name, value(a.New, a.Sensitive, a.Unknown))
		default:
			fmt.Fprintf(w, "      %s: %s -> %s\n", a.Name, value(a.Old, a.Sensitive, false), value(a.New, a.Sensitive, a.Unknown))
		}
	}
}

func describe(c *engine.Change) string {
	s := fmt.Sprintf("(%s %s, %s)", c.Kind, c.Action, c.Pos)
	if c.Reason != "" {
		s += " # " + c.Reason
	}
	return s
}

func value(v string, sensitive, unknown bool) string {
	switch {
	case sensitive:
		return "(sensitive)"
	case unknown:
		return "(known after apply)"
	}
	return fmt.Sprintf("%q", v)
}

// Summary is the last line of a finished run.
func Summary(w io.Writer, p *engine.Plan) {
	add, change, replace, destroy := p.Counts()
	fmt.Fprintf(w, "Apply complete: %d added, %d changed, %d replaced, %d destroyed.\n", add, change, replace, destroy)
}

// NoChanges is printed when live state already matches the plan.
func NoChanges(w io.Writer, plan string) {
	fmt.Fprintf(w, "No changes: live state matches %s.\n", plan)
}

// Indent indents every line of s.
func Indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+prefix)
}
