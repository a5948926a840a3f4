package journal

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/fabplan/fabplan/state"
)

func TestSetRedactScrubsErrors(t *testing.T) {
	dir := t.TempDir()
	j, err := Create(ctx, state.NewLocal(dir), "r1", "plan.star", "test")
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	const secret = "SENTINEL-journal-91c2"
	j.SetRedact(func(s string) string { return strings.ReplaceAll(s, secret, "<secret:pw>") })
	if err := j.Append(Record{Type: Failed, Step: "workspace.w", Error: "bad password " + secret}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(j.Path())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), secret) || !strings.Contains(string(b), "bad password <secret:pw>") {
		t.Fatalf("journal:\n%s\nwant the value replaced", b)
	}
}

// Redaction works on free text, never on the record's encoding or its data: a short secret that
// is also a JSON literal, or part of an id, must neither break the line nor change what rollback
// acts on.
func TestRedactionLeavesDataAndEncodingAlone(t *testing.T) {
	dir := t.TempDir()
	j, err := Create(ctx, state.NewLocal(dir), "r1", "plan.star", "test")
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	redact := func(s string) string {
		for _, v := range []string{"true", "4f2a"} {
			s = strings.ReplaceAll(s, v, "<secret:x>")
		}
		return s
	}
	j.SetRedact(redact)
	const id = "9c1e4f2a-0000-4000-8000-000000000001"
	args := json.RawMessage(`{"workspace_id":"` + id + `","enabled":true}`)
	in := Record{Type: Done, Step: "workspace.w", ID: id, Sensitive: true, Undo: &Undo{Op: "workspace.delete", Args: args},
		Error: "value true rejected"}
	if err := j.Append(in); err != nil {
		t.Fatal(err)
	}
	recs, err := j.Records(ctx)
	if err != nil {
		t.Fatalf("the journal no longer reads back: %v", err)
	}
	got := recs[len(recs)-1]
	if got.ID != id || string(got.Undo.Args) != string(args) || !got.Sensitive {
		t.Errorf("data rewritten: id %q, args %s, sensitive %v", got.ID, got.Undo.Args, got.Sensitive)
	}
	if got.Error != "value <secret:x> rejected" {
		t.Errorf("error = %q, want the free text redacted", got.Error)
	}
}
