package builtins

import (
	"context"
	"fmt"

	"go.starlark.net/starlark"

	"github.com/fabplan/fabplan/engine"
	"github.com/fabplan/fabplan/fabric"
)

// fabric.item

// ItemTypes are the item types Fabric's API accepts (the spec's ItemType enum).
var ItemTypes = []string{
	"AnomalyDetector", "ApacheAirflowJob", "AppBackend", "AzureDatabricksStorage", "CopyJob", "CosmosDBDatabase",
	"Dashboard", "DataAgent", "DataBuildToolJob", "DataPipeline", "Dataflow", "Datamart", "DigitalTwinBuilder",
	"DigitalTwinBuilderFlow", "Environment", "EventSchemaSet", "Eventhouse", "Eventstream", "GraphModel",
	"GraphQLApi", "GraphQuerySet", "KQLDashboard", "KQLDatabase", "KQLQueryset", "Lakehouse", "MLExperiment",
	"MLModel", "Map", "MirroredAzureDatabricksCatalog", "MirroredCatalog", "MirroredDatabase", "MirroredWarehouse",
	"MountedDataFactory", "Notebook", "Ontology", "OperationsAgent", "OrgApp", "OrgAppAudience", "PaginatedReport",
	"Plan", "Reflex", "Report", "SQLDatabase", "SQLEndpoint", "SemanticModel", "SnowflakeDatabase",
	"SparkJobDefinition", "UserDataFunction", "VariableLibrary", "Warehouse", "WarehouseSnapshot",
}

// DataBearing item types hold data: prune deletes one only when its workspace says
// allow_destroy=True, and journals the delete as irreversible.
var DataBearing = map[string]bool{
	"Lakehouse": true, "Warehouse": true, "Eventhouse": true, "KQLDatabase": true, "SQLDatabase": true,
}

type itemBuiltin struct{}

func (itemBuiltin) Spec() Spec {
	return Spec{
		Name: "fabric.item",
		Doc:  "An item of any type in a workspace, identified by (workspace, type, name).",
		Params: []Param{
			{Name: "workspace", Type: "workspace", Required: true, Doc: "The workspace, from fabric.workspace(...)."},
			{Name: "type", Type: "string", Required: true, Enum: ItemTypes, Doc: "Fabric item type."},
			{Name: "name", Type: "string", Required: true, Doc: "Display name; unique per workspace and type."},
			{Name: "description", Type: "string", Doc: "Description (at most 256 characters); omitted: not managed (a new item gets none, an existing one keeps its own)."},
			{Name: "folder", Type: "folder", Doc: "Folder, from fabric.folder(...); omitted: not managed (a new item is made at the workspace root, an existing one stays where it is)."},
			{Name: "definition", Type: "definition", Doc: "Parts, from fabric.definition(...)."},
			{Name: "depends_on", Type: "list[item]", Doc: "Items that must be deployed first."},
		},
		Attributes: ItemAttributes,
		Updatable:  []string{"description", "folder_id", "definition"},
	}
}

func (itemBuiltin) Interpret(ev *evaluation, c *call) (starlark.Value, error) {
	ws := c.handle("workspace")
	typ, name := c.str("type"), c.str("name")
	if name == "" {
		return nil, fmt.Errorf("fabric.item: name must not be empty")
	}
	r := &itemResource{
		addr:        ws.addr.Join(engine.Segment("item", typ, name)),
		pos:         c.pos,
		workspace:   ws.addr,
		typ:         typ,
		name:        name,
		description: c.str("description"),
		manageDesc:  c.has("description"),
		attrUse:     &attributeUse{},
	}
	if f := c.handle("folder"); f != nil {
		r.folder = f.addr
	}
	if d := c.handle("definition"); d != nil {
		r.definition = d.data.(*definitionValue)
	}
	if l := c.value("depends_on"); l != nil {
		it := l.(starlark.Iterable).Iterate()
		var x starlark.Value
		for it.Next(&x) {
			r.dependsOn = append(r.dependsOn, x.(*Handle).addr)
		}
		it.Done()
	}
	ev.add(r)
	return newHandle("item", r.addr, starlark.StringDict{
		"name": starlark.String(name), "type": starlark.String(typ), "workspace": ws,
	}, r).withAttributes("a "+typ, ItemAttributes[typ], r.attrUse), nil
}

