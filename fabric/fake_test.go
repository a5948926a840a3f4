package fabric

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeFabric is a small TLS Fabric + Entra written for these tests: workspaces, capacities, items
// with 202 long-running creates and definitions, paging by continuationUri, and a hook that lets a
// test answer any request itself.
type fakeFabric struct {
	t   *testing.T
	srv *httptest.Server

	mu         sync.Mutex
	workspaces map[string]map[string]any
	items      map[string]map[string]any // id -> item
	roles      map[string]map[string]any // ws/id -> role assignment
	folders    map[string]map[string]any // id -> folder
	defs       map[string]any            // item id -> definition
	ops        map[string]map[string]any // operation id -> {status, result}
	pageSize   int
	nextID     atomic.Int64
	tokens     atomic.Int64
	tokenTTL   int // expires_in of issued tokens (seconds)
	validToken func(string) bool

	// hook answers a request when it returns true; it runs before the normal handlers.
	hook func(w http.ResponseWriter, r *http.Request) bool
	log  []string // "METHOD path" of every Fabric request
}

const fakeTenant = "11111111-2222-3333-4444-555555555555"

func newFakeFabric(t *testing.T) *fakeFabric {
	f := &fakeFabric{t: t, workspaces: map[string]map[string]any{}, items: map[string]map[string]any{},
		defs: map[string]any{}, roles: map[string]map[string]any{}, folders: map[string]map[string]any{}, ops: map[string]map[string]any{}, pageSize: 2, tokenTTL: 3600}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeFabric) id(prefix string) string {
	return fmt.Sprintf("%s-0000-0000-0000-%012d", prefix, f.nextID.Add(1))
}

