package emulator

import (
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// createdAtOnce are the item types whose create real Fabric answered 201 with the item in recorded traffic;
// it answered the others 202 with an operation.
func createdAtOnce() []string {
	return []string{"Lakehouse", "MirroredDatabase", "PaginatedReport", "DataBuildToolJob", "KQLQueryset", "Reflex",
		"Dataflow", "DataPipeline"}
}

// withSQLEndpoint are the item types Fabric gives a SQL endpoint of the same name, which lives and dies with them.
func withSQLEndpoint() []string { return []string{"Lakehouse", "SQLDatabase", "MirroredDatabase"} }

// immediateCreate says whether a create of the type is answered 201 at once: --immediate-types first, then
// what real Fabric does unless every create is forced through an operation.
func (e *Emulator) immediateCreate(itemType string) bool {
	return e.immediate(itemType) || !e.opts.AlwaysOperations && slices.Contains(createdAtOnce(), itemType)
}

// creationPayload holds the creationPayload fields of every type the spec gives one; a type reads its own.
type creationPayload struct {
	EnableSchemas           *bool    `json:"enableSchemas,omitempty"`           // Lakehouse
	CollationType           string   `json:"collationType,omitempty"`           // Warehouse
	MinimumConsumptionUnits *float64 `json:"minimumConsumptionUnits,omitempty"` // Eventhouse
	DatabaseType            string   `json:"databaseType,omitempty"`            // KQLDatabase
	ParentEventhouseItemID  string   `json:"parentEventhouseItemId,omitempty"`  // KQLDatabase
	CreationMode            string   `json:"creationMode,omitempty"`            // SQLDatabase
	BackupRetentionDays     *int     `json:"backupRetentionDays,omitempty"`     // SQLDatabase
	Collation               string   `json:"collation,omitempty"`               // SQLDatabase
}

const defaultCollation = "Latin1_General_100_BIN2_UTF8"

// decodeCreationPayload validates the creationPayload of a type against what the spec allows.
func decodeCreationPayload(c *call, ws *workspace, itemType string, raw json.RawMessage) (*creationPayload, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var p creationPayload
	if err := json.Unmarshal(raw, &p); err != nil {
		ae := invalidInput("The creationPayload is not valid for a %s", itemType)
		ae.More = []errorDetail{{ErrorCode: "InvalidParameter", Message: err.Error()}}
		return nil, ae
	}
	bad := func(field, msg string) error {
		ae := invalidInput("The creationPayload is not valid for a %s", itemType)
		ae.More = []errorDetail{{ErrorCode: "InvalidParameter", Message: "creationPayload." + field + ": " + msg}}
		return ae
	}
	switch itemType {
	case "Lakehouse":
		if p.EnableSchemas == nil {
			return nil, bad("enableSchemas", "is required")
		}
	case "Warehouse":
		if !slices.Contains([]string{defaultCollation, "Latin1_General_100_CI_AS_KS_WS_SC_UTF8"}, p.CollationType) {
			return nil, bad("collationType", "must be Latin1_General_100_BIN2_UTF8 or Latin1_General_100_CI_AS_KS_WS_SC_UTF8")
		}
	case "KQLDatabase":
		if p.DatabaseType != "ReadWrite" && p.DatabaseType != "Shortcut" {
			return nil, bad("databaseType", "must be ReadWrite or Shortcut")
		}
		id, err := guid("parentEventhouseItemId", p.ParentEventhouseItemID)
		if err != nil {
			return nil, err
		}
		if parent := ws.Items[id]; parent == nil || parent.Type != "Eventhouse" {
			return nil, bad("parentEventhouseItemId", "names no eventhouse in this workspace")
		}
		p.ParentEventhouseItemID = id
	case "SQLDatabase":
		if p.CreationMode != "New" && p.CreationMode != "Restore" && p.CreationMode != "RestoreDeletedDatabase" {
			return nil, bad("creationMode", "must be New, Restore or RestoreDeletedDatabase")
		}
		if d := p.BackupRetentionDays; d != nil && (*d < 1 || *d > 35) {
			return nil, bad("backupRetentionDays", "must be between 1 and 35")
		}
	}
	return &p, nil
}

// The properties of the types whose own collections return some (the spec's *Properties definitions).
type lakehouseProperties struct {
	OneLakeTablesPath     string                 `json:"oneLakeTablesPath"`
	OneLakeFilesPath      string                 `json:"oneLakeFilesPath"`
	SQLEndpointProperties *sqlEndpointProperties `json:"sqlEndpointProperties,omitempty"`
	DefaultSchema         string                 `json:"defaultSchema,omitempty"`
}

type sqlEndpointProperties struct {
	ID                 string `json:"id"`
	ConnectionString   string `json:"connectionString"`
	ProvisioningStatus string `json:"provisioningStatus"`
}

type mirroredDatabaseProperties struct {
	OneLakeTablesPath     string                 `json:"oneLakeTablesPath"`
	SQLEndpointProperties *sqlEndpointProperties `json:"sqlEndpointProperties,omitempty"`
}

type warehouseProperties struct {
	ConnectionString string `json:"connectionString"`
	CreatedDate      string `json:"createdDate"`
	LastUpdatedTime  string `json:"lastUpdatedTime"`
	CollationType    string `json:"collationType"`
}

type eventhouseProperties struct {
	QueryServiceURI         string   `json:"queryServiceUri"`
	IngestionServiceURI     string   `json:"ingestionServiceUri"`
	DatabasesItemIDs        []string `json:"databasesItemIds"`
	MinimumConsumptionUnits float64  `json:"minimumConsumptionUnits"`
}

type kqlDatabaseProperties struct {
	ParentEventhouseItemID string `json:"parentEventhouseItemId,omitempty"`
	QueryServiceURI        string `json:"queryServiceUri"`
	IngestionServiceURI    string `json:"ingestionServiceUri"`
	DatabaseType           string `json:"databaseType"`
}

type sqlDatabaseProperties struct {
	ConnectionString    string `json:"connectionString"`
	DatabaseName        string `json:"databaseName"`
	ServerFqdn          string `json:"serverFqdn"`
	BackupRetentionDays int    `json:"backupRetentionDays"`
	Collation           string `json:"collation"`
}

type sparkJobDefinitionProperties struct {
	OneLakeRootPath string `json:"oneLakeRootPath"`
}

type variableLibraryProperties struct {
	ActiveValueSetName string `json:"activeValueSetName"`
}

// defaultValueSet is the value set a new variable library has active.
const defaultValueSet = "Default value set"

// properties renders the type-specific properties of an item, or nil for types that have none. Every URL is
// on the emulator's own base; host names (SQL, Kusto) are the emulator's host.
func (e *Emulator) properties(ws *workspace, it *item) any {
	oneLake := e.base + "/onelake/" + ws.ID + "/" + it.ID
	host := e.host()
	var p creationPayload
	if it.Payload != nil {
		p = *it.Payload
	}
	switch it.Type {
	case "Lakehouse":
		v := &lakehouseProperties{OneLakeTablesPath: oneLake + "/Tables", OneLakeFilesPath: oneLake + "/Files",
			SQLEndpointProperties: e.sqlEndpointOf(ws, it)}
		if p.EnableSchemas != nil && *p.EnableSchemas {
			v.DefaultSchema = "dbo"
		}
		return v
	case "MirroredDatabase":
		return &mirroredDatabaseProperties{OneLakeTablesPath: oneLake + "/Tables",
			SQLEndpointProperties: e.sqlEndpointOf(ws, it)}
	case "Warehouse":
		v := &warehouseProperties{ConnectionString: host, CreatedDate: fabricTime(it.Created),
			LastUpdatedTime: fabricTime(it.Updated), CollationType: p.CollationType}
		if v.CollationType == "" {
			v.CollationType = defaultCollation
		}
		return v
	case "Eventhouse":
		v := &eventhouseProperties{QueryServiceURI: e.base + "/kusto/" + it.ID,
			IngestionServiceURI: e.base + "/kusto-ingest/" + it.ID,
			DatabasesItemIDs:    []string{}}
		if p.MinimumConsumptionUnits != nil {
			v.MinimumConsumptionUnits = *p.MinimumConsumptionUnits
		}
		for _, db := range ws.sortedItems() {
			if db.Type == "KQLDatabase" && db.Payload != nil && db.Payload.ParentEventhouseItemID == it.ID {
				v.DatabasesItemIDs = append(v.DatabasesItemIDs, db.ID)
			}
		}
		return v
	case "KQLDatabase":
		owner := it.ID
		v := &kqlDatabaseProperties{DatabaseType: "ReadWrite"}
		if p.DatabaseType != "" {
			v.DatabaseType = p.DatabaseType
		}
		if p.ParentEventhouseItemID != "" {
			owner, v.ParentEventhouseItemID = p.ParentEventhouseItemID, p.ParentEventhouseItemID
		}
		v.QueryServiceURI, v.IngestionServiceURI = e.base+"/kusto/"+owner, e.base+"/kusto-ingest/"+owner
		return v
	case "SQLDatabase":
		name := it.DisplayName + "-" + it.ID
		server := strings.Split(host, ":")[0] + ",1433"
		v := &sqlDatabaseProperties{DatabaseName: name, ServerFqdn: server, BackupRetentionDays: 7, Collation: p.Collation,
			ConnectionString: "Data Source=" + server + ";Initial Catalog=" + name +
				";MultipleActiveResultSets=False;Connect Timeout=30;Encrypt=True;TrustServerCertificate=False"}
		if p.BackupRetentionDays != nil {
			v.BackupRetentionDays = *p.BackupRetentionDays
		}
		if v.Collation == "" {
			v.Collation = "SQL_Latin1_General_CP1_CI_AS"
		}
		return v
	case "SparkJobDefinition":
		return &sparkJobDefinitionProperties{OneLakeRootPath: oneLake}
	case "VariableLibrary":
		v := &variableLibraryProperties{ActiveValueSetName: it.ActiveValueSet}
		if v.ActiveValueSetName == "" {
			v.ActiveValueSetName = defaultValueSet
		}
		return v
	case "Environment":
		return e.environmentProperties(it)
	}
	return nil
}

// host is the emulator's host:port, the stand-in for Fabric's SQL and Kusto host names.
func (e *Emulator) host() string { return strings.TrimPrefix(e.base, "https://") }

func (e *Emulator) sqlEndpointOf(ws *workspace, it *item) *sqlEndpointProperties {
	for _, ep := range ws.Items {
		if ep.ParentID == it.ID && ep.Type == "SQLEndpoint" {
			return &sqlEndpointProperties{ID: ep.ID, ConnectionString: e.host(), ProvisioningStatus: "Success"}
		}
	}
	return nil
}

// addItem stores a new item with what Fabric makes along with it: the SQL endpoint of a lakehouse, SQL
// database or mirrored database.
func (e *Emulator) addItem(ws *workspace, it *item, now time.Time) {
	it.Created, it.Updated = now, now
	ws.Items[it.ID] = it
	if slices.Contains(withSQLEndpoint(), it.Type) {
		ep := &item{ID: e.newID(), Seq: e.nextSeq(), Type: "SQLEndpoint", DisplayName: it.DisplayName,
			FolderID: it.FolderID, ParentID: it.ID, Created: now, Updated: now}
		ep.LogicalID = e.newID()
		ws.Items[ep.ID] = ep
	}
}

// dependents are the items that go when it goes: its SQL endpoint, an eventhouse's KQL databases.
func (ws *workspace) dependents(it *item) []*item {
	var out []*item
	for _, x := range ws.sortedItems() {
		if x.ParentID == it.ID || it.Type == "Eventhouse" && x.Type == "KQLDatabase" && x.Payload != nil &&
			x.Payload.ParentEventhouseItemID == it.ID {
			out = append(out, x)
		}
	}
	return out
}
