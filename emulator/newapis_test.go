package emulator

import (
	"strings"
	"testing"
)

// A variable library's active value set is changed with PATCH properties.activeValueSetName, to one of
// its value sets only.
func TestVariableLibraryActiveValueSet(t *testing.T) {
	e := start(t, Options{ImmediateTypes: []string{"VariableLibrary"}})
	sp := raw(t, e, DefaultSPObjectID)
	ws := "/v1/workspaces/" + newWorkspace(t, sp, map[string]any{"displayName": "vars"})
	lib := created(t, sp, sp.do("POST", ws+"/variableLibraries", map[string]any{"displayName": "settings",
		"definition": map[string]any{"parts": []any{textPart("variables.json", `{"variables":[]}`),
			textPart("valueSets/prod.json", `{"name":"Production","variableOverrides":[]}`)}}}))
	var got struct{ Properties variableLibraryProperties }
	sp.do("GET", ws+"/variableLibraries/"+lib.ID, nil).json(t, &got)
	if got.Properties.ActiveValueSetName != "Default value set" {
		t.Errorf("new library: %+v", got.Properties)
	}
	r := sp.do("PATCH", ws+"/variableLibraries/"+lib.ID, map[string]any{"properties": map[string]any{"activeValueSetName": "Production"}})
	wantStatus(t, r, 200)
	r.json(t, &got)
	if got.Properties.ActiveValueSetName != "Production" {
		t.Errorf("PATCH answered %s", r.body)
	}
	sp.do("GET", ws+"/variableLibraries/"+lib.ID, nil).json(t, &got)
	if got.Properties.ActiveValueSetName != "Production" {
		t.Errorf("after PATCH: %+v", got.Properties)
	}
	wantError(t, sp.do("PATCH", ws+"/variableLibraries/"+lib.ID, map[string]any{"properties": map[string]any{"activeValueSetName": "Staging"}}), 400, "InvalidInput")
	nb := created(t, sp, sp.do("POST", ws+"/notebooks", map[string]any{"displayName": "nb"}))
	wantError(t, sp.do("PATCH", ws+"/items/"+nb.ID, map[string]any{"properties": map[string]any{"activeValueSetName": "x"}}), 400, "InvalidInput")
}

// Cloud connections are created, listed with the fields real lists carry, updated and deleted; their
// credentials never come back.
func TestCloudConnections(t *testing.T) {
	e := start(t, Options{})
	sp := raw(t, e, DefaultSPObjectID)
	const secret = "s3cr3t-sentinel-value"
	body := map[string]any{"connectivityType": "ShareableCloud", "displayName": "sales-sql",
		"connectionDetails": map[string]any{"type": "SQL", "creationMethod": "SQL", "parameters": []any{
			map[string]string{"dataType": "Text", "name": "server", "value": "contoso.database.windows.net"},
			map[string]string{"dataType": "Text", "name": "database", "value": "sales"}}},
		"credentialDetails": map[string]any{"singleSignOnType": "None", "connectionEncryption": "NotEncrypted",
			"credentials": map[string]any{"credentialType": "Basic", "username": "admin", "password": secret}},
		"allowUsageInUserControlledCode": true}
	r := sp.do("POST", "/v1/connections", body)
	wantStatus(t, r, 201)
	var cn connectionJSON
	r.json(t, &cn)
	if strings.Contains(string(r.body), secret) || cn.ConnectionDetails.Path != "contoso.database.windows.net;sales" ||
		!cn.AllowUsageInUserControlledCode || cn.GatewayID == "" || cn.ConnectionRecency.CreatedDateTime == "" ||
		r.header.Get("Location") != e.URL()+"/v1/connections/"+cn.ID {
		t.Errorf("created connection: %s %v", r.body, r.header)
	}
	wantError(t, sp.do("POST", "/v1/connections", body), 409, "DuplicateConnectionName")
	body["connectivityType"] = "OnPremisesGateway"
	wantError(t, sp.do("POST", "/v1/connections", body), 400, "InvalidInput")

	var list listBody[map[string]any]
	sp.do("GET", "/v1/connections", nil).json(t, &list)
	if len(list.Value) != 2 {
		t.Fatalf("connections: %+v", list.Value)
	}
	for _, c := range list.Value {
		for _, f := range []string{"gatewayId", "connectionRecency", "allowConnectionUsageInGateway", "allowUsageInUserControlledCode"} {
			if _, ok := c[f]; !ok {
				t.Errorf("listed connection without %s: %v", f, c)
			}
		}
	}
	r = sp.do("PATCH", "/v1/connections/"+cn.ID, map[string]any{"connectivityType": "ShareableCloud", "displayName": "sales",
		"privacyLevel": "Private", "allowConnectionUsageInGateway": true})
	wantStatus(t, r, 200)
	r.json(t, &cn)
	if cn.DisplayName != "sales" || cn.PrivacyLevel != "Private" || !cn.AllowConnectionUsageInGateway {
		t.Errorf("updated: %s", r.body)
	}
	wantError(t, sp.do("PATCH", "/v1/connections/"+cn.ID, map[string]any{"displayName": "x"}), 400, "InvalidInput")
	wantStatus(t, sp.do("DELETE", "/v1/connections/"+cn.ID, nil), 200)
	wantError(t, sp.do("GET", "/v1/connections/"+cn.ID, nil), 404, "ConnectionNotFound")
	if st, _ := e.StateWith(StateOptions{IDs: true}); strings.Contains(string(st), secret) {
		t.Errorf("the state holds the credential")
	}
}

