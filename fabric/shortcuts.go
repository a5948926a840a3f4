package fabric

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/microsoft/fabric-sdk-go/fabric/core"
	"github.com/microsoft/fabric-sdk-go/fabric/kqldatabase"
)

// Shortcut target types fabplan creates: every destination the spec's CreatableShortcutTarget has.
const (
	ShortcutOneLake            = "OneLake"
	ShortcutAdlsGen2           = "AdlsGen2"
	ShortcutAmazonS3           = "AmazonS3"
	ShortcutGoogleCloudStorage = "GoogleCloudStorage"
	ShortcutS3Compatible       = "S3Compatible"
	ShortcutAzureBlobStorage   = "AzureBlobStorage"
	ShortcutDataverse          = "Dataverse"
	ShortcutOneDriveSharePoint = "OneDriveSharePoint"
)

// shortcutTargetKeys maps each target type to the key of its object in the API's target.
func shortcutTargetKeys() map[string]string {
	return map[string]string{ShortcutOneLake: "oneLake", ShortcutAdlsGen2: "adlsGen2", ShortcutAmazonS3: "amazonS3",
		ShortcutGoogleCloudStorage: "googleCloudStorage", ShortcutS3Compatible: "s3Compatible",
		ShortcutAzureBlobStorage: "azureBlobStorage", ShortcutDataverse: "dataverse",
		ShortcutOneDriveSharePoint: "oneDriveSharePoint"}
}

// ShortcutTarget is where a shortcut points: a path in a OneLake item, or a location outside OneLake
// (a storage account, a bucket, a Dataverse environment, a SharePoint site) reached through a
// connection. A target of another type (made outside fabplan) is read with its Type only.
type ShortcutTarget struct {
	Type        string `json:"type"`
	WorkspaceID string `json:"workspace_id,omitempty"` // OneLake
	ItemID      string `json:"item_id,omitempty"`      // OneLake
	Path        string `json:"path,omitempty"`         // OneLake: the folder in the target item
	// Location is the https:// URL of the storage account, bucket, endpoint, site, or (Dataverse) the
	// environment's domain.
	Location        string `json:"location,omitempty"`
	Subpath         string `json:"subpath,omitempty"` // the container and folder, or the folder in the bucket
	Bucket          string `json:"bucket,omitempty"`  // S3 compatible
	TableName       string `json:"table_name,omitempty"`
	DeltaLakeFolder string `json:"delta_lake_folder,omitempty"` // Dataverse
	ConnectionID    string `json:"connection_id,omitempty"`
	// UpdateSensitivity (OneDrive/SharePoint) asks Fabric, when it creates the shortcut, to raise the
	// item's sensitivity label to the site's. It is an instruction, not a property of the shortcut:
	// never compared.
	UpdateSensitivity bool `json:"update_sensitivity,omitempty"`
}

// Normalized is the target as Fabric compares it: ids without regard to case, paths without their
// leading and trailing slashes (Fabric adds a leading one to an ADLS subpath), locations without a
// trailing one.
func (t ShortcutTarget) Normalized() ShortcutTarget {
	t.WorkspaceID, t.ItemID, t.ConnectionID = strings.ToLower(t.WorkspaceID), strings.ToLower(t.ItemID), strings.ToLower(t.ConnectionID)
	t.Path, t.Subpath = strings.Trim(t.Path, "/"), strings.Trim(t.Subpath, "/")
	t.DeltaLakeFolder = strings.Trim(t.DeltaLakeFolder, "/")
	t.Location = strings.TrimRight(t.Location, "/")
	t.UpdateSensitivity = false
	return t
}

