package lint

import (
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestExamplePlans keeps the repository's example plans lint-clean and formatted, as
// `make lint` requires (fabplan lint plans/ && fabplan fmt --check plans/).
func TestExamplePlans(t *testing.T) {
	dir := filepath.Join("..", "plans")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("no example plans: %v", err)
	}
	r, err := Run(Options{Paths: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Findings) > 0 {
		t.Errorf("plans/ has lint findings:\n%s", textOf(r))
	}
	res, err := FormatPaths(FormatOptions{Paths: []string{dir}, Check: true}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Unformatted) > 0 {
		t.Errorf("plans/ has unformatted files: %v", res.Unformatted)
	}
}
