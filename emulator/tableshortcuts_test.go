package emulator

import "testing"

// A KQL database's table shortcuts: created as a long-running operation (at once with
// ImmediateTypes), validated like OneLake shortcuts, named uniquely, listed, read and deleted; a
// OneLake target must hold data.
func TestTableShortcuts(t *testing.T) {
	e := start(t, Options{ImmediateTypes: []string{"Eventhouse", "KQLDatabase"}})
	sp := raw(t, e, DefaultSPObjectID)
	wsID := newWorkspace(t, sp, map[string]any{"displayName": "kql"})
	ws := "/v1/workspaces/" + wsID
	eh := created(t, sp, sp.do("POST", ws+"/eventhouses", map[string]any{"displayName": "eh"}))
	db := created(t, sp, sp.do("POST", ws+"/kqlDatabases", map[string]any{"displayName": "logs",
		"creationPayload": map[string]any{"databaseType": "ReadWrite", "parentEventhouseItemId": eh.ID}}))
	nb := created(t, sp, sp.do("POST", ws+"/notebooks", map[string]any{"displayName": "nb"}))
	scs := ws + "/kqlDatabases/" + db.ID + "/shortcuts"
	adls := map[string]any{"adlsGen2": map[string]any{"location": "https://acct.dfs.core.windows.net",
		"subpath": "fs/prices", "connectionId": DefaultConnectionID}}
	r := sp.do("POST", scs, map[string]any{"name": "prices", "enableQueryAcceleration": true, "target": adls})
	wantStatus(t, r, 201)
	var sc shortcut
	r.json(t, &sc)
	got, _ := sc.Target["adlsGen2"].(map[string]any)
	if sc.Target["type"] != "AdlsGen2" || got["subpath"] != "/fs/prices" || sc.QueryAcceleration == nil || !*sc.QueryAcceleration {
		t.Errorf("created %s", r.body)
	}
	wantError(t, sp.do("POST", scs, map[string]any{"name": "PRICES", "enableQueryAcceleration": false, "target": adls}),
		409, "TableShortcutAlreadyExists")
	for _, bad := range []map[string]any{
		{"name": "a/b", "enableQueryAcceleration": false, "target": adls},
		{"name": "x", "target": adls},
		{"name": "x", "enableQueryAcceleration": false, "target": map[string]any{"dataverse": map[string]any{}}},
		{"name": "x", "enableQueryAcceleration": false, "target": map[string]any{"oneLake": map[string]any{
			"workspaceId": wsID, "itemId": nb.ID, "path": "Tables/t"}}},
	} {
		wantError(t, sp.do("POST", scs, bad), 400, "InvalidInput")
	}
	var list listBody[shortcut]
	sp.do("GET", scs, nil).json(t, &list)
	if len(list.Value) != 1 || list.Value[0].Name != "prices" || list.Value[0].Path != "" {
		t.Errorf("list: %+v", list.Value)
	}
	wantStatus(t, sp.do("GET", scs+"/prices", nil), 200)
	wantStatus(t, sp.do("DELETE", scs+"/prices", nil), 200)
	wantError(t, sp.do("GET", scs+"/prices", nil), 404, "TableShortcutNotFound")
	wantError(t, sp.do("GET", ws+"/kqlDatabases/"+nb.ID+"/shortcuts", nil), 404, "ItemNotFound")

	// Not immediate: a 202 whose operation's result is the shortcut.
	lro := start(t, Options{})
	sp = raw(t, lro, DefaultSPObjectID)
	ws = "/v1/workspaces/" + newWorkspace(t, sp, map[string]any{"displayName": "kql"})
	db = created(t, sp, sp.do("POST", ws+"/kqlDatabases", map[string]any{"displayName": "logs"}))
	wantStatus(t, sp.do("POST", ws+"/kqlDatabases/"+db.ID+"/shortcuts",
		map[string]any{"name": "p", "enableQueryAcceleration": false, "target": adls}), 202)
}