type itemResource struct {
	addr        engine.Addr
	pos         engine.Pos
	workspace   engine.Addr
	folder      engine.Addr
	typ, name   string
	description string
	// manageDesc is set when the plan gives a description: an omitted one is left as it is.
	manageDesc bool
	definition *definitionValue
	dependsOn  []engine.Addr
	// attrUse says which of the type's attributes the plan reads.
	attrUse *attributeUse
}

// outputs are the attributes of the item the plan reads.
func (r *itemResource) outputs() []Attribute { return r.attrUse.used(ItemAttributes[r.typ]) }

var _ engine.Resource = (*itemResource)(nil)

func (r *itemResource) Addr() engine.Addr { return r.addr }
func (r *itemResource) Kind() string      { return "item" }
func (r *itemResource) Pos() engine.Pos   { return r.pos }
func (r *itemResource) Deps() []engine.Addr {
	deps := []engine.Addr{r.workspace}
	if r.folder != "" {
		deps = append(deps, r.folder)
	}
	if r.definition != nil {
		deps = append(deps, r.definition.deps()...)
	}
	return append(deps, r.dependsOn...)
}

func (r *itemResource) Validate(g *engine.Graph) []engine.Diagnostic {
	ds := validateItem(r)
	if r.folder != "" {
		if f, ok := g.Get(r.folder); ok && f.Addr().Root() != r.workspace {
			ds = append(ds, engine.Diagnostic{Pos: r.pos, Related: f.Pos(), Message: fmt.Sprintf("%s: folder %s is in another workspace", r.addr, r.folder)})
		}
	}
	return ds
}

// itemLive is the pre-image of an item: what undo restores.
type itemLive struct {
	Item       fabric.Item
	Definition *fabric.Definition
}

func itemsMemoKey(wsID string) string { return "items:" + wsID }

func (r *itemResource) Refresh(ctx context.Context, rt *engine.Runtime) (engine.Live, error) {
	wsID := rt.ID(r.workspace)
	if wsID == "" {
		return engine.Live{}, nil
	}
	v, err := rt.Memo(itemsMemoKey(wsID), func() (any, error) { return rt.Client.ListItems(ctx, wsID, "") })
	if err != nil {
		return engine.Live{}, err
	}
	for _, it := range v.([]fabric.Item) {
		if it.Type != r.typ || it.DisplayName != r.name {
			continue
		}
		live := itemLive{Item: it}
		attrs := map[string]string{"name": it.DisplayName, "description": it.Description, "folder_id": it.FolderID}
		// Only items whose definition the plan manages cost a getDefinition.
		if r.definition != nil {
			def, err := rt.Client.GetItemDefinition(ctx, wsID, it.ID, r.definition.format)
			if err != nil {
				return engine.Live{}, err
			}
			live.Definition = &def
			attrs["definition"] = definitionDigest(def.Parts)
		}
		outputs, err := readItemOutputs(ctx, rt, wsID, r.typ, it.ID, r.outputs())
		if err != nil {
			return engine.Live{}, err
		}
		return engine.Live{Exists: true, ID: it.ID, Attrs: attrs, Data: live, Outputs: outputs}, nil
	}
	return engine.Live{}, nil
}

// definitionDigest summarizes a definition's parts after normalization, .platform excluded.
func definitionDigest(parts []fabric.Part) string { return engine.DefinitionDigest(parts) }

func (r *itemResource) wantFolder(rt *engine.Runtime) (string, bool) {
	if r.folder == "" {
		return "", true
	}
	id := rt.ID(r.folder)
	return id, id != ""
}