// String shows the target in plans and errors.
func (t ShortcutTarget) String() string {
	t = t.Normalized()
	var s string
	switch t.Type {
	case ShortcutOneLake:
		s = "OneLake " + t.WorkspaceID + "/" + t.ItemID + "/" + t.Path
	case ShortcutS3Compatible:
		s = t.Type + " " + t.Location + " bucket " + t.Bucket + "/" + t.Subpath
	case ShortcutDataverse:
		s = t.Type + " " + t.Location + " table " + t.TableName + " in " + t.DeltaLakeFolder
	case "":
		s = ""
	default:
		if _, ok := shortcutTargetKeys()[t.Type]; ok {
			s = t.Type + " " + t.Location + "/" + t.Subpath
		} else {
			s = t.Type
		}
	}
	if t.ConnectionID != "" {
		s += " (connection " + t.ConnectionID + ")"
	}
	return s
}

// Shortcut is a OneLake shortcut of a lakehouse (Path: the folder under Files or Tables it appears in)
// or a table shortcut of a KQL database (Path "", QueryAcceleration).
type Shortcut struct {
	Path              string         `json:"path,omitempty"`
	Name              string         `json:"name"`
	Target            ShortcutTarget `json:"target"`
	QueryAcceleration bool           `json:"query_acceleration,omitempty"`
}

// ShortcutMismatch says how the shortcut found differs from the one sent; "" when it is the same.
func ShortcutMismatch(found, sent Shortcut) string {
	var diffs []string
	if found.Target.Normalized() != sent.Target.Normalized() {
		diffs = append(diffs, fmt.Sprintf("its target is %s where this run sent %s", found.Target, sent.Target))
	}
	if found.QueryAcceleration != sent.QueryAcceleration {
		diffs = append(diffs, fmt.Sprintf("its query acceleration is %t where this run sent %t", found.QueryAcceleration, sent.QueryAcceleration))
	}
	return strings.Join(diffs, ", ")
}

// ShortcutHost is the item whose shortcuts a call addresses: a Lakehouse (OneLake shortcuts API) or
// a KQLDatabase (its table shortcuts API).
type ShortcutHost struct {
	WorkspaceID string `json:"workspace_id"`
	ItemID      string `json:"item_id"`
	ItemType    string `json:"item_type"`
}

func (h ShortcutHost) kql() bool { return h.ItemType == "KQLDatabase" }

func (h ShortcutHost) String() string {
	return fmt.Sprintf("%s %s in workspace %s", h.ItemType, h.ItemID, h.WorkspaceID)
}

// sameShortcut reports whether s is the one at path/name (names compared without regard to case).
func sameShortcut(s Shortcut, path, name string) bool {
	return strings.Trim(s.Path, "/") == strings.Trim(path, "/") && strings.EqualFold(s.Name, name)
}

// targetFields are the fields of a target's destination object, as the API names them.
type targetFields struct {
	WorkspaceID       string `json:"workspaceId,omitempty"`
	ItemID            string `json:"itemId,omitempty"`
	Path              string `json:"path,omitempty"`
	Location          string `json:"location,omitempty"`
	EnvironmentDomain string `json:"environmentDomain,omitempty"`
	Subpath           string `json:"subpath,omitempty"`
	Bucket            string `json:"bucket,omitempty"`
	TableName         string `json:"tableName,omitempty"`
	DeltaLakeFolder   string `json:"deltaLakeFolder,omitempty"`
	ConnectionID      string `json:"connectionId,omitempty"`
	UpdateSensitivity bool   `json:"updateFabricItemSensitivity,omitempty"`
}

