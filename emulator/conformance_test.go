package emulator

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/golang-jwt/jwt/v5"
	"github.com/microsoft/fabric-sdk-go/fabric/core"
)

const readerObjectID = defaultReaderObjectID

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func textPart(path, text string) map[string]string {
	return map[string]string{"path": path, "payload": b64(text), "payloadType": "InlineBase64"}
}

// newWorkspace creates a workspace as the seeded service principal and returns its id.
func newWorkspace(t testing.TB, c *rawClient, body map[string]any) string {
	t.Helper()
	r := c.do("POST", "/v1/workspaces", body)
	if r.status != 201 {
		t.Fatalf("create workspace: %d %s", r.status, r.body)
	}
	var ws workspaceJSON
	r.json(t, &ws)
	return ws.ID
}

func wantStatus(t testing.TB, r rawResponse, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
}

func TestRoleAssignmentRules(t *testing.T) {
	e := start(t, Options{ImmediateTypes: []string{"Notebook"}})
	ctx := context.Background()
	wsc := sdk(t, e).NewWorkspacesClient()
	sp := raw(t, e, DefaultSPObjectID)
	wsID := newWorkspace(t, sp, map[string]any{"displayName": "team"})

	added, err := wsc.AddWorkspaceRoleAssignment(ctx, wsID, core.AddWorkspaceRoleAssignmentRequest{
		Principal: &core.Principal{ID: to.Ptr(DefaultUserID), Type: to.Ptr(core.PrincipalTypeUser)},
		Role:      to.Ptr(core.WorkspaceRoleMember),
	}, nil)
	if err != nil {
		t.Fatalf("add Alice as Member: %v", err)
	}
	if *added.ID != DefaultUserID || *added.Role != core.WorkspaceRoleMember {
		t.Errorf("added = %+v", added.WorkspaceRoleAssignment)
	}
	if up, ok := added.Principal.(*core.UserPrincipal); !ok || *up.UserDetails.UserPrincipalName != DefaultUserUPN {
		t.Errorf("principal = %#v", added.Principal)
	}
	_, err = wsc.AddWorkspaceRoleAssignment(ctx, wsID, core.AddWorkspaceRoleAssignmentRequest{
		Principal: &core.Principal{ID: to.Ptr(DefaultUserID), Type: to.Ptr(core.PrincipalTypeUser)},
		Role:      to.Ptr(core.WorkspaceRoleViewer)}, nil)
	if re := responseError(t, err); re.StatusCode != 409 || re.ErrorCode != "PrincipalAlreadyHasWorkspaceRolePermissions" {
		t.Errorf("duplicate: %d %s", re.StatusCode, re.ErrorCode)
	}
	wantError(t, sp.do("POST", "/v1/workspaces/"+wsID+"/roleAssignments",
		map[string]any{"principal": map[string]string{"id": DefaultTenantID, "type": "EntireTenant"}, "role": "Viewer"}), 400, "PrincipalTypeNotSupported")
	wantError(t, sp.do("POST", "/v1/workspaces/"+wsID+"/roleAssignments",
		map[string]any{"principal": map[string]string{"id": DefaultUserID, "type": "User"}, "role": "Owner"}), 400, "InvalidInput")

	alice := raw(t, e, DefaultUserID)
	wantError(t, alice.do("POST", "/v1/workspaces/"+wsID+"/roleAssignments",
		map[string]any{"principal": map[string]string{"id": DefaultGroupID, "type": "Group"}, "role": "Admin"}), 403, "InsufficientWorkspaceRole")
	wantStatus(t, alice.do("POST", "/v1/workspaces/"+wsID+"/roleAssignments",
		map[string]any{"principal": map[string]string{"id": readerObjectID, "type": "ServicePrincipal"}, "role": "Contributor"}), 201)
	wantError(t, alice.do("PATCH", "/v1/workspaces/"+wsID+"/roleAssignments/"+readerObjectID, map[string]string{"role": "Viewer"}), 403, "InsufficientWorkspaceRole")

	wantError(t, sp.do("DELETE", "/v1/workspaces/"+wsID+"/roleAssignments/"+DefaultSPObjectID, nil), 400, "LastAdminCannotBeRemoved")
	wantError(t, sp.do("PATCH", "/v1/workspaces/"+wsID+"/roleAssignments/"+DefaultSPObjectID, map[string]string{"role": "Member"}), 400, "LastAdminCannotBeRemoved")

	reader := raw(t, e, readerObjectID)
	wantError(t, reader.do("GET", "/v1/workspaces/"+wsID+"/roleAssignments", nil), 403, "InsufficientWorkspaceRole")
	wantError(t, reader.do("DELETE", "/v1/workspaces/"+wsID, nil), 403, "InsufficientWorkspaceRole")
	wantStatus(t, reader.do("GET", "/v1/workspaces/"+wsID, nil), 200)
	wantStatus(t, reader.do("POST", "/v1/workspaces/"+wsID+"/items", map[string]string{"displayName": "nb", "type": "Notebook"}), 201)

	other := newWorkspace(t, sp, map[string]any{"displayName": "private"})
	wantError(t, reader.do("GET", "/v1/workspaces/"+other, nil), 403, "InsufficientPrivileges")
	wantError(t, reader.do("POST", "/v1/workspaces/"+other+"/items", map[string]string{"displayName": "x", "type": "Notebook"}), 403, "InsufficientPrivileges")
	var list listBody[workspaceJSON]
	reader.do("GET", "/v1/workspaces", nil).json(t, &list)
	if len(list.Value) != 1 || list.Value[0].ID != wsID {
		t.Errorf("reader sees %+v, want only team", list.Value)
	}
	reader.do("GET", "/v1/workspaces?roles=Admin", nil).json(t, &list)
	if len(list.Value) != 0 {
		t.Errorf("roles=Admin gave %+v", list.Value)
	}

	// A group grants its members its role; the effective role is the highest.
	wantStatus(t, sp.do("POST", "/v1/workspaces/"+other+"/roleAssignments",
		map[string]any{"principal": map[string]string{"id": DefaultGroupID, "type": "Group"}, "role": "Viewer"}), 201)
	wantStatus(t, alice.do("GET", "/v1/workspaces/"+other, nil), 200)
	wantError(t, alice.do("POST", "/v1/workspaces/"+other+"/items", map[string]string{"displayName": "x", "type": "Notebook"}), 403, "InsufficientWorkspaceRole")

	all, err := wsc.ListWorkspaceRoleAssignments(ctx, wsID, nil)
	if err != nil || len(all) != 3 {
		t.Fatalf("list role assignments: %d, %v", len(all), err)
	}
	if _, err := wsc.UpdateWorkspaceRoleAssignment(ctx, wsID, DefaultUserID, core.UpdateWorkspaceRoleAssignmentRequest{Role: to.Ptr(core.WorkspaceRoleAdmin)}, nil); err != nil {
		t.Fatalf("promote Alice: %v", err)
	}
	if _, err := wsc.DeleteWorkspaceRoleAssignment(ctx, wsID, DefaultSPObjectID, nil); err != nil {
		t.Fatalf("remove the SP once Alice is Admin too: %v", err)
	}
	wantError(t, sp.do("GET", "/v1/workspaces/"+wsID, nil), 403, "InsufficientPrivileges")
}

