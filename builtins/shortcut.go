package builtins

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"go.starlark.net/starlark"

	"github.com/fabplan/fabplan/engine"
	"github.com/fabplan/fabplan/fabric"
)

// fabric.shortcut: a OneLake shortcut of a lakehouse, or a table shortcut of a KQL database, pointing
// at a OneLake item or at a location outside OneLake (ADLS Gen2, Amazon S3, Google Cloud Storage, an S3
// compatible endpoint, Azure Blob Storage, Dataverse, OneDrive/SharePoint). Fabric cannot change a
// shortcut: a new target replaces it.

// externalTarget is a target parameter for a location outside OneLake: the URL it takes, the type it
// makes, whether the target needs a subpath, and whether a KQL database's table shortcuts take it.
type externalTarget struct {
	param, typ   string
	needsSubpath bool
	kql          bool
}

func externalTargets() []externalTarget {
	return []externalTarget{
		{"adls_gen2", fabric.ShortcutAdlsGen2, true, true},
		{"s3", fabric.ShortcutAmazonS3, false, true},
		{"google_cloud_storage", fabric.ShortcutGoogleCloudStorage, true, true},
		{"s3_compatible", fabric.ShortcutS3Compatible, true, true},
		{"azure_blob_storage", fabric.ShortcutAzureBlobStorage, true, true},
		{"dataverse", fabric.ShortcutDataverse, false, false},
		{"onedrive_sharepoint", fabric.ShortcutOneDriveSharePoint, true, false},
	}
}

// ShortcutConflictPolicies are the shortcutConflictPolicy values a plan may choose. Fabric's
// GenerateUniqueName is left out: it makes a shortcut under a name the plan does not declare, which
// the next run could neither find nor manage.
func ShortcutConflictPolicies() []string {
	return []string{"Abort", "CreateOrOverwrite", "OverwriteOnly"}
}

type shortcutBuiltin struct{}

