package lint

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestSecretParameter covers parameters the catalog marks as taking a secret (Type "secret" or
// Secret), whatever their name: a literal is secret-literal, secret() is fine, anything else of
// a known kind is arg-type.
func TestSecretParameter(t *testing.T) {
	dir := t.TempDir()
	src := `fabric.git_credentials(credential = "ghp_literal")
fabric.git_credentials(credential = secret("git-pat"))
fabric.git_credentials(credential = 42)
fabric.connection(auth = "literal")
`
	if err := os.WriteFile(filepath.Join(dir, "plan.star"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	sigs := newSignatures([]spec{
		{Name: "fabric.git_credentials", Params: []param{{Name: "credential", Type: "secret", Required: true}}},
		{Name: "fabric.connection", Params: []param{{Name: "auth", Type: "string", Secret: true}}},
		{Name: "secret", Params: []param{{Name: "name", Type: "string", Required: true}}},
	}, nil)
	r, err := Run(Options{Paths: []string{dir}, NoEval: true, sigs: sigs})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range r.Findings {
		got = append(got, where(t, dir, f)+" "+f.Check)
	}
	want := []string{"plan.star:1 secret-literal", "plan.star:3 arg-type", "plan.star:4 secret-literal"}
	if !slices.Equal(got, want) {
		t.Errorf("findings %v, want %v:\n%s", got, want, textOf(r))
	}
}
