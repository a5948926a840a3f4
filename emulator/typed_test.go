package emulator

import (
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