func (shortcutBuiltin) Spec() Spec {
	return Spec{
		Name: "fabric.shortcut",
		Doc: "A OneLake shortcut in a Lakehouse (under Files or Tables) or a table shortcut in a KQLDatabase, " +
			"pointing at a OneLake item, ADLS Gen2, Amazon S3, Google Cloud Storage, an S3 compatible endpoint, " +
			"Azure Blob Storage, Dataverse or OneDrive/SharePoint (the last two in a Lakehouse only). Fabric cannot " +
			"change a shortcut in place: a new target (or query acceleration) replaces it.",
		Params: []Param{
			{Name: "item", Type: "item", Required: true, Doc: "The Lakehouse or KQLDatabase holding the shortcut, from fabric.item(...)."},
			{Name: "name", Type: "string", Required: true, Doc: "Shortcut name."},
			{Name: "path", Type: "string", Doc: "Lakehouse only: the folder it appears in, Files[/...] or Tables (Tables/<schema> in a lakehouse with schemas); default Tables."},
			{Name: "onelake", Type: "item", Doc: "OneLake target: a Lakehouse, KQLDatabase or Warehouse of the plan."},
			{Name: "onelake_item_id", Type: "string", Doc: "OneLake target outside the plan: its item id (with onelake_workspace_id)."},
			{Name: "onelake_workspace_id", Type: "string", Doc: "The workspace of onelake_item_id."},
			{Name: "onelake_path", Type: "string", Doc: "OneLake target: the folder in the target item, e.g. Tables/sales or Files/raw."},
			{Name: "adls_gen2", Type: "string", Doc: "ADLS Gen2 target: the account's https://<account>.dfs.core.windows.net URL; needs subpath and a connection."},
			{Name: "s3", Type: "string", Doc: "Amazon S3 target: the bucket's https://<bucket>.s3.<region>.amazonaws.com URL; needs a connection."},
			{Name: "google_cloud_storage", Type: "string", Doc: "Google Cloud Storage target: the bucket's https://<bucket>.storage.googleapis.com URL; needs subpath and a connection."},
			{Name: "s3_compatible", Type: "string", Doc: "S3 compatible target: the endpoint's https:// URL, without the bucket; needs bucket, subpath and a connection."},
			{Name: "bucket", Type: "string", Doc: "S3 compatible: the bucket at the endpoint."},
			{Name: "azure_blob_storage", Type: "string", Doc: "Azure Blob Storage target: the account's https://<account>.blob.core.windows.net URL; needs subpath and a connection."},
			{Name: "dataverse", Type: "string", Doc: "Dataverse target (Lakehouse only): the environment's https://<org>.crm<n>.dynamics.com URL; needs table_name, delta_lake_folder and a connection."},
			{Name: "table_name", Type: "string", Doc: "Dataverse: the table."},
			{Name: "delta_lake_folder", Type: "string", Doc: "Dataverse: the Delta Lake folder holding the table's data."},
			{Name: "onedrive_sharepoint", Type: "string", Doc: "OneDrive/SharePoint target (Lakehouse only): the site's https://<tenant>.sharepoint.com URL; needs subpath and a connection."},
			{Name: "update_item_sensitivity", Type: "bool", Doc: "OneDrive/SharePoint: when the shortcut is created, raise the lakehouse's sensitivity label to the site's if the site's is stricter (default False); not compared afterwards."},
			{Name: "subpath", Type: "string", Doc: "ADLS Gen2, Azure Blob Storage, OneDrive/SharePoint: /<container>/<folder>; S3, S3 compatible, Google Cloud Storage: the folder in the bucket."},
			{Name: "connection", Type: "connection", Doc: "The cloud connection Fabric reaches a target outside OneLake through, from fabric.connection(...)."},
			{Name: "connection_id", Type: "string", Doc: "The id of a cloud connection outside the plan (instead of connection)."},
			{Name: "conflict_policy", Type: "string", Enum: ShortcutConflictPolicies(), Doc: "Lakehouse only: what a create or replace does with a shortcut already at that name. Abort (default): the create fails, a replace deletes then creates; CreateOrOverwrite: overwrite in one call, with no moment without the shortcut; OverwriteOnly: fabplan only re-points a shortcut that exists, never creates one."},
			{Name: "query_acceleration", Type: "bool", Doc: "KQLDatabase only: enable query acceleration (default False)."},
		},
		Updatable: []string{"target", "query_acceleration"},
		OneOf: [][]string{{"onelake", "onelake_item_id", "adls_gen2", "s3", "google_cloud_storage", "s3_compatible",
			"azure_blob_storage", "dataverse", "onedrive_sharepoint"}},
	}
}

