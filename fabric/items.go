package fabric

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/microsoft/fabric-sdk-go/fabric/core"
)

// Item is a Fabric item (notebook, report, lakehouse...).
type Item struct{ ID, WorkspaceID, Type, DisplayName, Description, FolderID string }

// Part is one file of an item definition; Payload is decoded (not base64).
type Part struct {
	Path    string
	Payload []byte
}

// Definition is an item definition.
type Definition struct {
	Format string
	Parts  []Part
}

// ItemCreate is the body of CreateItem; Definition and FolderID are optional.
type ItemCreate struct {
	Type, DisplayName, Description, FolderID string
	Definition                               *Definition
}

// ItemUpdate changes the fields that are not nil.
type ItemUpdate struct{ DisplayName, Description *string }

// wire forms (JSON as Fabric speaks it)
type itemJSON struct {
	ID          string `json:"id,omitempty"`
	WorkspaceID string `json:"workspaceId,omitempty"`
	Type        string `json:"type"`
	DisplayName string `json:"displayName"`
	Description string `json:"description,omitempty"`
	FolderID    string `json:"folderId,omitempty"`
}

type partJSON struct {
	Path        string `json:"path"`
	Payload     string `json:"payload"`
	PayloadType string `json:"payloadType"`
}

type definitionJSON struct {
	Format string     `json:"format,omitempty"`
	Parts  []partJSON `json:"parts"`
}

func (d Definition) wire() *definitionJSON {
	w := &definitionJSON{Format: d.Format, Parts: make([]partJSON, len(d.Parts))}
	for i, p := range d.Parts {
		w.Parts[i] = partJSON{Path: p.Path, Payload: base64.StdEncoding.EncodeToString(p.Payload), PayloadType: "InlineBase64"}
	}
	return w
}

func (w definitionJSON) decode(op string) (Definition, error) {
	d := Definition{Format: w.Format, Parts: make([]Part, len(w.Parts))}
	for i, p := range w.Parts {
		b, err := base64.StdEncoding.DecodeString(p.Payload)
		if err != nil {
			return Definition{}, &Error{Operation: op, ErrorCode: "InvalidResponse",
				Message: fmt.Sprintf("definition part %s: payload is not base64: %v", p.Path, err)}
		}
		d.Parts[i] = Part{Path: p.Path, Payload: b}
	}
	return d, nil
}

func (j itemJSON) item() Item {
	return Item{ID: j.ID, WorkspaceID: j.WorkspaceID, Type: j.Type, DisplayName: j.DisplayName, Description: j.Description, FolderID: j.FolderID}
}

func fromSDKItem(i core.Item) Item {
	return Item{ID: str(i.ID), WorkspaceID: str(i.WorkspaceID), Type: str(i.Type), DisplayName: str(i.DisplayName),
		Description: str(i.Description), FolderID: str(i.FolderID)}
}

func itemsPath(ws string) string { return "/v1/workspaces/" + url.PathEscape(ws) + "/items" }

// ListItems lists the items of a workspace (all folders); itemType "" lists every type.
func (c *Client) ListItems(ctx context.Context, ws, itemType string) ([]Item, error) {
	list, err := c.items.ListItems(withCall(ctx, "ListItems"), ws, &core.ItemsClientListItemsOptions{Type: ptr(itemType)})
	return convertAll(list, err, fromSDKItem)
}

// GetItem reads one item.
func (c *Client) GetItem(ctx context.Context, ws, id string) (Item, error) {
	r, err := c.items.GetItem(withCall(ctx, "GetItem"), ws, id, nil)
	if err != nil {
		return Item{}, err
	}
	return fromSDKItem(r.Item), nil
}

// FindItem looks an item up by its natural key, workspace + type + display name.
func (c *Client) FindItem(ctx context.Context, ws, itemType, name string) (Item, bool, error) {
	all, err := c.ListItems(ctx, ws, itemType)
	return findFirst(all, err, func(it Item) bool { return it.Type == itemType && strings.EqualFold(it.DisplayName, name) })
}

// Mismatch says how it differs from what this create sends; "" when it is what it would have made.
// The definition is not compared: reading it back costs an operation, and Fabric rewrites parts.
func (in ItemCreate) Mismatch(it Item) string {
	return mismatch(
		field{"type", in.Type, it.Type, true},
		field{"name", in.DisplayName, it.DisplayName, true},
		field{"description", in.Description, it.Description, true},
		field{"folder", in.FolderID, it.FolderID, false})
}

