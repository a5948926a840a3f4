package builtins

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/fabplan/fabplan/engine"
	"github.com/fabplan/fabplan/fabric"
)

// Undo previews: what each undo operation would act on, read from live state without changing
// anything, so that `fabplan rollback` can show the rollback as a plan and find the objects
// changed since the run. The attribute names are the ones each resource's Refresh reports, so
// that they compare with the post-images the journal holds.

// PreviewRegistry returns the preview of every undo operation that has one.
func PreviewRegistry() engine.PreviewRegistry {
	reg := engine.PreviewRegistry{
		"item.delete": previewOp(func(ctx context.Context, rt *engine.Runtime, u itemUndo) (engine.UndoPreview, error) {
			pv := engine.UndoPreview{Action: engine.Delete, Kind: "item", DataBearing: DataBearing[u.Type]}
			return pv, previewItem(ctx, rt, u, &pv)
		}),
		"item.restore": previewOp(func(ctx context.Context, rt *engine.Runtime, u itemUndo) (engine.UndoPreview, error) {
			pv := engine.UndoPreview{Action: engine.Update, Kind: "item",
				Restores: map[string]string{"description": u.Description, "folder_id": u.FolderID}}
			if err := previewItem(ctx, rt, u, &pv); err != nil || !pv.Exists || u.Definition == nil {
				return pv, err
			}
			def, err := rt.Client.GetItemDefinition(ctx, u.WorkspaceID, pv.ID, u.Definition.Format)
			if err != nil {
				return pv, err
			}
			pv.Live["definition"] = definitionDigest(def.Parts)
			pv.Restores["definition"] = definitionDigest(u.Definition.Parts)
			pv.Sensitive = map[string]bool{"definition": rt.Sensitive[pv.ID]}
			return pv, nil
		}),
		"item.recreate": previewOp(func(ctx context.Context, rt *engine.Runtime, u itemUndo) (engine.UndoPreview, error) {
			pv := engine.UndoPreview{Action: engine.Create, Kind: "item", Restores: map[string]string{
				"type": u.Type, "name": u.Name, "description": u.Description, "folder_id": u.FolderID}}
			if u.Definition != nil {
				pv.Restores["definition"] = definitionDigest(u.Definition.Parts)
			}
			return pv, previewItem(ctx, rt, itemUndo{WorkspaceID: u.WorkspaceID, Type: u.Type, Name: u.Name}, &pv)
		}),
		"workspace.delete": previewOp(func(ctx context.Context, rt *engine.Runtime, u workspaceUndo) (engine.UndoPreview, error) {
			pv := engine.UndoPreview{Action: engine.Delete, Kind: "workspace"}
			return pv, previewWorkspace(ctx, rt, u, &pv)
		}),
		"workspace.restore": previewOp(func(ctx context.Context, rt *engine.Runtime, u workspaceUndo) (engine.UndoPreview, error) {
			pv := engine.UndoPreview{Action: engine.Update, Kind: "workspace",
				Restores: map[string]string{"description": u.Description, "capacity_id": u.CapacityID}}
			return pv, previewWorkspace(ctx, rt, u, &pv)
		}),
		"role.delete": previewOp(func(ctx context.Context, rt *engine.Runtime, u roleUndo) (engine.UndoPreview, error) {
			pv := engine.UndoPreview{Action: engine.Delete, Kind: "role_assignment"}
			return pv, previewRole(ctx, rt, u, &pv)
		}),
		"role.restore": previewOp(func(ctx context.Context, rt *engine.Runtime, u roleUndo) (engine.UndoPreview, error) {
			pv := engine.UndoPreview{Action: engine.Update, Kind: "role_assignment", Restores: map[string]string{"role": u.Role}}
			return pv, previewRole(ctx, rt, u, &pv)
		}),
		"shortcut.delete": previewOp(func(ctx context.Context, rt *engine.Runtime, u shortcutUndo) (engine.UndoPreview, error) {
			pv := engine.UndoPreview{Action: engine.Delete, Kind: "shortcut"}
			return pv, previewShortcut(ctx, rt, u, &pv)
		}),
		"shortcut.restore": previewOp(func(ctx context.Context, rt *engine.Runtime, u shortcutUndo) (engine.UndoPreview, error) {
			pv := engine.UndoPreview{Action: engine.Update, Kind: "shortcut", Restores: map[string]string{}}
			if u.Previous != nil {
				pv.Restores = (&shortcutResource{itemType: u.Host.ItemType}).attrs(*u.Previous)
			}
			return pv, previewShortcut(ctx, rt, u, &pv)
		}),
		"schedule.delete": previewOp(func(ctx context.Context, rt *engine.Runtime, u scheduleUndo) (engine.UndoPreview, error) {
			pv := engine.UndoPreview{Action: engine.Delete, Kind: "schedule"}
			return pv, previewSchedule(ctx, rt, u, &pv)
		}),
		"schedule.restore": previewOp(func(ctx context.Context, rt *engine.Runtime, u scheduleUndo) (engine.UndoPreview, error) {
			pv := engine.UndoPreview{Action: engine.Update, Kind: "schedule", Restores: map[string]string{}}
			if u.Previous != nil {
				pv.Restores = scheduleAttrs(u.Previous.Enabled, u.Previous.Config)
			}
			return pv, previewSchedule(ctx, rt, u, &pv)
		}),
		"folder.delete": previewOp(func(ctx context.Context, rt *engine.Runtime, u folderUndo) (engine.UndoPreview, error) {
			pv := engine.UndoPreview{Action: engine.Delete, Kind: "folder"}
			folders, err := rt.Client.ListFolders(ctx, u.WorkspaceID)
			if err = ignoreNotFound(err); err != nil {
				return pv, err
			}
			for _, f := range folders {
				if f.ID == u.ID || u.ID == "" && f.DisplayName == u.Name && f.ParentFolderID == u.ParentID {
					pv.Exists, pv.ID, pv.Live = true, f.ID, map[string]string{"name": f.DisplayName}
				}
			}
			return pv, nil
		}),
	}
	for _, more := range []engine.PreviewRegistry{connectionPreviews()} {
		for op, fn := range more {
			reg[op] = fn
		}
	}
	return reg
}

