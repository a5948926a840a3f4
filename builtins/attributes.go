package builtins

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"go.starlark.net/starlark"

	"github.com/fabplan/fabplan/engine"
	"github.com/fabplan/fabplan/fabric"
)

// Attribute is a value Fabric assigns to an object, known once it exists: a lakehouse's SQL endpoint
// connection string, a workspace's OneLake endpoints. A plan reads it from the handle
// (lake.sql_endpoint_connection_string) wherever a value known after apply is accepted, as it reads
// .id; plans show it as (known after apply) until then.
type Attribute struct {
	Name string
	// Path is where Fabric reports the value: a dotted path into the item's type-specific
	// properties, or the workspace field.
	Path string
	Doc  string
}

// sqlEndpoint are the attributes of the items Fabric gives a SQL endpoint; reading them waits until
// the endpoint is provisioned.
var sqlEndpoint = []Attribute{
	{Name: "sql_endpoint_id", Path: "sqlEndpointProperties.id", Doc: "Id of the item's SQL analytics endpoint."},
	{Name: "sql_endpoint_connection_string", Path: "sqlEndpointProperties.connectionString",
		Doc: "Server to connect to the SQL analytics endpoint with (TDS)."},
}

var kustoURIs = []Attribute{
	{Name: "query_service_uri", Path: "queryServiceUri", Doc: "Kusto query endpoint."},
	{Name: "ingestion_service_uri", Path: "ingestionServiceUri", Doc: "Kusto ingestion endpoint."},
}

// ItemAttributes are the attributes each item type has besides id, from its properties.
var ItemAttributes = map[string][]Attribute{
	"Lakehouse": append(slices.Clone(sqlEndpoint),
		Attribute{Name: "onelake_tables_path", Path: "oneLakeTablesPath", Doc: "OneLake path of the Tables folder."},
		Attribute{Name: "onelake_files_path", Path: "oneLakeFilesPath", Doc: "OneLake path of the Files folder."}),
	"MirroredDatabase": append(slices.Clone(sqlEndpoint),
		Attribute{Name: "onelake_tables_path", Path: "oneLakeTablesPath", Doc: "OneLake path of the Tables folder."}),
	"Warehouse":   {{Name: "connection_string", Path: "connectionString", Doc: "Server to connect to the warehouse with (TDS)."}},
	"Eventhouse":  kustoURIs,
	"KQLDatabase": kustoURIs,
	"SQLDatabase": {
		{Name: "connection_string", Path: "connectionString", Doc: "ADO.NET connection string of the database."},
		{Name: "server_fqdn", Path: "serverFqdn", Doc: "Server name and port."},
		{Name: "database_name", Path: "databaseName", Doc: "Database name on the server."},
	},
	"SparkJobDefinition": {{Name: "onelake_root_path", Path: "oneLakeRootPath", Doc: "OneLake root path of the job's files."}},
}

// WorkspaceAttributes are a workspace's attributes besides id.
var WorkspaceAttributes = []Attribute{
	{Name: "onelake_blob_endpoint", Path: "oneLakeEndpoints.blobEndpoint", Doc: "OneLake Blob API endpoint of the workspace."},
	{Name: "onelake_dfs_endpoint", Path: "oneLakeEndpoints.dfsEndpoint", Doc: "OneLake DFS (ADLS Gen2) API endpoint of the workspace."},
}

// attributeUse records which attributes of one resource the plan reads, so that only those
// resources pay for reading them (a type-specific GET per item). Evaluation writes it, refresh and
// apply read it; the mutex keeps a late read (a helper's handle) safe.
type attributeUse struct {
	mu    sync.Mutex
	names map[string]bool
}

func (u *attributeUse) mark(name string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.names == nil {
		u.names = map[string]bool{}
	}
	u.names[name] = true
}