func (shortcutBuiltin) Interpret(ev *evaluation, c *call) (starlark.Value, error) {
	host := c.handle("item")
	hostType, hostWorkspace := itemOf(host)
	fail := func(format string, args ...any) (starlark.Value, error) {
		return nil, fmt.Errorf("fabric.shortcut: "+format, args...)
	}
	r := &shortcutResource{pos: c.pos, item: host.addr, workspace: hostWorkspace, itemType: hostType, name: c.str("name"),
		policy: c.str("conflict_policy"), acceleration: c.boolean("query_acceleration")}
	if r.name == "" || strings.ContainsAny(r.name, `/\:*?"<>|[]+#%`) {
		return fail("name %q is not a valid shortcut name (non-empty, none of / \\ : * ? \" < > | [ ] + # %%)", r.name)
	}
	switch hostType {
	case "Lakehouse":
		r.path = strings.Trim(c.str("path"), "/")
		if r.path == "" {
			r.path = "Tables"
		}
		segs := strings.Split(r.path, "/")
		switch {
		case strings.Contains(r.path, "//") || strings.Contains("/"+r.path+"/", "/../"):
			return fail("path %q has empty or .. segments", r.path)
		case segs[0] == "Files":
		case segs[0] == "Tables" && len(segs) <= 2:
		case segs[0] == "Tables":
			return fail("path %q: a shortcut under Tables sits directly in Tables, or in a schema folder Tables/<schema>", r.path)
		default:
			return fail("path %q must start with Files or Tables", r.path)
		}
		if c.has("query_acceleration") {
			return fail("query_acceleration is for shortcuts in a KQLDatabase, not a Lakehouse")
		}
	case "KQLDatabase":
		if c.has("path") {
			return fail("a KQLDatabase's table shortcuts have no path; drop path")
		}
		if c.has("conflict_policy") {
			return fail("a KQLDatabase's table shortcuts take no conflict_policy (its API has none); drop it")
		}
	default:
		return fail("item %s is a %s; shortcuts live in a Lakehouse or a KQLDatabase", host.addr, hostType)
	}
	if c.has("connection") && c.has("connection_id") {
		return fail("give connection or connection_id, not both")
	}
	if h := c.handle("connection"); h != nil {
		r.connection = h.addr
	}
	r.connectionID = c.str("connection_id")
	t := &r.target
	switch {
	case c.has("onelake") || c.has("onelake_item_id"):
		t.Type, t.Path = fabric.ShortcutOneLake, strings.Trim(c.str("onelake_path"), "/")
		if h := c.handle("onelake"); h != nil {
			targetType, targetWorkspace := itemOf(h)
			if !isOneLakeTarget(targetType) {
				return fail("onelake: %s is a %s; a OneLake target is a Lakehouse, KQLDatabase or Warehouse", h.addr, targetType)
			}
			r.onelakeWorkspace = targetWorkspace
			if h.addr == host.addr && strings.HasPrefix(r.path+"/"+r.name, t.Path) {
				return fail("the shortcut would point at itself")
			}
			r.onelake = h.addr
		} else {
			t.ItemID, t.WorkspaceID = c.str("onelake_item_id"), c.str("onelake_workspace_id")
			if t.WorkspaceID == "" {
				return fail("onelake_item_id needs onelake_workspace_id")
			}
		}
		if t.Path == "" {
			return fail("a OneLake target needs onelake_path (the folder in the target item, e.g. Tables/sales)")
		}
	default:
		if msg := externalTargetOf(c, hostType, t); msg != "" {
			return fail("%s", msg)
		}
		if r.connection == "" && r.connectionID == "" {
			return fail("a %s target needs connection (from fabric.connection) or connection_id", t.Type)
		}
	}
	if t.Type == fabric.ShortcutOneLake && c.has("subpath") {
		return fail("subpath is for targets outside OneLake; a OneLake target's folder is onelake_path")
	}
	// The options of one target type are mistakes beside another.
	for opt, typ := range map[string]string{"bucket": fabric.ShortcutS3Compatible, "table_name": fabric.ShortcutDataverse,
		"delta_lake_folder": fabric.ShortcutDataverse, "update_item_sensitivity": fabric.ShortcutOneDriveSharePoint} {
		if c.has(opt) && t.Type != typ {
			return fail("%s is for %s targets, not %s", opt, typ, t.Type)
		}
	}
	key := r.name
	if r.path != "" {
		key = r.path + "/" + r.name
	}
	r.addr = host.addr.Join(engine.Segment("shortcut", key))
	ev.add(r)
	return newHandle("shortcut", r.addr, starlark.StringDict{"name": starlark.String(r.name), "path": starlark.String(r.path)}, r), nil
}

// externalTargetOf fills t from the call's target outside OneLake (the one parameter of
// externalTargets it gives); the problem with it, "" when none.
func externalTargetOf(c *call, hostType string, t *fabric.ShortcutTarget) string {
	for _, x := range externalTargets() {
		if !c.has(x.param) {
			continue
		}
		t.Type, t.Location, t.Subpath = x.typ, c.str(x.param), c.str("subpath")
		if err := checkHTTPSLocation(t.Location); err != nil {
			return fmt.Sprintf("%s: %v", x.param, err)
		}
		switch {
		case hostType == "KQLDatabase" && !x.kql:
			return fmt.Sprintf("a KQLDatabase's table shortcuts cannot point at %s; use a Lakehouse", x.typ)
		case x.needsSubpath && t.Subpath == "":
			return fmt.Sprintf("%s targets need subpath (the container or bucket and the folder)", x.typ)
		case x.typ == fabric.ShortcutDataverse && c.has("subpath"):
			return "a Dataverse target has no subpath; it takes table_name and delta_lake_folder"
		}
		switch x.typ {
		case fabric.ShortcutS3Compatible:
			if t.Bucket = c.str("bucket"); t.Bucket == "" {
				return "S3Compatible targets need bucket (the bucket at the endpoint)"
			}
		case fabric.ShortcutDataverse:
			t.TableName, t.DeltaLakeFolder = c.str("table_name"), strings.Trim(c.str("delta_lake_folder"), "/")
			if t.TableName == "" || t.DeltaLakeFolder == "" {
				return "Dataverse targets need table_name and delta_lake_folder"
			}
		case fabric.ShortcutOneDriveSharePoint:
			t.UpdateSensitivity = c.boolean("update_item_sensitivity")
		}
		return ""
	}
	return "no target" // bind's one-of check makes this unreachable
}

