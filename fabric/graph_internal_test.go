package fabric

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

// TestGraphPagingStaysOnGraph: lookups follow @odata.nextLink across pages (the emulator's Graph
// answers in one page), and a nextLink to another host is refused before the token goes there.
func TestGraphPagingStaysOnGraph(t *testing.T) {
	f := newFakeFabric(t)
	var elsewhere atomic.Value // the second page's nextLink
	elsewhere.Store("")
	f.hook = func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasPrefix(r.URL.Path, "/graph/v1.0/groups") {
			return false
		}
		base := f.srv.URL + "/graph/v1.0/groups"
		switch r.URL.Query().Get("$skiptoken") {
		case "":
			writeJSON(w, 200, map[string]any{"value": []map[string]string{{"id": "g1", "displayName": "Team"}},
				"@odata.nextLink": base + "?$skiptoken=2"})
		case "2":
			writeJSON(w, 200, map[string]any{"value": []map[string]string{{"id": "g2", "displayName": "Team"}},
				"@odata.nextLink": elsewhere.Load()})
		}
		return true
	}
	g, err := f.client(t, nil).Graph(f.srv.URL + "/graph/v1.0")
	if err != nil {
		t.Fatal(err)
	}
	got, err := g.GroupsByName(context.Background(), "Team")
	if err != nil || len(got) != 2 || got[0].ID != "g1" || got[1].ID != "g2" {
		t.Fatalf("two pages: %+v, %v; want g1 and g2", got, err)
	}
	elsewhere.Store("https://graph.example.test/v1.0/groups?$skiptoken=3")
	before := len(f.requests())
	_, err = g.GroupsByName(context.Background(), "Team")
	if err == nil || !strings.Contains(err.Error(), "UnexpectedNextLink") {
		t.Fatalf("a nextLink to another host: %v; want it refused", err)
	}
	if n := len(f.requests()) - before; n != 2 {
		t.Fatalf("%d requests; want the two pages on the fake and none elsewhere", n)
	}
}
