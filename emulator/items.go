package emulator

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"path"
	"slices"
	"strings"
	"unicode/utf8"
)

// The item type tables are functions, not package variables, so that no request can change them.

// itemTypes is the spec's ItemType enum (common/definitions.json).
func itemTypes() []string {
	return []string{"Dashboard", "Report", "SemanticModel", "PaginatedReport", "Datamart", "Lakehouse",
		"Eventhouse", "Environment", "KQLDatabase", "KQLQueryset", "KQLDashboard", "DataPipeline", "Notebook",
		"SparkJobDefinition", "MLExperiment", "MLModel", "Warehouse", "Eventstream", "SQLEndpoint", "MirroredWarehouse",
		"MirroredDatabase", "Reflex", "GraphQLApi", "MountedDataFactory", "SQLDatabase", "CopyJob", "VariableLibrary",
		"Dataflow", "ApacheAirflowJob", "WarehouseSnapshot", "DigitalTwinBuilder", "DigitalTwinBuilderFlow",
		"MirroredAzureDatabricksCatalog", "Map", "AnomalyDetector", "UserDataFunction", "GraphModel", "GraphQuerySet",
		"SnowflakeDatabase", "OperationsAgent", "CosmosDBDatabase", "Ontology", "EventSchemaSet", "DataAgent",
		"MirroredCatalog", "AppBackend", "OrgApp", "OrgAppAudience", "DataBuildToolJob", "AzureDatabricksStorage", "Plan"}
}

// Item types that cannot be created through the items API: Fabric makes them itself (a Lakehouse's SQL
// endpoint) or only the Power BI UI does.
func notCreatable() []string {
	return []string{"SQLEndpoint", "Dashboard", "MirroredWarehouse"}
}

// Power BI item types, which need no Fabric capacity.
func powerBITypes() []string {
	return []string{"Report", "SemanticModel", "PaginatedReport", "Dashboard", "Datamart"}
}

// Item types without a public definition.
func noDefinition() []string {
	return []string{"Dashboard", "Datamart", "SQLEndpoint", "MLExperiment", "MLModel", "Warehouse",
		"MirroredWarehouse", "WarehouseSnapshot"}
}

// Item types that must be created with a definition (spec; terraform also MountedDataFactory).
func definitionRequired() []string {
	return []string{"Report", "SemanticModel", "PaginatedReport", "MirroredDatabase",
		"MirroredCatalog", "MountedDataFactory"}
}

const platformPart = ".platform"

type itemJSON struct {
	ID          string `json:"id"`
	Type        string `json:"type"`
	DisplayName string `json:"displayName"`
	Description string `json:"description"`
	WorkspaceID string `json:"workspaceId"`
	FolderID    string `json:"folderId,omitempty"`
	// Properties are the type-specific properties the type-specific collections return.
	Properties any `json:"properties,omitempty"`
}

// view is itemView plus, on the type-specific routes, the type's properties.
func (c *call) view(ws *workspace, it *item) itemJSON {
	v := itemView(ws, it)
	if c.itemType != "" {
		if p := c.e.properties(ws, it); p != nil {
			v.Properties = p
		}
	}
	return v
}

func itemView(ws *workspace, it *item) itemJSON {
	return itemJSON{ID: it.ID, Type: it.Type, DisplayName: it.DisplayName, Description: it.Description,
		WorkspaceID: ws.ID, FolderID: it.FolderID}
}

type definitionJSON struct {
	Format string     `json:"format,omitempty"`
	Parts  []partJSON `json:"parts"`
}

type partJSON struct {
	Path        string `json:"path"`
	Payload     string `json:"payload"`
	PayloadType string `json:"payloadType"`
}

type definitionResponse struct {
	Definition definitionJSON `json:"definition"`
}

// platformFile is the .platform part.
type platformFile struct {
	Schema   string `json:"$schema,omitempty"`
	Metadata struct {
		Type        string `json:"type"`
		DisplayName string `json:"displayName"`
		Description string `json:"description,omitempty"`
	} `json:"metadata"`
	Config struct {
		Version   string `json:"version"`
		LogicalID string `json:"logicalId"`
	} `json:"config"`
}