// itemOf is the type and the workspace of the item a handle stands for: one the plan declares, or
// one it looks up.
func itemOf(h *Handle) (typ string, workspace engine.Addr) {
	switch it := h.data.(type) {
	case *itemResource:
		return it.typ, it.workspace
	case *lookupItemResource:
		return it.typ, it.workspace
	}
	return "", h.addr.Root()
}

func isOneLakeTarget(itemType string) bool {
	return itemType == "Lakehouse" || itemType == "KQLDatabase" || itemType == "Warehouse"
}

func checkHTTPSLocation(loc string) error {
	if !strings.HasPrefix(loc, "https://") || len(loc) <= len("https://") || strings.ContainsAny(loc, " \t") {
		return fmt.Errorf("%q is not an https:// URL", loc)
	}
	return nil
}

type shortcutResource struct {
	addr             engine.Addr
	pos              engine.Pos
	item             engine.Addr
	workspace        engine.Addr // the item's
	itemType         string
	path, name       string
	target           fabric.ShortcutTarget // ids of plan objects filled in at refresh and apply
	onelake          engine.Addr           // the OneLake target item, when the plan declares or looks it up
	onelakeWorkspace engine.Addr
	connection       engine.Addr // the connection, when the plan declares it
	connectionID     string
	policy           string
	acceleration     bool
}

var _ engine.Resource = (*shortcutResource)(nil)

func (r *shortcutResource) Addr() engine.Addr                          { return r.addr }
func (r *shortcutResource) Kind() string                               { return "shortcut" }
func (r *shortcutResource) Pos() engine.Pos                            { return r.pos }
func (r *shortcutResource) Validate(*engine.Graph) []engine.Diagnostic { return nil }
func (r *shortcutResource) Deps() []engine.Addr {
	deps := []engine.Addr{r.item}
	for _, a := range []engine.Addr{r.onelake, r.connection} {
		if a != "" && a != r.item {
			deps = append(deps, a)
		}
	}
	return deps
}

func (r *shortcutResource) host(rt *engine.Runtime) fabric.ShortcutHost {
	return fabric.ShortcutHost{WorkspaceID: rt.ID(r.workspace), ItemID: rt.ID(r.item), ItemType: r.itemType}
}

// want is the shortcut the plan declares, with the ids of the plan's objects as far as they are
// known; complete is false while one of them is still to be created.
func (r *shortcutResource) want(rt *engine.Runtime) (sc fabric.Shortcut, complete bool) {
	t := r.target
	complete = true
	if r.onelake != "" {
		t.WorkspaceID, t.ItemID = rt.ID(r.onelakeWorkspace), rt.ID(r.onelake)
		complete = t.ItemID != ""
	}
	t.ConnectionID = r.connectionID
	if r.connection != "" {
		t.ConnectionID = rt.ID(r.connection)
		complete = complete && t.ConnectionID != ""
	}
	return fabric.Shortcut{Path: r.path, Name: r.name, Target: t, QueryAcceleration: r.acceleration}, complete
}

func shortcutsMemoKey(itemID string) string { return "shortcuts:" + itemID }