// used returns the attributes read, in the declared order.
func (u *attributeUse) used(all []Attribute) []Attribute {
	if u == nil {
		return nil
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []Attribute
	for _, a := range all {
		if u.names[a.Name] {
			out = append(out, a)
		}
	}
	return out
}

// withAttributes gives a handle the attributes known after apply that its resource has; reading
// one marks it used.
func (h *Handle) withAttributes(what string, attrs []Attribute, use *attributeUse) *Handle {
	h.what, h.outputs, h.use = what, attrs, use
	return h
}

// attr answers a read of an attribute that is not a plain value of the handle: one known after
// apply, or an error naming the attributes there are.
func (h *Handle) attr(name string) (starlark.Value, error) {
	for _, a := range h.outputs {
		if a.Name == name {
			h.use.mark(name)
			return &Ref{addr: h.addr, field: name}, nil
		}
	}
	msg := fmt.Sprintf("%s has no attribute %q; %s has: %s", h, name, h.describe(), strings.Join(h.AttrNames(), ", "))
	if owners := attributeOwners(name); len(owners) > 0 {
		msg += fmt.Sprintf(" (%s is an attribute of %s)", name, strings.Join(owners, ", "))
	}
	return nil, starlark.NoSuchAttrError(msg)
}

func (h *Handle) describe() string {
	if h.what != "" {
		return h.what
	}
	return "a " + h.kind
}

// attributeOwners lists the item types (and "workspace") that have an attribute.
func attributeOwners(name string) []string {
	var out []string
	for typ, attrs := range ItemAttributes {
		if slices.ContainsFunc(attrs, func(a Attribute) bool { return a.Name == name }) {
			out = append(out, typ)
		}
	}
	sort.Strings(out)
	if slices.ContainsFunc(WorkspaceAttributes, func(a Attribute) bool { return a.Name == name }) {
		out = append(out, "workspace")
	}
	return out
}

// outputsOf picks the attributes out of what Fabric reports; ok is false when one is still
// missing (a SQL endpoint not provisioned yet).
func outputsOf(attrs []Attribute, lookup func(path string) (string, bool)) (map[string]string, bool) {
	out := make(map[string]string, len(attrs))
	for _, a := range attrs {
		v, ok := lookup(a.Path)
		if !ok || v == "" {
			return out, false
		}
		out[a.Name] = v
	}
	return out, true
}

// readItemOutputs reads the attributes of an item the plan uses, waiting while Fabric is still
// provisioning them.
func readItemOutputs(ctx context.Context, rt *engine.Runtime, wsID, itemType, id string, attrs []Attribute) (map[string]string, error) {
	if len(attrs) == 0 {
		return nil, nil
	}
	props, err := rt.Client.GetItemProperties(ctx, wsID, itemType, id, func(p fabric.ItemProperties) bool {
		_, ok := outputsOf(attrs, p.Lookup)
		return ok && (p.Provisioning() == "" || p.Provisioning() == "Success")
	})
	if err != nil {
		return nil, err
	}
	out, _ := outputsOf(attrs, props.Lookup)
	return out, nil
}

// readWorkspaceOutputs reads the attributes of a workspace the plan uses.
func readWorkspaceOutputs(ctx context.Context, rt *engine.Runtime, id string, attrs []Attribute) (map[string]string, error) {
	if len(attrs) == 0 {
		return nil, nil
	}
	ws, err := rt.Client.GetWorkspace(ctx, id)
	if err != nil {
		return nil, err
	}
	fields := map[string]string{"oneLakeEndpoints.blobEndpoint": ws.OneLakeBlobEndpoint,
		"oneLakeEndpoints.dfsEndpoint": ws.OneLakeDfsEndpoint}
	out, _ := outputsOf(attrs, func(p string) (string, bool) { v, ok := fields[p]; return v, ok })
	return out, nil
}

// outputAttrs are the plan lines of the attributes a plan reads: (known after apply) for an object
// still to be made, their values (unchanged) for one that exists.
func outputAttrs(attrs []Attribute, live engine.Live) []engine.AttrChange {
	var out []engine.AttrChange
	for _, a := range attrs {
		if !live.Exists {
			out = append(out, engine.AttrChange{Name: a.Name, Unknown: true})
			continue
		}
		v := live.Outputs[a.Name]
		out = append(out, engine.AttrChange{Name: a.Name, Old: v, New: v})
	}
	return out
}
