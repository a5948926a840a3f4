package builtins

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/fabplan/fabplan/fabric"
)

// Import writes the plan of live workspaces, in the builtins' own terms: `fabplan import` turns an
// existing estate into a plan and definition folders (Fabric's Git format: one folder per item,
// <name>.<Type>, with its .platform) that plan with no changes.

// ImportedFile is one file Import writes, by slash-separated path relative to the output directory.
type ImportedFile struct {
	Path string
	Data []byte
}

// ImportResult is the imported estate.
type ImportResult struct {
	Files []ImportedFile
	// Skipped lists what could not be declared, and why (a Dashboard cannot be created through the API).
	Skipped []string
}

// PlanFileName is the plan Import writes.
const PlanFileName = "main.star"

// Import reads the named workspaces (display names or ids) and returns the plan that declares them:
// description and capacity, folders, items with their definitions, role assignments.
func Import(ctx context.Context, c *fabric.Client, workspaces []string) (*ImportResult, error) {
	all, err := c.ListWorkspaces(ctx)
	if err != nil {
		return nil, err
	}
	imp := &importer{ctx: ctx, c: c, res: &ImportResult{}, vars: map[string]bool{}}
	seen := map[string]bool{}
	for _, want := range workspaces {
		ws, ok := findWorkspace(all, want)
		if !ok {
			var names []string
			for _, w := range all {
				names = append(names, w.DisplayName)
			}
			return nil, lookupFailed("workspace", "name or id", want, names)
		}
		if seen[ws.ID] {
			continue
		}
		seen[ws.ID] = true
		if err := imp.workspace(ws); err != nil {
			return nil, fmt.Errorf("import %s: %w", ws.DisplayName, err)
		}
	}
	imp.res.Files = append([]ImportedFile{{Path: PlanFileName, Data: []byte(imp.plan.String())}}, imp.res.Files...)
	return imp.res, nil
}

func findWorkspace(all []fabric.Workspace, want string) (fabric.Workspace, bool) {
	for _, w := range all {
		if strings.EqualFold(w.ID, want) || strings.EqualFold(w.DisplayName, want) {
			return w, true
		}
	}
	return fabric.Workspace{}, false
}

type importer struct {
	ctx  context.Context
	c    *fabric.Client
	res  *ImportResult
	plan strings.Builder
	vars map[string]bool
}

var nonIdent = regexp.MustCompile(`[^a-z0-9_]+`)

// ident makes a Starlark variable name from a display name, unique in the plan.
func (imp *importer) ident(prefix, name string) string {
	base := strings.Trim(nonIdent.ReplaceAllString(strings.ToLower(name), "_"), "_")
	if base == "" {
		base = "x"
	}
	base = prefix + base
	v := base
	for i := 2; imp.vars[v]; i++ {
		v = fmt.Sprintf("%s_%d", base, i)
	}
	imp.vars[v] = true
	return v
}

