package fabric

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestWorkspaceLifecycleAndPaging(t *testing.T) {
	f := newFakeFabric(t)
	c := f.client(t, nil)
	var ids []string
	for i := range 5 {
		w, err := c.CreateWorkspace(bg, WorkspaceCreate{DisplayName: fmt.Sprintf("ws-%d", i), Description: "d", CapacityID: "cap-1"})
		if err != nil {
			t.Fatal(err)
		}
		if w.ID == "" || w.DisplayName != fmt.Sprintf("ws-%d", i) || w.CapacityID != "cap-1" || w.Type != "Workspace" {
			t.Fatalf("created %+v", w)
		}
		ids = append(ids, w.ID)
	}
	all, err := c.ListWorkspaces(bg)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 5 {
		t.Fatalf("listed %d workspaces over pages of 2, want 5", len(all))
	}
	if n := f.count("GET /v1/workspaces"); n != 3 {
		t.Errorf("%d list requests, want 3 pages", n)
	}
	name := "renamed"
	w, err := c.UpdateWorkspace(bg, ids[0], WorkspaceUpdate{DisplayName: &name})
	if err != nil || w.DisplayName != "renamed" || w.Description != "d" {
		t.Fatalf("update: %+v %v", w, err)
	}
	got, err := c.GetWorkspace(bg, ids[0])
	if err != nil || got.DisplayName != "renamed" || got.CapacityAssignmentProgress != "Completed" {
		t.Fatalf("get: %+v %v", got, err)
	}
	if err := c.DeleteWorkspace(bg, ids[0]); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetWorkspace(bg, ids[0])
	if !IsNotFound(err) || ErrorCode(err) != "WorkspaceNotFound" {
		t.Fatalf("get after delete: %v", err)
	}
	var fe *Error
	if !errors.As(err, &fe) || fe.StatusCode != 404 || fe.RequestID != "req-1" || fe.Operation != "GetWorkspace" {
		t.Fatalf("error fields: %#v", fe)
	}
	want := "GetWorkspace: WorkspaceNotFound: The requested workspace was not found (HTTP 404, requestId req-1)"
	if err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
	caps, err := c.ListCapacities(bg)
	if err != nil || len(caps) != 1 || caps[0] != (Capacity{ID: "cap-1", DisplayName: "demo-capacity", SKU: "F4", Region: "West Europe", State: "Active"}) {
		t.Fatalf("capacities: %+v %v", caps, err)
	}
}

func TestItemsFollowLRO(t *testing.T) {
	f := newFakeFabric(t)
	c := f.client(t, nil)
	ws, err := c.CreateWorkspace(bg, WorkspaceCreate{DisplayName: "items"})
	if err != nil {
		t.Fatal(err)
	}
	def := Definition{Parts: []Part{{Path: "notebook-content.py", Payload: []byte("print(1)\n")}}}
	it, err := c.CreateItem(bg, ws.ID, ItemCreate{Type: "Notebook", DisplayName: "etl", Definition: &def})
	if err != nil {
		t.Fatal(err)
	}
	if it.ID == "" || it.Type != "Notebook" || it.DisplayName != "etl" || it.WorkspaceID != ws.ID {
		t.Fatalf("created %+v", it)
	}
	if f.count("GET /v1/operations/") < 3 { // Running, Succeeded, result
		t.Errorf("operation was not followed: %v", f.requests())
	}
	got, err := c.GetItemDefinition(bg, ws.ID, it.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Parts) != 1 || string(got.Parts[0].Payload) != "print(1)\n" {
		t.Fatalf("definition %+v", got)
	}
	def.Parts[0].Payload = []byte("print(2)\n")
	if err := c.UpdateItemDefinition(bg, ws.ID, it.ID, def, true); err != nil {
		t.Fatal(err)
	}
	if got, _ = c.GetItemDefinition(bg, ws.ID, it.ID, ""); string(got.Parts[0].Payload) != "print(2)\n" {
		t.Fatalf("after update: %q", got.Parts[0].Payload)
	}
	desc := "nightly"
	if u, err := c.UpdateItem(bg, ws.ID, it.ID, ItemUpdate{Description: &desc}); err != nil || u.Description != "nightly" {
		t.Fatalf("update: %+v %v", u, err)
	}
	list, err := c.ListItems(bg, ws.ID, "Notebook")
	if err != nil || len(list) != 1 || list[0].ID != it.ID {
		t.Fatalf("list: %+v %v", list, err)
	}
	if err := c.DeleteItem(bg, ws.ID, it.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetItem(bg, ws.ID, it.ID); !IsNotFound(err) {
		t.Fatalf("get after delete: %v", err)
	}
}

func TestFailedLROIsTypedError(t *testing.T) {
	f := newFakeFabric(t)
	c := f.client(t, nil)
	ws, _ := c.CreateWorkspace(bg, WorkspaceCreate{DisplayName: "lro"})
	f.hook = func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != "POST" || !strings.HasSuffix(r.URL.Path, "/items") {
			return false
		}
		f.mu.Lock()
		f.ops["op-fail"] = map[string]any{"polls": 0, "error": map[string]any{"errorCode": "CorruptedPayload",
			"message": "The payload is corrupted", "requestId": "req-op",
			"moreDetails": []any{map[string]any{"errorCode": "InvalidDefinitionParts", "message": "notebook-content.py is not valid"}}}}
		f.mu.Unlock()
		w.Header().Set("x-ms-operation-id", "op-fail") // no Location: the client builds /v1/operations/{id}
		w.Header().Set("Retry-After", "1")
		writeJSON(w, 202, nil)
		return true
	}
	_, err := c.CreateItem(bg, ws.ID, ItemCreate{Type: "Notebook", DisplayName: "bad"})
	var fe *Error
	if !errors.As(err, &fe) {
		t.Fatalf("got %v, want *Error", err)
	}
	if fe.ErrorCode != "CorruptedPayload" || fe.RequestID != "req-op" || len(fe.MoreDetails) != 1 ||
		fe.MoreDetails[0].ErrorCode != "InvalidDefinitionParts" || fe.Operation != "CreateItem" {
		t.Fatalf("error %#v", fe)
	}
	if !strings.Contains(err.Error(), "\n  InvalidDefinitionParts: notebook-content.py is not valid") {
		t.Errorf("moreDetails missing from %q", err)
	}
}
