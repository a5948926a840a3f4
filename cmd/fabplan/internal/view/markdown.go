package view

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/fabplan/fabplan/engine"
)

// PlanMarkdown writes a plan document as Markdown for a pull request comment or a CI job summary:
// a heading with the plan and environment, the summary line, a table of the changes, and the full
// text plan (Document's, uncoloured) folded in a diff block, so reviewers see the same plan `plan`
// prints.
func PlanMarkdown(w io.Writer, d *engine.Document) {
	title := "`" + d.Source.File + "`"
	if d.Source.Env != "" {
		title += " (env " + d.Source.Env + ")"
	}
	s := d.Summary
	if !s.HasChanges {
		fmt.Fprintf(w, "### fabplan plan %s: no changes\n\nLive state matches the plan.\n", title)
		if s.Unmanaged > 0 {
			fmt.Fprintf(w, "%d object(s) in its workspaces are not managed by it.\n", s.Unmanaged)
		}
		fmt.Fprintln(w)
		return
	}
	fmt.Fprintf(w, "### fabplan plan %s\n\n**Plan: %d to add, %d to change, %d to replace, %d to destroy.**\n\n",
		title, s.Add, s.Change, s.Replace, s.Destroy)
	fmt.Fprintln(w, "| action | address |\n|---|---|")
	for _, c := range d.Changes {
		if !c.Action.Mutates() {
			continue
		}
		fmt.Fprintf(w, "| %s | `%s` |\n", c.Action, strings.ReplaceAll(string(c.Address), "|", `\|`))
	}
	var text bytes.Buffer
	Document(&text, d, PlanOptions{})
	fence := "```"
	for strings.Contains(text.String(), fence) { // a definition diff holding ``` must not end the block
		fence += "`"
	}
	fmt.Fprintf(w, "\n<details><summary>Plan details</summary>\n\n%sdiff\n%s%s\n\n</details>\n\n", fence, text.String(), fence)
}
