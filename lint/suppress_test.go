package lint

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"
)

func TestSuppression(t *testing.T) {
	dir := filepath.Join("testdata", "suppress")
	r, err := Run(testOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range r.Findings {
		got = append(got, where(t, dir, f)+" "+f.Check)
	}
	// Line 4: same-line comment; line 6: comment on the line before; line 8: file-wide
	// comment in the header; line 11: comment on an argument's line; line 17: comment before
	// a call that spans lines. Lines 7 and 21 are not covered.
	if want := []string{"plan.star:7 prune", "plan.star:21 prune"}; !slices.Equal(got, want) {
		t.Errorf("findings %v, want %v:\n%s", got, want, textOf(r))
	}
}

func TestParseSuppression(t *testing.T) {
	tests := []struct {
		text string
		want []string
	}{
		{"# fabplan:disable=prune", []string{"prune"}},
		{"#fabplan:disable=prune,secret-literal because", []string{"prune", "secret-literal"}},
		{"# fabplan:disable=", nil},
		{"# fabplan: disable=prune", nil},
		{"# buildozer: disable=prune", nil},
	}
	for _, tt := range tests {
		got, _ := parseSuppression(tt.text)
		if !slices.Equal(got, tt.want) {
			t.Errorf("parseSuppression(%q) = %v, want %v", tt.text, got, tt.want)
		}
	}
}

func TestDisableOption(t *testing.T) {
	opts := testOptions(filepath.Join("testdata", "fire", "prune"))
	opts.Disable = []string{CheckPrune}
	r, err := Run(opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Findings) != 0 {
		t.Errorf("--disable=prune left findings:\n%s", textOf(r))
	}
	opts.Disable = []string{"prnue"}
	_, err = Run(opts)
	var ue *UsageError
	if !errors.As(err, &ue) {
		t.Errorf("unknown --disable id: got %v, want a *UsageError", err)
	}
}

func TestUsageErrors(t *testing.T) {
	_, err := Run(testOptions(filepath.Join("testdata", "no-such-dir")))
	var ue *UsageError
	if !errors.As(err, &ue) {
		t.Fatalf("missing path: got %v, want a *UsageError", err)
	}
	if _, err := ParseSeverity("fatal"); !errors.As(err, &ue) {
		t.Errorf("ParseSeverity(fatal): got %v", err)
	}
	if _, err := ParseOutputFormat("xml"); !errors.As(err, &ue) {
		t.Errorf("ParseOutputFormat(xml): got %v", err)
	}
}

func TestExitCode(t *testing.T) {
	r := Report{Findings: []Finding{{Check: CheckPrune, Severity: Warning}}}
	for _, tt := range []struct {
		failOn Severity
		want   int
	}{{Error, ExitClean}, {Warning, ExitFindings}, {Info, ExitFindings}} {
		if got := r.ExitCode(tt.failOn); got != tt.want {
			t.Errorf("ExitCode(%s) = %d, want %d", tt.failOn, got, tt.want)
		}
	}
	if got := (Report{}).ExitCode(Info); got != ExitClean {
		t.Errorf("clean report: ExitCode = %d", got)
	}
}

func TestDiscover(t *testing.T) {
	files, err := discover([]string{filepath.Join("testdata", "clean"), filepath.Join("testdata", "clean", "plan.star")})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		filepath.Join("testdata", "clean", "config", "plan.star"),
		filepath.Join("testdata", "clean", "lib", "naming.star"),
		filepath.Join("testdata", "clean", "plan.star"),
		filepath.Join("testdata", "clean", "secrets.star"),
	}
	if !slices.Equal(files, want) {
		t.Errorf("discover = %v, want %v", files, want)
	}
	// testdata directories are skipped unless named.
	files, err = discover([]string{"."})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 0 {
		t.Errorf("discover(.) in lint/ found %v; testdata must be skipped", files)
	}
}

func TestLooksRandom(t *testing.T) {
	for _, s := range []string{"aK9dPq2LmZ7xVb4NcR8tYw3E", "ghp_Zx81kLq2Vd9sPw3mTn6bY0cR4eUa7Jf5Hg2K", "3f786850e387550fdab836ed7e6dc881de23001b"} {
		if !looksRandom(s) {
			t.Errorf("looksRandom(%q) = false", s)
		}
	}
	for _, s := range []string{"sales_lakehouse_production_2024", "Contoso Sales Analytics 2024", "items/Sales.Report/definition.pbir",
		"9f1c2d3e-4b5a-6789-abcd-ef0123456789", "https://contoso.vault.azure.net/secrets/x1", "short1A"} {
		if looksRandom(s) {
			t.Errorf("looksRandom(%q) = true", s)
		}
	}
}
