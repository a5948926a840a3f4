package emulator

import (
	"fmt"
	"strings"
	"testing"
)

// The typed collections are named as the spec names them, matched case-insensitively, with or without
// a trailing slash.
func TestTypedCollectionNames(t *testing.T) {
	for typ, want := range map[string]string{"VariableLibrary": "variableLibraries", "Reflex": "reflexes",
		"Ontology": "ontologies", "MountedDataFactory": "mountedDataFactories", "KQLDatabase": "kqlDatabases",
		"SQLEndpoint": "sqlEndpoints", "MLExperiment": "mlExperiments", "GraphQLApi": "graphQLApis",
		"Notebook": "notebooks", "SemanticModel": "semanticModels"} {
		if got := collectionName(typ); got != want {
			t.Errorf("collectionName(%s) = %s, want %s", typ, got, want)
		}
	}
	// Every typed collection of the spec names a type.
	v, err := loadSpec()
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range v.ops {
		seg := strings.Split(strings.Split(op.path, "?")[0], "/")
		if strings.HasPrefix(op.file, "platform/") || len(seg) < 4 || seg[2] != "{workspaceId}" {
			continue
		}
		if _, ok := itemTypeOfCollection(seg[3]); !ok {
			t.Errorf("%s: collection %s names no item type", op.file, seg[3])
		}
	}

	e := start(t, Options{ImmediateTypes: itemTypes()})
	sp := raw(t, e, DefaultSPObjectID)
	ws := "/v1/workspaces/" + newWorkspace(t, sp, map[string]any{"displayName": "typed"})
	for _, coll := range []string{"variableLibraries", "VariableLibraries", "reflexes", "ontologies", "mountedDataFactories"} {
		wantStatus(t, sp.do("GET", ws+"/"+coll, nil), 200)
	}
	wantStatus(t, sp.do("POST", ws+"/sqldatabases", map[string]any{"displayName": "db"}), 201)
	var list listBody[itemJSON]
	sp.do("GET", ws+"/SQLDatabases/", nil).json(t, &list)
	if len(list.Value) != 1 || list.Value[0].Type != "SQLDatabase" {
		t.Errorf("GET .../SQLDatabases/ = %+v", list.Value)
	}
	wantStatus(t, sp.do("GET", ws+"/environments/", nil), 200)
	wantStatus(t, sp.do("GET", ws+"/items/", nil), 200)
	wantError(t, sp.do("GET", ws+"/spreadsheets", nil), 404, "NotFound")
	wantError(t, sp.do("GET", ws+"//items", nil), 404, "NotFound")
	wantError(t, sp.do("GET", ws+"/items//", nil), 404, "NotFound")
}

// Every Fabric error says whether a retry can help: validation errors cannot.
func TestErrorsSayIfRetriable(t *testing.T) {
	e := start(t, Options{})
	sp := raw(t, e, DefaultSPObjectID)
	r := sp.do("POST", "/v1/workspaces", map[string]any{"displayName": 7})
	wantError(t, r, 400, "InvalidInput")
	var er errorResponse
	r.json(t, &er)
	if er.IsRetriable == nil || *er.IsRetriable || len(er.MoreDetails) != 1 {
		t.Errorf("validation error body: %s", r.body)
	}
	wantStatus(t, raw(t, e, "").do("POST", "/_emulator/faults", `{"method":"GET","path":"/v1/capacities","status":503}`), 200)
	r = sp.do("GET", "/v1/capacities", nil)
	r.json(t, &er)
	if r.status != 503 || er.IsRetriable == nil || !*er.IsRetriable {
		t.Errorf("503 body: %s", r.body)
	}
}

