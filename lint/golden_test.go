package lint

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestGoldenMessages pins the text output for every firing fixture, so a changed message shows
// up as a diff to review. Regenerate with `go test ./lint -run TestGoldenMessages -update`.
func TestGoldenMessages(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "fire", "*"))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, d := range dirs {
		r, err := Run(testOptions(d))
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Write(&b, TextOutput); err != nil {
			t.Fatal(err)
		}
	}
	golden := filepath.Join("testdata", "fire.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got := b.String(); got != string(want) {
		t.Errorf("text output differs from %s (run with -update and review the diff):\n%s", golden, got)
	}
}
