package emulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// shortcut is a OneLake shortcut of a lakehouse (a name under a Files or Tables path) or a table
// shortcut of a KQL database (no path; query acceleration on or off), pointing at a target.
type shortcut struct {
	Path   string         `json:"path,omitempty"`
	Name   string         `json:"name"`
	Target map[string]any `json:"target"` // {"type": T, "<kind>": {...}} as Fabric returns it
	// QueryAcceleration is a KQL table shortcut's enableQueryAcceleration; nil for a lakehouse's.
	QueryAcceleration *bool `json:"enableQueryAcceleration,omitempty"`
}

// shortcutKinds maps each creatable target kind to its type name and required fields.
func shortcutKinds() map[string]struct {
	typ      string
	required []string
} {
	type k = struct {
		typ      string
		required []string
	}
	return map[string]k{
		"oneLake":            {"OneLake", []string{"workspaceId", "itemId", "path"}},
		"amazonS3":           {"AmazonS3", []string{"location", "connectionId"}},
		"adlsGen2":           {"AdlsGen2", []string{"location", "subpath", "connectionId"}},
		"googleCloudStorage": {"GoogleCloudStorage", []string{"location", "subpath", "connectionId"}},
		"s3Compatible":       {"S3Compatible", []string{"location", "subpath", "bucket", "connectionId"}},
		"dataverse":          {"Dataverse", []string{"environmentDomain", "connectionId", "deltaLakeFolder", "tableName"}},
		"azureBlobStorage":   {"AzureBlobStorage", []string{"location", "subpath", "connectionId"}},
		"oneDriveSharePoint": {"OneDriveSharePoint", []string{"location", "subpath", "connectionId"}},
	}
}

type shortcutRequest struct {
	Path   *string                   `json:"path"`
	Name   *string                   `json:"name"`
	Target map[string]map[string]any `json:"target"`
}

// shortcutError is Fabric's 400 for a shortcut it refuses, with the reasons in moreDetails.
func shortcutError(details ...errorDetail) *apiError {
	ae := invalidInput("The shortcut request is not valid")
	ae.More = details
	return ae
}

// shortcutItem resolves the lakehouse whose shortcuts a request addresses.
func (c *call) shortcutItem(min role) (*workspace, *item, error) {
	ws, it, err := c.workspaceItem(min)
	if err != nil {
		return nil, nil, err
	}
	if it.Type != "Lakehouse" {
		return nil, nil, badRequest("OperationNotSupportedForItem",
			"Items of type %s have no OneLake shortcuts in the emulator", it.Type)
	}
	return ws, it, nil
}

// oneLakeTargetTypes are the item types a OneLake target may name.
func oneLakeTargetTypes() []string { return []string{"Lakehouse", "KQLDatabase", "Warehouse"} }

// validateShortcut checks a create request and returns the shortcut it makes.
func (c *call) validateShortcut(ws *workspace, it *item, req *shortcutRequest) (*shortcut, error) {
	var more []errorDetail
	add := func(code, format string, args ...any) {
		more = append(more, errorDetail{ErrorCode: code, Message: fmt.Sprintf(format, args...)})
	}
	sc := &shortcut{}
	if req.Path == nil || req.Name == nil || req.Target == nil {
		add("MissingParameter", "path, name and target are required")
		return nil, shortcutError(more...)
	}
	sc.Path, sc.Name = strings.Trim(*req.Path, "/"), *req.Name
	segs := strings.Split(sc.Path, "/")
	schemas := it.Payload != nil && it.Payload.EnableSchemas != nil && *it.Payload.EnableSchemas
	switch {
	case segs[0] == "Files":
	case segs[0] == "Tables" && (len(segs) == 1 || len(segs) == 2 && schemas):
	case segs[0] == "Tables":
		add("InvalidShortcutPath", "A shortcut under Tables must be directly in Tables%s, not in '%s'",
			map[bool]string{true: " or in a schema folder", false: ""}[schemas], truncate(sc.Path, 128))
	default:
		add("InvalidShortcutPath", "The path must start with Files or Tables, not '%s'", truncate(sc.Path, 128))
	}
	if slices.Contains(segs, "") || slices.Contains(segs, "..") {
		add("InvalidShortcutPath", "The path '%s' has empty or '..' segments", truncate(sc.Path, 128))
	}
	if strings.TrimSpace(sc.Name) == "" || strings.ContainsAny(sc.Name, `/\:*?"<>|`) || len(sc.Name) > 256 {
		add("InvalidShortcutName", "The shortcut name '%s' is empty, too long or has a character of /\\:*?\"<>|",
			truncate(sc.Name, 64))
	}
	target := c.shortcutTarget(it, sc.Path+"/"+sc.Name, req.Target, nil, add)
	if len(more) > 0 {
		return nil, shortcutError(more...)
	}
	sc.Target = target
	return sc, nil
}