func (e *Emulator) immediate(itemType string) bool {
	return slices.Contains(e.opts.ImmediateTypes, itemType)
}

// workspaceItem resolves {workspaceId}/{itemId} for a caller holding at least min.
func (c *call) workspaceItem(min role) (*workspace, *item, error) {
	ws, err := c.workspace(min)
	if err != nil {
		return nil, nil, err
	}
	id, err := c.pathID("itemId")
	if err != nil {
		return nil, nil, err
	}
	it := ws.Items[id]
	if it == nil || (c.itemType != "" && it.Type != c.itemType) {
		return nil, nil, notFound("ItemNotFound", "Item", id)
	}
	return ws, it, nil
}

// collectionName is the segment of a type's own collection: the type with a lower-case first word, in the
// plural as the spec writes it (notebooks, kqlDatabases, variableLibraries, reflexes).
func collectionName(itemType string) string {
	i := 0 // the leading capitals: "KQLDatabase" -> "kql", "Notebook" -> "n"
	for i < len(itemType) && itemType[i] >= 'A' && itemType[i] <= 'Z' {
		i++
	}
	if i > 1 && i < len(itemType) {
		i-- // the last capital starts the next word
	}
	name := strings.ToLower(itemType[:i]) + itemType[i:]
	switch {
	case strings.HasSuffix(name, "y") && !strings.ContainsAny(name[len(name)-2:len(name)-1], "aeiou"):
		return name[:len(name)-1] + "ies"
	case strings.HasSuffix(name, "x") || strings.HasSuffix(name, "s") || strings.HasSuffix(name, "ch"):
		return name + "es"
	}
	return name + "s"
}

// itemTypeOfCollection is the item type a collection segment names; Fabric matches it case-insensitively.
func itemTypeOfCollection(segment string) (string, bool) {
	for _, t := range itemTypes() {
		if strings.EqualFold(collectionName(t), segment) {
			return t, true
		}
	}
	return "", false
}

// typed serves a type-specific item collection (notebooks, lakehouses, semanticModels, ...) with the
// generic item handler, restricted to the collection's type.
func typed(h fabricHandler) fabricHandler {
	return func(c *call) (*response, error) {
		t, ok := itemTypeOfCollection(c.r.PathValue("collection"))
		if !ok {
			return notServed(c)
		}
		c.itemType = t
		return h(c)
	}
}

// decodedDefinition is a request definition after validation.
type decodedDefinition struct {
	format   string
	parts    []part
	platform *platformFile
}

// decodeDefinition validates the parts of a definition for an item type and splits off .platform.
func decodeDefinition(itemType string, d *definitionJSON) (*decodedDefinition, error) {
	if d.Parts == nil {
		return nil, badRequest("InvalidDefinitionParts", "The definition must contain a parts array")
	}
	out := &decodedDefinition{format: d.Format}
	seen := map[string]bool{}
	for i, p := range d.Parts {
		if p.Path == "" || strings.HasPrefix(p.Path, "/") || strings.Contains(p.Path, "..") {
			return nil, badRequest("InvalidDefinitionParts", "Part %d has an invalid path '%s'", i, truncate(p.Path, 128))
		}
		if p.PayloadType != "InlineBase64" {
			return nil, badRequest("InvalidDefinitionParts", "Part '%s' has payloadType '%s'; only InlineBase64 is supported", truncate(p.Path, 128), truncate(p.PayloadType, 32))
		}
		if seen[p.Path] {
			return nil, badRequest("InvalidDefinitionParts", "Part '%s' appears more than once", truncate(p.Path, 128))
		}
		seen[p.Path] = true
		payload, err := base64.StdEncoding.DecodeString(p.Payload)
		if err != nil {
			return nil, badRequest("CorruptedPayload", "The payload of part '%s' is not valid base64", truncate(p.Path, 128))
		}
		if p.Path == platformPart {
			var pf platformFile
			if err := json.Unmarshal(payload, &pf); err != nil {
				return nil, badRequest("InvalidDefinitionParts", "The .platform part is not valid JSON: %v", err)
			}
			if pf.Metadata.Type != "" && pf.Metadata.Type != itemType {
				return nil, badRequest("InvalidDefinitionParts", "The .platform part names type '%s' but the item is a %s", truncate(pf.Metadata.Type, 64), itemType)
			}
			out.platform = &pf
			continue
		}
		out.parts = append(out.parts, part{Path: p.Path, Payload: payload})
	}
	if err := checkRequiredParts(itemType, out); err != nil {
		return nil, err
	}
	return out, nil
}

