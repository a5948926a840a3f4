package emulator

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"
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

// Item job schedules: create, list, get, update, delete, validated as the spec's ScheduleConfig.
func TestJobSchedules(t *testing.T) {
	e := start(t, Options{})
	sp := raw(t, e, DefaultSPObjectID)
	ws := "/v1/workspaces/" + newWorkspace(t, sp, map[string]any{"displayName": "jobs"})
	pipe := created(t, sp, sp.do("POST", ws+"/dataPipelines", map[string]any{"displayName": "nightly"}))
	scheds := ws + "/items/" + pipe.ID + "/jobs/Pipeline/schedules"
	cron := map[string]any{"type": "Cron", "interval": 10, "startDateTime": "2024-04-28T00:00:00",
		"endDateTime": "2024-04-30T23:59:00", "localTimeZoneId": "Central Standard Time"}
	r := sp.do("POST", scheds, map[string]any{"enabled": true, "configuration": cron})
	wantStatus(t, r, 201)
	var s scheduleJSON
	r.json(t, &s)
	if !s.Enabled || s.Owner.ID != DefaultSPObjectID || s.Configuration["interval"] != float64(10) ||
		r.header.Get("Location") != e.URL()+scheds+"/"+s.ID {
		t.Errorf("created %s %v", r.body, r.header)
	}
	weekly := map[string]any{"type": "Weekly", "times": []string{"10:00", "16:00"}, "weekdays": []string{"Monday", "Friday"},
		"startDateTime": "2024-04-28T00:00:00", "endDateTime": "2024-12-31T00:00:00", "localTimeZoneId": "UTC"}
	r = sp.do("PATCH", scheds+"/"+s.ID, map[string]any{"enabled": false, "configuration": weekly})
	wantStatus(t, r, 200)
	r.json(t, &s)
	if s.Enabled || s.Configuration["type"] != "Weekly" {
		t.Errorf("updated %s", r.body)
	}
	monthly := map[string]any{"type": "Monthly", "recurrence": 1, "times": []string{"08:30"},
		"occurrence":    map[string]any{"occurrenceType": "OrdinalWeekday", "weekIndex": "First", "weekday": "Monday"},
		"startDateTime": "2024-04-28T00:00:00", "endDateTime": "2025-04-28T00:00:00", "localTimeZoneId": "UTC"}
	wantStatus(t, sp.do("POST", strings.Replace(scheds, "/Pipeline/", "/pipeline/", 1), map[string]any{"enabled": true, "configuration": monthly}), 201)
	var list listBody[scheduleJSON]
	sp.do("GET", scheds, nil).json(t, &list)
	if len(list.Value) != 2 {
		t.Errorf("schedules: %+v", list.Value)
	}
	for _, bad := range []map[string]any{
		{"type": "Hourly", "startDateTime": "2024-04-28T00:00:00", "endDateTime": "2024-04-30T00:00:00", "localTimeZoneId": "UTC"},
		{"type": "Cron", "interval": 0, "startDateTime": "2024-04-28T00:00:00", "endDateTime": "2024-04-30T00:00:00", "localTimeZoneId": "UTC"},
		{"type": "Daily", "times": []string{"25:00"}, "startDateTime": "2024-04-28T00:00:00", "endDateTime": "2024-04-30T00:00:00", "localTimeZoneId": "UTC"},
		{"type": "Cron", "interval": 5, "startDateTime": "2024-04-30T00:00:00", "endDateTime": "2024-04-28T00:00:00", "localTimeZoneId": "UTC"},
		{"type": "Weekly", "times": []string{"10:00"}, "weekdays": []string{"Funday"}, "startDateTime": "2024-04-28T00:00:00",
			"endDateTime": "2024-04-30T00:00:00", "localTimeZoneId": "UTC"},
	} {
		r := sp.do("POST", scheds, map[string]any{"enabled": true, "configuration": bad})
		wantError(t, r, 400, "InvalidInput")
		var er errorResponse
		if r.json(t, &er); len(er.MoreDetails) != 1 {
			t.Errorf("%v: %s", bad, r.body)
		}
	}
	wantError(t, sp.do("POST", ws+"/items/"+pipe.ID+"/jobs/RunNotebook/schedules", map[string]any{"enabled": true, "configuration": cron}), 400, "InvalidJobType")
	wantStatus(t, sp.do("DELETE", scheds+"/"+s.ID, nil), 200)
	wantError(t, sp.do("GET", scheds+"/"+s.ID, nil), 404, "EntityNotFound")
	wantError(t, raw(t, e, readerObjectID).do("GET", scheds, nil), 403, "InsufficientPrivileges")
}