func TestFolders(t *testing.T) {
	e := start(t, Options{ImmediateTypes: []string{"Notebook"}})
	ctx := context.Background()
	fc := sdk(t, e).NewFoldersClient()
	sp := raw(t, e, DefaultSPObjectID)
	wsID := newWorkspace(t, sp, map[string]any{"displayName": "folders"})

	mk := func(name, parent string) string {
		t.Helper()
		req := core.CreateFolderRequest{DisplayName: to.Ptr(name)}
		if parent != "" {
			req.ParentFolderID = to.Ptr(parent)
		}
		f, err := fc.CreateFolder(ctx, wsID, req, nil)
		if err != nil {
			t.Fatalf("create folder %s: %v", name, err)
		}
		return *f.ID
	}
	a := mk("a", "")
	b := mk("b", a)
	c := mk("c", b)
	_, err := fc.CreateFolder(ctx, wsID, core.CreateFolderRequest{DisplayName: to.Ptr("B"), ParentFolderID: to.Ptr(a)}, nil)
	if re := responseError(t, err); re.ErrorCode != "FolderDisplayNameAlreadyInUse" {
		t.Errorf("sibling with the same name: %s", re.ErrorCode)
	}
	wantError(t, sp.do("POST", "/v1/workspaces/"+wsID+"/folders", map[string]string{"displayName": "x/y"}), 400, "InvalidFolderDisplayName")
	wantError(t, sp.do("POST", "/v1/workspaces/"+wsID+"/folders/"+a+"/move", map[string]string{"targetFolderId": c}), 400, "InfiniteFolderHierarchyLoop")

	var it itemJSON
	r := sp.do("POST", "/v1/workspaces/"+wsID+"/items", map[string]string{"displayName": "nb", "type": "Notebook", "folderId": b})
	wantStatus(t, r, 201)
	r.json(t, &it)
	if it.FolderID != b {
		t.Errorf("item folder = %q", it.FolderID)
	}
	wantError(t, sp.do("POST", "/v1/workspaces/"+wsID+"/items", map[string]string{"displayName": "nb2", "type": "Notebook", "folderId": DefaultCapacityID}), 404, "FolderNotFound")
	wantError(t, sp.do("DELETE", "/v1/workspaces/"+wsID+"/folders/"+b, nil), 400, "FolderNotEmpty")

	var items listBody[itemJSON]
	sp.do("GET", "/v1/workspaces/"+wsID+"/items?rootFolderId="+a, nil).json(t, &items)
	if len(items.Value) != 1 {
		t.Errorf("recursive list under a: %+v", items.Value)
	}
	sp.do("GET", "/v1/workspaces/"+wsID+"/items?rootFolderId="+a+"&recursive=false", nil).json(t, &items)
	if len(items.Value) != 0 {
		t.Errorf("non-recursive list under a: %+v", items.Value)
	}
	folders, err := fc.ListFolders(ctx, wsID, &core.FoldersClientListFoldersOptions{RootFolderID: to.Ptr(a)})
	if err != nil || len(folders) != 2 {
		t.Errorf("folders under a: %d %v", len(folders), err)
	}

	if _, err := fc.UpdateFolder(ctx, wsID, c, core.UpdateFolderRequest{DisplayName: to.Ptr("renamed")}, nil); err != nil {
		t.Fatalf("rename: %v", err)
	}
	if _, err := fc.MoveFolder(ctx, wsID, c, core.MoveFolderRequest{}, nil); err != nil {
		t.Fatalf("move to root: %v", err)
	}
	wantStatus(t, sp.do("POST", "/v1/workspaces/"+wsID+"/items/"+it.ID+"/move", map[string]string{"targetFolderId": c}), 200)
	if _, err := fc.DeleteFolder(ctx, wsID, b, nil); err != nil {
		t.Fatalf("delete emptied folder: %v", err)
	}
	st, _ := e.State()
	if !strings.Contains(string(st), `"folders": [
        "a",
        "renamed"
      ]`) || !strings.Contains(string(st), `"folder": "renamed"`) {
		t.Errorf("state folders:\n%s", st)
	}

	parent := ""
	for i := range maxFolderDepth {
		parent = mk(fmt.Sprintf("d%d", i), parent)
	}
	wantError(t, sp.do("POST", "/v1/workspaces/"+wsID+"/folders", map[string]string{"displayName": "too-deep", "parentFolderId": parent}), 400, "FolderDepthOutOfRange")
}