// shortcutTarget checks a request's target (one destination, its required fields, a connection that
// exists, an https location, a OneLake item of a type that holds data) and returns it as Fabric
// answers it; only lists the destinations allowed (nil: all). self is the new shortcut's own path,
// which a OneLake target in the same item must not lie under.
func (c *call) shortcutTarget(it *item, self string, req map[string]map[string]any, only []string,
	add func(code, format string, args ...any)) map[string]any {
	var given []string
	for k := range req {
		given = append(given, k)
	}
	if len(given) != 1 {
		add("InvalidShortcutTarget", "The target must name exactly one destination; it names %d", len(given))
		return nil
	}
	kind, ok := shortcutKinds()[given[0]]
	if !ok || only != nil && !slices.Contains(only, given[0]) {
		add("InvalidShortcutTarget", "'%s' is not a destination shortcuts can be created for", truncate(given[0], 40))
		return nil
	}
	fields := req[given[0]]
	for _, f := range kind.required {
		if s, _ := fields[f].(string); s == "" {
			add("InvalidShortcutTarget", "target.%s.%s is required", given[0], f)
		}
	}
	if id, _ := fields["connectionId"].(string); id != "" {
		if id, err := guid("connectionId", id); err != nil || c.e.st.Connections[id] == nil {
			add("InvalidShortcutTarget", "target.%s.connectionId names no connection", given[0])
		}
	}
	if loc, _ := fields["location"].(string); loc != "" {
		if u, err := url.Parse(loc); err != nil || u.Scheme != "https" || u.Host == "" {
			add("InvalidShortcutTarget", "target.%s.location must be an https URL", given[0])
		}
	}
	if given[0] == "oneLake" {
		wsID, _ := fields["workspaceId"].(string)
		itemID, _ := fields["itemId"].(string)
		tws := c.e.st.Workspaces[strings.ToLower(wsID)]
		if tws == nil || tws.Items[strings.ToLower(itemID)] == nil {
			add("InvalidShortcutTarget", "The OneLake target item %s in workspace %s does not exist",
				truncate(itemID, 40), truncate(wsID, 40))
		} else if t := tws.Items[strings.ToLower(itemID)].Type; !slices.Contains(oneLakeTargetTypes(), t) {
			add("InvalidShortcutTarget", "A OneLake target must be a Lakehouse, KQLDatabase or Warehouse, not a %s", t)
		} else if tp, _ := fields["path"].(string); tws.Items[strings.ToLower(itemID)] == it &&
			strings.HasPrefix(self, strings.Trim(tp, "/")) {
			add("InvalidShortcutTarget", "A shortcut cannot point at itself")
		}
	}
	return map[string]any{"type": kind.typ, given[0]: fields}
}

