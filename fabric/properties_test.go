package fabric

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

// A new lakehouse reports its SQL endpoint only once Fabric has provisioned it: the read waits
// through a missing endpoint and InProgress, and Failed is an error, not a wait.
func TestItemPropertiesWaitForProvisioning(t *testing.T) {
	f := newFakeFabric(t)
	c := f.client(t, nil)
	var reads atomic.Int64
	status := []string{"", "InProgress", "InProgress", "Success"}
	f.hook = func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasPrefix(r.URL.Path, "/v1/workspaces/ws-1/lakehouses/") {
			return false
		}
		n := int(reads.Add(1)) - 1
		props := map[string]any{"oneLakeTablesPath": "https://onelake/ws-1/lake/Tables"}
		if strings.HasSuffix(r.URL.Path, "/broken") {
			props["sqlEndpointProperties"] = map[string]any{"provisioningStatus": "Failed"}
		} else if s := status[min(n, len(status)-1)]; s != "" {
			props["sqlEndpointProperties"] = map[string]any{"id": "ep-1", "connectionString": "x.datawarehouse.fabric.microsoft.com",
				"provisioningStatus": s}
		}
		writeJSON(w, 200, map[string]any{"id": "lake", "type": "Lakehouse", "properties": props})
		return true
	}
	ready := func(p ItemProperties) bool {
		_, ok := p.Lookup("sqlEndpointProperties.connectionString")
		return ok && p.Provisioning() == "Success"
	}
	p, err := c.GetItemProperties(bg, "ws-1", "Lakehouse", "lake", ready)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := p.Lookup("sqlEndpointProperties.id"); got != "ep-1" || reads.Load() != 4 {
		t.Fatalf("endpoint %q after %d reads, want ep-1 after 4", got, reads.Load())
	}
	if _, ok := p.Lookup("sqlEndpointProperties.id.more"); ok {
		t.Error("a path through a string resolved")
	}
	if _, err := c.GetItemProperties(bg, "ws-1", "Lakehouse", "broken", ready); ErrorCode(err) != "ProvisioningFailed" {
		t.Fatalf("failed provisioning: %v", err)
	}
	// Types without properties cost no request.
	before := reads.Load()
	if p, err := c.GetItemProperties(bg, "ws-1", "Notebook", "nb", ready); err != nil || len(p) != 0 || reads.Load() != before {
		t.Fatalf("notebook: %v %v", p, err)
	}
}
