package builtins

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"

	"go.starlark.net/starlark"

	"github.com/fabplan/fabplan/engine"
	"github.com/fabplan/fabplan/fabric"
)

// principal.user, principal.group, principal.service_principal

// principalBuiltin declares one of the three principal constructors.
type principalBuiltin struct{ kind string }

// principalValue identifies an Entra principal, by object id or by a name Graph resolves.
type principalValue struct {
	Type string // Fabric's principal type: User, Group, ServicePrincipal
	ID   string // Entra object id, when given
	// Exactly one lookup key is set when ID is empty.
	UPN, Name, AppID string
	// resolver looks the name up during refresh; nil when the evaluation had none (lint).
	resolver *PrincipalResolver
}

// key is how the principal appears in addresses.
func (p *principalValue) key() string {
	for _, k := range []string{p.ID, p.UPN, p.Name, p.AppID} {
		if k != "" {
			return k
		}
	}
	return ""
}

// lookup is what a principal given by name is looked up by.
func (p *principalValue) lookup() PrincipalLookup {
	return PrincipalLookup{Type: p.Type, Key: p.key()}
}

// resolve returns the principal's object id, looking it up when the plan gave a name.
func (p *principalValue) resolve(ctx context.Context) (string, error) {
	if p.ID != "" {
		return p.ID, nil
	}
	if p.resolver == nil {
		return "", fmt.Errorf("%s %q is given by name and this evaluation has no principal resolver; give id=... instead", strings.ToLower(p.Type), p.key())
	}
	return p.resolver.Resolve(ctx, p.lookup())
}

func (b principalBuiltin) Spec() Spec {
	switch b.kind {
	case "user":
		return Spec{Name: "principal.user", Doc: "An Entra user, by user principal name (looked up in Microsoft Graph) or object id.",
			Params: []Param{{Name: "upn", Type: "string", Doc: "User principal name."}, {Name: "id", Type: "string", Doc: "Entra object id."}},
			OneOf:  [][]string{{"upn", "id"}}}
	case "group":
		return Spec{Name: "principal.group", Doc: "An Entra group, by display name (looked up in Microsoft Graph; must match exactly one group) or object id.",
			Params: []Param{{Name: "name", Type: "string", Doc: "Group display name."}, {Name: "id", Type: "string", Doc: "Entra object id."}},
			OneOf:  [][]string{{"name", "id"}}}
	default:
		return Spec{Name: "principal.service_principal", Doc: "An Entra service principal, by application (client) id (looked up in Microsoft Graph) or object id.",
			Params: []Param{{Name: "app_id", Type: "string", Doc: "Application (client) id."}, {Name: "id", Type: "string", Doc: "Service principal object id (not the app id)."}},
			OneOf:  [][]string{{"app_id", "id"}}}
	}
}

func (b principalBuiltin) Interpret(ev *evaluation, c *call) (starlark.Value, error) {
	p := &principalValue{ID: c.str("id"), UPN: c.str("upn"), Name: c.str("name"), AppID: c.str("app_id")}
	switch b.kind {
	case "user":
		p.Type = "User"
	case "group":
		p.Type = "Group"
	default:
		p.Type = "ServicePrincipal"
	}
	if p.ID != "" && !isGUID(p.ID) {
		return nil, fmt.Errorf("%s: id %q is not a GUID (Entra object ids look like 00000000-0000-0000-0000-000000000000)", b.Spec().Name, p.ID)
	}
	if p.AppID != "" && !isGUID(p.AppID) {
		return nil, fmt.Errorf("%s: app_id %q is not a GUID (the application's client id)", b.Spec().Name, p.AppID)
	}
	if p.ID == "" && ev.opts.Principals != nil {
		p.resolver = ev.opts.Principals
		p.resolver.declare(p.lookup(), c.pos.String())
	}
	return newHandle("principal", "", starlark.StringDict{
		"type": starlark.String(p.Type), "key": starlark.String(p.key()),
	}, p), nil
}

func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// PrincipalLookup is a principal the plan names: a user by UPN, a group by display name, a
// service principal by application id.
type PrincipalLookup struct {
	Type string `json:"type"` // User, Group, ServicePrincipal
	Key  string `json:"key"`
}

func (l PrincipalLookup) String() string {
	switch l.Type {
	case "User":
		return fmt.Sprintf("user %q", l.Key)
	case "Group":
		return fmt.Sprintf("group %q", l.Key)
	}
	return fmt.Sprintf("service principal with app id %s", l.Key)
}

// Permission is the Graph application permission the lookup needs.
func (l PrincipalLookup) Permission() string {
	switch l.Type {
	case "User":
		return fabric.GraphPermissionUsers
	case "Group":
		return fabric.GraphPermissionGroups
	}
	return fabric.GraphPermissionServicePrincipals
}