func (e *Emulator) createShortcut(c *call) (*response, error) {
	ws, it, err := c.shortcutItem(roleContributor)
	if err != nil {
		return nil, err
	}
	policy := c.r.URL.Query().Get("shortcutConflictPolicy")
	if policy == "" {
		policy = "Abort"
	}
	if !slices.Contains([]string{"Abort", "GenerateUniqueName", "CreateOrOverwrite", "OverwriteOnly"}, policy) {
		return nil, badRequest("InvalidParameter",
			"shortcutConflictPolicy must be Abort, GenerateUniqueName, CreateOrOverwrite or OverwriteOnly")
	}
	var req shortcutRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	sc, err := c.validateShortcut(ws, it, &req)
	if err != nil {
		return nil, err
	}
	status := http.StatusCreated
	same := func(x *shortcut) bool { return x.Path == sc.Path && strings.EqualFold(x.Name, sc.Name) }
	at := slices.IndexFunc(it.Shortcuts, same)
	switch {
	case at >= 0 && policy == "Abort":
		return nil, errf(http.StatusConflict, "EntityConflict", "A shortcut named '%s' already exists in '%s'",
			sc.Name, sc.Path)
	case at < 0 && policy == "OverwriteOnly":
		return nil, notFound("EntityNotFound", "Shortcut", sc.Path+"/"+sc.Name)
	case at >= 0 && policy == "GenerateUniqueName":
		base := sc.Name
		for n := 1; slices.ContainsFunc(it.Shortcuts, same); n++ {
			sc.Name = base + "_" + strconv.Itoa(n)
		}
		it.Shortcuts = append(it.Shortcuts, sc)
	case at >= 0:
		it.Shortcuts[at] = sc
		status = http.StatusOK
	default:
		it.Shortcuts = append(it.Shortcuts, sc)
	}
	loc := e.base + "/v1/workspaces/" + ws.ID + "/items/" + it.ID + "/shortcuts/" + sc.Path + "/" + url.PathEscape(sc.Name)
	return &response{status: status, header: http.Header{"Location": {loc}}, body: sc.clone()}, nil
}

// clone copies a shortcut for a response, which must not alias the state.
func (sc *shortcut) clone() *shortcut {
	b, _ := json.Marshal(sc)
	var out shortcut
	json.Unmarshal(b, &out)
	return &out
}

func (e *Emulator) listShortcuts(c *call) (*response, error) {
	_, it, err := c.shortcutItem(roleViewer)
	if err != nil {
		return nil, err
	}
	parent := strings.Trim(c.r.URL.Query().Get("parentPath"), "/")
	out := []*shortcut{}
	for _, sc := range it.Shortcuts {
		if parent == "" || sc.Path == parent || strings.HasPrefix(sc.Path, parent+"/") {
			out = append(out, sc.clone())
		}
	}
	return paged(c, out)
}

// addressedShortcut resolves .../shortcuts/{path...}/{name}.
func (c *call) addressedShortcut(min role) (*item, int, error) {
	_, it, err := c.shortcutItem(min)
	if err != nil {
		return nil, 0, err
	}
	rest := strings.Trim(c.r.PathValue("shortcut"), "/")
	i := strings.LastIndex(rest, "/")
	if i < 0 {
		return nil, 0, notFound("EntityNotFound", "Shortcut", rest)
	}
	p, name := rest[:i], rest[i+1:]
	at := slices.IndexFunc(it.Shortcuts, func(x *shortcut) bool { return x.Path == p && strings.EqualFold(x.Name, name) })
	if at < 0 {
		return nil, 0, notFound("EntityNotFound", "Shortcut", rest)
	}
	return it, at, nil
}

func (e *Emulator) getShortcut(c *call) (*response, error) {
	it, at, err := c.addressedShortcut(roleViewer)
	if err != nil {
		return nil, err
	}
	return ok(it.Shortcuts[at].clone())
}

func (e *Emulator) deleteShortcut(c *call) (*response, error) {
	it, at, err := c.addressedShortcut(roleContributor)
	if err != nil {
		return nil, err
	}
	it.Shortcuts = slices.Delete(it.Shortcuts, at, at+1)
	return emptyOK()
}

// KQL database table shortcuts (/kqlDatabases/{id}/shortcuts): a name and a target, no path and no
// conflict policy; the create is a long-running operation.

// tableShortcutTargets are the destinations a KQL table shortcut may have.
func tableShortcutTargets() []string {
	return []string{"oneLake", "amazonS3", "adlsGen2", "googleCloudStorage", "s3Compatible", "azureBlobStorage"}
}

