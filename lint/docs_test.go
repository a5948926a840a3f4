package lint

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/bazelbuild/buildtools/warn"
)

// TestDocsListEveryCheck keeps docs/lint.md in step with Checks(): one "#### id" section per
// check, in the same order, and nothing else at that level.
func TestDocsListEveryCheck(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "docs", "lint.md"))
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for _, m := range regexp.MustCompile(`(?m)^#### (\S+)$`).FindAllSubmatch(b, -1) {
		documented = append(documented, string(m[1]))
	}
	var ids []string
	for _, c := range Checks() {
		ids = append(ids, c.ID)
	}
	if !slices.Equal(documented, ids) {
		t.Errorf("docs/lint.md documents %v\nChecks() has %v", documented, ids)
	}
	// Each section opens with the check's severity and shows an example.
	sections := regexp.MustCompile(`(?m)^#### `).Split(string(b), -1)[1:]
	for i, sec := range sections {
		if i >= len(ids) {
			break
		}
		c, _ := LookupCheck(ids[i])
		id, body, _ := strings.Cut(sec, "\n")
		if !strings.HasPrefix(strings.TrimSpace(body), "**"+c.Severity.String()+".**") {
			t.Errorf("docs/lint.md: %s does not open with **%s.**", id, c.Severity)
		}
		if !strings.Contains(body, "```python\n") {
			t.Errorf("docs/lint.md: %s has no example", id)
		}
	}
}

// TestStyleWarningsExist guards against warn.FileWarnings' os.Exit on an unknown name.
func TestStyleWarningsExist(t *testing.T) {
	for _, w := range styleWarnings() {
		if !slices.Contains(warn.AllWarnings, w.Name) {
			t.Errorf("%s is not a buildtools warning", w.Name)
		}
	}
}

func TestCheckIDsUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range Checks() {
		if seen[c.ID] || c.Severity == 0 || c.Summary == "" || c.Fix == "" {
			t.Errorf("check %+v is duplicated or incomplete", c)
		}
		seen[c.ID] = true
	}
}
