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

// NewStyles colours output when enabled is true (stdout is a terminal and NO_COLOR is unset).
func NewStyles(enabled bool) Styles { return Styles{enabled: enabled} }

func (s Styles) paint(c color.Attribute, text string) string {
	if !s.enabled {
		return text
	}
	col := color.New(c)
	col.EnableColor()
	return col.Sprint(text)
}

func (s Styles) action(a engine.Action, text string) string {
	switch a {
	case engine.Create:
		return s.paint(color.FgGreen, text)
	case engine.Update:
		return s.paint(color.FgYellow, text)
	case engine.Delete, engine.Replace:
		return s.paint(color.FgRed, text)
	case engine.Read:
		return s.paint(color.FgCyan, text)
	}
	return text
}

// diffLine colours one line of a unified diff.
func (s Styles) diffLine(line string) string {
	switch {
	case strings.HasPrefix(line, "+++"), strings.HasPrefix(line, "---"):
		return s.paint(color.Bold, line)
	case strings.HasPrefix(line, "+"):
		return s.paint(color.FgGreen, line)
	case strings.HasPrefix(line, "-"):
		return s.paint(color.FgRed, line)
	case strings.HasPrefix(line, "@@"):
		return s.paint(color.FgCyan, line)
	}
	return line
}

// PlanOptions choose what the plan shows.
type PlanOptions struct {
	Verbose bool // show no-op resources too
	Styles  Styles
}

// Plan writes the human-readable plan. It draws the same document `plan --json` prints, so the
// two cannot disagree.
func Plan(w io.Writer, p *engine.Plan, opts PlanOptions) {
	Document(w, engine.NewDocument(p, engine.Source{}, ""), opts)
}

// Document writes a plan document for humans: each change with its attributes, the objects the
// plan does not manage, and the summary line.
func Document(w io.Writer, d *engine.Document, opts PlanOptions) {
	for i := range d.Changes {
		c := &d.Changes[i]
		if c.Action == engine.NoOp && !opts.Verbose {
			continue
		}
		change(w, c, opts.Styles)
	}
	Unmanaged(w, d)
	s := d.Summary
	fmt.Fprintf(w, "Plan: %d to add, %d to change, %d to replace, %d to destroy.\n", s.Add, s.Change, s.Replace, s.Destroy)
}

// Unmanaged lists the live objects in managed workspaces that the plan does not declare.
func Unmanaged(w io.Writer, d *engine.Document) {
	if len(d.Unmanaged) == 0 {
		return
	}
	fmt.Fprintln(w, "Not managed (in a workspace of the plan, but not declared by it; left as they are):")
	for _, u := range d.Unmanaged {
		if u.Reason != "" {
			fmt.Fprintf(w, "    %s (%s)\n", u.Address, u.Reason)
			continue
		}
		fmt.Fprintf(w, "    %s\n", u.Address)
	}
}

// change writes one resource's change with its attributes.
func change(w io.Writer, c *engine.DocChange, st Styles) {
	fmt.Fprintf(w, "%s %s %s\n", st.action(c.Action, fmt.Sprintf("%-3s", c.Action.Symbol())), c.Address, describe(c))
	hidden := 0
	for i := range c.Attributes {
		a := &c.Attributes[i]
		if (c.Action == engine.Update || c.Action == engine.Replace) && !a.Changed {
			hidden++
			continue
		}
		switch c.Action {
		case engine.Update, engine.Replace:
			line := fmt.Sprintf("      %s: %s -> %s", a.Name, value(a, a.Old), value(a, a.New))
			if a.ForcesReplace {
				line += st.paint(color.FgRed, " # forces replacement")
			}
			fmt.Fprintln(w, line)
			parts(w, a.Parts, st)
		case engine.Delete:
			fmt.Fprintf(w, "      %s = %s\n", a.Name, value(a, a.Old))
		default:
			fmt.Fprintf(w, "      %s = %s\n", a.Name, value(a, a.New))
		}
	}
	// A reviewer should know the list is partial: the rest stays as it is (--json has them all).
	if hidden > 0 {
		fmt.Fprintf(w, "      # (%d unchanged %s hidden)\n", hidden, plural(hidden, "attribute"))
	}
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// parts writes the parts of a definition that change: a unified diff for text, size and hash for
// binary parts.
func parts(w io.Writer, ps []engine.PartDiff, st Styles) {
	for _, p := range ps {
		if p.Action == engine.NoOp {
			continue
		}
		head := fmt.Sprintf("        %s %s", st.action(p.Action, p.Action.Symbol()), p.Path)
		if p.Binary {
			fmt.Fprintf(w, "%s (binary): %s -> %s\n", head, partInfo(p.Old), partInfo(p.New))
			continue
		}
		fmt.Fprintln(w, head)
		for _, line := range strings.Split(strings.TrimRight(p.Diff, "\n"), "\n") {
			if line == "" {
				continue
			}
			fmt.Fprintf(w, "            %s\n", st.diffLine(line))
		}
	}
}

func partInfo(p *engine.PartInfo) string {
	if p == nil {
		return "(none)"
	}
	return fmt.Sprintf("%d bytes sha256:%s", p.Size, p.SHA256[:12])
}

func describe(c *engine.DocChange) string {
	pos := "not declared"
	if c.Pos != nil {
		pos = c.Pos.String()
	}
	action := c.Action.String()
	if c.Lookup != nil {
		action = fmt.Sprintf("read by %s %q, never changed", c.Lookup.By, c.Lookup.Value)
	}
	s := fmt.Sprintf("(%s %s, %s)", c.Kind, action, pos)
	if c.Reason != "" {
		s += " # " + c.Reason
	}
	return s
}

func value(a *engine.DocAttr, v *string) string {
	switch {
	case a.Sensitive:
		return "(sensitive)"
	case v == nil && a.Unknown:
		return "(known after apply)"
	case v == nil:
		return "(none)"
	}
	return fmt.Sprintf("%q", *v)
}

// Summary is the last line of a finished run.
func Summary(w io.Writer, t engine.Tally) {
	fmt.Fprintf(w, "Apply complete: %d added, %d changed, %d replaced, %d destroyed.\n", t.Added, t.Changed, t.Replaced, t.Destroyed)
}

// NotStarted lists the changes a failed run never started, with their plan lines.
func NotStarted(cs []engine.Change) string {
	var b strings.Builder
	fmt.Fprintf(&b, "not started (%d change(s), nothing done for them):", len(cs))
	for _, c := range cs {
		fmt.Fprintf(&b, "\n  %s %s (%s)", c.Action, c.Addr, c.Pos)
	}
	return b.String()
}

// NoChanges is printed when live state already matches the plan.
func NoChanges(w io.Writer, plan string) {
	fmt.Fprintf(w, "No changes: live state matches %s.\n", plan)
}
