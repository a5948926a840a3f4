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
		defs: map[string]any{}, ops: map[string]map[string]any{}, pageSize: 2, tokenTTL: 3600}
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
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
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
		if r.PostForm.Get("client_secret") != "s3cr3t-value" {
			writeJSON(w, 401, map[string]any{"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."})
			return
		}
		n := f.tokens.Add(1)
		writeJSON(w, 200, map[string]any{"token_type": "Bearer", "access_token": fmt.Sprintf("tok-%d", n), "expires_in": f.tokenTTL})
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
	case len(seg) == 2 && seg[0] == "workspaces":
		ws, ok := f.workspaces[seg[1]]
		if !ok {
			fabricError(w, 404, "WorkspaceNotFound", "The requested workspace was not found")
			return
		}
		switch r.Method {
		case "GET":
			writeJSON(w, 200, ws)
		case "PATCH":
			for k, v := range body {
				ws[k] = v
			}
			writeJSON(w, 200, ws)
		case "DELETE":
			delete(f.workspaces, seg[1])
			writeJSON(w, 200, nil)
		}
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
		case r.Method == "GET":
			writeJSON(w, 200, it)
		case r.Method == "PATCH":
			for k, v := range body {
				it[k] = v
			}
			writeJSON(w, 200, it)
		case r.Method == "DELETE":
			delete(f.items, seg[3])
			writeJSON(w, 200, nil)
		}
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

var bg = context.Background()
