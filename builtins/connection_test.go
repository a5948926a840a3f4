package builtins

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/fabplan/fabplan/fabric"
)

// Credentials never leave through formatting or JSON: the journal's undo arguments and every log
// line are built from those.
func TestCredentialsNeverFormatted(t *testing.T) {
	c := fabric.Credentials{Type: "Basic", Username: "u", Password: "SENTINEL-fmt-0a1b"}
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s", c, c, c, c), fmt.Sprint(&c)} {
		if s == "" || strings.Contains(s, "SENTINEL") {
			t.Errorf("formatted credentials: %q", s)
		}
	}
	if b, err := json.Marshal(c); err == nil {
		t.Errorf("credentials encoded as JSON: %s", b)
	}
	if b, err := json.Marshal(struct{ C fabric.Credentials }{c}); err == nil {
		t.Errorf("credentials encoded inside a struct: %s", b)
	}
}

// The undo arguments of every connection change hold secret names and digests, never values.
func TestConnectionUndoHoldsNoSecret(t *testing.T) {
	r := &connectionResource{name: "c", def: connectionDef{Type: "SQL", CredentialType: "Basic", Username: "u",
		Secrets: map[string]string{"password": "sql-password"}}}
	r.values = []secretValue{{param: "password", value: "SENTINEL-undo-77c2"}}
	r.creds = r.def.credentials(r.values)
	if r.creds.Password != "SENTINEL-undo-77c2" {
		t.Fatal("credentials not built from the secret values")
	}
	u := connectionUndo{ID: "1", Name: "c", Sent: &r.def, Previous: r.previousDef(fabric.Connection{Type: "SQL"}),
		CredentialDigest: "argon2id$...", CredentialsChanged: true}
	b, err := json.Marshal(u)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "SENTINEL") {
		t.Errorf("undo arguments hold the secret: %s", b)
	}
}
