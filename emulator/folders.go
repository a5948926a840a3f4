package emulator

import (
	"net/http"
	"strings"
	"unicode/utf8"
)

// Fabric's folder limits.
const (
	maxFolderDepth = 10
	maxFolders     = 1000
)

// invalidFolderChars are characters folder names may not contain.
const invalidFolderChars = `"/\:*?<>|#%&{}~`

type folderJSON struct {
	ID             string `json:"id"`
	DisplayName    string `json:"displayName"`
	WorkspaceID    string `json:"workspaceId"`
	ParentFolderID string `json:"parentFolderId,omitempty"`
}

func folderView(ws *workspace, f *folder) folderJSON {
	return folderJSON{ID: f.ID, DisplayName: f.DisplayName, WorkspaceID: ws.ID, ParentFolderID: f.ParentID}
}

// workspaceFolder resolves {workspaceId}/{folderId} for a caller holding at least min.
func (c *call) workspaceFolder(min role) (*workspace, *folder, error) {
	ws, err := c.workspace(min)
	if err != nil {
		return nil, nil, err
	}
	id, err := c.pathID("folderId")
	if err != nil {
		return nil, nil, err
	}
	f := ws.Folders[id]
	if f == nil {
		return nil, nil, notFound("FolderNotFound", "Folder", id)
	}
	return ws, f, nil
}

// targetFolder resolves an optional folder id from a body; "" is the workspace root.
func targetFolder(ws *workspace, name string, id *string) (string, error) {
	if id == nil || *id == "" {
		return "", nil
	}
	fid, err := guid(name, *id)
	if err != nil {
		return "", err
	}
	if ws.Folders[fid] == nil {
		return "", notFound("FolderNotFound", "Folder", fid)
	}
	return fid, nil
}

// depth is the number of folders from the root down to and including id.
func (ws *workspace) depth(id string) int {
	d := 0
	for ; id != "" && d <= len(ws.Folders); d++ {
		f := ws.Folders[id]
		if f == nil {
			break
		}
		id = f.ParentID
	}
	return d
}

// height is the depth of the deepest folder below and including id, counted from id.
func (ws *workspace) height(id string) int {
	h := 1
	for _, f := range ws.Folders {
		if f.ParentID == id {
			h = max(h, 1+ws.height(f.ID))
		}
	}
	return h
}

func checkFolderName(name string) error {
	if strings.TrimSpace(name) == "" || name != strings.TrimSpace(name) || utf8.RuneCountInString(name) > 255 ||
		strings.ContainsAny(name, invalidFolderChars) || strings.HasPrefix(name, ".") {
		return badRequest("InvalidFolderDisplayName", "The folder display name '%s' is invalid", truncate(name, 64))
	}
	return nil
}

func (ws *workspace) folderNameTaken(parent, name, self string) error {
	for _, f := range ws.Folders {
		if f.ID != self && f.ParentID == parent && strings.EqualFold(f.DisplayName, name) {
			return errf(http.StatusConflict, "FolderDisplayNameAlreadyInUse", "Folder display name '%s' is already used", name)
		}
	}
	return nil
}

func (e *Emulator) listFolders(c *call) (*response, error) {
	ws, err := c.workspace(roleViewer)
	if err != nil {
		return nil, err
	}
	recursive, err := c.queryBool("recursive", true)
	if err != nil {
		return nil, err
	}
	root := ""
	if v := c.r.URL.Query().Get("rootFolderId"); v != "" {
		if root, err = targetFolder(ws, "rootFolderId", &v); err != nil {
			return nil, err
		}
	}
	var out []folderJSON
	for _, f := range ws.sortedFolders() {
		if f.ID != root && ws.inFolder(f.ParentID, root, recursive) {
			out = append(out, folderView(ws, f))
		}
	}
	return paged(c, out)
}

func (e *Emulator) getFolder(c *call) (*response, error) {
	ws, f, err := c.workspaceFolder(roleViewer)
	if err != nil {
		return nil, err
	}
	return ok(folderView(ws, f))
}

type createFolderRequest struct {
	DisplayName    *string `json:"displayName"`
	ParentFolderID *string `json:"parentFolderId"`
}

// folderRequest decodes a create or rename body and checks the name.
func (c *call) folderRequest() (createFolderRequest, error) {
	var req createFolderRequest
	if err := c.decode(&req); err != nil {
		return req, err
	}
	if req.DisplayName == nil {
		return req, invalidInput("The displayName field is required")
	}
	return req, checkFolderName(*req.DisplayName)
}