// OneLake shortcuts of a lakehouse: create (with the conflict policies), list, get, delete; what Fabric
// refuses is a 400 whose moreDetails say why.
func TestShortcuts(t *testing.T) {
	e := start(t, Options{})
	sp := raw(t, e, DefaultSPObjectID)
	wsID := newWorkspace(t, sp, map[string]any{"displayName": "lake"})
	ws := "/v1/workspaces/" + wsID
	src := created(t, sp, sp.do("POST", ws+"/lakehouses", map[string]any{"displayName": "bronze"}))
	lh := created(t, sp, sp.do("POST", ws+"/lakehouses", map[string]any{"displayName": "silver"}))
	scs := ws + "/items/" + lh.ID + "/shortcuts"
	oneLake := map[string]any{"oneLake": map[string]any{"workspaceId": wsID, "itemId": src.ID, "path": "Tables/orders"}}
	r := sp.do("POST", scs, map[string]any{"path": "Tables", "name": "orders", "target": oneLake})
	wantStatus(t, r, 201)
	var sc shortcut
	r.json(t, &sc)
	if sc.Target["type"] != "OneLake" || r.header.Get("Location") != e.URL()+scs+"/Tables/orders" {
		t.Errorf("created %s %v", r.body, r.header)
	}
	s3 := map[string]any{"amazonS3": map[string]any{"location": "https://bucket.s3.amazonaws.com", "subpath": "/raw",
		"connectionId": DefaultConnectionID}}
	wantStatus(t, sp.do("POST", scs, map[string]any{"path": "Files/landing/s3", "name": "raw", "target": s3}), 201)

	wantError(t, sp.do("POST", scs, map[string]any{"path": "Tables", "name": "orders", "target": oneLake}), 409, "EntityConflict")
	wantStatus(t, sp.do("POST", scs+"?shortcutConflictPolicy=CreateOrOverwrite", map[string]any{"path": "Tables", "name": "orders", "target": oneLake}), 200)
	r = sp.do("POST", scs+"?shortcutConflictPolicy=GenerateUniqueName", map[string]any{"path": "Tables", "name": "orders", "target": oneLake})
	wantStatus(t, r, 201)
	r.json(t, &sc)
	if sc.Name != "orders_1" {
		t.Errorf("unique name = %q", sc.Name)
	}
	wantError(t, sp.do("POST", scs+"?shortcutConflictPolicy=OverwriteOnly", map[string]any{"path": "Tables", "name": "nope", "target": oneLake}), 404, "EntityNotFound")

	for _, bad := range []struct {
		body   map[string]any
		detail string
	}{
		{map[string]any{"path": "Other", "name": "x", "target": oneLake}, "InvalidShortcutPath"},
		{map[string]any{"path": "Tables/a/b", "name": "x", "target": oneLake}, "InvalidShortcutPath"},
		{map[string]any{"path": "Files", "name": "a/b", "target": oneLake}, "InvalidShortcutName"},
		{map[string]any{"path": "Files", "name": "x", "target": map[string]any{"oneLake": map[string]any{"workspaceId": wsID}}}, "InvalidShortcutTarget"},
		{map[string]any{"path": "Files", "name": "x", "target": map[string]any{"amazonS3": map[string]any{"location": "https://b",
			"connectionId": "00000000-0000-4000-8000-000000000000"}}}, "InvalidShortcutTarget"},
		{map[string]any{"path": "Files", "name": "x", "target": map[string]any{}}, "InvalidShortcutTarget"},
		{map[string]any{"path": "Files", "name": "x"}, "MissingParameter"},
	} {
		r := sp.do("POST", scs, bad.body)
		wantError(t, r, 400, "InvalidInput")
		var er errorResponse
		r.json(t, &er)
		if len(er.MoreDetails) == 0 || er.MoreDetails[0].ErrorCode != bad.detail || er.IsRetriable == nil || *er.IsRetriable {
			t.Errorf("%v: %s, want a %s detail", bad.body, r.body, bad.detail)
		}
	}

	var list listBody[shortcut]
	sp.do("GET", scs, nil).json(t, &list)
	if len(list.Value) != 3 {
		t.Errorf("shortcuts: %+v", list.Value)
	}
	sp.do("GET", scs+"?parentPath=Files", nil).json(t, &list)
	if len(list.Value) != 1 || list.Value[0].Name != "raw" {
		t.Errorf("under Files: %+v", list.Value)
	}
	wantStatus(t, sp.do("GET", scs+"/Files/landing/s3/raw", nil), 200)
	wantStatus(t, sp.do("DELETE", scs+"/Files/landing/s3/raw", nil), 200)
	wantError(t, sp.do("GET", scs+"/Files/landing/s3/raw", nil), 404, "EntityNotFound")
	nb := created(t, sp, sp.do("POST", ws+"/notebooks", map[string]any{"displayName": "nb"}))
	wantError(t, sp.do("GET", ws+"/items/"+nb.ID+"/shortcuts", nil), 400, "OperationNotSupportedForItem")
	wantError(t, raw(t, e, readerObjectID).do("GET", scs, nil), 403, "InsufficientPrivileges")
}
