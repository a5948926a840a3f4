package emulator

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// fuzzRoutes are the Fabric routes the fuzz target drives; {ws}, {item}, {folder} are existing ids and {id} is
// the fuzzer's string.
var fuzzRoutes = []string{
	"/v1/workspaces", "/v1/workspaces/{ws}", "/v1/workspaces/{id}", "/v1/workspaces/{ws}/items",
	"/v1/workspaces/{ws}/items/{item}", "/v1/workspaces/{ws}/items/{id}", "/v1/workspaces/{ws}/items/{item}/getDefinition",
	"/v1/workspaces/{ws}/items/{item}/updateDefinition", "/v1/workspaces/{ws}/items/{item}/move",
	"/v1/workspaces/{ws}/folders", "/v1/workspaces/{ws}/folders/{folder}", "/v1/workspaces/{ws}/folders/{folder}/move",
	"/v1/workspaces/{ws}/roleAssignments", "/v1/workspaces/{ws}/roleAssignments/{id}",
	"/v1/workspaces/{ws}/assignToCapacity", "/v1/workspaces/{ws}/unassignFromCapacity",
	"/v1/workspaces/{ws}/git/connect", "/v1/workspaces/{ws}/git/initializeConnection", "/v1/workspaces/{ws}/git/commitToGit",
	"/v1/workspaces/{ws}/git/updateFromGit", "/v1/workspaces/{ws}/git/myGitCredentials", "/v1/workspaces/{ws}/git/status",
	"/v1/operations/{id}", "/v1/operations/{id}/result", "/v1/capacities/{id}", "/v1/workspaces?continuationToken={id}",
	"/v1/workspaces/{ws}/items?type={id}&recursive={id}&rootFolderId={id}",
	"/v1/workspaces/{ws}/{id}", "/v1/workspaces/{ws}/notebooks/{item}", "/v1/workspaces/{ws}/{id}/{item}/getDefinition",
	"/v1/connections/{id}", "/v1/workspaces/{ws}/provisionIdentity", "/v1/connections",
	"/v1/workspaces/{ws}/items/{item}/shortcuts", "/v1/workspaces/{ws}/items/{item}/shortcuts/Files/{id}",
	"/v1/workspaces/{ws}/items/{item}/jobs/{id}/schedules", "/v1/workspaces/{ws}/items/{item}/jobs/RunNotebook/schedules/{id}",
	"/v1/workspaces/{ws}/environments/{item}/staging/libraries", "/v1/workspaces/{ws}/environments/{item}/staging/sparkcompute",
	"/v1/workspaces/{ws}/environments/{item}/staging/publish", "/v1/workspaces/{ws}/variableLibraries/{item}",
	"/v1/workspaces/{ws}/lakehouses?beta={id}", "/v1/workspaces/{ws}/environments/",
}

var fuzzMethods = []string{"GET", "POST", "PATCH", "DELETE", "PUT"}

// FuzzFabricRequests sends arbitrary bodies, ids and query values to the Fabric handlers: every answer must be
// a documented status with an ErrorResponse, never a panic or a 5xx.
func FuzzFabricRequests(f *testing.F) {
	e := start(f, Options{ImmediateTypes: []string{"Notebook", "Report", "SemanticModel"}})
	c := raw(f, e, DefaultSPObjectID)
	wsID := newWorkspace(f, c, map[string]any{"displayName": "fuzz", "capacityId": DefaultCapacityID})
	var it itemJSON
	c.do("POST", "/v1/workspaces/"+wsID+"/items", map[string]string{"displayName": "nb", "type": "Notebook"}).json(f, &it)
	var fo folderJSON
	c.do("POST", "/v1/workspaces/"+wsID+"/folders", map[string]string{"displayName": "f"}).json(f, &fo)
	tok := c.token

	seeds := []string{
		`{"path":"Files","name":"x","target":{"oneLake":{"workspaceId":"x"}}}`, `{"enabled":true,"configuration":{"type":"Cron"}}`,
		`{"connectivityType":"ShareableCloud","displayName":"c"}`, `{"driverCores":4,"sparkProperties":[{"key":null}]}`,
		`{"properties":{"activeValueSetName":7}}`,
		`{"displayName":"x","type":"Notebook"}`, `{"displayName":5}`, `{"displayName":"x","type":"Report","definition":{"parts":[{"path":"definition.pbir","payload":"e30=","payloadType":"InlineBase64"}]}}`,
		`{"definition":{"format":"ipynb","parts":null}}`, `{"principal":{"id":"` + DefaultUserID + `","type":"User"},"role":"Viewer"}`,
		`{"targetFolderId":"` + fo.ID + `"}`, `{"capacityId":"not-a-guid"}`, `{"gitProviderDetails":{"gitProviderType":"GitHub"}}`,
		`{"mode":"Selective","items":[{"objectId":"x"}]}`, `{"remoteCommitHash":"abc","conflictResolution":{}}`, `[1,2,3]`, `{`, ``, `null`,
		`{"displayName":"` + strings.Repeat("n", 300) + `"}`, `{"source":"ConfiguredConnection","connectionId":"x"}`,
	}
	for i, s := range seeds {
		f.Add(uint8(i), uint8(i%len(fuzzMethods)), "00000000-0000-4000-8000-000000000000", s)
		f.Add(uint8(i+7), uint8(1), "not a guid", s)
	}
	documented := map[int]bool{200: true, 201: true, 202: true, 400: true, 401: true, 403: true, 404: true, 409: true}
	f.Fuzz(func(t *testing.T, route, method uint8, id, body string) {
		tmpl := fuzzRoutes[int(route)%len(fuzzRoutes)]
		target := strings.NewReplacer("{ws}", wsID, "{item}", it.ID, "{folder}", fo.ID, "{id}", url.QueryEscape(id)).Replace(tmpl)
		req, err := http.NewRequest(fuzzMethods[int(method)%len(fuzzMethods)], e.URL()+target, strings.NewReader(body))
		if err != nil {
			t.Skip()
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.RemoteAddr = "127.0.0.1:1234"
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if !documented[rec.Code] {
			t.Fatalf("%s %s %q -> %d: %s", req.Method, target, body, rec.Code, rec.Body)
		}
		if rec.Code >= 400 {
			var er errorResponse
			if err := json.Unmarshal(rec.Body.Bytes(), &er); err != nil || er.ErrorCode == "" || er.Message == "" ||
				rec.Header().Get("x-ms-public-api-error-code") != er.ErrorCode {
				t.Fatalf("%s %s %q -> %d without an ErrorResponse: %s", req.Method, target, body, rec.Code, rec.Body)
			}
		}
	})
}
