package builtins

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fabplan/fabplan/emulator"
)

// Shortcut creates, replaces by overwrite (lakehouse) and by delete and create (KQL database), and
// schedule creates and updates, are each announced by an intent on disk before the call.
func TestShortcutAndScheduleCallsFollowTheirIntentOnDisk(t *testing.T) {
	client, watch, stateDir := intentClient(t)
	plan := func(v string) string {
		return fmt.Sprintf(`
ws = fabric.workspace(name = "w")
lake = fabric.item(workspace = ws, type = "Lakehouse", name = "lake")
eh = fabric.item(workspace = ws, type = "Eventhouse", name = "eh")
logs = fabric.item(workspace = ws, type = "KQLDatabase", name = "logs", depends_on = [eh])
fabric.shortcut(item = lake, name = "ext", path = "Files", adls_gen2 = "https://a.dfs.core.windows.net",
                subpath = "/c/%[1]s", connection_id = %[2]q, conflict_policy = "CreateOrOverwrite")
fabric.shortcut(item = lake, name = "s3", path = "Files", s3 = "https://b.s3.us-west-2.amazonaws.com",
                subpath = %[1]q, connection_id = %[2]q)
fabric.shortcut(item = logs, name = "t", onelake = lake, onelake_path = "Tables/%[1]s")
fabric.schedule(item = lake, job_type = "TableMaintenance", times = [%[3]q], start = "2026-01-01T00:00:00Z",
                end = "2027-01-01T00:00:00Z")
`, v, emulator.DefaultConnectionID, map[string]string{"v1": "01:00", "v2": "02:00"}[v])
	}
	dir := writeTree(t, map[string]string{"v1.star": plan("v1"), "v2.star": plan("v2")})
	for _, v := range []string{"v1.star", "v2.star"} {
		if err := deploy(t, client, stateDir, filepath.Join(dir, v), 1); err != nil {
			t.Fatalf("%s: %v", v, err)
		}
	}
	// v1: workspace, 3 items, 3 shortcuts, a schedule; v2: an overwrite, two deletes and creates, an update.
	if watch.calls < 14 {
		t.Fatalf("only %d mutating calls seen; the plans no longer exercise shortcuts and schedules", watch.calls)
	}
	if len(watch.unannounced) > 0 {
		t.Errorf("mutating calls with no open intent on disk:\n%s", strings.Join(watch.unannounced, "\n"))
	}
}