func (e *Emulator) createFolder(c *call) (*response, error) {
	ws, err := c.workspace(roleContributor)
	if err != nil {
		return nil, err
	}
	req, err := c.folderRequest()
	if err != nil {
		return nil, err
	}
	parent, err := targetFolder(ws, "parentFolderId", req.ParentFolderID)
	if err != nil {
		return nil, err
	}
	if err := ws.folderNameTaken(parent, *req.DisplayName, ""); err != nil {
		return nil, err
	}
	if ws.depth(parent)+1 > maxFolderDepth {
		return nil, badRequest("FolderDepthOutOfRange", "Folders can be nested at most %d levels deep", maxFolderDepth)
	}
	if len(ws.Folders) >= maxFolders {
		return nil, badRequest("TooManyFolders", "A workspace can have at most %d folders", maxFolders)
	}
	f := &folder{ID: e.newID(), Seq: e.nextSeq(), DisplayName: *req.DisplayName, ParentID: parent}
	ws.Folders[f.ID] = f
	return &response{status: http.StatusCreated,
		header: http.Header{"Location": {e.base + "/v1/workspaces/" + ws.ID + "/folders/" + f.ID}},
		body:   folderView(ws, f)}, nil
}

func (e *Emulator) updateFolder(c *call) (*response, error) {
	ws, f, err := c.workspaceFolder(roleContributor)
	if err != nil {
		return nil, err
	}
	req, err := c.folderRequest()
	if err != nil {
		return nil, err
	}
	if err := ws.folderNameTaken(f.ParentID, *req.DisplayName, f.ID); err != nil {
		return nil, err
	}
	f.DisplayName = *req.DisplayName
	return ok(folderView(ws, f))
}

func (e *Emulator) deleteFolder(c *call) (*response, error) {
	ws, f, err := c.workspaceFolder(roleContributor)
	if err != nil {
		return nil, err
	}
	for _, it := range ws.Items {
		if it.FolderID == f.ID {
			return nil, badRequest("FolderNotEmpty", "The folder '%s' is not empty", f.DisplayName)
		}
	}
	for _, sub := range ws.Folders {
		if sub.ParentID == f.ID {
			return nil, badRequest("FolderNotEmpty", "The folder '%s' is not empty", f.DisplayName)
		}
	}
	delete(ws.Folders, f.ID)
	return emptyOK()
}

type moveRequest struct {
	TargetFolderID *string `json:"targetFolderId"`
}

// moveTarget reads a move body: the target folder, "" for the workspace root.
func (c *call) moveTarget(ws *workspace) (string, error) {
	var req moveRequest
	if err := c.decodeOptional(&req); err != nil {
		return "", err
	}
	return targetFolder(ws, "targetFolderId", req.TargetFolderID)
}

func (e *Emulator) moveFolder(c *call) (*response, error) {
	ws, f, err := c.workspaceFolder(roleContributor)
	if err != nil {
		return nil, err
	}
	target, err := c.moveTarget(ws)
	if err != nil {
		return nil, err
	}
	if target == f.ID || ws.inFolder(target, f.ID, true) {
		return nil, badRequest("InfiniteFolderHierarchyLoop", "A folder cannot be moved into itself or one of its subfolders")
	}
	if err := ws.folderNameTaken(target, f.DisplayName, f.ID); err != nil {
		return nil, err
	}
	if ws.depth(target)+ws.height(f.ID) > maxFolderDepth {
		return nil, badRequest("FolderDepthOutOfRange", "Folders can be nested at most %d levels deep", maxFolderDepth)
	}
	f.ParentID = target
	return ok(folderView(ws, f))
}

func (e *Emulator) moveItem(c *call) (*response, error) {
	ws, it, err := c.workspaceItem(roleContributor)
	if err != nil {
		return nil, err
	}
	target, err := c.moveTarget(ws)
	if err != nil {
		return nil, err
	}
	if it.ParentID != "" {
		return nil, badRequest("CannotMoveChildOnly", "A %s moves with the item that owns it", it.Type)
	}
	moved := []itemJSON{}
	for _, x := range ws.sortedItems() {
		if x == it || x.ParentID == it.ID {
			x.FolderID = target
			moved = append(moved, itemView(ws, x))
		}
	}
	return ok(listBody[itemJSON]{Value: moved})
}

// decodeOptional is decode for bodies that may be empty.
func (c *call) decodeOptional(v any) error {
	if len(strings.TrimSpace(string(c.body))) == 0 {
		return nil
	}
	return c.decode(v)
}
