package builtins

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/fabplan/fabplan/emulator"
	"github.com/fabplan/fabplan/engine"
	"github.com/fabplan/fabplan/engine/journal"
	"github.com/fabplan/fabplan/fabric"
	statestore "github.com/fabplan/fabplan/state"
)

const ownershipPlan = `
ws = fabric.workspace(name = "w", capacity = fabric.capacity(name = "demo-capacity"))
fabric.workspace(name = "sales", description = "ours")
fabric.role_assignment(workspace = ws, principal = principal.user(id = %q), role = "Contributor")
f = fabric.folder(workspace = ws, name = "etl")
fabric.item(workspace = ws, type = "Notebook", name = "nb", description = "ours", folder = f)
fabric.git_connection(workspace = ws, provider = "AzureDevOps", organization = "o", project = "p", repository = "r",
                      branch = "main", connection_id = %q, initialize = "PreferWorkspace")
`

// Another actor makes an object with the name this run is about to create, between refresh and
// apply. The run's create is refused (or, after an uncertain answer, finds the other object unlike
// what it sent); the run fails and rolls back. The rollback must leave the other actor's object
// alone: the state after it equals the state the run started from (the other object included).
func TestRollbackLeavesTheOtherActorsSameNamedObject(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"v0.star": `fabric.workspace(name = "w", capacity = fabric.capacity(name = "demo-capacity"))` + "\n",
		"v1.star": fmt.Sprintf(ownershipPlan, emulator.DefaultUserID, emulator.DefaultConnectionID),
	})
	for _, tc := range []struct {
		kind, path string
		theirs     func(c *fabric.Client, ws string) error
	}{
		{"workspace", "/v1/workspaces", func(c *fabric.Client, _ string) error {
			_, err := c.CreateWorkspace(bg, fabric.WorkspaceCreate{DisplayName: "sales", Description: "theirs"})
			return err
		}},
		{"item", "/v1/workspaces/*/items", func(c *fabric.Client, ws string) error {
			_, err := c.CreateItem(bg, ws, fabric.ItemCreate{Type: "Notebook", DisplayName: "nb", Description: "theirs"})
			return err
		}},
		{"role assignment", "/v1/workspaces/*/roleAssignments", func(c *fabric.Client, ws string) error {
			_, err := c.AddRoleAssignment(bg, ws, fabric.Principal{ID: emulator.DefaultUserID, Type: "User"}, "Admin")
			return err
		}},
		{"folder", "/v1/workspaces/*/folders", func(c *fabric.Client, ws string) error {
			f, err := c.CreateFolder(bg, ws, "etl", "")
			if err != nil {
				return err
			}
			_, err = c.CreateItem(bg, ws, fabric.ItemCreate{Type: "Notebook", DisplayName: "theirs", FolderID: f.ID})
			return err
		}},
		{"git connection", "/v1/workspaces/*/git/connect", func(c *fabric.Client, ws string) error {
			return c.ConnectGit(bg, ws, fabric.GitProviderDetails{GitProviderType: "AzureDevOps", OrganizationName: "o",
				ProjectName: "p", RepositoryName: "r", BranchName: "dev", DirectoryName: "/"},
				&fabric.GitCredentials{Source: "ConfiguredConnection", ConnectionID: emulator.DefaultConnectionID})
		}},
	} {
		for _, answer := range []string{"refused", "uncertain"} {
			t.Run(tc.kind+"/"+answer, func(t *testing.T) {
				emu, client := startEmulator(t, emulator.Options{ImmediateTypes: ItemTypes})
				stateDir := t.TempDir()
				if err := deploy(t, client, stateDir, filepath.Join(dir, "v0.star"), 4); err != nil {
					t.Fatal(err)
				}
				ws, _, err := client.FindWorkspace(bg, "w")
				if err != nil {
					t.Fatal(err)
				}
				var start []byte
				err = deployBetween(t, client, stateDir, filepath.Join(dir, "v1.star"), 4, func() {
					if err := tc.theirs(client, ws.ID); err != nil {
						t.Fatal(err)
					}
					start = stateWithIDs(t, emu)
					if answer == "uncertain" {
						emu.AddFault(emulator.FaultRule{Method: "POST", Path: tc.path, Status: 503})
					}
				})
				var ae *engine.ApplyError
				if !errAs(err, &ae) || ae.Rollback == nil {
					t.Fatalf("want the run to fail and roll back, got %v", err)
				}
				if !ae.Rollback.OK() {
					t.Errorf("rollback: %v", ae.Rollback)
				}
				if end := stateWithIDs(t, emu); !bytes.Equal(end, start) {
					t.Errorf("the rollback changed what the run found:\nbefore %s\nafter  %s", start, end)
				}
			})
		}
	}
}

