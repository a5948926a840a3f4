package fabric

import (
	"context"
	"fmt"
	"strings"

	"github.com/microsoft/fabric-sdk-go/fabric/core"
)

// Folder is a workspace folder; ParentFolderID "" is the workspace root.
type Folder struct{ ID, WorkspaceID, DisplayName, ParentFolderID string }

func fromSDKFolder(f core.Folder) Folder {
	return Folder{ID: str(f.ID), WorkspaceID: str(f.WorkspaceID), DisplayName: str(f.DisplayName), ParentFolderID: str(f.ParentFolderID)}
}

// ListFolders lists every folder of a workspace, nested ones included.
func (c *Client) ListFolders(ctx context.Context, ws string) ([]Folder, error) {
	list, err := c.folders.ListFolders(withCall(ctx, "ListFolders"), ws, nil)
	return convertAll(list, err, fromSDKFolder)
}

// FindFolder looks a folder up by its natural key: workspace, parent and name.
func (c *Client) FindFolder(ctx context.Context, ws, parentID, name string) (Folder, bool, error) {
	all, err := c.ListFolders(ctx, ws)
	return findFirst(all, err, func(f Folder) bool { return f.ParentFolderID == parentID && strings.EqualFold(f.DisplayName, name) })
}

// FolderMismatch says how the folder found differs from the one a create of name under parentID
// would have made: another name (in case), or content. A folder has no other attribute, so that it
// holds nothing is the evidence that it is new; "" when it matches.
func (c *Client) FolderMismatch(ctx context.Context, ws string, f Folder, name, parentID string) (string, error) {
	if why := mismatch(field{"name", name, f.DisplayName, true}, field{"parent folder", parentID, f.ParentFolderID, false}); why != "" {
		return why, nil
	}
	items, err := c.ListItems(ctx, ws, "")
	if err != nil {
		return "", err
	}
	for _, it := range items {
		if strings.EqualFold(it.FolderID, f.ID) {
			return fmt.Sprintf("it holds the %s %q, which this run did not put there", it.Type, it.DisplayName), nil
		}
	}
	folders, err := c.ListFolders(ctx, ws)
	if err != nil {
		return "", err
	}
	for _, sub := range folders {
		if strings.EqualFold(sub.ParentFolderID, f.ID) {
			return fmt.Sprintf("it holds the folder %q, which this run did not put there", sub.DisplayName), nil
		}
	}
	return "", nil
}

// CreateFolder creates a folder under parentID ("" = root), reconciled like every create: a folder
// found by name after an uncertain answer is taken only if it is empty.
func (c *Client) CreateFolder(ctx context.Context, ws, name, parentID string) (Folder, error) {
	return createReconciled(ctx, c, "CreateFolder", fmt.Sprintf("folder %q in workspace %s", name, ws),
		func(ctx context.Context) (Folder, bool, error) { return c.FindFolder(ctx, ws, parentID, name) },
		func(ctx context.Context, f Folder) (string, error) {
			return c.FolderMismatch(ctx, ws, f, name, parentID)
		},
		func(ctx context.Context) (Folder, error) {
			r, err := c.folders.CreateFolder(ctx, ws, core.CreateFolderRequest{DisplayName: &name, ParentFolderID: ptr(parentID)}, nil)
			if err != nil {
				return Folder{}, err
			}
			return fromSDKFolder(r.Folder), nil
		})
}

// RenameFolder changes a folder's name.
func (c *Client) RenameFolder(ctx context.Context, ws, id, name string) (Folder, error) {
	r, err := c.folders.UpdateFolder(withCall(ctx, "RenameFolder"), ws, id, core.UpdateFolderRequest{DisplayName: &name}, nil)
	if err != nil {
		return Folder{}, err
	}
	return fromSDKFolder(r.Folder), nil
}

// MoveFolder moves a folder under parentID ("" = root).
func (c *Client) MoveFolder(ctx context.Context, ws, id, parentID string) (Folder, error) {
	r, err := c.folders.MoveFolder(withCall(ctx, "MoveFolder"), ws, id, core.MoveFolderRequest{TargetFolderID: ptr(parentID)}, nil)
	if err != nil {
		return Folder{}, err
	}
	return fromSDKFolder(r.Folder), nil
}

// DeleteFolder deletes an empty folder (FolderNotEmpty otherwise).
func (c *Client) DeleteFolder(ctx context.Context, ws, id string) error {
	_, err := c.folders.DeleteFolder(withCall(ctx, "DeleteFolder"), ws, id, nil)
	return err
}
