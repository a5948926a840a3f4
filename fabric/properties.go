package fabric

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// propertyCollections are the type-specific collections whose items carry properties (the spec's
// *Properties definitions), by item type.
var propertyCollections = map[string]string{
	"Lakehouse": "lakehouses", "Warehouse": "warehouses", "Eventhouse": "eventhouses", "KQLDatabase": "kqlDatabases",
	"SQLDatabase": "sqlDatabases", "MirroredDatabase": "mirroredDatabases", "SparkJobDefinition": "sparkJobDefinitions",
	"VariableLibrary": "variableLibraries", "Environment": "environments",
}

// ItemProperties are an item's type-specific properties as its type's own collection returns them
// (decoded JSON; Lookup reads a value by its dotted path).
type ItemProperties map[string]any

// Lookup returns the string at a dotted path ("sqlEndpointProperties.connectionString"); ok is
// false when a step is missing or the value is not a string.
func (p ItemProperties) Lookup(path string) (string, bool) {
	var cur any = map[string]any(p)
	for _, key := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return "", false
		}
		if cur, ok = m[key]; !ok {
			return "", false
		}
	}
	s, ok := cur.(string)
	return s, ok
}

// Provisioning is the state of a part of an item Fabric provisions after creating the item (a
// lakehouse's SQL endpoint): "" when the properties report none.
func (p ItemProperties) Provisioning() string {
	s, _ := p.Lookup("sqlEndpointProperties.provisioningStatus")
	return s
}

// GetItemProperties reads the type-specific properties of an item. With ready set, it reads again
// (every CapacityPoll, within CallTimeout) until ready accepts them: an item Fabric is still
// provisioning (a new lakehouse's SQL endpoint) reports what it will have only later. A
// provisioning state of Failed is an error.
func (c *Client) GetItemProperties(ctx context.Context, ws, itemType, id string, ready func(ItemProperties) bool) (ItemProperties, error) {
	const op = "GetItemProperties"
	coll, ok := propertyCollections[itemType]
	if !ok {
		return ItemProperties{}, nil
	}
	path := "/v1/workspaces/" + url.PathEscape(ws) + "/" + coll + "/" + url.PathEscape(id)
	deadline := c.clock.Now().Add(c.cfg.CallTimeout)
	for {
		resp, err := c.send(withCall(ctx, op), http.MethodGet, path, nil)
		if err != nil {
			return nil, err
		}
		var out struct {
			Properties ItemProperties `json:"properties"`
		}
		if err := decode(op, resp, &out); err != nil {
			return nil, err
		}
		if out.Properties == nil {
			out.Properties = ItemProperties{}
		}
		if out.Properties.Provisioning() == "Failed" {
			return nil, &Error{Operation: op, ErrorCode: "ProvisioningFailed",
				Message: fmt.Sprintf("%s %s: Fabric reports its SQL endpoint's provisioning as Failed", itemType, id),
				Hint:    "open the item in the portal to see why; deleting and recreating it provisions a new endpoint"}
		}
		if ready == nil || ready(out.Properties) {
			return out.Properties, nil
		}
		if c.clock.Now().Add(c.cfg.CapacityPoll).After(deadline) {
			return nil, stillRunning(op, fmt.Sprintf("provisioning of %s %s", itemType, id), c.cfg.CallTimeout)
		}
		if err := c.clock.Sleep(ctx, c.cfg.CapacityPoll); err != nil {
			return nil, transportError(op, err)
		}
	}
}
