package journal

import (
	"os"
	"strings"
	"testing"
)

func TestSetRedactScrubsEveryLine(t *testing.T) {
	dir := t.TempDir()
	j, err := Create(dir, "r1", "plan.star", "test")
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
