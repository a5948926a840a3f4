package report

import (
	"fmt"
	"os"
	"strings"
)

// Markdown renders the run for a CI job summary: result, counts, the changes, and what rollback
// left behind.
func (r *Report) Markdown() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	icon := map[string]string{"applied": "✅", "no_changes": "✅", "rolled_back": "⚠️", "failed": "❌",
		"rollback_incomplete": "❌"}[r.Result]
	fmt.Fprintf(&b, "### fabplan run %s %s `%s`\n\n", icon, strings.ReplaceAll(r.Result, "_", " "), r.Plan)
	if r.RunID != "" {
		fmt.Fprintf(&b, "Run `%s`, %.1f s. ", r.RunID, r.DurationSeconds)
	}
	q := r.Requests
	fmt.Fprintf(&b, "%d request(s), %d throttled (429), %d retried, %.1f s waiting for the throttle.\n\n",
		q.Total, q.Throttled, q.Retries, q.ThrottleWaitSeconds)
	if len(r.Changes) > 0 {
		b.WriteString("| change | address | outcome | time |\n|---|---|---|---|\n")
		for _, c := range r.sortedChanges() {
			t := ""
			if c.DurationSeconds > 0 {
				t = fmt.Sprintf("%.2f s", c.DurationSeconds)
			}
			outcome := c.Outcome
			if c.ErrorCode != "" {
				outcome += " (" + c.ErrorCode + ")"
			}
			fmt.Fprintf(&b, "| %s | `%s` | %s | %s |\n", c.Action, c.Address, outcome, t)
		}
		b.WriteString("\n")
	}
	if rb := r.Rollback; rb != nil {
		fmt.Fprintf(&b, "Rollback %s: %d undone, %d reconciled.\n", rb.Outcome, rb.Undone, rb.Reconciled)
		for _, f := range rb.Failures {
			fmt.Fprintf(&b, "- could not undo `%s` (id %s): %s\n", f.Address, f.ID, firstLine(f.Error))
		}
		b.WriteString("\n")
	}
	if r.Error != "" && r.Rollback == nil {
		fmt.Fprintf(&b, "```\n%s\n```\n\n", r.Error)
	}
	return b.String()
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// AppendMarkdown appends the summary to path (GITHUB_STEP_SUMMARY's file or --summary FILE).
func (r *Report) AppendMarkdown(path string, redact func(string) string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("summary: %w", err)
	}
	if _, err := f.WriteString(redact(r.Markdown())); err != nil {
		f.Close()
		return fmt.Errorf("summary %s: %w", path, err)
	}
	return f.Close()
}