func (r *shortcutResource) Refresh(ctx context.Context, rt *engine.Runtime) (engine.Live, error) {
	h := r.host(rt)
	if h.ItemID == "" {
		return r.missing()
	}
	v, err := rt.Memo(shortcutsMemoKey(h.ItemID), func() (any, error) { return rt.Client.ListShortcuts(ctx, h) })
	if err != nil {
		return engine.Live{}, err
	}
	for _, s := range v.([]fabric.Shortcut) {
		if strings.EqualFold(s.Name, r.name) && strings.Trim(s.Path, "/") == r.path {
			return engine.Live{Exists: true, ID: h.ItemID + "/" + strings.TrimPrefix(r.path+"/"+s.Name, "/"), Data: s,
				Attrs: r.attrs(s)}, nil
		}
	}
	return r.missing()
}

// missing is the live state of a shortcut that does not exist: a plan for it, unless the plan
// may only overwrite.
func (r *shortcutResource) missing() (engine.Live, error) {
	if r.policy == "OverwriteOnly" {
		return engine.Live{}, fmt.Errorf("no shortcut %q exists, and conflict_policy OverwriteOnly only re-points one that does; create it first or drop conflict_policy", r.name)
	}
	return engine.Live{}, nil
}

func (r *shortcutResource) attrs(s fabric.Shortcut) map[string]string {
	a := map[string]string{"target": s.Target.String()}
	if r.itemType == "KQLDatabase" {
		a["query_acceleration"] = strconv.FormatBool(s.QueryAcceleration)
	}
	return a
}

func (r *shortcutResource) Diff(live engine.Live, rt *engine.Runtime) engine.Change {
	want, complete := r.want(rt)
	label := want.Target.String()
	if !complete {
		label = r.target.Type + " (" + r.pendingLabel() + ", known after apply)"
	}
	target := engine.AttrChange{Name: "target", New: label, Unknown: !complete}
	accel := engine.AttrChange{Name: "query_acceleration", New: strconv.FormatBool(r.acceleration)}
	attrs := []engine.AttrChange{target}
	if r.itemType == "KQLDatabase" {
		attrs = append(attrs, accel)
	}
	if !live.Exists {
		return engine.Change{Action: engine.Create, Attrs: attrs}
	}
	found := live.Data.(fabric.Shortcut)
	ch := engine.Change{Action: engine.NoOp}
	for i := range attrs {
		attrs[i].Old = live.Attrs[attrs[i].Name]
	}
	if !complete || fabric.ShortcutMismatch(found, want) != "" {
		// Fabric has no update for a shortcut: it is deleted and made again.
		ch.Action, ch.Reason = engine.Replace, "a shortcut cannot be changed in place"
		for i := range attrs {
			attrs[i].ForcesReplace = attrs[i].Unknown || attrs[i].Old != attrs[i].New
		}
	}
	ch.Attrs = attrs
	return ch
}

// pendingLabel names the plan objects a target waits for.
func (r *shortcutResource) pendingLabel() string {
	var names []string
	for _, a := range []engine.Addr{r.onelake, r.connection} {
		if a != "" {
			names = append(names, string(a))
		}
	}
	return strings.Join(names, ", ")
}

// shortcutUndo is the argument of the shortcut undo operations: the shortcut a create sent (Sent),
// which its delete requires as evidence, or the one a replace found (Previous), which restore makes
// again exactly.
type shortcutUndo struct {
	Host     fabric.ShortcutHost `json:"host"`
	Path     string              `json:"path,omitempty"`
	Name     string              `json:"name"`
	Sent     *fabric.Shortcut    `json:"sent,omitempty"`
	Previous *fabric.Shortcut    `json:"previous,omitempty"`
}