// credential signs in through the real azidentity client-secret path against the fake's Entra.
func (f *fakeFabric) credential(t *testing.T) *tokenCache {
	cred, err := NewCredential(AuthConfig{TenantID: fakeTenant, ClientID: "app", ClientSecret: "s3cr3t-value",
		AuthorityHost: f.srv.URL + "/", HTTPClient: f.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return cred.(*tokenCache)
}

// client returns a Client against the fake with fast test timings.
func (f *fakeFabric) client(t *testing.T, mod func(*Config)) *Client {
	cfg := Config{BaseURL: f.srv.URL, Credential: f.credential(t), HTTPClient: f.srv.Client(),
		BackoffInitial: 10 * time.Millisecond, BackoffMax: 50 * time.Millisecond, LROPollMin: time.Millisecond,
		CapacityPoll: time.Millisecond, NameReservedWait: 20 * time.Millisecond, Secrets: []string{"s3cr3t-value"}}
	return newTestClient(t, cfg, mod)
}

// newTestClient builds a client from cfg after mod has changed it.
func newTestClient(t testing.TB, cfg Config, mod func(*Config)) *Client {
	t.Helper()
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// fourWorkers lists capacities five times from each of four goroutines sharing c.
func fourWorkers(t *testing.T, c *Client) {
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 5 {
				if _, err := c.ListCapacities(bg); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("RequestId", "req-1")
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}

func fabricError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("x-ms-public-api-error-code", code)
	writeJSON(w, status, map[string]any{"errorCode": code, "message": msg, "requestId": "req-1"})
}

func (f *fakeFabric) serve(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case strings.HasSuffix(p, "/v2.0/.well-known/openid-configuration"):
		base := f.srv.URL + "/" + fakeTenant
		writeJSON(w, 200, map[string]any{"issuer": base + "/v2.0", "token_endpoint": base + "/oauth2/v2.0/token",
			"authorization_endpoint": base + "/oauth2/v2.0/authorize"})
		return
	case strings.HasSuffix(p, "/oauth2/v2.0/token"):
		_ = r.ParseForm()
		switch {
		case r.PostForm.Get("grant_type") == "device_code" || strings.HasSuffix(r.PostForm.Get("grant_type"), ":device_code"):
			if f.tokens.Add(1) == 1 {
				writeJSON(w, 400, map[string]any{"error": "authorization_pending", "error_description": "AADSTS70016: pending"})
				return
			}
			writeJSON(w, 200, map[string]any{"token_type": "Bearer", "access_token": fmt.Sprintf("tok-%d", f.tokens.Load()),
				"expires_in": f.tokenTTL, "refresh_token": "rt", "client_info": "eyJ1aWQiOiJ1IiwidXRpZCI6InQifQ",
				"id_token": "eyJhbGciOiJub25lIn0.eyJpc3MiOiJodHRwczovL3gvIiwidGlkIjoidCIsImF1ZCI6ImFwcCIsIm9pZCI6InUiLCJzdWIiOiJ1IiwicHJlZmVycmVkX3VzZXJuYW1lIjoidUB4IiwiZXhwIjo5OTk5OTk5OTk5fQ."})
			return
		case r.PostForm.Get("client_assertion") == "federated-jwt":
			n := f.tokens.Add(1)
			writeJSON(w, 200, map[string]any{"token_type": "Bearer", "access_token": fmt.Sprintf("tok-%d", n), "expires_in": f.tokenTTL})
			return
		}
		if r.PostForm.Get("client_secret") != "s3cr3t-value" {
			writeJSON(w, 401, map[string]any{"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."})
			return
		}
		n := f.tokens.Add(1)
		writeJSON(w, 200, map[string]any{"token_type": "Bearer", "access_token": fmt.Sprintf("tok-%d", n), "expires_in": f.tokenTTL})
		return
	case strings.HasSuffix(p, "/oauth2/v2.0/devicecode"):
		writeJSON(w, 200, map[string]any{"device_code": "dc", "user_code": "ABCD", "verification_uri": "https://microsoft.com/devicelogin",
			"expires_in": 900, "interval": 1, "message": "To sign in, enter the code ABCD"})
		return
	}
	f.mu.Lock()
	f.log = append(f.log, r.Method+" "+p)
	hook := f.hook
	f.mu.Unlock()
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer tok-") {
		fabricError(w, 401, "TokenIsMissing", "no token")
		return
	}
	if f.validToken != nil && !f.validToken(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")) {
		fabricError(w, 401, "TokenExpired", "Access token has expired")
		return
	}
	if hook != nil && hook(w, r) {
		return
	}
	f.route(w, r)
}

// route is the fake's Fabric proper, behind authentication and the hook.
func (f *fakeFabric) route(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	f.mu.Lock()
	defer f.mu.Unlock()
	seg := strings.Split(strings.Trim(strings.TrimPrefix(p, "/v1"), "/"), "/")
	var body map[string]any
	_ = json.NewDecoder(r.Body).Decode(&body)
	switch {
	case r.Method == "GET" && p == "/v1/capacities":
		f.page(w, r, []map[string]any{{"id": "cap-1", "displayName": "demo-capacity", "sku": "F4", "region": "West Europe", "state": "Active"}})
	case r.Method == "GET" && p == "/v1/workspaces":
		var all []map[string]any
		for _, ws := range f.workspaces {
			all = append(all, ws)
		}
		f.page(w, r, all)
	case r.Method == "POST" && p == "/v1/workspaces":
		for _, ws := range f.workspaces {
			if strings.EqualFold(ws["displayName"].(string), body["displayName"].(string)) {
				fabricError(w, 409, "WorkspaceNameAlreadyExists", "Workspace name already exists")
				return
			}
		}
		id := f.id("aaaaaaaa")
		ws := map[string]any{"id": id, "displayName": body["displayName"], "description": body["description"], "type": "Workspace",
			"capacityAssignmentProgress": "Completed"}
		if body["capacityId"] != nil {
			ws["capacityId"] = body["capacityId"]
		}
		f.workspaces[id] = ws
		w.Header().Set("Location", f.srv.URL+"/v1/workspaces/"+id)
		writeJSON(w, 201, ws)
	case len(seg) == 3 && seg[0] == "workspaces" && (seg[2] == "assignToCapacity" || seg[2] == "unassignFromCapacity"):
		ws, ok := f.workspaces[seg[1]]
		if !ok {
			fabricError(w, 404, "WorkspaceNotFound", "The requested workspace was not found")
			return
		}
		ws["capacityAssignmentProgress"] = "InProgress"
		ws["pendingPolls"] = 2
		if seg[2] == "assignToCapacity" {
			ws["capacityId"] = body["capacityId"]
		} else {
			delete(ws, "capacityId")
		}
		writeJSON(w, 202, nil)
	case len(seg) == 2 && seg[0] == "workspaces":
		ws, ok := f.workspaces[seg[1]]
		if !ok {
			fabricError(w, 404, "WorkspaceNotFound", "The requested workspace was not found")
			return
		}
		if r.Method == "GET" {
			if n, _ := ws["pendingPolls"].(int); n > 0 {
				ws["pendingPolls"] = n - 1
			} else if ws["capacityAssignmentProgress"] == "InProgress" {
				ws["capacityAssignmentProgress"] = "Completed"
				if ws["capacityId"] == "cap-broken" {
					ws["capacityAssignmentProgress"] = "Failed"
				}
			}
		}
		serveObject(w, r, ws, body, func() { delete(f.workspaces, seg[1]) })
	case len(seg) == 3 && seg[0] == "workspaces" && seg[2] == "items":
		if r.Method == "GET" {
			var all []map[string]any
			for _, it := range f.items {
				if it["workspaceId"] == seg[1] && (r.URL.Query().Get("type") == "" || r.URL.Query().Get("type") == it["type"]) {
					all = append(all, it)
				}
			}
			f.page(w, r, all)
			return
		}
		for _, it := range f.items {
			if it["workspaceId"] == seg[1] && it["type"] == body["type"] && it["displayName"] == body["displayName"] {
				fabricError(w, 400, "ItemDisplayNameAlreadyInUse", "Requested item display name is already in use")
				return
			}
		}
		id := f.id("bbbbbbbb")
		it := map[string]any{"id": id, "workspaceId": seg[1], "type": body["type"], "displayName": body["displayName"],
			"description": body["description"]}
		f.items[id] = it
		if body["definition"] != nil {
			f.defs[id] = body["definition"]
		}
		f.accept(w, it)
	case len(seg) >= 4 && seg[0] == "workspaces" && seg[2] == "items":
		it, ok := f.items[seg[3]]
		if !ok {
			fabricError(w, 404, "ItemNotFound", "The requested item was not found")
			return
		}
		switch {
		case len(seg) == 5 && seg[4] == "getDefinition":
			f.accept(w, map[string]any{"definition": f.defs[seg[3]]})
		case len(seg) == 5 && seg[4] == "updateDefinition":
			f.defs[seg[3]] = body["definition"]
			writeJSON(w, 200, nil)
		default:
			serveObject(w, r, it, body, func() { delete(f.items, seg[3]) })
		}
	case len(seg) >= 3 && seg[0] == "workspaces" && seg[2] == "roleAssignments":
		f.serveCollection(w, r, f.roles, seg, body, func() map[string]any {
			p := body["principal"].(map[string]any)
			for _, ra := range f.roles {
				if ra["ws"] == seg[1] && ra["principal"].(map[string]any)["id"] == p["id"] {
					fabricError(w, 409, "PrincipalAlreadyHasWorkspaceRolePermissions", "principal already has a role")
					return nil
				}
			}
			return map[string]any{"id": p["id"], "principal": p, "role": body["role"]}
		})
	case len(seg) >= 3 && seg[0] == "workspaces" && seg[2] == "folders":
		f.serveCollection(w, r, f.folders, seg, body, func() map[string]any {
			return map[string]any{"id": f.id("dddddddd"), "displayName": body["displayName"], "workspaceId": seg[1], "parentFolderId": body["parentFolderId"]}
		})
	case len(seg) >= 2 && seg[0] == "operations":
		o, ok := f.ops[seg[1]]
		if !ok {
			fabricError(w, 404, "OperationNotFound", "no such operation")
			return
		}
		if len(seg) == 3 {
			writeJSON(w, 200, o["result"])
			return
		}
		if o["polls"].(int) > 0 {
			o["polls"] = o["polls"].(int) - 1
			w.Header().Set("Retry-After", "0")
			writeJSON(w, 200, map[string]any{"status": "Running"})
			return
		}
		if o["error"] != nil {
			writeJSON(w, 200, map[string]any{"status": "Failed", "error": o["error"]})
			return
		}
		w.Header().Set("Location", f.srv.URL+"/v1/operations/"+seg[1]+"/result")
		writeJSON(w, 200, map[string]any{"status": "Succeeded"})
	default:
		fabricError(w, 404, "EntityNotFound", "no route "+r.Method+" "+p)
	}
}

// serveCollection answers list/create/get/patch/delete of a simple per-workspace collection.
func (f *fakeFabric) serveCollection(w http.ResponseWriter, r *http.Request, m map[string]map[string]any, seg []string,
	body map[string]any, create func() map[string]any) {
	switch {
	case len(seg) == 3 && r.Method == "GET":
		var all []map[string]any
		for _, v := range m {
			if v["ws"] == seg[1] {
				all = append(all, v)
			}
		}
		f.page(w, r, all)
	case len(seg) == 3 && r.Method == "POST":
		v := create()
		if v == nil {
			return
		}
		v["ws"] = seg[1]
		m[seg[1]+"/"+v["id"].(string)] = v
		writeJSON(w, 201, v)
	case len(seg) == 4:
		v, ok := m[seg[1]+"/"+seg[3]]
		if !ok {
			fabricError(w, 404, "EntityNotFound", "not found")
			return
		}
		serveObject(w, r, v, body, func() { delete(m, seg[1]+"/"+seg[3]) })
	default:
		fabricError(w, 404, "EntityNotFound", "no route")
	}
}

// serveObject answers GET, PATCH and DELETE of one object.
func serveObject(w http.ResponseWriter, r *http.Request, v, body map[string]any, del func()) {
	switch r.Method {
	case "GET":
		writeJSON(w, 200, v)
	case "PATCH":
		for k, x := range body {
			v[k] = x
		}
		writeJSON(w, 200, v)
	case "DELETE":
		del()
		writeJSON(w, 200, nil)
	}
}

// accept starts a long-running operation whose result is result; it stays Running for one poll.
func (f *fakeFabric) accept(w http.ResponseWriter, result any) {
	id := f.id("cccccccc")
	f.ops[id] = map[string]any{"result": result, "polls": 1}
	w.Header().Set("Location", f.srv.URL+"/v1/operations/"+id)
	w.Header().Set("x-ms-operation-id", id)
	w.Header().Set("Retry-After", "0")
	writeJSON(w, 202, nil)
}

// page answers a paged list, pageSize values at a time, with an absolute continuationUri.
func (f *fakeFabric) page(w http.ResponseWriter, r *http.Request, all []map[string]any) {
	start := 0
	fmt.Sscan(r.URL.Query().Get("continuationToken"), &start)
	end := min(start+f.pageSize, len(all))
	out := map[string]any{"value": all[start:end]}
	if all == nil {
		out["value"] = []any{}
	}
	if end < len(all) {
		q := r.URL.Query()
		q.Set("continuationToken", fmt.Sprint(end))
		out["continuationToken"] = fmt.Sprint(end)
		out["continuationUri"] = f.srv.URL + r.URL.Path + "?" + q.Encode()
	}
	writeJSON(w, 200, out)
}

func (f *fakeFabric) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.log...)
}

func (f *fakeFabric) count(prefix string) int {
	n := 0
	for _, l := range f.requests() {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

// applyThenDrop applies the first n matching requests and then breaks the connection instead of
// answering: the change is made, the answer is lost.
func (f *fakeFabric) applyThenDrop(n int, method, prefix string) func(http.ResponseWriter, *http.Request) bool {
	var seen atomic.Int64
	return func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != method || !strings.HasPrefix(r.URL.Path, prefix) || seen.Add(1) > int64(n) {
			return false
		}
		f.route(httptest.NewRecorder(), r)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			f.t.Error(err)
			return true
		}
		conn.Close()
		return true
	}
}

// applyThenFail applies the first n matching requests and answers them with status anyway.
func (f *fakeFabric) applyThenFail(n int, method, prefix string, status int) func(http.ResponseWriter, *http.Request) bool {
	var seen atomic.Int64
	return func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != method || !strings.HasPrefix(r.URL.Path, prefix) || seen.Add(1) > int64(n) {
			return false
		}
		f.route(httptest.NewRecorder(), r)
		fabricError(w, status, "InternalServerError", "injected after applying")
		return true
	}
}

var bg = context.Background()
