package builtins

import (
	"path/filepath"
	"strings"
	"testing"

	statestore "github.com/fabplan/fabplan/state"
)

// Connection creates, in-place updates and replaces (new parameters: delete, then create) are each
// announced by an intent on disk before the call, as every other kind's are.
func TestConnectionCallsFollowTheirIntentOnDisk(t *testing.T) {
	client, watch, stateDir := intentClient(t)
	dir := writeTree(t, map[string]string{
		"v1.star": `
fabric.connection(name = "sql", type = "SQL", parameters = {"server": "s.example.net", "database": "a"},
                  credential_type = "Basic", username = "loader", password = secret("chaos-pw"))
fabric.connection(name = "blob", type = "AzureBlobs", parameters = {"account": "acct", "domain": "blob.core.windows.net"},
                  credential_type = "Key", key = secret("chaos-key"))
`,
		"v2.star": `
fabric.connection(name = "sql", type = "SQL", parameters = {"server": "s.example.net", "database": "b"},
                  credential_type = "Basic", username = "loader", password = secret("chaos-pw"))
fabric.connection(name = "blob", type = "AzureBlobs", parameters = {"account": "acct", "domain": "blob.core.windows.net"},
                  credential_type = "Key", key = secret("chaos-key"), privacy_level = "Private")
`,
	})
	st := statestore.NewLocal(stateDir)
	for _, v := range []string{"v1.star", "v2.star"} {
		if err := chaosConnRun(t, client, st, filepath.Join(dir, v), nil); err != nil {
			t.Fatalf("%s: %v", v, err)
		}
	}
	// v1: two creates; v2: a replace (delete and create) and an update.
	if watch.calls < 5 {
		t.Fatalf("only %d mutating calls seen; the plans no longer exercise connections", watch.calls)
	}
	if len(watch.unannounced) > 0 {
		t.Errorf("mutating calls with no open intent on disk:\n%s", strings.Join(watch.unannounced, "\n"))
	}
}