type tableShortcutRequest struct {
	Name              *string                   `json:"name"`
	QueryAcceleration *bool                     `json:"enableQueryAcceleration"`
	Target            map[string]map[string]any `json:"target"`
}

func (e *Emulator) createTableShortcut(c *call) (*response, error) {
	c.itemType = "KQLDatabase"
	_, it, err := c.workspaceItem(roleContributor)
	if err != nil {
		return nil, err
	}
	var req tableShortcutRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	var more []errorDetail
	add := func(code, format string, args ...any) {
		more = append(more, errorDetail{ErrorCode: code, Message: fmt.Sprintf(format, args...)})
	}
	if req.Name == nil || req.QueryAcceleration == nil || req.Target == nil {
		add("MissingParameter", "name, enableQueryAcceleration and target are required")
		return nil, shortcutError(more...)
	}
	if strings.TrimSpace(*req.Name) == "" || strings.ContainsAny(*req.Name, `?:/\"][+#%`) || len(*req.Name) > 256 {
		add("InvalidShortcutName", "The table shortcut name '%s' is empty, too long or has a character of ? : / \\ \" ] [ + # %%",
			truncate(*req.Name, 64))
	}
	target := c.shortcutTarget(it, "Shortcut/"+*req.Name, req.Target, tableShortcutTargets(), add)
	if len(more) > 0 {
		return nil, shortcutError(more...)
	}
	for kind, fields := range target {
		// Fabric answers an ADLS Gen2 subpath with its leading slash whether the request had one or not.
		if f, ok := fields.(map[string]any); ok && kind == "adlsGen2" {
			if sp, _ := f["subpath"].(string); !strings.HasPrefix(sp, "/") {
				f["subpath"] = "/" + sp
			}
		}
	}
	if slices.ContainsFunc(it.Shortcuts, func(x *shortcut) bool { return strings.EqualFold(x.Name, *req.Name) }) {
		return nil, errf(http.StatusConflict, "TableShortcutAlreadyExists", "A table shortcut named '%s' already exists",
			truncate(*req.Name, 64))
	}
	sc := &shortcut{Name: *req.Name, Target: target, QueryAcceleration: req.QueryAcceleration}
	return c.finish(e.immediate("KQLDatabase"), http.StatusCreated, func() any {
		it.Shortcuts = append(it.Shortcuts, sc)
		return sc.clone()
	})
}

func (e *Emulator) listTableShortcuts(c *call) (*response, error) {
	c.itemType = "KQLDatabase"
	_, it, err := c.workspaceItem(roleViewer)
	if err != nil {
		return nil, err
	}
	out := []*shortcut{}
	for _, sc := range it.Shortcuts {
		out = append(out, sc.clone())
	}
	return paged(c, out)
}

// addressedTableShortcut resolves .../kqlDatabases/{itemId}/shortcuts/{shortcutName}.
func (c *call) addressedTableShortcut(min role) (*item, int, error) {
	c.itemType = "KQLDatabase"
	_, it, err := c.workspaceItem(min)
	if err != nil {
		return nil, 0, err
	}
	name := c.r.PathValue("shortcutName")
	at := slices.IndexFunc(it.Shortcuts, func(x *shortcut) bool { return strings.EqualFold(x.Name, name) })
	if at < 0 {
		return nil, 0, notFound("TableShortcutNotFound", "Table shortcut", name)
	}
	return it, at, nil
}

func (e *Emulator) getTableShortcut(c *call) (*response, error) {
	it, at, err := c.addressedTableShortcut(roleViewer)
	if err != nil {
		return nil, err
	}
	return ok(it.Shortcuts[at].clone())
}

func (e *Emulator) deleteTableShortcut(c *call) (*response, error) {
	it, at, err := c.addressedTableShortcut(roleContributor)
	if err != nil {
		return nil, err
	}
	it.Shortcuts = slices.Delete(it.Shortcuts, at, at+1)
	return emptyOK()
}