// fromAPITarget reads a target from either SDK's type for it (the lakehouse's core.Target, the KQL
// database's kqldatabase.Target) through the spec's JSON they share: {"type": T, "<key>": {...}}.
func fromAPITarget(sdkTarget any) ShortcutTarget {
	b, err := json.Marshal(sdkTarget)
	var raw map[string]json.RawMessage
	if err != nil || json.Unmarshal(b, &raw) != nil {
		return ShortcutTarget{}
	}
	var out ShortcutTarget
	_ = json.Unmarshal(raw["type"], &out.Type) // absent for nil: the zero target
	var f targetFields
	if key, ok := shortcutTargetKeys()[out.Type]; !ok || json.Unmarshal(raw[key], &f) != nil {
		return out
	}
	out.WorkspaceID, out.ItemID, out.Path, out.Subpath = f.WorkspaceID, f.ItemID, f.Path, f.Subpath
	out.Location, out.Bucket, out.TableName, out.DeltaLakeFolder = f.Location, f.Bucket, f.TableName, f.DeltaLakeFolder
	out.ConnectionID, out.UpdateSensitivity = f.ConnectionID, f.UpdateSensitivity
	if out.Type == ShortcutDataverse {
		out.Location = f.EnvironmentDomain
	}
	return out
}

// wire is the request's target: {"oneLake": {...}} and so on.
func (t ShortcutTarget) wire() map[string]targetFields {
	f := targetFields{ConnectionID: t.ConnectionID}
	switch t.Type {
	case ShortcutOneLake:
		f.WorkspaceID, f.ItemID, f.Path = t.WorkspaceID, t.ItemID, t.Path
	case ShortcutDataverse:
		f.EnvironmentDomain, f.TableName, f.DeltaLakeFolder = t.Location, t.TableName, t.DeltaLakeFolder
	default:
		f.Location, f.Subpath, f.Bucket, f.UpdateSensitivity = t.Location, t.Subpath, t.Bucket, t.UpdateSensitivity
	}
	return map[string]targetFields{shortcutTargetKeys()[t.Type]: f}
}

// sdk is the target as the lakehouse SDK's request takes it, converted through the same JSON.
func (t ShortcutTarget) sdk() (*core.CreatableShortcutTarget, error) {
	b, err := json.Marshal(t.wire())
	if err != nil {
		return nil, err
	}
	out := &core.CreatableShortcutTarget{}
	return out, json.Unmarshal(b, out)
}

// ListShortcuts lists the shortcuts of a lakehouse (every folder) or a KQL database.
func (c *Client) ListShortcuts(ctx context.Context, h ShortcutHost) ([]Shortcut, error) {
	ctx = withCall(ctx, "ListShortcuts")
	if h.kql() {
		list, err := c.tableShortcuts.ListShortcuts(ctx, h.WorkspaceID, h.ItemID, nil)
		return convertAll(list, err, func(s kqldatabase.TableShortcut) Shortcut {
			return Shortcut{Name: str(s.Name), Target: fromAPITarget(s.Target), QueryAcceleration: s.EnableQueryAcceleration != nil && *s.EnableQueryAcceleration}
		})
	}
	list, err := c.shortcuts.ListShortcuts(ctx, h.WorkspaceID, h.ItemID, nil)
	return convertAll(list, err, func(s core.ShortcutTransformFlagged) Shortcut {
		return Shortcut{Path: strings.Trim(str(s.Path), "/"), Name: str(s.Name), Target: fromAPITarget(s.Target)}
	})
}

// FindShortcut looks a shortcut up by its natural key: the item, the folder and the name.
func (c *Client) FindShortcut(ctx context.Context, h ShortcutHost, path, name string) (Shortcut, bool, error) {
	all, err := c.ListShortcuts(ctx, h)
	return findFirst(all, err, func(s Shortcut) bool { return sameShortcut(s, path, name) })
}