func TestItemRules(t *testing.T) {
	clock := newClock()
	e := start(t, Options{Clock: clock.Now, ImmediateTypes: itemTypes(), NameReservation: time.Minute})
	sp := raw(t, e, DefaultSPObjectID)
	wsID := newWorkspace(t, sp, map[string]any{"displayName": "items", "capacityId": DefaultCapacityID})
	items := "/v1/workspaces/" + wsID + "/items"

	for _, typ := range itemTypes() {
		body := map[string]any{"displayName": "x" + typ, "type": typ}
		r := sp.do("POST", items, body)
		switch {
		case slices.Contains(notCreatable(), typ):
			wantError(t, r, 400, "OperationNotSupportedForItem")
		case slices.Contains(definitionRequired(), typ):
			wantError(t, r, 400, "MissingDefinitionParts")
		default:
			wantStatus(t, r, 201)
		}
	}
	wantError(t, sp.do("POST", items, map[string]string{"displayName": "x", "type": "Spreadsheet"}), 400, "InvalidItemType")
	noCap := newWorkspace(t, sp, map[string]any{"displayName": "no capacity"})
	wantStatus(t, sp.do("POST", "/v1/workspaces/"+noCap+"/items", map[string]string{"displayName": "x", "type": "Notebook"}), 201)
	strict := start(t, Options{RequireCapacity: true, ImmediateTypes: itemTypes()})
	ssp := raw(t, strict, DefaultSPObjectID)
	noCap = newWorkspace(t, ssp, map[string]any{"displayName": "no capacity"})
	wantError(t, ssp.do("POST", "/v1/workspaces/"+noCap+"/items", map[string]string{"displayName": "y", "type": "Notebook"}), 403, "FeatureNotAvailable")
	wantStatus(t, ssp.do("POST", "/v1/workspaces/"+noCap+"/items", map[string]any{"displayName": "y", "type": "SemanticModel",
		"definition": map[string]any{"parts": []any{textPart("definition.pbism", "{}"), textPart("model.bim", "{}")}}}), 201)
	wantError(t, sp.do("POST", items, map[string]string{"displayName": "xNotebook", "type": "Notebook"}), 400, "ItemDisplayNameAlreadyInUse")
	wantStatus(t, sp.do("POST", items, map[string]string{"displayName": "xNotebook", "type": "DataPipeline"}), 201)

	pbir := textPart("definition.pbir", `{"version":"1.0","datasetReference":{"byConnection":{"connectionString":"semanticmodelid=1"}}}`)
	wantError(t, sp.do("POST", items, map[string]any{"displayName": "r", "type": "Report",
		"definition": map[string]any{"parts": []any{pbir}}}), 400, "MissingDefinitionParts")
	wantError(t, sp.do("POST", items, map[string]any{"displayName": "r", "type": "Report",
		"definition": map[string]any{"parts": []any{textPart("definition.pbir", `{"datasetReference":{"byPath":{"path":"../m"}}}`), textPart("report.json", "{}")}}}), 400, "InvalidDefinitionParts")
	wantStatus(t, sp.do("POST", items, map[string]any{"displayName": "r", "type": "Report",
		"definition": map[string]any{"format": "PBIR-Legacy", "parts": []any{pbir, textPart("report.json", "{}")}}}), 201)
	// Microsoft's tooling writes "byPath": null beside byConnection.
	nullPath := textPart("definition.pbir", `{"version":"1.0","datasetReference":{"byPath":null,"byConnection":{"connectionString":"semanticmodelid=1"}}}`)
	wantStatus(t, sp.do("POST", items, map[string]any{"displayName": "r2", "type": "Report",
		"definition": map[string]any{"format": "PBIR-Legacy", "parts": []any{nullPath, textPart("report.json", "{}")}}}), 201)
	pbism := textPart("definition.pbism", `{"version":"4.0"}`)
	wantError(t, sp.do("POST", items, map[string]any{"displayName": "m", "type": "SemanticModel",
		"definition": map[string]any{"parts": []any{pbism, textPart("model.bim", "{}"), textPart("definition/model.tmdl", "model Model")}}}), 400, "InvalidDefinitionParts")
	wantStatus(t, sp.do("POST", items, map[string]any{"displayName": "m", "type": "SemanticModel",
		"definition": map[string]any{"parts": []any{pbism, textPart("definition/model.tmdl", "model Model")}}}), 201)
	wantError(t, sp.do("POST", items, map[string]any{"displayName": "bad", "type": "Notebook",
		"definition": map[string]any{"parts": []any{map[string]string{"path": "a.py", "payload": "%%%", "payloadType": "InlineBase64"}}}}), 400, "CorruptedPayload")
	wantError(t, sp.do("POST", items, map[string]any{"displayName": "w", "type": "Warehouse",
		"definition": map[string]any{"parts": []any{textPart("a", "b")}}}), 400, "OperationNotSupportedForItem")

	// A lakehouse brings its SQL endpoint, which goes with it.
	var lh itemJSON
	sp.do("POST", items, map[string]string{"displayName": "sales", "type": "Lakehouse"}).json(t, &lh)
	var list listBody[itemJSON]
	sp.do("GET", items+"?type=SQLEndpoint", nil).json(t, &list)
	if len(list.Value) != 3 { // xLakehouse's, xSQLDatabase's (xMirroredDatabase needed a definition), sales
		t.Fatalf("SQL endpoints: %+v", list.Value)
	}
	var ep itemJSON
	for _, x := range list.Value {
		if x.DisplayName == "sales" {
			ep = x
		}
	}
	wantError(t, sp.do("DELETE", items+"/"+ep.ID, nil), 400, "OperationNotSupportedForItem")
	wantStatus(t, sp.do("DELETE", items+"/"+lh.ID, nil), 200)
	wantError(t, sp.do("GET", items+"/"+ep.ID, nil), 404, "ItemNotFound")

	// The name of a deleted item stays reserved for a while.
	wantError(t, sp.do("POST", items, map[string]string{"displayName": "sales", "type": "Lakehouse"}), 400, "ItemDisplayNameNotAvailableYet")
	clock.Advance(time.Minute)
	wantStatus(t, sp.do("POST", items, map[string]string{"displayName": "sales", "type": "Lakehouse"}), 201)

	// .platform: logicalId kept, always returned, applied with updateMetadata=true only.
	logical := "11111111-2222-4333-8444-555555555555"
	platform := textPart(".platform", `{"metadata":{"type":"Notebook","displayName":"etl"},"config":{"version":"2.0","logicalId":"`+logical+`"}}`)
	var nb itemJSON
	r := sp.do("POST", items, map[string]any{"displayName": "etl", "type": "Notebook",
		"definition": map[string]any{"parts": []any{textPart("notebook-content.py", "print(1)"), platform}}})
	wantStatus(t, r, 201)
	r.json(t, &nb)
	var def definitionResponse
	sp.do("POST", items+"/"+nb.ID+"/getDefinition", nil).json(t, &def)
	if len(def.Definition.Parts) != 2 || def.Definition.Parts[1].Path != ".platform" {
		t.Fatalf("definition = %+v", def.Definition)
	}
	pl, _ := base64.StdEncoding.DecodeString(def.Definition.Parts[1].Payload)
	if !strings.Contains(string(pl), logical) || !strings.Contains(string(pl), `"displayName": "etl"`) {
		t.Errorf(".platform = %s", pl)
	}
	renamed := textPart(".platform", `{"metadata":{"type":"Notebook","displayName":"etl2","description":"d"},"config":{"logicalId":"`+logical+`"}}`)
	wantStatus(t, sp.do("POST", items+"/"+nb.ID+"/updateDefinition", map[string]any{"definition": map[string]any{"parts": []any{textPart("notebook-content.py", "print(2)"), renamed}}}), 200)
	sp.do("GET", items+"/"+nb.ID, nil).json(t, &nb)
	if nb.DisplayName != "etl" {
		t.Errorf("updateDefinition without updateMetadata renamed the item to %q", nb.DisplayName)
	}
	wantStatus(t, sp.do("POST", items+"/"+nb.ID+"/updateDefinition?updateMetadata=true", map[string]any{"definition": map[string]any{"parts": []any{textPart("notebook-content.py", "print(3)"), renamed}}}), 200)
	sp.do("GET", items+"/"+nb.ID, nil).json(t, &nb)
	if nb.DisplayName != "etl2" || nb.Description != "d" {
		t.Errorf("updateMetadata=true: %+v", nb)
	}
	wantError(t, sp.do("PATCH", items+"/"+nb.ID, map[string]string{"displayName": "xNotebook"}), 400, "ItemDisplayNameAlreadyInUse")
	wantStatus(t, sp.do("PATCH", items+"/"+nb.ID, map[string]string{"description": "new"}), 200)
}