// fileName makes a path segment from a display name: Fabric names may hold characters no file
// system takes.
func fileName(name string) string {
	r := strings.NewReplacer("/", "_", `\`, "_", ":", "_", "*", "_", "?", "_", `"`, "_", "<", "_", ">", "_", "|", "_")
	s := strings.TrimRight(r.Replace(name), ". ")
	if s == "" {
		return "_"
	}
	return s
}

func (imp *importer) line(format string, args ...any) { fmt.Fprintf(&imp.plan, format+"\n", args...) }

func (imp *importer) workspace(summary fabric.Workspace) error {
	ws, err := imp.c.GetWorkspace(imp.ctx, summary.ID)
	if err != nil {
		return err
	}
	v := imp.ident("ws_", ws.DisplayName)
	args := []string{"name = " + quote(ws.DisplayName)}
	if ws.Description != "" {
		args = append(args, "description = "+quote(ws.Description))
	}
	if ws.CapacityID != "" {
		args = append(args, fmt.Sprintf("capacity = fabric.capacity(id = %s)", quote(ws.CapacityID)))
	}
	if imp.plan.Len() > 0 {
		imp.line("")
	}
	imp.line("# Workspace %s", ws.DisplayName)
	imp.line("%s = fabric.workspace(%s)", v, strings.Join(args, ", "))

	folders, err := imp.c.ListFolders(imp.ctx, ws.ID)
	if err != nil {
		return err
	}
	dir := fileName(ws.DisplayName)
	folderVar, folderDir := imp.folders(v, dir, folders)

	items, err := imp.c.ListItems(imp.ctx, ws.ID, "")
	if err != nil {
		return err
	}
	sort.Slice(items, func(i, j int) bool {
		if items[i].Type != items[j].Type {
			return items[i].Type < items[j].Type
		}
		return items[i].DisplayName < items[j].DisplayName
	})
	for _, it := range items {
		if err := imp.item(v, ws.DisplayName, it, folderVar, folderDir, dir); err != nil {
			return fmt.Errorf("%s %s: %w", it.Type, it.DisplayName, err)
		}
	}

	roles, err := imp.c.ListRoleAssignments(imp.ctx, ws.ID)
	if err != nil {
		return err
	}
	sort.Slice(roles, func(i, j int) bool { return roles[i].Principal.ID < roles[j].Principal.ID })
	for _, ra := range roles {
		fn, ok := principalBuiltins[ra.Principal.Type]
		if !ok {
			imp.res.Skipped = append(imp.res.Skipped, fmt.Sprintf("%s: role assignment of %s %s (principal type not supported)",
				ws.DisplayName, ra.Principal.Type, ra.Principal.ID))
			continue
		}
		imp.line("fabric.role_assignment(workspace = %s, principal = %s(id = %s), role = %s)", v, fn, quote(ra.Principal.ID), quote(ra.Role))
	}
	return nil
}

// principalBuiltins maps Fabric's principal types to the builtins declaring them.
var principalBuiltins = map[string]string{
	"User": "principal.user", "Group": "principal.group", "ServicePrincipal": "principal.service_principal",
}

// folders declares a workspace's folders, parents first, and returns each folder's variable and
// directory by id.
func (imp *importer) folders(wsVar, wsDir string, folders []fabric.Folder) (vars, dirs map[string]string) {
	vars, dirs = map[string]string{}, map[string]string{"": wsDir}
	children := map[string][]fabric.Folder{}
	for _, f := range folders {
		children[f.ParentFolderID] = append(children[f.ParentFolderID], f)
	}
	var walk func(parent string)
	walk = func(parent string) {
		kids := children[parent]
		sort.Slice(kids, func(i, j int) bool { return kids[i].DisplayName < kids[j].DisplayName })
		for _, f := range kids {
			v := imp.ident("folder_", f.DisplayName)
			args := []string{"workspace = " + wsVar, "name = " + quote(f.DisplayName)}
			if parent != "" {
				args = append(args, "parent = "+vars[parent])
			}
			imp.line("%s = fabric.folder(%s)", v, strings.Join(args, ", "))
			vars[f.ID], dirs[f.ID] = v, path.Join(dirs[parent], fileName(f.DisplayName))
			walk(f.ID)
		}
	}
	walk("")
	return vars, dirs
}

func (imp *importer) item(wsVar, wsName string, it fabric.Item, folderVar, folderDir map[string]string, wsDir string) error {
	if systemTypes[it.Type] {
		return nil // made by Fabric with another item, and gone with it
	}
	if why, ok := notCreatable[it.Type]; ok {
		imp.res.Skipped = append(imp.res.Skipped, fmt.Sprintf("%s: %s %s (%s)", wsName, it.Type, it.DisplayName, why))
		return nil
	}
	args := []string{"workspace = " + wsVar, "type = " + quote(it.Type), "name = " + quote(it.DisplayName)}
	if it.Description != "" {
		args = append(args, "description = "+quote(it.Description))
	}
	dir := wsDir
	if it.FolderID != "" {
		if fv, ok := folderVar[it.FolderID]; ok {
			args = append(args, "folder = "+fv)
			dir = folderDir[it.FolderID]
		}
	}
	def, err := imp.c.GetItemDefinition(imp.ctx, it.WorkspaceID, it.ID, "")
	content := 0 // parts besides .platform: a definition of .platform alone declares nothing
	for _, p := range def.Parts {
		if p.Path != ".platform" {
			content++
		}
	}
	switch {
	case err == nil && content > 0:
		itemDir := path.Join(dir, fileName(it.DisplayName)+"."+it.Type)
		hasPlatform := false
		for _, p := range def.Parts {
			if p.Path == ".platform" {
				hasPlatform = true
			}
			imp.res.Files = append(imp.res.Files, ImportedFile{Path: path.Join(itemDir, p.Path), Data: p.Payload})
		}
		if !hasPlatform {
			imp.res.Files = append(imp.res.Files, ImportedFile{Path: path.Join(itemDir, ".platform"), Data: importedPlatform(it)})
		}
		defArgs := "path = " + quote(itemDir)
		if def.Format != "" && def.Format != defaultFormat(it.Type) {
			defArgs += ", format = " + quote(def.Format)
		}
		args = append(args, "definition = fabric.definition("+defArgs+")")
	case err == nil, fabric.ErrorCode(err) == "OperationNotSupportedForItem":
		// No definition to manage: the item is declared by its name alone.
	default:
		return err
	}
	imp.line("fabric.item(%s)", strings.Join(args, ", "))
	return nil
}

// defaultFormat is the format a definition of the type has when none is named.
func defaultFormat(typ string) string {
	if f := definitionFormats[typ]; len(f) > 0 {
		return f[0]
	}
	return ""
}

// importedPlatform is the .platform of an item in Fabric's Git format: its type and name, so that the
// folder is also what Git integration and fabric-cicd read.
func importedPlatform(it fabric.Item) []byte {
	p := map[string]any{
		"$schema":  "https://developer.microsoft.com/json-schemas/fabric/gitIntegration/platformProperties/2.0.0/schema.json",
		"metadata": map[string]string{"type": it.Type, "displayName": it.DisplayName},
		"config":   map[string]string{"version": "2.0", "logicalId": "00000000-0000-0000-0000-000000000000"},
	}
	if it.Description != "" {
		p["metadata"].(map[string]string)["description"] = it.Description
	}
	b, _ := json.MarshalIndent(p, "", "  ")
	return append(b, '\n')
}

// quote writes a Starlark string literal.
func quote(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b) // JSON's string escapes are valid Starlark
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}
