package fabric

import (
	"net/http"
	"testing"
)

func TestLostCreateAnswersAreReconciled(t *testing.T) {
	for _, tc := range []struct {
		name string
		hook func(f *fakeFabric, ws string) func(http.ResponseWriter, *http.Request) bool
	}{
		{"connection lost", func(f *fakeFabric, ws string) func(http.ResponseWriter, *http.Request) bool {
			return f.applyThenDrop(1, "POST", "/v1/workspaces"+ws)
		}},
		{"500 after applying", func(f *fakeFabric, ws string) func(http.ResponseWriter, *http.Request) bool {
			return f.applyThenFail(1, "POST", "/v1/workspaces"+ws, 500)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeFabric(t)
			c := f.client(t, nil)

			f.hook = tc.hook(f, "")
			w, err := c.CreateWorkspace(bg, WorkspaceCreate{DisplayName: "sales"})
			if err != nil || w.DisplayName != "sales" || w.ID == "" {
				t.Fatalf("workspace: %+v %v", w, err)
			}
			wsPath := "/" + w.ID
			f.hook = tc.hook(f, wsPath+"/items")
			it, err := c.CreateItem(bg, w.ID, ItemCreate{Type: "Notebook", DisplayName: "etl"})
			if err != nil || it.ID == "" {
				t.Fatalf("item: %+v %v", it, err)
			}
			f.hook = tc.hook(f, wsPath+"/roleAssignments")
			ra, err := c.AddRoleAssignment(bg, w.ID, Principal{ID: "user-1", Type: "User"}, "Member")
			if err != nil || ra.Principal.ID != "user-1" || ra.Role != "Member" {
				t.Fatalf("role: %+v %v", ra, err)
			}
			f.hook = tc.hook(f, wsPath+"/folders")
			fo, err := c.CreateFolder(bg, w.ID, "reports", "")
			if err != nil || fo.DisplayName != "reports" {
				t.Fatalf("folder: %+v %v", fo, err)
			}
			f.hook = nil

			f.mu.Lock()
			n := []int{len(f.workspaces), len(f.items), len(f.roles), len(f.folders)}
			f.mu.Unlock()
			if n[0] != 1 || n[1] != 1 || n[2] != 1 || n[3] != 1 {
				t.Fatalf("objects (workspaces, items, roles, folders) = %v, want exactly one each", n)
			}
			for _, p := range []string{"POST /v1/workspaces", "POST /v1/workspaces/" + w.ID + "/items",
				"POST /v1/workspaces/" + w.ID + "/roleAssignments", "POST /v1/workspaces/" + w.ID + "/folders"} {
				if got := countExact(f, p); got != 1 {
					t.Errorf("%s sent %d times, want 1 (reconciled, not replayed)", p, got)
				}
			}
			if s := c.Stats(); s.Reconciled != 4 {
				t.Errorf("stats %+v, want 4 reconciled", s)
			}
		})
	}
}

func TestCreateNotAppliedIsSentAgain(t *testing.T) {
	f := newFakeFabric(t)
	c := f.client(t, nil)
	f.hook = failFirst(1, "POST", "/v1/workspaces", 503, "ServiceUnavailable", nil)
	w, err := c.CreateWorkspace(bg, WorkspaceCreate{DisplayName: "again"})
	if err != nil || w.ID == "" {
		t.Fatalf("%+v %v", w, err)
	}
	if got := countExact(f, "POST /v1/workspaces"); got != 2 {
		t.Fatalf("POST sent %d times, want 2 (look-up found nothing, so it was sent again)", got)
	}
}

func countExact(f *fakeFabric, line string) int {
	n := 0
	for _, l := range f.requests() {
		if l == line {
			n++
		}
	}
	return n
}
