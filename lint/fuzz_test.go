package lint

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLint runs every static check on arbitrary input: none may panic, and every finding must
// have a position and a known check. Seeds are the fixtures.
func FuzzLint(f *testing.F) {
	for _, pattern := range []string{"*/*/*.star", "*/*.star"} {
		seeds, _ := filepath.Glob(filepath.Join("testdata", pattern))
		for _, p := range seeds {
			b, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "plan.star"), src, 0o644); err != nil {
			t.Fatal(err)
		}
		r, err := Run(testOptions(dir))
		if err != nil {
			t.Fatal(err)
		}
		for _, fd := range r.Findings {
			if _, ok := LookupCheck(fd.Check); !ok || fd.Line < 1 || fd.Col < 0 || fd.Severity == 0 {
				t.Errorf("bad finding %+v", fd)
			}
		}
	})
}