// Directory is where principals are looked up: *fabric.Graph.
type Directory interface {
	UsersByUPN(ctx context.Context, upn string) ([]fabric.DirectoryObject, error)
	GroupsByName(ctx context.Context, name string) ([]fabric.DirectoryObject, error)
	ServicePrincipalsByAppID(ctx context.Context, appID string) ([]fabric.DirectoryObject, error)
}

var _ Directory = (*fabric.Graph)(nil)

// PrincipalResolver turns principals given by name into object ids for one run. A principals file
// (name -> id, the seed framework's fallback) answers first; Microsoft Graph answers the rest. The
// first Resolve looks up every principal the plan declared at once (in parallel, each distinct name
// once), and every answer is cached for the run. It is safe for concurrent use.
type PrincipalResolver struct {
	dir  func() (Directory, error) // made on first use: a plan without lookups never needs Graph
	file map[string]fileEntry      // the principals file, by lower-cased name
	// FileName is the principals file's path, for messages.
	fileName string

	mu       sync.Mutex
	declared []PrincipalLookup
	pos      map[PrincipalLookup]string
	results  map[PrincipalLookup]*principalResult
	batched  bool
}

type principalResult struct {
	done chan struct{}
	id   string
	name string // display name, when Graph or the principals file gave one
	err  error
}

// fileEntry is one name of the principals file: an object id and, optionally, the display name
// output shows for principals the plan names by an id (a service principal's app id).
type fileEntry struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// UnmarshalJSON takes "object-id" or {"id": "object-id", "name": "display name"}.
func (e *fileEntry) UnmarshalJSON(b []byte) error {
	if err := json.Unmarshal(b, &e.ID); err == nil {
		return nil
	}
	type plain fileEntry
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.DisallowUnknownFields()
	if err := d.Decode((*plain)(e)); err != nil {
		return fmt.Errorf(`each name maps to "object-id" or {"id": "object-id", "name": "display name"}: %v`, err)
	}
	return nil
}

// NewPrincipalResolver returns a resolver that asks dir (called once, when a lookup needs Graph)
// and, first, the principals file at path ("" = none).
func NewPrincipalResolver(dir func() (Directory, error), path string) (*PrincipalResolver, error) {
	r := &PrincipalResolver{dir: sync.OnceValues(dir), file: map[string]fileEntry{}, fileName: path,
		pos: map[PrincipalLookup]string{}, results: map[PrincipalLookup]*principalResult{}}
	if path == "" {
		return r, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--principals: %w", err)
	}
	var file map[string]fileEntry
	if err := json.Unmarshal(b, &file); err != nil {
		return nil, fmt.Errorf("--principals %s: want a JSON object mapping names (UPN, group name, app id) to object ids: %v", path, err)
	}
	names := make([]string, 0, len(file))
	for name := range file {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		e := file[name]
		if !isGUID(e.ID) {
			return nil, fmt.Errorf("--principals %s: %q maps to %q, which is not an object id (GUID)", path, name, e.ID)
		}
		// Graph matches UPNs, group names and app ids case-insensitively; so does the file.
		key := strings.ToLower(name)
		if prev, dup := r.file[key]; dup && !strings.EqualFold(prev.ID, e.ID) {
			return nil, fmt.Errorf("--principals %s: %q is given twice (names match case-insensitively), with different ids", path, name)
		}
		r.file[key] = e
	}
	return r, nil
}

func (r *PrincipalResolver) declare(l PrincipalLookup, pos string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.pos[l]; !ok {
		r.pos[l] = pos
		r.declared = append(r.declared, l)
	}
}

// Declared lists the lookups the plan needs, each once, in evaluation order.
func (r *PrincipalResolver) Declared() []PrincipalLookup {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]PrincipalLookup(nil), r.declared...)
}

// Resolve returns the object id of one principal. The first call resolves every declared lookup.
func (r *PrincipalResolver) Resolve(ctx context.Context, l PrincipalLookup) (string, error) {
	r.mu.Lock()
	if !r.batched {
		r.batched = true
		all := append([]PrincipalLookup(nil), r.declared...)
		r.mu.Unlock()
		r.ResolveAll(ctx, all)
		r.mu.Lock()
	}
	res, started := r.start(l)
	r.mu.Unlock()
	if started {
		r.run(ctx, l, res)
	}
	<-res.done
	return res.id, res.err
}

// Name returns the display name a resolved lookup found ("" when unknown or not yet resolved).
func (r *PrincipalResolver) Name(l PrincipalLookup) string {
	r.mu.Lock()
	res, ok := r.results[l]
	r.mu.Unlock()
	if !ok {
		return ""
	}
	select {
	case <-res.done:
		return res.name
	default:
		return ""
	}
}

// ResolveAll looks up every lookup (at most 4 at a time) and returns each outcome, in order.
func (r *PrincipalResolver) ResolveAll(ctx context.Context, ls []PrincipalLookup) []error {
	errs := make([]error, len(ls))
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i, l := range ls {
		r.mu.Lock()
		res, started := r.start(l)
		r.mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			if started {
				sem <- struct{}{}
				r.run(ctx, l, res)
				<-sem
			}
			<-res.done
			errs[i] = res.err
		}()
	}
	wg.Wait()
	return errs
}

