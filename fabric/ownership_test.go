package fabric

import (
	"bytes"
	"testing"
	"time"

	"github.com/fabplan/fabplan/emulator"
)

// After an uncertain answer (here a 503: nothing applied, but the client cannot know), the object
// found by natural key is another actor's, made between refresh and apply and unlike what this create
// sent. It must not be adopted: the create fails with OwnershipConflict, marked not applied, and the
// other actor's object is left as it was.
func TestUncertainCreateDoesNotAdoptAnotherActorsObject(t *testing.T) {
	repo := GitProviderDetails{GitProviderType: "AzureDevOps", OrganizationName: "contoso", ProjectName: "fabric",
		RepositoryName: "estate", BranchName: "main", DirectoryName: "/"}
	creds := &GitCredentials{Source: "ConfiguredConnection", ConnectionID: emulator.DefaultConnectionID}
	for _, tc := range []struct {
		name, path string
		// theirs makes the other actor's object in ws; ours is this run's create of the same key.
		theirs, ours func(c *Client, ws string) error
	}{
		{"workspace", "/v1/workspaces",
			func(c *Client, _ string) error {
				_, err := c.CreateWorkspace(bg, WorkspaceCreate{DisplayName: "sales", Description: "theirs"})
				return err
			},
			func(c *Client, _ string) error {
				_, err := c.CreateWorkspace(bg, WorkspaceCreate{DisplayName: "sales", Description: "ours"})
				return err
			}},
		{"item", "/v1/workspaces/*/items",
			func(c *Client, ws string) error {
				_, err := c.CreateItem(bg, ws, ItemCreate{Type: "Notebook", DisplayName: "nb", Description: "theirs"})
				return err
			},
			func(c *Client, ws string) error {
				_, err := c.CreateItem(bg, ws, ItemCreate{Type: "Notebook", DisplayName: "nb", Description: "ours"})
				return err
			}},
		{"role assignment", "/v1/workspaces/*/roleAssignments",
			func(c *Client, ws string) error {
				_, err := c.AddRoleAssignment(bg, ws, Principal{ID: emulator.DefaultUserID, Type: "User"}, "Admin")
				return err
			},
			func(c *Client, ws string) error {
				_, err := c.AddRoleAssignment(bg, ws, Principal{ID: emulator.DefaultUserID, Type: "User"}, "Contributor")
				return err
			}},
		{"folder", "/v1/workspaces/*/folders",
			func(c *Client, ws string) error {
				f, err := c.CreateFolder(bg, ws, "etl", "")
				if err != nil {
					return err
				}
				_, err = c.CreateItem(bg, ws, ItemCreate{Type: "Notebook", DisplayName: "theirs", FolderID: f.ID})
				return err
			},
			func(c *Client, ws string) error {
				_, err := c.CreateFolder(bg, ws, "etl", "")
				return err
			}},
		{"git connection", "/v1/workspaces/*/git/connect",
			func(c *Client, ws string) error {
				dev := repo
				dev.BranchName = "dev"
				return c.ConnectGit(bg, ws, dev, creds)
			},
			func(c *Client, ws string) error { return c.ConnectGit(bg, ws, repo, creds) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := startEmulator(t, emulator.Options{ImmediateTypes: []string{"Notebook"}})
			c := emulatorClient(t, e, nil)
			ws, err := c.CreateWorkspace(bg, WorkspaceCreate{DisplayName: "estate", CapacityID: emulator.DefaultCapacityID})
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.theirs(c, ws.ID); err != nil {
				t.Fatal(err)
			}
			before := emulatorState(t, e)
			if err := e.AddFault(emulator.FaultRule{Method: "POST", Path: tc.path, Status: 503, ErrorCode: "ServiceUnavailable"}); err != nil {
				t.Fatal(err)
			}
			err = tc.ours(c, ws.ID)
			if ErrorCode(err) != CodeOwnershipConflict || !NotApplied(err) {
				t.Fatalf("got %v (not applied: %v), want %s, not applied", err, NotApplied(err), CodeOwnershipConflict)
			}
			t.Logf("conflict reads: %v", err)
			if after := emulatorState(t, e); !bytes.Equal(after, before) {
				t.Errorf("the other actor's object changed:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

func emulatorState(t *testing.T, e *emulator.Emulator) []byte {
	t.Helper()
	b, err := e.StateWith(emulator.StateOptions{IDs: true})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// NotApplied separates a create that certainly did not take effect (nothing to undo) from one that
// may have.
func TestNotApplied(t *testing.T) {
	for _, tc := range []struct {
		name       string
		rule       *emulator.FaultRule
		noRetry    bool
		notApplied bool
	}{
		{"refused: the name is in use", nil, false, true},
		{"throttled", &emulator.FaultRule{Status: 429, RetryAfter: 1}, true, true},
		{"refused: bad input", &emulator.FaultRule{Status: 400, ErrorCode: "InvalidInput"}, false, true},
		{"503, retry off", &emulator.FaultRule{Status: 503}, true, false},
		{"lost answer, retry off", &emulator.FaultRule{Action: "reset_before"}, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := startEmulator(t, emulator.Options{ImmediateTypes: []string{"Notebook"}})
			c := emulatorClient(t, e, func(cfg *Config) { cfg.NoRetry = tc.noRetry })
			ws, err := c.CreateWorkspace(bg, WorkspaceCreate{DisplayName: "estate"})
			if err != nil {
				t.Fatal(err)
			}
			if tc.rule == nil {
				if _, err := c.CreateItem(bg, ws.ID, ItemCreate{Type: "Notebook", DisplayName: "nb"}); err != nil {
					t.Fatal(err)
				}
			} else {
				r := *tc.rule
				r.Method, r.Path = "POST", "/v1/workspaces/*/items"
				if err := e.AddFault(r); err != nil {
					t.Fatal(err)
				}
			}
			_, err = c.CreateItem(bg, ws.ID, ItemCreate{Type: "Notebook", DisplayName: "nb"})
			if err == nil || NotApplied(err) != tc.notApplied {
				t.Fatalf("got %v, not applied %v; want an error, not applied %v", err, NotApplied(err), tc.notApplied)
			}
		})
	}
	// A call an open breaker never sent was not applied either.
	e := startEmulator(t, emulator.Options{})
	c := emulatorClient(t, e, func(cfg *Config) { cfg.NoRetry = true; cfg.BreakerCooldown = time.Hour })
	e.AddFault(emulator.FaultRule{Path: "/v1/workspaces", Status: 503, Times: 5})
	for range 5 {
		c.ListWorkspaces(bg)
	}
	if _, err := c.CreateWorkspace(bg, WorkspaceCreate{DisplayName: "x"}); ErrorCode(err) != CodeCircuitBreakerOpen || !NotApplied(err) {
		t.Fatalf("create behind an open breaker: %v, not applied %v", err, NotApplied(err))
	}
}

// An operation that fails for a passing reason (UnknownError) is sent again where that is safe:
// setting a definition, reading one, and a create (after a look-up found nothing).
func TestTransientOperationFailuresAreRetried(t *testing.T) {
	e := startEmulator(t, emulator.Options{})
	c := emulatorClient(t, e, nil)
	ws, err := c.CreateWorkspace(bg, WorkspaceCreate{DisplayName: "estate"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/v1/workspaces/*/items", "/v1/workspaces/*/items/*/updateDefinition", "/v1/workspaces/*/items/*/getDefinition"} {
		if err := e.AddFault(emulator.FaultRule{Method: "POST", Path: p, Action: emulator.ActionFailOperation}); err != nil {
			t.Fatal(err)
		}
	}
	v1 := Definition{Parts: []Part{{Path: "notebook-content.py", Payload: []byte("# Fabric notebook source\nprint(1)\n")}}}
	it, err := c.CreateItem(bg, ws.ID, ItemCreate{Type: "Notebook", DisplayName: "nb", Definition: &v1})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	v2 := Definition{Parts: []Part{{Path: "notebook-content.py", Payload: []byte("# Fabric notebook source\nprint(2)\n")}}}
	if err := c.UpdateItemDefinition(bg, ws.ID, it.ID, v2, false); err != nil {
		t.Fatalf("update definition: %v", err)
	}
	got, err := c.GetItemDefinition(bg, ws.ID, it.ID, "")
	if err != nil {
		t.Fatalf("get definition: %v", err)
	}
	for _, p := range got.Parts {
		if p.Path == "notebook-content.py" && !bytes.Equal(p.Payload, v2.Parts[0].Payload) {
			t.Errorf("definition %q, want v2", p.Payload)
		}
	}
	for _, r := range e.Faults() {
		if r.Fired != 1 {
			t.Errorf("rule %s fired %d times, want 1", r.Path, r.Fired)
		}
	}
	if items, _ := c.ListItems(bg, ws.ID, ""); len(items) != 1 {
		t.Errorf("%d items, want 1", len(items))
	}
}