// CreateItem creates an item and follows the long-running operation to its result. A lost or
// failed answer is reconciled by workspace + type + name (an item found that way is taken only if
// it is what was sent); ItemDisplayNameNotAvailableYet is retried on a minutes-scale schedule.
func (c *Client) CreateItem(ctx context.Context, ws string, in ItemCreate) (Item, error) {
	body := struct {
		itemJSON
		Definition *definitionJSON `json:"definition,omitempty"`
	}{itemJSON: itemJSON{Type: in.Type, DisplayName: in.DisplayName, Description: in.Description, FolderID: in.FolderID}}
	if in.Definition != nil {
		body.Definition = in.Definition.wire()
	}
	return createReconciled(ctx, c, "CreateItem", fmt.Sprintf("%s %q in workspace %s", in.Type, in.DisplayName, ws),
		func(ctx context.Context) (Item, bool, error) { return c.FindItem(ctx, ws, in.Type, in.DisplayName) },
		func(_ context.Context, it Item) (string, error) { return in.Mismatch(it), nil },
		func(ctx context.Context) (Item, error) {
			resp, err := c.send(ctx, http.MethodPost, itemsPath(ws), body)
			if err != nil {
				return Item{}, err
			}
			var out itemJSON
			if err := c.await(ctx, resp, &out); err != nil {
				return Item{}, err
			}
			if out.ID == "" { // an operation without a result: read the item back
				it, ok, err := c.FindItem(ctx, ws, in.Type, in.DisplayName)
				if err == nil && !ok {
					err = &Error{Operation: "CreateItem", ErrorCode: "ItemNotFound", Message: "the create succeeded but the item cannot be found"}
				}
				return it, err
			}
			if out.WorkspaceID == "" {
				out.WorkspaceID = ws
			}
			return out.item(), nil
		})
}

// UpdateItem changes name and/or description.
func (c *Client) UpdateItem(ctx context.Context, ws, id string, in ItemUpdate) (Item, error) {
	r, err := c.items.UpdateItem(withCall(ctx, "UpdateItem"), ws, id,
		core.UpdateItemRequest{DisplayName: in.DisplayName, Description: in.Description}, nil)
	if err != nil {
		return Item{}, err
	}
	return fromSDKItem(r.Item), nil
}

// MoveItem moves an item into a folder ("" = the workspace root).
func (c *Client) MoveItem(ctx context.Context, ws, id, folderID string) error {
	_, err := c.items.MoveItem(withCall(ctx, "MoveItem"), ws, id, core.MoveItemRequest{TargetFolderID: ptr(folderID)}, nil)
	return err
}

// DeleteItem deletes an item.
func (c *Client) DeleteItem(ctx context.Context, ws, id string) error {
	_, err := c.items.DeleteItem(withCall(ctx, "DeleteItem"), ws, id, nil)
	return err
}

// GetItemDefinition reads an item's definition (format "" = the item type's default), following the
// long-running operation.
func (c *Client) GetItemDefinition(ctx context.Context, ws, id, format string) (Definition, error) {
	const op = "GetItemDefinition"
	ctx = withCall(ctx, op)
	path := itemsPath(ws) + "/" + url.PathEscape(id) + "/getDefinition"
	if format != "" {
		path += "?format=" + url.QueryEscape(format)
	}
	var out struct {
		Definition definitionJSON `json:"definition"`
	}
	if err := c.lro(ctx, http.MethodPost, path, nil, &out); err != nil {
		return Definition{}, err
	}
	return out.Definition.decode(op)
}

// UpdateItemDefinition replaces an item's definition; updateMetadata applies the .platform part too.
// Setting a whole definition is safe to repeat, so an operation that failed for a passing reason is
// sent again.
func (c *Client) UpdateItemDefinition(ctx context.Context, ws, id string, def Definition, updateMetadata bool) error {
	ctx = withCall(ctx, "UpdateItemDefinition")
	path := itemsPath(ws) + "/" + url.PathEscape(id) + "/updateDefinition"
	if updateMetadata {
		path += "?updateMetadata=true"
	}
	return c.lro(ctx, http.MethodPost, path, map[string]any{"definition": def.wire()}, nil)
}