// start returns the result slot of l and whether the caller must fill it. r.mu is held.
func (r *PrincipalResolver) start(l PrincipalLookup) (*principalResult, bool) {
	if res, ok := r.results[l]; ok {
		return res, false
	}
	res := &principalResult{done: make(chan struct{})}
	r.results[l] = res
	return res, true
}

func (r *PrincipalResolver) run(ctx context.Context, l PrincipalLookup, res *principalResult) {
	defer close(res.done)
	res.id, res.name, res.err = r.lookup(ctx, l)
	if res.err != nil {
		if pos := r.position(l); pos != "" {
			res.err = fmt.Errorf("%s (declared at %s): %w", l, pos, res.err)
		} else {
			res.err = fmt.Errorf("%s: %w", l, res.err)
		}
	}
}

func (r *PrincipalResolver) position(l PrincipalLookup) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pos[l]
}

func (r *PrincipalResolver) lookup(ctx context.Context, l PrincipalLookup) (id, name string, err error) {
	if e, ok := r.file[strings.ToLower(l.Key)]; ok {
		return e.ID, e.Name, nil
	}
	dir, err := r.dir()
	if err != nil {
		return "", "", err
	}
	var found []fabric.DirectoryObject
	switch l.Type {
	case "User":
		found, err = dir.UsersByUPN(ctx, l.Key)
	case "Group":
		found, err = dir.GroupsByName(ctx, l.Key)
	default:
		found, err = dir.ServicePrincipalsByAppID(ctx, l.Key)
	}
	if err != nil {
		return "", "", r.graphError(l, err)
	}
	switch len(found) {
	case 1:
		return found[0].ID, found[0].DisplayName, nil
	case 0:
		return "", "", &PrincipalError{Lookup: l, Msg: "Microsoft Graph found none; check the spelling (names match exactly, case-insensitively) and the tenant"}
	}
	var list []string
	for _, o := range found {
		list = append(list, fmt.Sprintf("%s (%s)", o.ID, o.DisplayName))
	}
	sort.Strings(list)
	return "", "", &PrincipalError{Lookup: l, Found: found,
		Msg: fmt.Sprintf("Microsoft Graph found %d: %s; names are not unique, so give the one you mean with id=...", len(found), strings.Join(list, ", "))}
}

// graphError explains a refused lookup: the permission it needs, and the principals file fallback.
func (r *PrincipalResolver) graphError(l PrincipalLookup, err error) error {
	var fe *fabric.Error
	if errors.As(err, &fe) && (fe.ErrorCode == "Authorization_RequestDenied" || fe.StatusCode == 403) {
		fallback := fmt.Sprintf("pass --principals principals.json mapping %q to its object id", l.Key)
		if r.fileName != "" {
			fallback = fmt.Sprintf("add %q with its object id to %s", l.Key, r.fileName)
		}
		return &PrincipalError{Lookup: l, Forbidden: true, Err: err,
			Msg: fmt.Sprintf("Microsoft Graph refused the lookup (403 %s). The identity needs the Graph application permission %s "+
				"(or Directory.Read.All) with admin consent; or %s", fe.ErrorCode, l.Permission(), fallback)}
	}
	return &PrincipalError{Lookup: l, Err: err, Msg: "looking it up in Microsoft Graph failed: " + err.Error()}
}

// PrincipalError is a principal that could not be resolved to one object id.
type PrincipalError struct {
	Lookup    PrincipalLookup
	Found     []fabric.DirectoryObject // more than one match
	Forbidden bool                     // Graph said 403
	Msg       string
	Err       error
}

func (e *PrincipalError) Error() string { return e.Msg }
func (e *PrincipalError) Unwrap() error { return e.Err }

// UserStep is implemented by resources whose apply needs a signed-in user rather than a service
// principal (a Git connection with Automatic credentials to Azure DevOps, for example). `fabplan
// run` and `fabplan doctor` check the identity against them before any change.
type UserStep interface {
	engine.Resource
	// RequiresUser says why this resource needs a user; "" when this one does not.
	RequiresUser() string
}

// UserRequirement is a step of the plan that needs a user identity, and why.
type UserRequirement struct {
	Addr engine.Addr
	Pos  engine.Pos
	Why  string
}

// UserSteps lists the resources of g that need a signed-in user.
func UserSteps(g *engine.Graph) []UserRequirement {
	var out []UserRequirement
	for _, r := range g.Resources() {
		if u, ok := r.(UserStep); ok {
			if why := u.RequiresUser(); why != "" {
				out = append(out, UserRequirement{Addr: r.Addr(), Pos: r.Pos(), Why: why})
			}
		}
	}
	return out
}