func (r *shortcutResource) Apply(ctx context.Context, rt *engine.Runtime, ch *engine.Change, intent func(engine.Undo) error) (engine.Applied, error) {
	h := r.host(rt)
	defer rt.Forget(shortcutsMemoKey(h.ItemID))
	want, complete := r.want(rt)
	if !complete {
		return engine.Applied{}, fmt.Errorf("shortcut %s: the target %s has no id", r.name, r.pendingLabel())
	}
	id := h.ItemID + "/" + strings.TrimPrefix(r.path+"/"+r.name, "/")
	switch ch.Action {
	case engine.Create:
		undo := engine.NewUndo("shortcut.delete", shortcutUndo{Host: h, Path: r.path, Name: r.name, Sent: &want})
		policy := r.policy
		if policy == "OverwriteOnly" {
			policy = "" // refresh found none to overwrite: see missing
		}
		if _, err := createJournalled(intent, undo, func() (fabric.Shortcut, error) {
			return rt.Client.CreateShortcut(ctx, h, want, policy)
		}); err != nil {
			return engine.Applied{}, err
		}
		return engine.Applied{ID: id, Undo: undo}, nil
	case engine.Replace:
		prev := ch.Live.Data.(fabric.Shortcut)
		// What ignore_changes keeps is made again as it is live.
		if !ch.Wants("target") {
			want.Target = prev.Target
		}
		if !ch.Wants("query_acceleration") {
			want.QueryAcceleration = prev.QueryAcceleration
		}
		undo := engine.NewUndo("shortcut.restore", shortcutUndo{Host: h, Path: r.path, Name: r.name, Sent: &want, Previous: &prev})
		if err := intent(undo); err != nil {
			return engine.Applied{}, err
		}
		if err := replaceShortcut(ctx, rt.Client, h, want, r.policy); err != nil {
			return engine.Applied{}, err
		}
		return engine.Applied{ID: id, Undo: undo}, nil
	}
	return engine.Applied{}, fmt.Errorf("shortcut: cannot %s", ch.Action)
}

// replaceShortcut makes the shortcut at sc's path and name point where sc does: in one call when
// the lakehouse API may overwrite, else by deleting the old one and creating the new.
func replaceShortcut(ctx context.Context, c *fabric.Client, h fabric.ShortcutHost, sc fabric.Shortcut, policy string) error {
	if h.ItemType == "Lakehouse" && (policy == "CreateOrOverwrite" || policy == "OverwriteOnly") {
		_, err := c.CreateShortcut(ctx, h, sc, "CreateOrOverwrite")
		return err
	}
	if err := ignoreNotFound(c.DeleteShortcut(ctx, h, sc.Path, sc.Name)); err != nil {
		return err
	}
	_, err := c.CreateShortcut(ctx, h, sc, "")
	return err
}

func (shortcutBuiltin) UndoOps() engine.UndoRegistry {
	return engine.UndoRegistry{
		"shortcut.delete": undoOp(func(ctx context.Context, rt *engine.Runtime, u shortcutUndo) error {
			what := fmt.Sprintf("shortcut %q of %s", strings.TrimPrefix(u.Path+"/"+u.Name, "/"), u.Host)
			return deleteCreated("DeleteShortcut", what, "", func() (string, string, bool, error) {
				found, ok, err := rt.Client.FindShortcut(ctx, u.Host, u.Path, u.Name)
				if err != nil || !ok || u.Sent == nil {
					return "", "", ok, err
				}
				return u.Name, fabric.ShortcutMismatch(found, *u.Sent), ok, nil
			}, func(string) error { return rt.Client.DeleteShortcut(ctx, u.Host, u.Path, u.Name) })
		}),
		"shortcut.restore": undoOp(func(ctx context.Context, rt *engine.Runtime, u shortcutUndo) error {
			found, ok, err := rt.Client.FindShortcut(ctx, u.Host, u.Path, u.Name)
			if err = ignoreNotFound(err); err != nil {
				return err
			}
			if ok && fabric.ShortcutMismatch(found, *u.Previous) == "" {
				return nil
			}
			if !ok {
				_, err := rt.Client.CreateShortcut(ctx, u.Host, *u.Previous, "")
				return err
			}
			return replaceShortcut(ctx, rt.Client, u.Host, *u.Previous, "CreateOrOverwrite")
		}),
	}
}

// previewShortcut reads the shortcut an undo acts on.
func previewShortcut(ctx context.Context, rt *engine.Runtime, u shortcutUndo, pv *engine.UndoPreview) error {
	found, ok, err := rt.Client.FindShortcut(ctx, u.Host, u.Path, u.Name)
	if err = ignoreNotFound(err); err != nil || !ok {
		return err
	}
	pv.Exists, pv.ID = true, u.Host.ItemID+"/"+strings.TrimPrefix(u.Path+"/"+u.Name, "/")
	pv.Live = (&shortcutResource{itemType: u.Host.ItemType}).attrs(found)
	return nil
}