func (r *itemResource) Diff(live engine.Live, rt *engine.Runtime) engine.Change {
	folderID, folderKnown := r.wantFolder(rt)
	if !live.Exists {
		ch := engine.Change{Action: engine.Create, Attrs: []engine.AttrChange{{Name: "type", New: r.typ}, {Name: "name", New: r.name}}}
		if r.manageDesc {
			ch.Attrs = append(ch.Attrs, engine.AttrChange{Name: "description", New: r.description})
		}
		ch.Attrs = append(ch.Attrs, engine.AttrChange{Name: "id", Unknown: true})
		if r.folder != "" {
			ch.Attrs = append(ch.Attrs, engine.AttrChange{Name: "folder_id", New: folderID, Unknown: !folderKnown})
		}
		if r.definition != nil {
			parts, known := r.definition.render(rt)
			ch.Attrs = append(ch.Attrs, r.definition.hideSecrets(engine.AttrChange{Name: "definition", New: definitionDigest(parts),
				Unknown: !known, Parts: engine.PlannedParts(parts)}, false))
			ch.Attrs = append(ch.Attrs, r.definition.templateAttr(false)...)
		}
		ch.Attrs = append(ch.Attrs, outputAttrs(r.outputs(), live)...)
		return ch
	}
	// Omitted optional attributes are not managed: they are neither compared nor sent.
	ch := engine.Change{Action: engine.NoOp, Attrs: []engine.AttrChange{
		{Name: "type", Old: r.typ, New: r.typ},
		{Name: "name", Old: r.name, New: r.name},
	}}
	if r.manageDesc {
		ch.Attrs = append(ch.Attrs, engine.AttrChange{Name: "description", Old: live.Attrs["description"], New: r.description})
	}
	if r.folder != "" {
		ch.Attrs = append(ch.Attrs, engine.AttrChange{Name: "folder_id", Old: live.Attrs["folder_id"], New: folderID, Unknown: !folderKnown})
	}
	if r.definition != nil {
		parts, known := r.definition.render(rt)
		def := engine.AttrChange{Name: "definition", Old: live.Attrs["definition"], New: definitionDigest(parts), Unknown: !known}
		if l, ok := live.Data.(itemLive); ok && l.Definition != nil && known {
			def.Parts = engine.DiffParts(l.Definition.Parts, parts)
		}
		ch.Attrs = append(ch.Attrs, r.definition.hideSecrets(def, liveSensitive(rt, live.ID)))
		ch.Attrs = append(ch.Attrs, r.definition.templateAttr(true)...)
	}
	ch.Attrs = append(ch.Attrs, outputAttrs(r.outputs(), live)...)
	return engine.Compare(ch.Attrs)
}

// itemUndo is the argument of the item undo operations.
type itemUndo struct {
	WorkspaceID string             `json:"workspace_id"`
	ID          string             `json:"id,omitempty"`
	Type        string             `json:"type,omitempty"`
	Name        string             `json:"name,omitempty"`
	Description string             `json:"description"`
	FolderID    string             `json:"folder_id"`
	Definition  *fabric.Definition `json:"definition,omitempty"`
}