func TestOperationLifecycle(t *testing.T) {
	clock := newClock()
	e := start(t, Options{Clock: clock.Now, LRODelay: 10 * time.Second, RetryAfter: 2})
	sp := raw(t, e, DefaultSPObjectID)
	wsID := newWorkspace(t, sp, map[string]any{"displayName": "ops"})
	r := sp.do("POST", "/v1/workspaces/"+wsID+"/items", map[string]string{"displayName": "nb", "type": "Notebook"})
	wantStatus(t, r, 202)
	opID := r.header.Get("x-ms-operation-id")
	if r.header.Get("Location") != e.URL()+"/v1/operations/"+opID || r.header.Get("Retry-After") != "2" ||
		r.header.Get("ETag") != `""` ||
		len(r.body) != 0 || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") || r.header.Get("RequestId") == "" {
		t.Fatalf("202 headers = %v body %q", r.header, r.body)
	}
	poll := func(wantStatus string, wantPct int) rawResponse {
		t.Helper()
		r := sp.do("GET", "/v1/operations/"+opID, nil)
		var st operationStateJSON
		r.json(t, &st)
		if st.Status != wantStatus || st.PercentComplete != wantPct {
			t.Fatalf("operation = %+v, want %s %d%%", st, wantStatus, wantPct)
		}
		return r
	}
	r = poll("Running", 0) // never NotStarted, as on real Fabric
	if r.header.Get("Retry-After") != "2" || r.header.Get("Location") != e.URL()+"/v1/operations/"+opID {
		t.Errorf("running poll headers = %v", r.header)
	}
	wantError(t, sp.do("GET", "/v1/operations/"+opID+"/result", nil), 400, "OperationNotCompleted")
	clock.Advance(5 * time.Second)
	poll("Running", 50)
	clock.Advance(5 * time.Second)
	r = poll("Succeeded", 100)
	if r.header.Get("Retry-After") != "" || r.header.Get("Location") != e.URL()+"/v1/operations/"+opID+"/result" {
		t.Errorf("succeeded poll headers = %v", r.header)
	}
	var it itemJSON
	sp.do("GET", "/v1/operations/"+opID+"/result", nil).json(t, &it)
	if it.DisplayName != "nb" || it.WorkspaceID != wsID {
		t.Errorf("result = %+v", it)
	}
	wantError(t, raw(t, e, readerObjectID).do("GET", "/v1/operations/"+opID, nil), 404, "OperationNotFound")

	r = sp.do("POST", "/v1/workspaces/"+wsID+"/items/"+it.ID+"/updateDefinition", map[string]any{"definition": map[string]any{"parts": []any{textPart("notebook-content.py", "x")}}})
	wantStatus(t, r, 202)
	clock.Advance(time.Minute)
	r2 := sp.do("GET", "/v1/operations/"+r.header.Get("x-ms-operation-id"), nil)
	if r2.header.Get("Location") != "" {
		t.Errorf("an operation without result sent Location %q", r2.header.Get("Location"))
	}
	wantError(t, sp.do("GET", "/v1/operations/"+r.header.Get("x-ms-operation-id")+"/result", nil), 400, "OperationHasNoResult")
}

func TestLROFailureChangesNothing(t *testing.T) {
	t.Parallel() // waits out a Retry-After
	e := start(t, Options{Faults: FaultConfig{LROFailureRate: 1}})
	ctx := context.Background()
	sp := raw(t, e, DefaultSPObjectID)
	wsID := newWorkspace(t, sp, map[string]any{"displayName": "fail"})
	p, err := sdk(t, e).NewItemsClient().BeginCreateItem(ctx, wsID, core.CreateItemRequest{DisplayName: to.Ptr("nb"), Type: to.Ptr(core.ItemTypeNotebook)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.PollUntilDone(ctx, &runtimePollOptions)
	var re *azcore.ResponseError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), `"errorCode": "UnknownError"`) || !strings.Contains(err.Error(), `"InjectedFault"`) {
		t.Errorf("failed operation error = %v", err)
	}
	var list listBody[itemJSON]
	sp.do("GET", "/v1/workspaces/"+wsID+"/items", nil).json(t, &list)
	if len(list.Value) != 0 {
		t.Errorf("a failed operation created %+v", list.Value)
	}
}