// checkRequiredParts enforces the documented part rules of Report and SemanticModel definitions.
func checkRequiredParts(itemType string, d *decodedDefinition) error {
	has := func(p string) bool {
		return slices.ContainsFunc(d.parts, func(x part) bool { return x.Path == p })
	}
	hasUnder := func(dir, ext string) bool {
		return slices.ContainsFunc(d.parts, func(x part) bool {
			return strings.HasPrefix(x.Path, dir) && (ext == "" || path.Ext(x.Path) == ext)
		})
	}
	switch itemType {
	case "Report":
		if !has("definition.pbir") {
			return missingParts("definition.pbir")
		}
		switch d.format {
		case "", "PBIR-Legacy":
			if !has("report.json") && !hasUnder("definition/", "") {
				return missingParts("report.json")
			}
		case "PBIR":
			if !hasUnder("definition/", "") {
				return missingParts("definition/report.json")
			}
		default:
			return badRequest("InvalidDefinitionParts", "Report definitions have format PBIR-Legacy or PBIR, not '%s'", truncate(d.format, 32))
		}
		for _, p := range d.parts {
			if p.Path != "definition.pbir" {
				continue
			}
			var pbir struct {
				DatasetReference map[string]json.RawMessage `json:"datasetReference"`
			}
			if err := json.Unmarshal(p.Payload, &pbir); err != nil {
				return badRequest("InvalidDefinitionParts", "definition.pbir is not valid JSON")
			}
			// Microsoft's tooling writes PBIR-Legacy with "byPath": null beside byConnection; only a real
			// path is refused, since a path means nothing to the service.
			if p, byPath := pbir.DatasetReference["byPath"]; byPath && string(bytes.TrimSpace(p)) != "null" {
				return badRequest("InvalidDefinitionParts", "definition.pbir references its semantic model byPath, which "+
					"only Power BI Desktop resolves; the API needs datasetReference.byConnection")
			}
		}
	case "SemanticModel":
		if !has("definition.pbism") {
			return missingParts("definition.pbism")
		}
		tmdl, bim := hasUnder("definition/", ".tmdl"), has("model.bim")
		switch {
		case tmdl && bim:
			return badRequest("InvalidDefinitionParts", "A semantic model definition has either definition/*.tmdl parts or model.bim, not both")
		case !tmdl && !bim:
			return missingParts("definition/model.tmdl or model.bim")
		}
	}
	return nil
}

func missingParts(p string) error {
	return badRequest("MissingDefinitionParts", "The definition is missing the required part '%s'", p)
}

// platformFor renders the .platform part Fabric returns with every definition.
func platformFor(it *item) []byte {
	var pf platformFile
	pf.Schema = "https://developer.microsoft.com/json-schemas/fabric/gitIntegration/platformProperties/2.0.0/schema.json"
	pf.Metadata.Type = it.Type
	pf.Metadata.DisplayName = it.DisplayName
	pf.Metadata.Description = it.Description
	pf.Config.Version = "2.0"
	pf.Config.LogicalID = it.LogicalID
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	enc.Encode(pf)
	return bytes.TrimRight(buf.Bytes(), "\n")
}

func definitionView(it *item) definitionJSON {
	d := definitionJSON{Format: it.Format, Parts: make([]partJSON, 0, len(it.Parts)+1)}
	for _, p := range it.Parts {
		d.Parts = append(d.Parts, partJSON{Path: p.Path, Payload: base64.StdEncoding.EncodeToString(p.Payload), PayloadType: "InlineBase64"})
	}
	d.Parts = append(d.Parts, partJSON{Path: platformPart, Payload: base64.StdEncoding.EncodeToString(platformFor(it)), PayloadType: "InlineBase64"})
	return d
}