// An environment stages libraries and Spark compute; publishing makes them the published ones while
// publishDetails.state moves Running -> Success (or Cancelled).
func TestEnvironmentStagingAndPublish(t *testing.T) {
	clock := newClock()
	e := start(t, Options{Clock: clock.Now, LRODelay: time.Minute})
	sp := raw(t, e, DefaultSPObjectID)
	ws := "/v1/workspaces/" + newWorkspace(t, sp, map[string]any{"displayName": "spark"})
	r := sp.do("POST", ws+"/environments", map[string]any{"displayName": "env"})
	clock.Advance(time.Minute)
	envItem := created(t, sp, r)
	env := ws + "/environments/" + envItem.ID
	state := func() string {
		var got struct{ Properties environmentPropertiesJSON }
		sp.do("GET", env, nil).json(t, &got)
		return got.Properties.PublishDetails.State
	}
	if s := state(); s != "Success" {
		t.Errorf("new environment publish state %s", s)
	}

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "tools-1.0-py3-none-any.whl")
	fw.Write([]byte("PK..."))
	fw, _ = mw.CreateFormFile("file", "environment.yml")
	fw.Write([]byte("dependencies:\n  - pip:\n    - fuzzywuzzy==0.18.0\n    - matplotlib==3.8.0\n"))
	mw.Close()
	req, _ := http.NewRequest("POST", e.URL()+env+"/staging/libraries", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+sp.token)
	resp, err := sp.hc.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("upload: %v %v", resp, err)
	}
	resp.Body.Close()
	wantStatus(t, sp.do("POST", env+"/staging/libraries/extra.jar", "jar bytes"), 200)
	wantError(t, sp.do("POST", env+"/staging/libraries/notes.txt", "x"), 400, "InvalidInput")
	var libs struct{ Libraries []library }
	sp.do("GET", env+"/staging/libraries", nil).json(t, &libs)
	if fmt.Sprint(libs.Libraries) != "[{tools-1.0-py3-none-any.whl Custom } {fuzzywuzzy External 0.18.0} {matplotlib External 3.8.0} {extra.jar Custom }]" {
		t.Errorf("staged libraries %v", libs.Libraries)
	}
	var preview struct {
		CustomLibraries map[string][]string
		EnvironmentYml  string
	}
	sp.do("GET", env+"/staging/libraries?beta=true", nil).json(t, &preview)
	if fmt.Sprint(preview.CustomLibraries["jarFiles"]) != "[extra.jar]" || !strings.Contains(preview.EnvironmentYml, "fuzzywuzzy") {
		t.Errorf("preview libraries %+v", preview)
	}
	wantStatus(t, sp.do("DELETE", env+"/staging/libraries?libraryToDelete=extra.jar", nil), 200)
	wantError(t, sp.do("DELETE", env+"/staging/libraries/extra.jar", nil), 404, "EntityNotFound")

	r = sp.do("PATCH", env+"/staging/sparkcompute", map[string]any{"driverCores": 4, "driverMemory": "28g",
		"sparkProperties": []any{map[string]any{"key": "spark.acls.enable", "value": "false"}}})
	wantStatus(t, r, 200)
	wantError(t, sp.do("PATCH", env+"/staging/sparkcompute", map[string]any{"executorCores": 3}), 400, "InvalidInput")
	var compute map[string]any
	sp.do("GET", env+"/sparkcompute", nil).json(t, &compute)
	if compute["driverCores"] != float64(8) {
		t.Errorf("published compute changed before publish: %v", compute)
	}
	sp.do("GET", env+"/libraries", nil).json(t, &libs)
	if len(libs.Libraries) != 0 {
		t.Errorf("published libraries before publish: %v", libs.Libraries)
	}

	r = sp.do("POST", env+"/staging/publish", nil)
	wantStatus(t, r, 202)
	if s := state(); s != "Running" {
		t.Errorf("publish state right after publish: %s", s)
	}
	wantError(t, sp.do("POST", env+"/staging/publish", nil), 400, "EnvironmentPublishInProgress")
	clock.Advance(time.Minute)
	if s := state(); s != "Success" {
		t.Errorf("publish state after it ended: %s", s)
	}
	var props environmentPropertiesJSON
	sp.do("GET", "/v1/operations/"+r.header.Get("x-ms-operation-id")+"/result", nil).json(t, &props)
	if props.PublishDetails.State != "Success" || props.PublishDetails.EndTime == "" {
		t.Errorf("publish result %+v", props)
	}
	sp.do("GET", env+"/sparkcompute", nil).json(t, &compute)
	sp.do("GET", env+"/libraries", nil).json(t, &libs)
	if compute["driverCores"] != float64(4) || len(libs.Libraries) != 3 {
		t.Errorf("published after publish: %v %v", compute, libs.Libraries)
	}

	// A cancelled publish leaves the published side as it was.
	wantStatus(t, sp.do("PATCH", env+"/staging/sparkcompute", map[string]any{"driverCores": 16}), 200)
	wantStatus(t, sp.do("POST", env+"/staging/publish?beta=true", nil), 200)
	r = sp.do("POST", env+"/staging/cancelPublish", nil)
	wantStatus(t, r, 200)
	r.json(t, &props)
	if props.PublishDetails.State != "Cancelled" || state() != "Cancelled" {
		t.Errorf("cancelled: %s", r.body)
	}
	sp.do("GET", env+"/sparkcompute", nil).json(t, &compute)
	if compute["driverCores"] != float64(4) {
		t.Errorf("a cancelled publish changed the published compute: %v", compute)
	}
	wantError(t, sp.do("POST", env+"/staging/cancelPublish", nil), 400, "EnvironmentNoPublishInProgress")
	pipe := created(t, sp, sp.do("POST", ws+"/dataPipelines", map[string]any{"displayName": "p"}))
	wantError(t, sp.do("GET", ws+"/environments/"+pipe.ID+"/staging/libraries", nil), 404, "ItemNotFound")
}