func TestCapacityAssignmentAndIdentity(t *testing.T) {
	clock := newClock()
	fix := DefaultFixtures()
	inactive := "44444444-0000-4000-8000-000000000001"
	fix.Capacities = append(fix.Capacities, Capacity{ID: inactive, DisplayName: "paused", SKU: "F2", Region: "North Europe",
		State: "Inactive", Users: []string{DefaultSPObjectID}})
	e := start(t, Options{Clock: clock.Now, Fixtures: fix, CapacityAssignDelay: 30 * time.Second})
	ctx := context.Background()
	f := sdk(t, e)
	sp := raw(t, e, DefaultSPObjectID)
	wsID := newWorkspace(t, sp, map[string]any{"displayName": "cap"})

	caps, err := f.NewCapacitiesClient().ListCapacities(ctx, nil)
	if err != nil || len(caps) != 2 {
		t.Fatalf("capacities: %d %v", len(caps), err)
	}
	wantError(t, sp.do("POST", "/v1/workspaces/"+wsID+"/provisionIdentity", nil), 400, "WorkspaceHasNoCapacityAssigned")
	wantError(t, sp.do("POST", "/v1/workspaces/"+wsID+"/assignToCapacity", map[string]string{"capacityId": DefaultTenantID}), 404, "CapacityNotFound")
	wantError(t, sp.do("POST", "/v1/workspaces/"+wsID+"/assignToCapacity", map[string]string{"capacityId": inactive}), 400, "CapacityNotActive")

	readerWS := newWorkspace(t, raw(t, e, readerObjectID), map[string]any{"displayName": "reader's"})
	wantError(t, raw(t, e, readerObjectID).do("POST", "/v1/workspaces/"+readerWS+"/assignToCapacity", map[string]string{"capacityId": DefaultCapacityID}), 403, "InsufficientPermissionsOverCapacity")

	if _, err := f.NewWorkspacesClient().AssignToCapacity(ctx, wsID, core.AssignWorkspaceToCapacityRequest{CapacityID: to.Ptr(DefaultCapacityID)}, nil); err != nil {
		t.Fatalf("AssignToCapacity: %v", err)
	}
	info, _ := f.NewWorkspacesClient().GetWorkspace(ctx, wsID, nil)
	if *info.CapacityAssignmentProgress != core.CapacityAssignmentProgressInProgress || *info.CapacityID != DefaultCapacityID {
		t.Errorf("right after assign: %s", *info.CapacityAssignmentProgress)
	}
	clock.Advance(30 * time.Second)
	info, _ = f.NewWorkspacesClient().GetWorkspace(ctx, wsID, nil)
	if *info.CapacityAssignmentProgress != core.CapacityAssignmentProgressCompleted || *info.CapacityRegion != "West Central US" {
		t.Errorf("after the delay: %s", *info.CapacityAssignmentProgress)
	}

	r := sp.do("POST", "/v1/workspaces/"+wsID+"/provisionIdentity", nil)
	wantStatus(t, r, 202)
	var ident workspaceIdentity
	sp.do("GET", "/v1/operations/"+r.header.Get("x-ms-operation-id")+"/result", nil).json(t, &ident)
	info, _ = f.NewWorkspacesClient().GetWorkspace(ctx, wsID, nil)
	if info.WorkspaceIdentity == nil || *info.WorkspaceIdentity.ApplicationID != ident.ApplicationID {
		t.Errorf("identity = %+v vs %+v", info.WorkspaceIdentity, ident)
	}
	wantStatus(t, sp.do("POST", "/v1/workspaces/"+wsID+"/deprovisionIdentity", nil), 202)
	if _, err := f.NewWorkspacesClient().UnassignFromCapacity(ctx, wsID, nil); err != nil {
		t.Fatalf("UnassignFromCapacity: %v", err)
	}
	clock.Advance(30 * time.Second)
	info, _ = f.NewWorkspacesClient().GetWorkspace(ctx, wsID, nil)
	if info.CapacityID != nil || info.WorkspaceIdentity != nil {
		t.Errorf("after unassign and deprovision: %+v", info.WorkspaceInfo)
	}

	// A capacity given at create is assigned with the same delay.
	onCap := newWorkspace(t, sp, map[string]any{"displayName": "born on capacity", "capacityId": DefaultCapacityID})
	for _, want := range []core.CapacityAssignmentProgress{core.CapacityAssignmentProgressInProgress, core.CapacityAssignmentProgressCompleted} {
		info, _ = f.NewWorkspacesClient().GetWorkspace(ctx, onCap, nil)
		if *info.CapacityAssignmentProgress != want {
			t.Errorf("workspace created on a capacity: %s, want %s", *info.CapacityAssignmentProgress, want)
		}
		clock.Advance(30 * time.Second)
	}
}