// checkItemName enforces per-(workspace, type) unique names and the reservation of deleted names.
func (e *Emulator) checkItemName(c *call, ws *workspace, itemType, name, self string) error {
	if strings.TrimSpace(name) == "" {
		return invalidInput("The item display name must not be empty")
	}
	if utf8.RuneCountInString(name) > 256 {
		return invalidInput("The item display name cannot contain more than 256 characters")
	}
	for _, it := range ws.Items {
		if it.ID != self && it.Type == itemType && strings.EqualFold(it.DisplayName, name) {
			return badRequest("ItemDisplayNameAlreadyInUse", "Requested '%s' is already in use", name)
		}
	}
	for _, r := range e.st.Reserved {
		if r.WorkspaceID == ws.ID && r.Type == itemType && strings.EqualFold(r.Name, name) && c.now.Before(r.Until) {
			return badRequest("ItemDisplayNameNotAvailableYet",
				"Requested '%s' is not available yet and is expected to become available in the upcoming minutes", name)
		}
	}
	return nil
}

func (e *Emulator) listItems(c *call) (*response, error) {
	ws, err := c.workspace(roleViewer)
	if err != nil {
		return nil, err
	}
	q := c.r.URL.Query()
	typ := q.Get("type")
	if c.itemType != "" {
		typ = c.itemType
	}
	if typ != "" && !slices.Contains(itemTypes(), typ) {
		return nil, badRequest("InvalidItemType", "The item type '%s' is not valid", truncate(typ, 64))
	}
	recursive, err := c.queryBool("recursive", true)
	if err != nil {
		return nil, err
	}
	root := ""
	if v := q.Get("rootFolderId"); v != "" {
		if root, err = guid("rootFolderId", v); err != nil {
			return nil, err
		}
		if ws.Folders[root] == nil {
			return nil, notFound("FolderNotFound", "Folder", root)
		}
	}
	var out []itemJSON
	for _, it := range ws.sortedItems() {
		if typ != "" && it.Type != typ {
			continue
		}
		if !ws.inFolder(it.FolderID, root, recursive) {
			continue
		}
		out = append(out, c.view(ws, it))
	}
	return paged(c, out)
}

// inFolder reports whether something whose folder is id lies in root (directly, or below when recursive).
func (ws *workspace) inFolder(id, root string, recursive bool) bool {
	if id == root {
		return true
	}
	if !recursive {
		return false
	}
	for seen := 0; id != "" && seen <= len(ws.Folders); seen++ {
		f := ws.Folders[id]
		if f == nil {
			return false
		}
		if f.ParentID == root {
			return true
		}
		id = f.ParentID
	}
	return false
}

func (e *Emulator) getItem(c *call) (*response, error) {
	ws, it, err := c.workspaceItem(roleViewer)
	if err != nil {
		return nil, err
	}
	return ok(c.view(ws, it))
}

type createItemRequest struct {
	DisplayName     *string         `json:"displayName"`
	Description     string          `json:"description"`
	Type            *string         `json:"type"`
	FolderID        *string         `json:"folderId"`
	Definition      *definitionJSON `json:"definition"`
	CreationPayload json.RawMessage `json:"creationPayload"`
}