// created returns the item a create answered: the 201 body, or the result of the 202's operation.
func created(t testing.TB, c *rawClient, r rawResponse) itemJSON {
	t.Helper()
	var it itemJSON
	switch r.status {
	case 201:
		r.json(t, &it)
	case 202:
		c.do("GET", "/v1/operations/"+r.header.Get("x-ms-operation-id")+"/result", nil).json(t, &it)
	default:
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	return it
}

// typedCase is one item type of the spec's typed collections, with what a create needs and what its GET
// must say in properties.
type typedCase struct {
	typ, coll string
	status    int            // what a create is answered by default
	body      map[string]any // beyond displayName
	props     []string       // properties the GET must carry
	noDef     bool           // getDefinition is refused
}

func typedCases(eventhouse string) []typedCase {
	def := func(parts ...any) map[string]any { return map[string]any{"definition": map[string]any{"parts": parts}} }
	return []typedCase{
		{typ: "Notebook", coll: "notebooks", status: 202},
		{typ: "Report", coll: "reports", status: 202, body: def(
			textPart("definition.pbir", `{"version":"1.0","datasetReference":{"byPath":null,"byConnection":{"connectionString":"semanticmodelid=1"}}}`),
			textPart("report.json", "{}"))},
		{typ: "SemanticModel", coll: "semanticModels", status: 202, body: def(textPart("definition.pbism", "{}"), textPart("model.bim", "{}"))},
		{typ: "DataPipeline", coll: "dataPipelines", status: 201},
		{typ: "Environment", coll: "environments", status: 202, props: []string{"publishDetails"}},
		{typ: "Lakehouse", coll: "lakehouses", status: 201, body: map[string]any{"creationPayload": map[string]any{"enableSchemas": true}},
			props: []string{"oneLakeTablesPath", "oneLakeFilesPath", "sqlEndpointProperties", "defaultSchema"}},
		{typ: "Warehouse", coll: "warehouses", status: 202, noDef: true,
			body:  map[string]any{"creationPayload": map[string]any{"collationType": "Latin1_General_100_CI_AS_KS_WS_SC_UTF8"}},
			props: []string{"connectionString", "createdDate", "lastUpdatedTime", "collationType"}},
		{typ: "Eventhouse", coll: "eventhouses", status: 202,
			props: []string{"queryServiceUri", "ingestionServiceUri", "databasesItemIds", "minimumConsumptionUnits"}},
		{typ: "KQLDatabase", coll: "kqlDatabases", status: 202,
			body:  map[string]any{"creationPayload": map[string]any{"databaseType": "ReadWrite", "parentEventhouseItemId": eventhouse}},
			props: []string{"parentEventhouseItemId", "queryServiceUri", "ingestionServiceUri", "databaseType"}},
		{typ: "KQLQueryset", coll: "kqlQuerysets", status: 201},
		{typ: "SQLDatabase", coll: "sqlDatabases", status: 202, props: []string{"serverFqdn", "connectionString", "databaseName"}},
		{typ: "MirroredDatabase", coll: "mirroredDatabases", status: 201, body: def(textPart("mirroring.json", "{}")),
			props: []string{"oneLakeTablesPath", "sqlEndpointProperties"}},
		{typ: "VariableLibrary", coll: "variableLibraries", status: 202, props: []string{"activeValueSetName"}},
		{typ: "SparkJobDefinition", coll: "sparkJobDefinitions", status: 202, props: []string{"oneLakeRootPath"}},
	}
}

// Every typed collection of the spec, through every verb, validated against the spec's schemas: creates
// answered 201 or 202 as real Fabric answers them, GETs with the type's properties.
func TestTypedRoutesConformToSpec(t *testing.T) {
	e := start(t, Options{})
	sp := raw(t, e, DefaultSPObjectID)
	ws := "/v1/workspaces/" + newWorkspace(t, sp, map[string]any{"displayName": "typed", "capacityId": DefaultCapacityID})
	eh := created(t, sp, sp.do("POST", ws+"/eventhouses", map[string]any{"displayName": "house"}))
	for _, tc := range typedCases(eh.ID) {
		t.Run(tc.typ, func(t *testing.T) {
			body := map[string]any{"displayName": "a" + tc.typ, "description": "d"}
			for k, v := range tc.body {
				body[k] = v
			}
			r := sp.do("POST", ws+"/"+tc.coll, body)
			if r.status != tc.status {
				t.Errorf("create answered %d, want %d as real Fabric: %s", r.status, tc.status, r.body)
			}
			if r.status == 202 && r.header.Get("ETag") != `""` {
				t.Errorf("202 without ETag: %v", r.header)
			}
			it := created(t, sp, r)
			if it.Type != tc.typ {
				t.Fatalf("created %+v", it)
			}
			var got struct {
				itemJSON
				Properties map[string]any `json:"properties"`
			}
			sp.do("GET", ws+"/"+tc.coll+"/"+it.ID, nil).json(t, &got)
			for _, p := range tc.props {
				if v, ok := got.Properties[p]; !ok || v == "" {
					t.Errorf("GET %s: properties.%s missing in %v", tc.coll, p, got.Properties)
				}
			}
			if len(tc.props) == 0 && got.Properties != nil {
				t.Errorf("GET %s: properties %v for a type without", tc.coll, got.Properties)
			}
			var generic map[string]any
			sp.do("GET", ws+"/items/"+it.ID, nil).json(t, &generic)
			if _, ok := generic["properties"]; ok {
				t.Errorf("the generic item GET carries properties: %v", generic)
			}
			var list listBody[map[string]any]
			sp.do("GET", ws+"/"+tc.coll, nil).json(t, &list)
			if n := len(list.Value); n == 0 || (len(tc.props) > 0) != (list.Value[n-1]["properties"] != nil) {
				t.Errorf("list %s = %v", tc.coll, list.Value)
			}
			wantStatus(t, sp.do("PATCH", ws+"/"+tc.coll+"/"+it.ID, map[string]any{"description": "new"}), 200)
			if tc.noDef {
				wantError(t, sp.do("POST", ws+"/"+tc.coll+"/"+it.ID+"/getDefinition", nil), 400, "OperationNotSupportedForItem")
			} else {
				r = sp.do("POST", ws+"/"+tc.coll+"/"+it.ID+"/getDefinition", nil)
				wantStatus(t, r, 202)
				wantStatus(t, sp.do("GET", "/v1/operations/"+r.header.Get("x-ms-operation-id")+"/result", nil), 200)
			}
			if tc.typ != "Eventhouse" {
				wantStatus(t, sp.do("DELETE", ws+"/"+tc.coll+"/"+it.ID, nil), 200)
			}
		})
	}
	var eps listBody[itemJSON]
	sp.do("GET", ws+"/sqlEndpoints", nil).json(t, &eps)
	if len(eps.Value) != 0 {
		t.Errorf("SQL endpoints outlived their items: %+v", eps.Value)
	}

	// Every list, get and update of a typed collection in the spec had a body validated against it.
	v, _ := loadSpec()
	for _, op := range v.ops {
		seg := strings.Split(op.path, "/")
		if strings.HasPrefix(op.file, "platform/") || strings.Contains(op.path, "?") || len(seg) < 4 || len(seg) > 5 ||
			op.method != "GET" && op.method != "PATCH" || op.method == "PATCH" && len(seg) == 4 ||
			len(seg) == 5 && !strings.HasPrefix(seg[4], "{") {
			continue
		}
		if !v.wasChecked(op.method, op.path) {
			t.Errorf("no response of %s %s (%s) was validated", op.method, op.path, op.file)
		}
	}

	// A KQL database's eventhouse lists it and takes it along when deleted.
	db := created(t, sp, sp.do("POST", ws+"/kqlDatabases", map[string]any{"displayName": "db",
		"creationPayload": map[string]any{"databaseType": "ReadWrite", "parentEventhouseItemId": eh.ID}}))
	var house struct{ Properties eventhouseProperties }
	sp.do("GET", ws+"/eventhouses/"+eh.ID, nil).json(t, &house)
	if fmt.Sprint(house.Properties.DatabasesItemIDs) != "["+db.ID+"]" || !strings.HasPrefix(house.Properties.QueryServiceURI, e.URL()) {
		t.Errorf("eventhouse properties = %+v", house.Properties)
	}
	wantError(t, sp.do("POST", ws+"/kqlDatabases", map[string]any{"displayName": "orphan",
		"creationPayload": map[string]any{"databaseType": "ReadWrite", "parentEventhouseItemId": db.ID}}), 400, "InvalidInput")
	wantError(t, sp.do("POST", ws+"/warehouses", map[string]any{"displayName": "w",
		"creationPayload": map[string]any{"collationType": "Klingon"}}), 400, "InvalidInput")
	wantStatus(t, sp.do("DELETE", ws+"/eventhouses/"+eh.ID, nil), 200)
	wantError(t, sp.do("GET", ws+"/kqlDatabases/"+db.ID, nil), 404, "ItemNotFound")

	// A lakehouse without enableSchemas has no defaultSchema.
	plain := created(t, sp, sp.do("POST", ws+"/lakehouses", map[string]any{"displayName": "plain"}))
	var lh struct{ Properties lakehouseProperties }
	sp.do("GET", ws+"/lakehouses/"+plain.ID, nil).json(t, &lh)
	if lh.Properties.DefaultSchema != "" || lh.Properties.SQLEndpointProperties == nil {
		t.Errorf("plain lakehouse properties = %+v", lh.Properties)
	}
}

// AlwaysOperations forces the 202 path for the types real Fabric creates at once; ImmediateTypes still
// answers its types at once.
func TestAlwaysOperations(t *testing.T) {
	e := start(t, Options{AlwaysOperations: true, ImmediateTypes: []string{"DataPipeline"}})
	sp := raw(t, e, DefaultSPObjectID)
	ws := "/v1/workspaces/" + newWorkspace(t, sp, map[string]any{"displayName": "ops"})
	wantStatus(t, sp.do("POST", ws+"/lakehouses", map[string]any{"displayName": "l"}), 202)
	wantStatus(t, sp.do("POST", ws+"/dataPipelines", map[string]any{"displayName": "p"}), 201)
}