func TestGitRoundTrip(t *testing.T) {
	e := start(t, Options{ImmediateTypes: []string{"Notebook"}, LRODelay: 0})
	sp := raw(t, e, DefaultSPObjectID)
	ado := map[string]any{"gitProviderType": "AzureDevOps", "organizationName": "contoso", "projectName": "data",
		"repositoryName": "fabric", "branchName": "main", "directoryName": "/sales"}
	creds := map[string]string{"source": "ConfiguredConnection", "connectionId": DefaultConnectionID}

	ws1 := newWorkspace(t, sp, map[string]any{"displayName": "dev"})
	git1 := "/v1/workspaces/" + ws1 + "/git/"
	wantError(t, sp.do("POST", git1+"connect", map[string]any{"gitProviderDetails": ado, "myGitCredentials": creds}), 400, "WorkspaceHasNoCapacityAssigned")
	wantStatus(t, sp.do("POST", "/v1/workspaces/"+ws1+"/assignToCapacity", map[string]string{"capacityId": DefaultCapacityID}), 202)
	wantError(t, sp.do("POST", git1+"connect", map[string]any{"gitProviderDetails": ado}), 400, "PrincipalTypeNotSupported")
	gh := map[string]any{"gitProviderType": "GitHub", "ownerName": "contoso", "repositoryName": "fabric", "branchName": "main", "directoryName": "/"}
	wantError(t, sp.do("POST", git1+"connect", map[string]any{"gitProviderDetails": gh, "myGitCredentials": map[string]string{"source": "Automatic"}}), 400, "InvalidInput")
	wantError(t, sp.do("POST", git1+"connect", map[string]any{"gitProviderDetails": ado, "myGitCredentials": map[string]string{"source": "ConfiguredConnection", "connectionId": DefaultTenantID}}), 404, "ConnectionNotFound")
	wantStatus(t, sp.do("POST", git1+"connect", map[string]any{"gitProviderDetails": ado, "myGitCredentials": creds}), 200)
	wantError(t, sp.do("POST", git1+"connect", map[string]any{"gitProviderDetails": ado, "myGitCredentials": creds}), 409, "WorkspaceAlreadyConnectedToGit")

	var conns listBody[connectionJSON]
	sp.do("GET", "/v1/connections", nil).json(t, &conns)
	if len(conns.Value) != 1 || conns.Value[0].ID != DefaultConnectionID {
		t.Errorf("connections = %+v", conns.Value)
	}
	wantStatus(t, sp.do("GET", "/v1/connections/"+DefaultConnectionID, nil), 200)
	wantError(t, sp.do("GET", "/v1/connections/"+DefaultTenantID, nil), 404, "ConnectionNotFound")
	var conn gitConnectionJSON
	sp.do("GET", git1+"connection", nil).json(t, &conn)
	if conn.GitConnectionState != "Connected" || conn.GitProviderDetails.RepositoryName != "fabric" {
		t.Errorf("connection = %+v", conn)
	}
	var nb itemJSON
	sp.do("POST", "/v1/workspaces/"+ws1+"/items", map[string]any{"displayName": "etl", "type": "Notebook",
		"definition": map[string]any{"parts": []any{textPart("notebook-content.py", "v1")}}}).json(t, &nb)

	var init initializeResponse
	sp.do("POST", git1+"initializeConnection", map[string]string{"initializationStrategy": "PreferWorkspace"}).json(t, &init)
	if init.RequiredAction != "CommitToGit" {
		t.Fatalf("initialize dev = %+v", init)
	}
	var st gitStatusJSON
	sp.do("GET", git1+"status", nil).json(t, &st)
	if len(st.Changes) != 1 || st.Changes[0].WorkspaceChange != "Added" || st.Changes[0].ItemMetadata.ItemIdentifier.ObjectID != nb.ID {
		t.Fatalf("status before commit = %+v", st)
	}
	wantStatus(t, sp.do("POST", git1+"commitToGit", map[string]any{"mode": "All", "comment": "first"}), 202)
	sp.do("GET", git1+"status", nil).json(t, &st)
	if len(st.Changes) != 0 || st.WorkspaceHead == "" || st.WorkspaceHead != st.RemoteCommitHash {
		t.Fatalf("status after commit = %+v", st)
	}
	wantError(t, sp.do("POST", git1+"commitToGit", map[string]any{"mode": "All"}), 400, "NoChangesToCommit")

	// A second workspace on the same branch receives the commit.
	ws2 := newWorkspace(t, sp, map[string]any{"displayName": "test", "capacityId": DefaultCapacityID})
	git2 := "/v1/workspaces/" + ws2 + "/git/"
	wantStatus(t, sp.do("POST", git2+"connect", map[string]any{"gitProviderDetails": ado, "myGitCredentials": creds}), 200)
	sp.do("POST", git2+"initializeConnection", nil).json(t, &init)
	if init.RequiredAction != "UpdateFromGit" || init.RemoteCommitHash != st.RemoteCommitHash {
		t.Fatalf("initialize test = %+v", init)
	}
	wantStatus(t, sp.do("POST", git2+"updateFromGit", map[string]any{"remoteCommitHash": init.RemoteCommitHash}), 202)
	var list listBody[itemJSON]
	sp.do("GET", "/v1/workspaces/"+ws2+"/items", nil).json(t, &list)
	if len(list.Value) != 1 || list.Value[0].DisplayName != "etl" {
		t.Fatalf("test items = %+v", list.Value)
	}
	nb2 := list.Value[0].ID

	// test changes and commits; dev sees a remote change; dev's own edit makes a conflict.
	wantStatus(t, sp.do("POST", "/v1/workspaces/"+ws2+"/items/"+nb2+"/updateDefinition", map[string]any{"definition": map[string]any{"parts": []any{textPart("notebook-content.py", "v2")}}}), 200)
	wantStatus(t, sp.do("POST", git2+"commitToGit", map[string]any{"mode": "Selective", "items": []map[string]string{{"objectId": nb2}}}), 202)
	sp.do("GET", git1+"status", nil).json(t, &st)
	if len(st.Changes) != 1 || st.Changes[0].RemoteChange != "Modified" || st.Changes[0].ConflictType != "None" {
		t.Fatalf("dev status = %+v", st)
	}
	wantError(t, sp.do("POST", git1+"commitToGit", map[string]any{"mode": "All"}), 400, "WorkspaceHeadMismatch")
	wantStatus(t, sp.do("POST", "/v1/workspaces/"+ws1+"/items/"+nb.ID+"/updateDefinition", map[string]any{"definition": map[string]any{"parts": []any{textPart("notebook-content.py", "v3")}}}), 200)
	sp.do("GET", git1+"status", nil).json(t, &st)
	if len(st.Changes) != 1 || st.Changes[0].ConflictType != "Conflict" {
		t.Fatalf("dev status with conflict = %+v", st)
	}
	wantError(t, sp.do("POST", git1+"updateFromGit", map[string]any{"remoteCommitHash": st.RemoteCommitHash}), 400, "WorkspaceHasConflicts")
	wantStatus(t, sp.do("POST", git1+"updateFromGit", map[string]any{"remoteCommitHash": st.RemoteCommitHash,
		"conflictResolution": map[string]string{"conflictResolutionType": "Workspace", "conflictResolutionPolicy": "PreferRemote"}}), 202)
	var def definitionResponse
	sp.do("POST", "/v1/workspaces/"+ws1+"/items/"+nb.ID+"/getDefinition", nil).json(t, &def)
	if got, _ := base64.StdEncoding.DecodeString(def.Definition.Parts[0].Payload); string(got) != "v2" {
		t.Errorf("dev notebook after PreferRemote = %q", got)
	}

	var cr gitCredentials
	sp.do("GET", git1+"myGitCredentials", nil).json(t, &cr)
	if cr.Source != "ConfiguredConnection" || cr.ConnectionID != DefaultConnectionID {
		t.Errorf("myGitCredentials = %+v", cr)
	}
	wantError(t, sp.do("PATCH", git1+"myGitCredentials", map[string]string{"source": "Automatic"}), 400, "PrincipalTypeNotSupported")
	wantStatus(t, sp.do("PATCH", git1+"myGitCredentials", map[string]string{"source": "None"}), 200)
	wantStatus(t, sp.do("POST", git1+"disconnect", nil), 200)
	wantError(t, sp.do("POST", git1+"disconnect", nil), 400, "WorkspaceNotConnectedToGit")
	state, _ := e.State()
	if !regexp.MustCompile(`"repository": "azuredevops:contoso/data/fabric@main:sales",\s+"commits": 2`).Match(state) {
		t.Errorf("state remotes:\n%s", state)
	}
}

