package builtins

import (
	"context"
	"fmt"

	"github.com/fabplan/fabplan/engine"
	"github.com/fabplan/fabplan/fabric"
)

// Pruning: items in a managed workspace that the plan does not declare. They are reported as not
// managed; with prune=True on the workspace, those fabplan created (its journals say so) are
// deleted, after every other change, keeping their definition so that undo can recreate them.
// Data-bearing items are deleted only with allow_destroy=True, and their deletion is irreversible.

var _ engine.Inventory = (*workspaceResource)(nil)

// systemTypes are created by Fabric alongside another item (a Lakehouse's SQL endpoint) and go
// with it; they are never reported or pruned.
var systemTypes = map[string]bool{"SQLEndpoint": true}

func (r *workspaceResource) Inventory(ctx context.Context, rt *engine.Runtime, g *engine.Graph) ([]engine.Unmanaged, []engine.Resource, error) {
	wsID := rt.ID(r.addr)
	v, err := rt.Memo(itemsMemoKey(wsID), func() (any, error) { return rt.Client.ListItems(ctx, wsID, "") })
	if err != nil {
		return nil, nil, err
	}
	var unmanaged []engine.Unmanaged
	var deletes []engine.Resource
	for _, it := range v.([]fabric.Item) {
		addr := r.addr.Join(engine.Segment("item", it.Type, it.DisplayName))
		// A looked-up item is the plan's too, read-only: never reported or pruned.
		lookedUp := g.Declares(r.addr.Join(engine.Segment("lookup.item", it.Type, it.DisplayName)))
		if g.Declares(addr) || lookedUp || systemTypes[it.Type] {
			continue
		}
		reason := ""
		switch {
		case !r.prune:
			reason = "prune is off for this workspace"
		case !rt.Owned[it.ID]:
			reason = "not created by fabplan"
		case DataBearing[it.Type] && !r.allowDestroy:
			reason = "holds data; set allow_destroy=True on the workspace to delete it"
		}
		if reason != "" {
			unmanaged = append(unmanaged, engine.Unmanaged{Addr: addr, Workspace: r.addr, Kind: "item",
				Type: it.Type, Name: it.DisplayName, ID: it.ID, Reason: reason})
			continue
		}
		deletes = append(deletes, &itemDeleteResource{addr: addr, ws: r, item: it, graph: g})
	}
	return unmanaged, deletes, nil
}

// itemDeleteResource is an item prune deletes.
type itemDeleteResource struct {
	addr  engine.Addr
	ws    *workspaceResource
	item  fabric.Item
	graph *engine.Graph
}

var _ engine.Resource = (*itemDeleteResource)(nil)

func (r *itemDeleteResource) Addr() engine.Addr                          { return r.addr }
func (r *itemDeleteResource) Kind() string                               { return "item" }
func (r *itemDeleteResource) Pos() engine.Pos                            { return r.ws.pos }
func (r *itemDeleteResource) Validate(*engine.Graph) []engine.Diagnostic { return nil }

// Deps makes the delete wait for every declared resource of its workspace but its Git connection:
// deletes run after the workspace's other changes, and the connection after the deletes, so that
// it commits or updates the workspace as the plan leaves it (docs/builtins.md). Waiting for the
// connection too would close a cycle, since the connection waits for everything in its workspace.
func (r *itemDeleteResource) Deps() []engine.Addr {
	var deps []engine.Addr
	for _, o := range r.graph.Resources() {
		switch o.(type) {
		case *itemDeleteResource, *gitResource:
			continue
		}
		if o.Addr() == r.ws.addr || o.Addr().Root() == r.ws.addr {
			deps = append(deps, o.Addr())
		}
	}
	return deps
}

func (r *itemDeleteResource) Refresh(ctx context.Context, rt *engine.Runtime) (engine.Live, error) {
	live := itemLive{Item: r.item}
	if !DataBearing[r.item.Type] && !rt.Sensitive[r.item.ID] {
		// Keep the definition so that undo can recreate the item as it was.
		def, err := rt.Client.GetItemDefinition(ctx, r.item.WorkspaceID, r.item.ID, "")
		switch {
		case err == nil:
			live.Definition = &def
		case fabric.ErrorCode(err) != "OperationNotSupportedForItem":
			return engine.Live{}, err
		}
	}
	return engine.Live{Exists: true, ID: r.item.ID, Data: live, Attrs: map[string]string{
		"type": r.item.Type, "name": r.item.DisplayName, "description": r.item.Description,
	}}, nil
}

func (r *itemDeleteResource) Diff(live engine.Live, _ *engine.Runtime) engine.Change {
	reason := "not declared in the plan; the workspace has prune=True"
	switch l, _ := live.Data.(itemLive); {
	case DataBearing[r.item.Type]:
		reason += " and allow_destroy=True (irreversible: the data is lost)"
	case l.Definition == nil:
		reason += " (its definition held secrets or cannot be read: undo recreates the item without it)"
	}
	return engine.Change{Action: engine.Delete, Reason: reason, Attrs: []engine.AttrChange{
		{Name: "type", Old: r.item.Type},
		{Name: "name", Old: r.item.DisplayName},
		{Name: "description", Old: r.item.Description},
	}}
}

func (r *itemDeleteResource) Apply(ctx context.Context, rt *engine.Runtime, ch *engine.Change, intent func(engine.Undo) error) (engine.Applied, error) {
	before := ch.Live.Data.(itemLive)
	undo := engine.NewUndo("item.recreate", itemUndo{
		WorkspaceID: before.Item.WorkspaceID, Type: before.Item.Type, Name: before.Item.DisplayName,
		Description: before.Item.Description, FolderID: before.Item.FolderID, Definition: before.Definition,
	})
	if DataBearing[r.item.Type] {
		undo = engine.Undo{Irreversible: true}
	}
	if err := intent(undo); err != nil {
		return engine.Applied{}, err
	}
	defer rt.Forget(itemsMemoKey(before.Item.WorkspaceID))
	if err := ignoreNotFound(rt.Client.DeleteItem(ctx, before.Item.WorkspaceID, before.Item.ID)); err != nil {
		return engine.Applied{}, err
	}
	return engine.Applied{ID: before.Item.ID, Undo: undo}, nil
}

// recreateItem is the undo of a prune: create the item again, as it was, unless it exists.
func recreateItem(ctx context.Context, rt *engine.Runtime, u itemUndo) error {
	if _, exists, err := rt.Client.FindItem(ctx, u.WorkspaceID, u.Type, u.Name); err != nil || exists {
		return err
	}
	_, err := rt.Client.CreateItem(ctx, u.WorkspaceID, fabric.ItemCreate{
		Type: u.Type, DisplayName: u.Name, Description: u.Description, FolderID: u.FolderID, Definition: u.Definition,
	})
	if err != nil {
		return fmt.Errorf("recreating %s %s: %w", u.Type, u.Name, err)
	}
	return nil
}