func (e *Emulator) createItem(c *call) (*response, error) {
	ws, err := c.workspace(roleContributor)
	if err != nil {
		return nil, err
	}
	var req createItemRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if c.itemType != "" && req.Type == nil {
		req.Type = &c.itemType
	}
	if c.itemType != "" && *req.Type != c.itemType {
		return nil, badRequest("InvalidItemType", "This collection holds items of type %s, not '%s'", c.itemType, truncate(*req.Type, 64))
	}
	if req.Type == nil || req.DisplayName == nil {
		return nil, invalidInput("The displayName and type fields are required")
	}
	typ := *req.Type
	if !slices.Contains(itemTypes(), typ) {
		return nil, badRequest("InvalidItemType", "The item type '%s' is not valid", truncate(typ, 64))
	}
	if slices.Contains(notCreatable(), typ) {
		return nil, badRequest("OperationNotSupportedForItem", "Items of type %s cannot be created through the API", typ)
	}
	if e.opts.RequireCapacity && ws.CapacityID == "" && !slices.Contains(powerBITypes(), typ) {
		return nil, forbidden("FeatureNotAvailable", "Creating a "+typ+" needs the workspace to be on a Fabric capacity")
	}
	name := *req.DisplayName
	if err := e.checkItemName(c, ws, typ, name, ""); err != nil {
		return nil, err
	}
	if slices.Contains(withSQLEndpoint(), typ) {
		if err := e.checkItemName(c, ws, "SQLEndpoint", name, ""); err != nil {
			return nil, err
		}
	}
	if err := checkDescription(req.Description, 256); err != nil {
		return nil, err
	}
	if req.Definition != nil && len(req.CreationPayload) > 0 && string(req.CreationPayload) != "null" {
		return nil, invalidInput("Use definition or creationPayload, not both")
	}
	folderID := ""
	if req.FolderID != nil && *req.FolderID != "" {
		if folderID, err = guid("folderId", *req.FolderID); err != nil {
			return nil, err
		}
		if ws.Folders[folderID] == nil {
			return nil, notFound("FolderNotFound", "Folder", folderID)
		}
	}
	payload, err := decodeCreationPayload(c, ws, typ, req.CreationPayload)
	if err != nil {
		return nil, err
	}
	var def *decodedDefinition
	switch {
	case req.Definition != nil && slices.Contains(noDefinition(), typ):
		return nil, badRequest("OperationNotSupportedForItem", "Items of type %s do not take a definition", typ)
	case req.Definition != nil:
		if def, err = decodeDefinition(typ, req.Definition); err != nil {
			return nil, err
		}
	case slices.Contains(definitionRequired(), typ):
		return nil, badRequest("MissingDefinitionParts", "Items of type %s must be created with a definition", typ)
	}
	return c.finish(e.immediateCreate(typ), http.StatusCreated, func() any {
		it := &item{ID: e.newID(), Seq: e.nextSeq(), Type: typ, DisplayName: name, Description: req.Description,
			FolderID: folderID, Payload: payload}
		it.LogicalID = e.newID()
		if def != nil {
			it.Format, it.Parts = def.format, def.parts
			if def.platform != nil {
				if id, err := guid("logicalId", def.platform.Config.LogicalID); err == nil {
					it.LogicalID = id
				}
			}
		}
		e.addItem(ws, it, c.now)
		return itemView(ws, it)
	})
}

type updateItemRequest struct {
	DisplayName *string `json:"displayName"`
	Description *string `json:"description"`
	// Properties is what a variable library's update may change.
	Properties *struct {
		ActiveValueSetName *string `json:"activeValueSetName"`
	} `json:"properties"`
}

func (e *Emulator) updateItem(c *call) (*response, error) {
	ws, it, err := c.workspaceItem(roleContributor)
	if err != nil {
		return nil, err
	}
	var req updateItemRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if req.DisplayName != nil {
		if err := e.checkItemName(c, ws, it.Type, *req.DisplayName, it.ID); err != nil {
			return nil, err
		}
	}
	if req.Description != nil {
		if err := checkDescription(*req.Description, 256); err != nil {
			return nil, err
		}
	}
	var valueSet *string
	if req.Properties != nil && req.Properties.ActiveValueSetName != nil {
		if it.Type != "VariableLibrary" {
			return nil, invalidField("properties.activeValueSetName", "applies to variable libraries only")
		}
		if valueSet = req.Properties.ActiveValueSetName; !slices.Contains(valueSets(it), *valueSet) {
			return nil, invalidField("properties.activeValueSetName", "names no value set of the library ('"+
				truncate(*valueSet, 64)+"'); it has: "+strings.Join(valueSets(it), ", "))
		}
	}
	if req.DisplayName != nil {
		it.DisplayName = *req.DisplayName
	}
	if req.Description != nil {
		it.Description = *req.Description
	}
	if valueSet != nil {
		it.ActiveValueSet = *valueSet
	}
	it.Updated = c.now
	return ok(c.view(ws, it))
}