// The reads and updates the other tests pass by: PATCH and GET of a workspace, one capacity, one role
// assignment, and the tenant setting that forbids creating workspaces.
func TestWorkspaceUpdateAndSingleReads(t *testing.T) {
	fix := DefaultFixtures()
	for i := range fix.Principals {
		if fix.Principals[i].ID == readerObjectID {
			fix.Principals[i].NoWorkspaceCreate = true
		}
	}
	e := start(t, Options{Fixtures: fix})
	sp, reader := raw(t, e, DefaultSPObjectID), raw(t, e, readerObjectID)
	wsID := newWorkspace(t, sp, map[string]any{"displayName": "sales", "description": "old"})
	newWorkspace(t, sp, map[string]any{"displayName": "finance"})

	var ws workspaceJSON
	r := sp.do("PATCH", "/v1/workspaces/"+wsID, map[string]any{"displayName": "sales-eu"})
	wantStatus(t, r, 200)
	r.json(t, &ws)
	if ws.DisplayName != "sales-eu" || ws.Description != "old" {
		t.Errorf("rename kept the description? %+v", ws)
	}
	sp.do("PATCH", "/v1/workspaces/"+wsID, map[string]any{"description": "new"}).json(t, &ws)
	if ws.DisplayName != "sales-eu" || ws.Description != "new" {
		t.Errorf("description update: %+v", ws)
	}
	wantError(t, sp.do("PATCH", "/v1/workspaces/"+wsID, map[string]any{"displayName": "FINANCE"}), 409, "WorkspaceNameAlreadyExists")
	wantError(t, sp.do("PATCH", "/v1/workspaces/"+wsID, map[string]any{"displayName": " "}), 400, "InvalidInput")
	wantError(t, sp.do("PATCH", "/v1/workspaces/"+wsID, map[string]any{"displayName": 7}), 400, "InvalidInput")
	wantStatus(t, sp.do("PATCH", "/v1/workspaces/"+wsID, map[string]any{"displayName": "SALES-EU"}), 200) // its own name, other case
	wantError(t, reader.do("PATCH", "/v1/workspaces/"+wsID, map[string]any{"displayName": "x"}), 403, "InsufficientPrivileges")
	wantStatus(t, sp.do("POST", "/v1/workspaces/"+wsID+"/roleAssignments",
		map[string]any{"principal": map[string]string{"id": readerObjectID, "type": "ServicePrincipal"}, "role": "Member"}), 201)
	wantError(t, reader.do("PATCH", "/v1/workspaces/"+wsID, map[string]any{"displayName": "x"}), 403, "InsufficientWorkspaceRole")
	sp.do("GET", "/v1/workspaces/"+wsID, nil).json(t, &ws)
	if ws.DisplayName != "SALES-EU" || ws.Description != "new" {
		t.Errorf("refused updates changed the workspace: %+v", ws)
	}

	var ra struct {
		ID        string `json:"id"`
		Role      string `json:"role"`
		Principal struct {
			ID   string `json:"id"`
			Type string `json:"type"`
		} `json:"principal"`
	}
	reader.do("GET", "/v1/workspaces/"+wsID+"/roleAssignments/"+readerObjectID, nil).json(t, &ra)
	if ra.ID != readerObjectID || ra.Role != "Member" || ra.Principal.Type != "ServicePrincipal" {
		t.Errorf("role assignment: %+v", ra)
	}
	wantError(t, sp.do("GET", "/v1/workspaces/"+wsID+"/roleAssignments/"+DefaultUserID, nil), 404, "WorkspaceRoleAssignmentNotFound")

	var cp capacityJSON
	sp.do("GET", "/v1/capacities/"+DefaultCapacityID, nil).json(t, &cp)
	if cp.ID != DefaultCapacityID || cp.State != "Active" || cp.DisplayName != "demo-capacity" {
		t.Errorf("capacity: %+v", cp)
	}
	wantError(t, reader.do("GET", "/v1/capacities/"+DefaultCapacityID, nil), 404, "CapacityNotFound")
	wantError(t, sp.do("GET", "/v1/capacities/not-a-guid", nil), 400, "InvalidParameter")

	before, _ := e.State()
	wantError(t, reader.do("POST", "/v1/workspaces", map[string]any{"displayName": "mine"}), 403, "InsufficientPrivileges")
	if after, _ := e.State(); string(after) != string(before) {
		t.Errorf("a refused create changed the state")
	}
}

