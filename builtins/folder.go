package builtins

import (
	"context"
	"fmt"
	"strings"

	"go.starlark.net/starlark"

	"github.com/fabplan/fabplan/engine"
	"github.com/fabplan/fabplan/fabric"
)

// fabric.folder

type folderBuiltin struct{}

func (folderBuiltin) Spec() Spec {
	return Spec{
		Name: "fabric.folder",
		Doc:  "A folder in a workspace, identified by its name under its parent.",
		Params: []Param{
			{Name: "workspace", Type: "workspace", Required: true, Doc: "The workspace, from fabric.workspace(...)."},
			{Name: "name", Type: "string", Required: true, Doc: "Folder display name."},
			{Name: "parent", Type: "folder", Doc: "Parent folder; default: the workspace root."},
		},
	}
}

func (folderBuiltin) Interpret(ev *evaluation, c *call) (starlark.Value, error) {
	ws := c.handle("workspace")
	name := c.str("name")
	if name == "" || strings.ContainsAny(name, `/\`) {
		return nil, fmt.Errorf("fabric.folder: name %q is not a valid folder name (non-empty, no / or \\)", name)
	}
	r := &folderResource{pos: c.pos, workspace: ws.addr, name: name, path: name}
	if p := c.handle("parent"); p != nil {
		parent := p.data.(*folderResource)
		if parent.workspace != ws.addr {
			return nil, fmt.Errorf("fabric.folder: parent folder %s is in another workspace", parent.addr)
		}
		r.parent, r.path = parent.addr, parent.path+"/"+name
	}
	r.addr = ws.addr.Join(engine.Segment("folder", r.path))
	ev.add(r)
	return newHandle("folder", r.addr, starlark.StringDict{"name": starlark.String(name), "path": starlark.String(r.path)}, r), nil
}

type folderResource struct {
	addr      engine.Addr
	pos       engine.Pos
	workspace engine.Addr
	parent    engine.Addr
	name      string
	path      string
}

var _ engine.Resource = (*folderResource)(nil)

func (r *folderResource) Addr() engine.Addr { return r.addr }
func (r *folderResource) Kind() string      { return "folder" }
func (r *folderResource) Pos() engine.Pos   { return r.pos }
func (r *folderResource) Deps() []engine.Addr {
	if r.parent != "" {
		return []engine.Addr{r.workspace, r.parent}
	}
	return []engine.Addr{r.workspace}
}
func (r *folderResource) Validate(*engine.Graph) []engine.Diagnostic { return validateFolder(r) }

func foldersMemoKey(wsID string) string { return "folders:" + wsID }

func (r *folderResource) parentID(rt *engine.Runtime) string {
	if r.parent == "" {
		return ""
	}
	return rt.ID(r.parent)
}

func (r *folderResource) Refresh(ctx context.Context, rt *engine.Runtime) (engine.Live, error) {
	wsID := rt.ID(r.workspace)
	if wsID == "" || (r.parent != "" && r.parentID(rt) == "") {
		return engine.Live{}, nil
	}
	v, err := rt.Memo(foldersMemoKey(wsID), func() (any, error) { return rt.Client.ListFolders(ctx, wsID) })
	if err != nil {
		return engine.Live{}, err
	}
	parentID := r.parentID(rt)
	for _, f := range v.([]fabric.Folder) {
		if f.DisplayName == r.name && f.ParentFolderID == parentID {
			return engine.Live{Exists: true, ID: f.ID, Data: f, Attrs: map[string]string{"name": f.DisplayName}}, nil
		}
	}
	return engine.Live{}, nil
}

func (r *folderResource) Diff(live engine.Live, _ *engine.Runtime) engine.Change {
	if live.Exists {
		return engine.Change{Action: engine.NoOp, Attrs: []engine.AttrChange{{Name: "path", Old: r.path, New: r.path}}}
	}
	return engine.Change{Action: engine.Create, Attrs: []engine.AttrChange{{Name: "path", New: r.path}, {Name: "id", Unknown: true}}}
}

type folderUndo struct {
	WorkspaceID string `json:"workspace_id"`
	ID          string `json:"id,omitempty"`
	Name        string `json:"name"`
	ParentID    string `json:"parent_id,omitempty"`
}

func (r *folderResource) Apply(ctx context.Context, rt *engine.Runtime, ch *engine.Change, intent func(engine.Undo) error) (engine.Applied, error) {
	if ch.Action != engine.Create {
		return engine.Applied{}, fmt.Errorf("folder: cannot %s", ch.Action)
	}
	wsID, parentID := rt.ID(r.workspace), r.parentID(rt)
	defer rt.Forget(foldersMemoKey(wsID))
	undo := engine.NewUndo("folder.delete", folderUndo{WorkspaceID: wsID, Name: r.name, ParentID: parentID})
	f, err := createJournalled(intent, undo, func() (fabric.Folder, error) { return rt.Client.CreateFolder(ctx, wsID, r.name, parentID) })
	if err != nil {
		return engine.Applied{}, err
	}
	return engine.Applied{ID: f.ID, Undo: engine.NewUndo("folder.delete", folderUndo{WorkspaceID: wsID, ID: f.ID, Name: r.name, ParentID: parentID})}, nil
}

func (folderBuiltin) UndoOps() engine.UndoRegistry {
	return engine.UndoRegistry{
		"folder.delete": undoOp(func(ctx context.Context, rt *engine.Runtime, u folderUndo) error {
			what := fmt.Sprintf("folder %q in workspace %s", u.Name, u.WorkspaceID)
			return deleteCreated("DeleteFolder", what, u.ID, func() (string, string, bool, error) {
				f, ok, err := rt.Client.FindFolder(ctx, u.WorkspaceID, u.ParentID, u.Name)
				if err != nil || !ok {
					return "", "", ok, err
				}
				why, err := rt.Client.FolderMismatch(ctx, u.WorkspaceID, f, u.Name, u.ParentID)
				return f.ID, why, ok, err
			}, func(id string) error { return rt.Client.DeleteFolder(ctx, u.WorkspaceID, id) })
		}),
	}
}
