package builtins

import (
	"context"
	"errors"
	"github.com/fabplan/fabplan/emulator"
	"github.com/fabplan/fabplan/fabric"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
			_, err := Evaluate(context.Background(), EvalOptions{File: filepath.Join(dir, "plan.star"), Offline: true})
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
	if _, err := Evaluate(context.Background(), EvalOptions{File: filepath.Join(dir, "plan.star"), Offline: true, Print: func(m string) { printed = append(printed, m) }}); err != nil {
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
	g, err := Evaluate(context.Background(), EvalOptions{File: plan, Secrets: r})
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

	g, err = Evaluate(context.Background(), EvalOptions{File: plan, Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := partsOf(t, g); !strings.Contains(got, "<secret:db-password>") {
		t.Fatalf("offline parts %q; want the placeholder", got)
	}

	_, err = Evaluate(context.Background(), EvalOptions{File: plan})
	if err == nil || !strings.Contains(err.Error(), "plan.star:4:") || !strings.Contains(err.Error(), "no secret source") {
		t.Fatalf("online without a source: %v; want a refusal at the call", err)
	}

	r = secrets.New(secrets.Options{})
	_, err = Evaluate(context.Background(), EvalOptions{File: plan, Secrets: r})
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

// A Key Vault read during evaluation takes the caller's context: cancelling it (Ctrl-C) stops a
// read that the vault keeps answering with 503, instead of retrying until --kv-timeout.
func TestVaultReadDuringEvaluationStopsWithTheContext(t *testing.T) {
	emu, _ := startEmulator(t, emulator.Options{})
	// A client that retries, as fabplan's does.
	id, secret := emu.ServicePrincipal()
	cred, err := fabric.NewCredential(fabric.AuthConfig{TenantID: emu.TenantID(), ClientID: id, ClientSecret: secret,
		AuthorityHost: emu.AuthorityHost(), HTTPClient: emu.HTTPClient()})
	if err != nil {
		t.Fatal(err)
	}
	client, err := fabric.New(fabric.Config{BaseURL: emu.FabricURL(), Credential: cred, HTTPClient: emu.HTTPClient()})
	if err != nil {
		t.Fatal(err)
	}
	if err := emu.SetSecret("db-password", sentinel); err != nil {
		t.Fatal(err)
	}
	if err := emu.AddFault(emulator.FaultRule{Method: "GET", Path: "/keyvault/**", Status: 503, Times: 1000}); err != nil {
		t.Fatal(err)
	}
	kv, err := client.KeyVault(fabric.KeyVaultConfig{URL: emu.KeyVaultURL(), Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	dir := writeTree(t, map[string]string{
		"plan.star": `
ws = fabric.workspace(name = "w")
fabric.item(workspace = ws, type = "Notebook", name = "nb",
            definition = fabric.definition(path = "nb", replace = {"@PW@": secret("db-password")}))
`,
		"nb/notebook-content.py": "connect(password='@PW@')\n",
	})
	vaultCalls := func() int {
		n := 0
		for _, r := range emu.Requests() {
			if strings.HasPrefix(r.Path, "/keyvault/") {
				n++
			}
		}
		return n
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	go func() {
		for vaultCalls() == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel(errors.New("interrupt signal received"))
	}()
	r := secrets.New(secrets.Options{Vault: kv, Getenv: func(string) string { return "" }})
	_, err = Evaluate(ctx, EvalOptions{File: filepath.Join(dir, "plan.star"), Secrets: r})
	if err == nil {
		t.Fatal("evaluation succeeded against a vault that only answers 503")
	}
	t.Logf("%d vault call(s): %v", vaultCalls(), err)
	// The vault asks for a retry after a second; a read that ignored the context would go on
	// for the minute its timeout allows.
	if n := vaultCalls(); n > 3 {
		t.Errorf("%d Key Vault calls after the context was cancelled at the first; want the read to stop", n)
	}
}