// The control endpoints a user drives by hand: approving a device code, reading the faults, clearing the log.
func TestControlEndpoints(t *testing.T) {
	e := start(t, Options{})
	ctl := raw(t, e, "")
	hc := e.HTTPClient()
	tokenURL, dc := startDeviceCode(t, e)
	const azCLI = azCLIClientID
	var pending struct {
		DeviceCodes []DeviceCode `json:"deviceCodes"`
	}
	ctl.do("GET", "/_emulator/devicecodes", nil).json(t, &pending)
	if len(pending.DeviceCodes) != 1 || pending.DeviceCodes[0].UserCode != dc.UserCode {
		t.Fatalf("pending device codes: %+v", pending)
	}
	wantStatus(t, ctl.do("POST", "/_emulator/devicecode/approve", map[string]any{"userCode": "NOPE-NOPE"}), 404)
	wantStatus(t, ctl.do("POST", "/_emulator/devicecode/approve", map[string]any{"userCode": dc.UserCode, "userPrincipalName": DefaultUserUPN}), 204)
	r, err := hc.PostForm(tokenURL+"token", url.Values{"grant_type": {"device_code"}, "device_code": {dc.DeviceCode},
		"client_id": {azCLI}, "scope": {"https://api.fabric.microsoft.com/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	decodeBody(t, r, &tok)
	if tok.AccessToken == "" || tok.RefreshToken == "" {
		t.Fatalf("approved device code gave no tokens: %+v", tok)
	}
	alice := &rawClient{t: t, e: e, hc: checkedClient(t, e), token: tok.AccessToken}
	wantStatus(t, alice.do("GET", "/v1/workspaces", nil), 200)
	// The refresh token gets a Graph token for Alice; a made-up one is AAD's invalid_grant.
	r, err = hc.PostForm(tokenURL+"token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken},
		"client_id": {azCLI}, "scope": {"https://graph.microsoft.com/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	var graphTok struct {
		AccessToken string `json:"access_token"`
	}
	decodeBody(t, r, &graphTok)
	var claims jwt.MapClaims
	if _, _, err := jwt.NewParser().ParseUnverified(graphTok.AccessToken, &claims); err != nil ||
		claims["oid"] != DefaultUserID || fmt.Sprint(claims["aud"]) != "[https://graph.microsoft.com]" {
		t.Errorf("refreshed token claims %v (%v)", claims, err)
	}
	r, err = hc.PostForm(tokenURL+"token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"made-up"}, "client_id": {azCLI}})
	if err != nil {
		t.Fatal(err)
	}
	var aad map[string]any
	decodeBody(t, r, &aad)
	if r.StatusCode != 400 || aad["error"] != "invalid_grant" {
		t.Errorf("made-up refresh token: %d %v", r.StatusCode, aad)
	}

	wantStatus(t, ctl.do("POST", "/_emulator/faults", `{"method":"GET","path":"/v1/capacities","nth":3,"status":503}`), 200)
	var faults struct {
		Rules  []RuleStatus `json:"rules"`
		Random FaultConfig  `json:"random"`
	}
	ctl.do("GET", "/_emulator/faults", nil).json(t, &faults)
	if len(faults.Rules) != 1 || faults.Rules[0].Nth != 3 || faults.Rules[0].Status != 503 {
		t.Errorf("GET /_emulator/faults: %+v", faults)
	}
	var info Info
	ctl.do("GET", "/_emulator/info", nil).json(t, &info)
	if info.FabricURL != e.FabricURL() || info.TenantID != DefaultTenantID || info.ClientID != DefaultClientID || info.CAFile != e.CAFile() {
		t.Errorf("GET /_emulator/info: %+v", info)
	}
	// Control endpoints answer loopback callers only: the emulator may listen on a shared address.
	req := httptest.NewRequest("GET", e.URL()+"/_emulator/info", nil)
	req.RemoteAddr = "10.1.2.3:4567"
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	if rec.Code != 403 || strings.Contains(rec.Body.String(), DefaultClientSecret) {
		t.Errorf("a non-loopback caller got %d %s", rec.Code, rec.Body)
	}
	if len(e.Requests()) == 0 {
		t.Fatal("no requests logged")
	}
	wantStatus(t, ctl.do("DELETE", "/_emulator/requests", nil), 204)
	if n := len(e.Requests()); n != 1 { // the DELETE itself is logged after it ran
		t.Errorf("%d requests left after DELETE /_emulator/requests", n)
	}
}

// Every principal type the spec lists can hold a role; each comes back with its own details, a
// service principal profile with its parent.
func TestRoleAssignmentPrincipalTypes(t *testing.T) {
	const profileID = "3c4d5e6f-0000-4000-8000-0000000f0f11"
	fix := DefaultFixtures()
	fix.Principals = append(fix.Principals, Principal{ID: profileID, Type: PrincipalServicePrincipalProfile,
		DisplayName: "tenant-a", ParentID: DefaultSPObjectID})
	e := start(t, Options{Fixtures: fix})
	sp := raw(t, e, DefaultSPObjectID)
	wsID := newWorkspace(t, sp, map[string]any{"displayName": "types"})
	grant := func(id, typ string) rawResponse {
		return sp.do("POST", "/v1/workspaces/"+wsID+"/roleAssignments",
			map[string]any{"principal": map[string]string{"id": id, "type": typ}, "role": "Viewer"})
	}
	wantError(t, grant(profileID, "ServicePrincipal"), 400, "PrincipalNotFound") // the type must match the tenant's
	wantError(t, grant(DefaultUserID, "EntireTenant"), 400, "PrincipalTypeNotSupported")
	wantError(t, grant(DefaultUserID, "Robot"), 400, "InvalidInput")
	for _, p := range []struct{ id, typ string }{{DefaultUserID, "User"}, {DefaultGroupID, "Group"},
		{readerObjectID, "ServicePrincipal"}, {profileID, "ServicePrincipalProfile"}} {
		wantStatus(t, grant(p.id, p.typ), 201)
	}
	var list listBody[map[string]any]
	sp.do("GET", "/v1/workspaces/"+wsID+"/roleAssignments", nil).json(t, &list)
	details := map[string]string{}
	for _, ra := range list.Value {
		p := ra["principal"].(map[string]any)
		for k, v := range p {
			if strings.HasSuffix(k, "Details") {
				details[p["type"].(string)] = fmt.Sprintf("%s=%v", k, v)
			}
		}
	}
	want := map[string]string{
		"User":                    "userDetails=map[userPrincipalName:alice@fabplan.test]",
		"Group":                   "groupDetails=map[groupType:SecurityGroup]",
		"ServicePrincipal":        "servicePrincipalDetails=map[aadAppId:",
		"ServicePrincipalProfile": "servicePrincipalProfileDetails=map[parentPrincipal:map[displayName:fabplan-deployer id:" + DefaultSPObjectID,
	}
	for typ, prefix := range want {
		if !strings.HasPrefix(details[typ], prefix) {
			t.Errorf("%s principal details %q, want prefix %q", typ, details[typ], prefix)
		}
	}
}

// The spec lets initializeConnection and git/status answer 200 or a 202 operation; a slow emulator
// answers 202, and fabric-sdk-go's pollers get the same results through the operation.
func TestGitStatusAndInitializeAsOperations(t *testing.T) {
	t.Parallel() // the pollers wait out a Retry-After
	e := start(t, Options{ImmediateTypes: []string{"Notebook"}, LRODelay: 30 * time.Millisecond})
	sp := raw(t, e, DefaultSPObjectID)
	wsID := newWorkspace(t, sp, map[string]any{"displayName": "slow-git", "capacityId": DefaultCapacityID})
	wantStatus(t, sp.do("POST", "/v1/workspaces/"+wsID+"/git/connect", map[string]any{
		"gitProviderDetails": map[string]any{"gitProviderType": "AzureDevOps", "organizationName": "contoso", "projectName": "data",
			"repositoryName": "fabric", "branchName": "main", "directoryName": "/"},
		"myGitCredentials": map[string]string{"source": "ConfiguredConnection", "connectionId": DefaultConnectionID}}), 200)
	wantStatus(t, sp.do("POST", "/v1/workspaces/"+wsID+"/items", map[string]any{"displayName": "etl", "type": "Notebook"}), 201)

	ctx := context.Background()
	git := sdk(t, e).NewGitClient()
	ip, err := git.BeginInitializeConnection(ctx, wsID, &core.GitClientBeginInitializeConnectionOptions{
		GitInitializeConnectionRequest: &core.InitializeGitConnectionRequest{InitializationStrategy: to.Ptr(core.InitializationStrategyPreferWorkspace)}})
	if err != nil {
		t.Fatal(err)
	}
	init, err := ip.PollUntilDone(ctx, &runtimePollOptions)
	if err != nil || init.RequiredAction == nil || *init.RequiredAction != core.RequiredActionCommitToGit {
		t.Fatalf("initialize through the operation: %+v %v", init, err)
	}
	sp2, err := git.BeginGetStatus(ctx, wsID, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sp2.PollUntilDone(ctx, &runtimePollOptions)
	if err != nil || len(st.Changes) != 1 || *st.Changes[0].ItemMetadata.DisplayName != "etl" {
		t.Fatalf("status through the operation: %+v %v", st, err)
	}
	for _, p := range []string{"initializeConnection", "status"} {
		var statuses []int
		for _, r := range e.Requests() {
			if strings.HasSuffix(r.Path, "/git/"+p) {
				statuses = append(statuses, r.Status)
			}
		}
		if fmt.Sprint(statuses) != "[202]" {
			t.Errorf("%s answered %v, want one 202", p, statuses)
		}
	}
}