// valueSets are the value sets of a variable library: the default one and one per valueSets/*.json part,
// named by its "name" (or its file name).
func valueSets(it *item) []string {
	out := []string{defaultValueSet}
	for _, p := range it.Parts {
		dir, file := path.Split(p.Path)
		if dir != "valueSets/" || path.Ext(file) != ".json" {
			continue
		}
		var vs struct {
			Name string `json:"name"`
		}
		if json.Unmarshal(p.Payload, &vs) != nil || vs.Name == "" {
			vs.Name = strings.TrimSuffix(file, ".json")
		}
		out = append(out, vs.Name)
	}
	return out
}

func (e *Emulator) deleteItem(c *call) (*response, error) {
	ws, it, err := c.workspaceItem(roleContributor)
	if err != nil {
		return nil, err
	}
	hard, err := c.queryBool("hardDelete", false)
	if err != nil {
		return nil, err
	}
	if hard && e.roleOf(ws, c.who) < roleAdmin {
		return nil, insufficientRole()
	}
	if it.ParentID != "" {
		return nil, badRequest("OperationNotSupportedForItem", "A %s is deleted with the item that owns it", it.Type)
	}
	for _, dep := range ws.dependents(it) {
		e.removeItem(c, ws, dep)
	}
	e.removeItem(c, ws, it)
	return emptyOK()
}

func (e *Emulator) removeItem(c *call, ws *workspace, it *item) {
	delete(ws.Items, it.ID)
	if e.opts.NameReservation > 0 {
		e.st.Reserved = append(e.st.Reserved, reservation{WorkspaceID: ws.ID, Type: it.Type, Name: it.DisplayName,
			Until: c.now.Add(e.opts.NameReservation)})
	}
	kept := e.st.Reserved[:0]
	for _, r := range e.st.Reserved {
		if c.now.Before(r.Until) {
			kept = append(kept, r)
		}
	}
	e.st.Reserved = kept
}

// definedItem resolves an item whose definition the caller (Contributor or more) reads or writes.
func (c *call) definedItem() (*workspace, *item, error) {
	ws, it, err := c.workspaceItem(roleContributor)
	if err != nil {
		return nil, nil, err
	}
	if slices.Contains(noDefinition(), it.Type) {
		return nil, nil, badRequest("OperationNotSupportedForItem", "Items of type %s have no public definition", it.Type)
	}
	return ws, it, nil
}

func (e *Emulator) getItemDefinition(c *call) (*response, error) {
	_, it, err := c.definedItem()
	if err != nil {
		return nil, err
	}
	format := c.r.URL.Query().Get("format")
	if format != "" && it.Format != "" && !strings.EqualFold(format, it.Format) {
		return nil, badRequest("InvalidParameter", "The item's definition is stored in format '%s'; the emulator does not convert to '%s'", it.Format, truncate(format, 32))
	}
	return c.finish(e.immediate(it.Type), http.StatusOK, func() any {
		return definitionResponse{Definition: definitionView(it)}
	})
}

type updateDefinitionRequest struct {
	Definition *definitionJSON `json:"definition"`
}

func (e *Emulator) updateItemDefinition(c *call) (*response, error) {
	ws, it, err := c.definedItem()
	if err != nil {
		return nil, err
	}
	updateMeta, err := c.queryBool("updateMetadata", false)
	if err != nil {
		return nil, err
	}
	var req updateDefinitionRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if req.Definition == nil {
		return nil, invalidInput("The definition field is required")
	}
	def, err := decodeDefinition(it.Type, req.Definition)
	if err != nil {
		return nil, err
	}
	if updateMeta && def.platform == nil {
		return nil, badRequest("MissingDefinitionParts", "updateMetadata=true needs a .platform part")
	}
	if updateMeta && def.platform.Metadata.DisplayName != "" {
		if err := e.checkItemName(c, ws, it.Type, def.platform.Metadata.DisplayName, it.ID); err != nil {
			return nil, err
		}
	}
	return c.finish(e.immediate(it.Type), http.StatusOK, func() any {
		it.Format, it.Parts = def.format, def.parts
		if updateMeta {
			if n := def.platform.Metadata.DisplayName; n != "" {
				it.DisplayName = n
			}
			it.Description = def.platform.Metadata.Description
		}
		return nil
	})
}
