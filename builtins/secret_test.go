package builtins

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/fabplan/fabplan/engine"
	"github.com/fabplan/fabplan/secrets"
)

const sentinel = "SENTINEL-builtins-0b1d"

func TestSecretIsOpaque(t *testing.T) {
	for _, tc := range []struct{ name, plan, want string }{
		{"concatenation", `x = "pw=" + secret("db-password")`, "a secret cannot be used with +"},
		{"concatenation on the left", `x = secret("db-password") + "!"`, "a secret cannot be used with +"},
		{"comparison of two secrets", `x = secret("a-b") == secret("a-b")`, "secrets cannot be compared"},
		{"dict key", `x = {secret("a-b"): 1}`, "cannot be hashed"},
		{"as a name", `fabric.workspace(name = secret("a-b"))`, "a secret cannot be used here"},
		{"as a description", `fabric.workspace(name = "w", description = secret("a-b"))`, "a secret cannot be used here"},
		{"bad name", `secret("no spaces allowed")`, "use 1-127 letters, digits and dashes"},
		{"str() yields the placeholder", `fabric.workspace(name = str(secret("a-b")) + "x", description = 1)`, "description: got int"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeTree(t, map[string]string{"plan.star": tc.plan})
			_, err := Evaluate(EvalOptions{File: filepath.Join(dir, "plan.star"), Offline: true})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v; want an error containing %q", err, tc.want)
			}
		})
	}
	var printed []string
	dir := writeTree(t, map[string]string{"plan.star": `
s = secret("db-password")
print(s)
print(str(s), "%s" % s)
`})
	if _, err := Evaluate(EvalOptions{File: filepath.Join(dir, "plan.star"), Offline: true, Print: func(m string) { printed = append(printed, m) }}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(printed, "|"); got != "<secret:db-password>|<secret:db-password> <secret:db-password>" {
		t.Fatalf("printed %q; want only placeholders", got)
	}
}

func TestDefinitionReplaceTakesSecrets(t *testing.T) {
	files := map[string]string{
		"plan.star": `
ws = fabric.workspace(name = "w")
fabric.item(workspace = ws, type = "Notebook", name = "nb",
            definition = fabric.definition(path = "nb", replace = {"@PW@": secret("db-password")}))
`,
		"nb/notebook-content.py": "connect(password='@PW@')\n",
	}
	dir := writeTree(t, files)
	plan := filepath.Join(dir, "plan.star")

	r := secrets.New(secrets.Options{Getenv: func(k string) string {
		if k == "DB_PASSWORD" {
			return sentinel
		}
		return ""
	}})
	g, err := Evaluate(EvalOptions{File: plan, Secrets: r})
	if err != nil {
		t.Fatal(err)
	}
	if got := partsOf(t, g); !strings.Contains(got, "connect(password='"+sentinel+"')") {
		t.Fatalf("parts %q; want the secret's value substituted", got)
	}
	if d := r.Declared(); len(d) != 1 || d[0].Name != "db-password" || !strings.HasSuffix(d[0].Pos, "plan.star:4:82") {
		t.Fatalf("declared %+v; want db-password at plan.star:4:82", d)
	}
	for _, res := range g.Resources() {
		if it, ok := res.(*itemResource); ok {
			for _, a := range it.Diff(engine.Live{}, nil).Attrs {
				if a.Name == "definition" && (!a.Sensitive || a.Parts != nil) {
					t.Fatalf("definition attribute %+v; want it sensitive, without parts", a)
				}
			}
		}
	}
	if got := r.Redactor().Redact("x " + sentinel); got != "x <secret:db-password>" {
		t.Fatalf("the resolved value is not redacted: %q", got)
	}

	g, err = Evaluate(EvalOptions{File: plan, Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := partsOf(t, g); !strings.Contains(got, "<secret:db-password>") {
		t.Fatalf("offline parts %q; want the placeholder", got)
	}

	_, err = Evaluate(EvalOptions{File: plan})
	if err == nil || !strings.Contains(err.Error(), "plan.star:4:") || !strings.Contains(err.Error(), "no secret source") {
		t.Fatalf("online without a source: %v; want a refusal at the call", err)
	}

	r = secrets.New(secrets.Options{})
	_, err = Evaluate(EvalOptions{File: plan, Secrets: r})
	if err == nil || !strings.Contains(err.Error(), `secret "db-password"`) || !strings.Contains(err.Error(), "DB_PASSWORD") {
		t.Fatalf("unresolvable: %v; want the secret error naming DB_PASSWORD", err)
	}
}

// partsOf concatenates the definition parts of every item in g.
func partsOf(t *testing.T, g *engine.Graph) string {
	t.Helper()
	var b strings.Builder
	for _, r := range g.Resources() {
		if it, ok := r.(*itemResource); ok && it.definition != nil {
			for _, p := range it.definition.parts {
				b.Write(p.Payload)
			}
		}
	}
	return b.String()
}