// previewRole reads the principal's role assignment in the workspace.
func previewRole(ctx context.Context, rt *engine.Runtime, u roleUndo, pv *engine.UndoPreview) error {
	ra, ok, err := rt.Client.FindRoleAssignment(ctx, u.WorkspaceID, u.PrincipalID)
	if err = ignoreNotFound(err); err != nil || !ok {
		return err
	}
	pv.Exists, pv.ID = true, ra.ID
	pv.Live = map[string]string{"role": ra.Role, "principal_id": ra.Principal.ID}
	return nil
}

// previewOp adapts a typed preview to the journal's JSON arguments.
func previewOp[T any](fn func(ctx context.Context, rt *engine.Runtime, args T) (engine.UndoPreview, error)) engine.PreviewFunc {
	return func(ctx context.Context, rt *engine.Runtime, raw json.RawMessage) (engine.UndoPreview, error) {
		var args T
		if err := json.Unmarshal(raw, &args); err != nil {
			return engine.UndoPreview{}, fmt.Errorf("undo arguments: %w", err)
		}
		return fn(ctx, rt, args)
	}
}

// previewItem reads the item an undo acts on: by id when the journal knows it, else by its
// natural key (a create whose outcome is unknown).
func previewItem(ctx context.Context, rt *engine.Runtime, u itemUndo, pv *engine.UndoPreview) error {
	var it fabric.Item
	var err error
	if u.ID != "" {
		it, err = rt.Client.GetItem(ctx, u.WorkspaceID, u.ID)
		pv.Exists = err == nil
	} else {
		it, pv.Exists, err = rt.Client.FindItem(ctx, u.WorkspaceID, u.Type, u.Name)
	}
	if err = ignoreNotFound(err); err != nil || !pv.Exists {
		return err
	}
	pv.ID = it.ID
	pv.DataBearing = pv.DataBearing || pv.Action == engine.Delete && DataBearing[it.Type]
	pv.Live = map[string]string{"name": it.DisplayName, "description": it.Description, "folder_id": it.FolderID}
	return nil
}

// previewWorkspace reads the workspace an undo acts on, by id or else by name.
func previewWorkspace(ctx context.Context, rt *engine.Runtime, u workspaceUndo, pv *engine.UndoPreview) error {
	var ws fabric.Workspace
	var err error
	if u.ID != "" {
		ws, err = rt.Client.GetWorkspace(ctx, u.ID)
		pv.Exists = err == nil
	} else {
		ws, pv.Exists, err = rt.Client.FindWorkspace(ctx, u.Name)
	}
	if err = ignoreNotFound(err); err != nil || !pv.Exists {
		return err
	}
	pv.ID = ws.ID
	pv.Live = map[string]string{"name": ws.DisplayName, "description": ws.Description, "capacity_id": ws.CapacityID}
	return nil
}