func (r *itemResource) Apply(ctx context.Context, rt *engine.Runtime, ch *engine.Change, intent func(engine.Undo) error) (engine.Applied, error) {
	wsID := rt.ID(r.workspace)
	folderID, _ := r.wantFolder(rt)
	defer rt.Forget(itemsMemoKey(wsID))
	switch ch.Action {
	case engine.Create:
		req := fabric.ItemCreate{Type: r.typ, DisplayName: r.name, Description: r.description, FolderID: folderID}
		if r.definition != nil {
			req.Definition = r.definition.toFabric(rt)
		}
		sent := itemUndo{WorkspaceID: wsID, Type: r.typ, Name: r.name, Description: r.description, FolderID: folderID}
		it, err := createJournalled(intent, engine.NewUndo("item.delete", sent), func() (fabric.Item, error) {
			return rt.Client.CreateItem(ctx, wsID, req)
		})
		if err != nil {
			return engine.Applied{}, err
		}
		// What the plan reads from the new item is there once Fabric has provisioned it.
		outputs, err := readItemOutputs(ctx, rt, wsID, r.typ, it.ID, r.outputs())
		if err != nil {
			return engine.Applied{}, fmt.Errorf("created %s (id %s), but reading its attributes failed: %w", r.addr, it.ID, err)
		}
		return engine.Applied{ID: it.ID, Undo: engine.NewUndo("item.delete", itemUndo{WorkspaceID: wsID, ID: it.ID, Type: r.typ, Name: r.name}),
			Sensitive: r.definition != nil && r.definition.sensitive, Outputs: outputs}, nil
	case engine.Update:
		before := ch.Live.Data.(itemLive)
		undo := engine.NewUndo("item.restore", itemUndo{
			WorkspaceID: wsID, ID: before.Item.ID, Description: before.Item.Description,
			FolderID: before.Item.FolderID, Definition: r.definition.journalled(before.Definition, liveSensitive(rt, before.Item.ID)),
		})
		if err := intent(undo); err != nil {
			return engine.Applied{}, err
		}
		if ch.Wants("description") && before.Item.Description != r.description {
			desc := r.description
			if _, err := rt.Client.UpdateItem(ctx, wsID, before.Item.ID, fabric.ItemUpdate{Description: &desc}); err != nil {
				return engine.Applied{}, err
			}
		}
		if ch.Wants("folder_id") && before.Item.FolderID != folderID {
			if err := rt.Client.MoveItem(ctx, wsID, before.Item.ID, folderID); err != nil {
				return engine.Applied{}, err
			}
		}
		if r.definition != nil && ch.Wants("definition") {
			want := r.definition.toFabric(rt)
			if before.Definition == nil || definitionDigest(before.Definition.Parts) != definitionDigest(want.Parts) {
				if err := rt.Client.UpdateItemDefinition(ctx, wsID, before.Item.ID, *want, false); err != nil {
					return engine.Applied{}, err
				}
			}
		}
		return engine.Applied{ID: before.Item.ID, Undo: undo, Sensitive: r.definition != nil && r.definition.sensitive}, nil
	}
	return engine.Applied{}, fmt.Errorf("item: cannot %s", ch.Action)
}

func (itemBuiltin) UndoOps() engine.UndoRegistry {
	return engine.UndoRegistry{
		"item.recreate": undoOp(recreateItem),
		"item.delete": undoOp(func(ctx context.Context, rt *engine.Runtime, u itemUndo) error {
			what := fmt.Sprintf("%s %q in workspace %s", u.Type, u.Name, u.WorkspaceID)
			return deleteCreated("DeleteItem", what, u.ID, func() (string, string, bool, error) {
				it, ok, err := rt.Client.FindItem(ctx, u.WorkspaceID, u.Type, u.Name)
				sent := fabric.ItemCreate{Type: u.Type, DisplayName: u.Name, Description: u.Description, FolderID: u.FolderID}
				return it.ID, sent.Mismatch(it), ok, err
			}, func(id string) error { return rt.Client.DeleteItem(ctx, u.WorkspaceID, id) })
		}),
		"item.restore": undoOp(func(ctx context.Context, rt *engine.Runtime, u itemUndo) error {
			it, err := rt.Client.GetItem(ctx, u.WorkspaceID, u.ID)
			if err != nil {
				return err
			}
			if it.Description != u.Description {
				if _, err := rt.Client.UpdateItem(ctx, u.WorkspaceID, u.ID, fabric.ItemUpdate{Description: &u.Description}); err != nil {
					return err
				}
			}
			if it.FolderID != u.FolderID {
				if err := rt.Client.MoveItem(ctx, u.WorkspaceID, u.ID, u.FolderID); err != nil {
					return err
				}
			}
			if u.Definition != nil {
				return rt.Client.UpdateItemDefinition(ctx, u.WorkspaceID, u.ID, *u.Definition, false)
			}
			return nil
		}),
	}
}