// CreateShortcut creates a shortcut. policy is the lakehouse API's shortcutConflictPolicy ("" =
// Abort: a shortcut of that name fails the create; a KQL database takes none). After an uncertain
// answer the shortcut found at path/name is taken only if it points where this one does. An
// overwrite (CreateOrOverwrite, OverwriteOnly) sets the whole shortcut, so it is repeated like any
// idempotent call instead: looking it up could not tell a lost overwrite from one never made.
func (c *Client) CreateShortcut(ctx context.Context, h ShortcutHost, sc Shortcut, policy string) (Shortcut, error) {
	if !h.kql() && (policy == "CreateOrOverwrite" || policy == "OverwriteOnly") {
		return c.createLakehouseShortcut(withCall(ctx, "CreateShortcut"), h, sc, policy)
	}
	what := fmt.Sprintf("shortcut %q of %s", strings.TrimPrefix(sc.Path+"/"+sc.Name, "/"), h)
	return createReconciled(ctx, c, "CreateShortcut", what,
		func(ctx context.Context) (Shortcut, bool, error) { return c.FindShortcut(ctx, h, sc.Path, sc.Name) },
		func(_ context.Context, found Shortcut) (string, error) { return ShortcutMismatch(found, sc), nil },
		func(ctx context.Context) (Shortcut, error) {
			if h.kql() {
				return c.createTableShortcut(ctx, h, sc)
			}
			return c.createLakehouseShortcut(ctx, h, sc, policy)
		})
}

func (c *Client) createLakehouseShortcut(ctx context.Context, h ShortcutHost, sc Shortcut, policy string) (Shortcut, error) {
	var opts *core.OneLakeShortcutsClientCreateShortcutOptions
	if policy != "" {
		p := core.ShortcutConflictPolicy(policy)
		opts = &core.OneLakeShortcutsClientCreateShortcutOptions{ShortcutConflictPolicy: &p}
	}
	target, err := sc.Target.sdk()
	if err != nil {
		return Shortcut{}, err
	}
	r, err := c.shortcuts.CreateShortcut(ctx, h.WorkspaceID, h.ItemID,
		core.CreateShortcutRequest{Path: &sc.Path, Name: &sc.Name, Target: target}, opts)
	if err != nil {
		return Shortcut{}, err
	}
	return Shortcut{Path: strings.Trim(str(r.Path), "/"), Name: str(r.Name), Target: fromAPITarget(r.Target)}, nil
}

// createTableShortcut creates a KQL database's table shortcut, a long-running operation followed
// through fabplan's own poller like every other.
func (c *Client) createTableShortcut(ctx context.Context, h ShortcutHost, sc Shortcut) (Shortcut, error) {
	body := map[string]any{"name": sc.Name, "enableQueryAcceleration": sc.QueryAcceleration, "target": sc.Target.wire()}
	path := "/v1/workspaces/" + url.PathEscape(h.WorkspaceID) + "/kqlDatabases/" + url.PathEscape(h.ItemID) + "/shortcuts"
	resp, err := c.send(ctx, http.MethodPost, path, body)
	if err != nil {
		return Shortcut{}, err
	}
	var out struct {
		Name              string             `json:"name"`
		QueryAcceleration bool               `json:"enableQueryAcceleration"`
		Target            kqldatabase.Target `json:"target"`
	}
	if err := c.await(ctx, resp, &out); err != nil {
		return Shortcut{}, err
	}
	if out.Name == "" { // an operation without a result: read the shortcut back
		found, ok, err := c.FindShortcut(ctx, h, "", sc.Name)
		if err == nil && !ok {
			err = &Error{Operation: "CreateShortcut", ErrorCode: "TableShortcutNotFound", Message: "the create succeeded but the shortcut cannot be found"}
		}
		return found, err
	}
	return Shortcut{Name: out.Name, Target: fromAPITarget(&out.Target), QueryAcceleration: out.QueryAcceleration}, nil
}

// DeleteShortcut deletes the shortcut at path/name (a KQL database's by name); its target is untouched.
func (c *Client) DeleteShortcut(ctx context.Context, h ShortcutHost, path, name string) error {
	ctx = withCall(ctx, "DeleteShortcut")
	if h.kql() {
		_, err := c.tableShortcuts.DeleteShortcut(ctx, h.WorkspaceID, h.ItemID, name, nil)
		return err
	}
	_, err := c.shortcuts.DeleteShortcut(ctx, h.WorkspaceID, h.ItemID, path, name, nil)
	return err
}