// stateWithIDs is the emulator's Fabric state, ids included. The Git remotes are left out: a commit
// the run's Git sync pushed is in the repository, which no rollback of Fabric objects takes back.
func stateWithIDs(tb testing.TB, emu *emulator.Emulator) []byte {
	tb.Helper()
	b, err := emu.StateWith(emulator.StateOptions{IDs: true})
	if err != nil {
		tb.Fatal(err)
	}
	var st map[string]json.RawMessage
	if err := json.Unmarshal(b, &st); err != nil {
		tb.Fatal(err)
	}
	delete(st, "gitRemotes")
	b, err = json.MarshalIndent(st, "", "  ")
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// The intent's undo of a create whose outcome never became known (a crash, answers lost until the
// retries ran out) finds the object by its natural key. It deletes it only when it is what the
// create sent; another actor's object of that name is a conflict, reported and left alone.
func TestIntentUndoDeletesOnlyWithEvidence(t *testing.T) {
	for _, tc := range []struct {
		description string
		deleted     bool
	}{{"ours", true}, {"theirs", false}} {
		t.Run(tc.description, func(t *testing.T) {
			emu, client := startEmulator(t, emulator.Options{ImmediateTypes: ItemTypes})
			ws, err := client.CreateWorkspace(bg, fabric.WorkspaceCreate{DisplayName: "w"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := client.CreateItem(bg, ws.ID, fabric.ItemCreate{Type: "Notebook", DisplayName: "nb", Description: tc.description}); err != nil {
				t.Fatal(err)
			}
			stateDir := t.TempDir()
			j, err := journal.Create(context.Background(), statestore.NewLocal(stateDir), "run1", "plan.star", "test")
			if err != nil {
				t.Fatal(err)
			}
			defer j.Close()
			undo := engine.NewUndo("item.delete", itemUndo{WorkspaceID: ws.ID, Type: "Notebook", Name: "nb", Description: "ours"})
			if err := j.Append(journal.Record{Type: journal.Intent, Step: "workspace:w/item:Notebook:nb", Action: "create", Undo: &undo}); err != nil {
				t.Fatal(err)
			}
			recs, err := j.Records(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			res := engine.Rollback(context.Background(), recs, engine.NewRuntime(client), engine.RollbackOptions{Journal: j, Undo: UndoRegistry()})
			_, found, err := client.FindItem(bg, ws.ID, "Notebook", "nb")
			if err != nil {
				t.Fatal(err)
			}
			if found == tc.deleted {
				t.Fatalf("item found after rollback: %v, want %v (rollback %+v)", found, !tc.deleted, res)
			}
			if tc.deleted {
				if !res.OK() {
					t.Errorf("rollback: %v", res)
				}
				return
			}
			if res.OK() || fabric.ErrorCode(res.Failures[0].Err) != fabric.CodeOwnershipConflict {
				t.Fatalf("want the other actor's item reported as a conflict, got %+v", res)
			}
			t.Logf("rollback reads: %v", res)
			_ = emu
		})
	}
}

var bg = context.Background()
