package builtins

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"go.starlark.net/starlark"

	"github.com/fabplan/fabplan/engine"
	"github.com/fabplan/fabplan/fabric"
	"github.com/fabplan/fabplan/secrets"
)

// fabric.connection: a ShareableCloud connection whose credentials come from secret(). Fabric
// never returns credentials, and fabplan never shows, journals or stores them: a run records an
// Argon2id digest of what it sent (secrets.Digest), and the next run compares the plan's
// credentials with that digest to detect a rotation.

// credentialFields says, per credential type, which parameters it takes (the secret ones last)
// and which of them are required.
var credentialFields = map[string][]string{
	"Anonymous":             nil,
	"WorkspaceIdentity":     nil,
	"Basic":                 {"username", "password"},
	"Key":                   {"key"},
	"ServicePrincipal":      {"tenant_id", "client_id", "client_secret"},
	"SharedAccessSignature": {"token"},
}

func credentialTypes() []string {
	return []string{"Anonymous", "Basic", "Key", "ServicePrincipal", "SharedAccessSignature", "WorkspaceIdentity"}
}

// credentialParams are every parameter that belongs to a credential type.
func credentialParams() []string {
	return []string{"username", "password", "key", "tenant_id", "client_id", "client_secret", "token"}
}

type connectionBuiltin struct{}

func (connectionBuiltin) Spec() Spec {
	return Spec{
		Name: "fabric.connection",
		Doc: "A shareable cloud connection (tenant-wide), identified by its name. Credentials come from secret(): " +
			"they are never shown, journalled or stored; a run keeps a salted Argon2id digest of them so that the next " +
			"plan sees a rotation. Fabric cannot change a connection's type, parameters or allow_user_code in place: " +
			"those replace it (a new id).",
		Updatable: []string{"privacy_level", "credential_type", "single_sign_on", "connection_encryption",
			"skip_test_connection", "allow_gateway", "credentials"},
		Params: []Param{
			{Name: "name", Type: "string", Required: true, Doc: "Display name; unique in the tenant (at most 200 characters)."},
			{Name: "type", Type: "string", Required: true, Doc: "Connection type, as Fabric's ListSupportedConnectionTypes names it: SQL, AzureDataLakeStorage, AmazonS3, Web..."},
			{Name: "parameters", Type: "dict", Required: true, Doc: "Creation parameters in the creation method's order, name to value (string, int or bool): {\"server\": \"...\", \"database\": \"...\"}."},
			{Name: "creation_method", Type: "string", Doc: "Creation method; default: the type."},
			{Name: "credential_type", Type: "string", Required: true, Enum: credentialTypes(), Doc: "How Fabric signs in: Basic (username, password), Key (key), ServicePrincipal (tenant_id, client_id, client_secret), SharedAccessSignature (token), Anonymous or WorkspaceIdentity (none)."},
			{Name: "username", Type: "string", Doc: "Basic: the user name."},
			{Name: "password", Type: "secret", Secret: true, Doc: "Basic: secret(\"...\")."},
			{Name: "key", Type: "secret", Secret: true, Doc: "Key: secret(\"...\")."},
			{Name: "tenant_id", Type: "string", Doc: "ServicePrincipal: the tenant id."},
			{Name: "client_id", Type: "string", Doc: "ServicePrincipal: the application (client) id."},
			{Name: "client_secret", Type: "secret", Secret: true, Doc: "ServicePrincipal: secret(\"...\")."},
			{Name: "token", Type: "secret", Secret: true, Doc: "SharedAccessSignature: secret(\"...\")."},
			{Name: "privacy_level", Type: "string", Enum: []string{"None", "Organizational", "Private", "Public"}, Doc: "Privacy level; default Organizational."},
			{Name: "connection_encryption", Type: "string", Enum: []string{"NotEncrypted", "Encrypted", "Any"}, Doc: "Encryption of the test connection; default NotEncrypted."},
			{Name: "single_sign_on", Type: "string", Enum: []string{"None", "MicrosoftEntraID", "Kerberos", "KerberosDirectQueryAndRefresh", "SecurityAssertionMarkupLanguage"}, Doc: "Single sign-on type; default None."},
			{Name: "skip_test_connection", Type: "bool", Doc: "Skip Fabric's test of the connection on create and update; default False."},
			{Name: "allow_gateway", Type: "bool", Doc: "Allow the connection's use with on-premises and VNet data gateways; default False."},
			{Name: "allow_user_code", Type: "bool", Doc: "Allow the connection's use in user-controlled code such as notebooks; default False. Changing it replaces the connection."},
		},
	}
}

func (connectionBuiltin) Interpret(ev *evaluation, c *call) (starlark.Value, error) {
	name := c.str("name")
	if strings.TrimSpace(name) == "" || len([]rune(name)) > 200 {
		return nil, fmt.Errorf("fabric.connection: name must be 1 to 200 characters")
	}
	r := &connectionResource{
		addr: engine.Addr(engine.Segment("connection", name)), pos: c.pos, name: name,
		def: connectionDef{
			Type: c.str("type"), CreationMethod: c.str("creation_method"), CredentialType: c.str("credential_type"),
			PrivacyLevel: orDefault(c.str("privacy_level"), "Organizational"),
			Encryption:   orDefault(c.str("connection_encryption"), "NotEncrypted"),
			SingleSignOn: orDefault(c.str("single_sign_on"), "None"),
			SkipTest:     c.boolean("skip_test_connection"), AllowGateway: c.boolean("allow_gateway"),
			AllowUserCode: c.boolean("allow_user_code"),
			Username:      c.str("username"), TenantID: c.str("tenant_id"), ClientID: c.str("client_id"),
			Secrets: map[string]string{},
		},
	}
	if r.def.CreationMethod == "" {
		r.def.CreationMethod = r.def.Type
	}
	params, err := connectionParams(c.value("parameters").(*starlark.Dict))
	if err != nil {
		return nil, err
	}
	if len(params) == 0 {
		return nil, fmt.Errorf("fabric.connection: parameters must not be empty (the creation method's parameters, e.g. {\"server\": ..., \"database\": ...})")
	}
	r.def.Parameters = params
	takes := credentialFields[r.def.CredentialType]
	for _, p := range credentialParams() {
		given := c.has(p)
		switch {
		case given && !slices.Contains(takes, p):
			return nil, fmt.Errorf("fabric.connection: credential_type %s does not take %s (it takes %s)", r.def.CredentialType, p, takesText(takes))
		case !given && slices.Contains(takes, p):
			return nil, fmt.Errorf("fabric.connection: credential_type %s needs %s (it takes %s)", r.def.CredentialType, p, takesText(takes))
		}
		if s, ok := c.value(p).(*Secret); ok {
			v, err := ev.reveal(s)
			if err != nil {
				return nil, fmt.Errorf("fabric.connection: %s: %w", p, err)
			}
			r.def.Secrets[p] = s.Name()
			r.values = append(r.values, secretValue{param: p, value: v})
		}
	}
	r.creds = r.def.credentials(r.values)
	ev.add(r)
	return newHandle("connection", r.addr, starlark.StringDict{
		"name": starlark.String(name), "type": starlark.String(r.def.Type),
	}, r), nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func takesText(fields []string) string {
	if len(fields) == 0 {
		return "no credential parameters"
	}
	return strings.Join(fields, ", ")
}

// connectionParams turns the parameters dict into Fabric's typed parameters, in the dict's order.
func connectionParams(d *starlark.Dict) ([]fabric.ConnectionParam, error) {
	var out []fabric.ConnectionParam
	for _, kv := range d.Items() {
		k, ok := kv[0].(starlark.String)
		if !ok {
			return nil, fmt.Errorf("fabric.connection: parameters: keys must be strings, got %s", kv[0].Type())
		}
		p := fabric.ConnectionParam{Name: string(k)}
		switch v := kv[1].(type) {
		case starlark.String:
			p.DataType, p.Value = "Text", string(v)
		case starlark.Int:
			p.DataType, p.Value = "Number", v.String()
		case starlark.Bool:
			p.DataType, p.Value = "Boolean", strconv.FormatBool(bool(v))
		case *Secret:
			return nil, fmt.Errorf("fabric.connection: parameters[%q]: a secret cannot be used here; pass credentials through password, key, client_secret or token", k)
		default:
			return nil, fmt.Errorf("fabric.connection: parameters[%q]: got %s, want string, int or bool", k, v.Type())
		}
		out = append(out, p)
	}
	return out, nil
}

// connectionDef is a connection's definition without secret values: what the plan declares, and
// what an undo journals as a pre-image. Secrets maps each credential parameter to the name of the
// secret() that gives it, so that an undo can read the value again; never the value.
type connectionDef struct {
	Type           string                   `json:"type"`
	CreationMethod string                   `json:"creation_method,omitempty"`
	Parameters     []fabric.ConnectionParam `json:"parameters,omitempty"`
	Path           string                   `json:"path,omitempty"`
	PrivacyLevel   string                   `json:"privacy_level"`
	CredentialType string                   `json:"credential_type"`
	SingleSignOn   string                   `json:"single_sign_on"`
	Encryption     string                   `json:"connection_encryption"`
	SkipTest       bool                     `json:"skip_test_connection"`
	AllowGateway   bool                     `json:"allow_gateway"`
	AllowUserCode  bool                     `json:"allow_user_code"`
	Username       string                   `json:"username,omitempty"`
	TenantID       string                   `json:"tenant_id,omitempty"`
	ClientID       string                   `json:"client_id,omitempty"`
	Secrets        map[string]string        `json:"secrets,omitempty"`
}

type secretValue struct{ param, value string }

// credentials builds the credentials from the definition and the secret values.
func (d connectionDef) credentials(values []secretValue) fabric.Credentials {
	c := fabric.Credentials{Type: d.CredentialType, Username: d.Username, TenantID: d.TenantID, ClientID: d.ClientID}
	for _, v := range values {
		switch v.param {
		case "password":
			c.Password = v.value
		case "key":
			c.Key = v.value
		case "client_secret":
			c.ClientSecret = v.value
		case "token":
			c.Token = v.value
		}
	}
	return c
}

// resolveCredentials reads the definition's secrets again by name, for an undo that must send
// them.
func (d connectionDef) resolveCredentials(ctx context.Context, rt *engine.Runtime) (fabric.Credentials, error) {
	var values []secretValue
	for _, p := range credentialParams() {
		name, ok := d.Secrets[p]
		if !ok {
			continue
		}
		if rt.Resolve == nil {
			return fabric.Credentials{}, fmt.Errorf("secret %q (%s) is needed and no secret source is configured", name, p)
		}
		v, err := rt.Resolve(ctx, name)
		if err != nil {
			return fabric.Credentials{}, fmt.Errorf("reading secret %q (%s): %w", name, p, err)
		}
		values = append(values, secretValue{param: p, value: v})
	}
	return d.credentials(values), nil
}

func (d connectionDef) create(name string, creds fabric.Credentials) fabric.ConnectionCreate {
	return fabric.ConnectionCreate{DisplayName: name, Type: d.Type, CreationMethod: d.CreationMethod,
		Parameters: d.Parameters, PrivacyLevel: d.PrivacyLevel, Credentials: creds, SingleSignOnType: d.SingleSignOn,
		ConnectionEncryption: d.Encryption, SkipTestConnection: d.SkipTest, AllowGateway: d.AllowGateway,
		AllowUserCode: d.AllowUserCode}
}

type connectionResource struct {
	addr   engine.Addr
	pos    engine.Pos
	name   string
	def    connectionDef
	values []secretValue
	creds  fabric.Credentials
}

var _ engine.Resource = (*connectionResource)(nil)

func (r *connectionResource) Addr() engine.Addr                          { return r.addr }
func (r *connectionResource) Kind() string                               { return "connection" }
func (r *connectionResource) Pos() engine.Pos                            { return r.pos }
func (r *connectionResource) Deps() []engine.Addr                        { return nil }
func (r *connectionResource) Validate(*engine.Graph) []engine.Diagnostic { return nil }

const connectionsMemoKey = "connections"

func (r *connectionResource) Refresh(ctx context.Context, rt *engine.Runtime) (engine.Live, error) {
	v, err := rt.Memo(connectionsMemoKey, func() (any, error) { return rt.Client.ListConnections(ctx) })
	if err != nil {
		return engine.Live{}, err
	}
	for _, cn := range v.([]fabric.Connection) {
		if !strings.EqualFold(cn.DisplayName, r.name) {
			continue
		}
		return engine.Live{Exists: true, ID: cn.ID, Data: cn, Attrs: connectionAttrs(cn)}, nil
	}
	return engine.Live{}, nil
}

func connectionAttrs(cn fabric.Connection) map[string]string {
	return map[string]string{
		"name": cn.DisplayName, "connectivity_type": cn.ConnectivityType, "type": cn.Type, "path": cn.Path,
		"privacy_level": cn.PrivacyLevel, "credential_type": cn.CredentialType, "single_sign_on": cn.SingleSignOnType,
		"connection_encryption": cn.ConnectionEncryption, "skip_test_connection": strconv.FormatBool(cn.SkipTestConnection),
		"allow_gateway": strconv.FormatBool(cn.AllowGateway), "allow_user_code": strconv.FormatBool(cn.AllowUserCode),
	}
}

// want is the plan's side of connectionAttrs.
func (r *connectionResource) want() map[string]string {
	d := r.def
	return map[string]string{
		"name": r.name, "connectivity_type": "ShareableCloud", "type": d.Type, "path": fabric.ConnectionPath(d.Parameters),
		"privacy_level": d.PrivacyLevel, "credential_type": d.CredentialType, "single_sign_on": d.SingleSignOn,
		"connection_encryption": d.Encryption, "skip_test_connection": strconv.FormatBool(d.SkipTest),
		"allow_gateway": strconv.FormatBool(d.AllowGateway), "allow_user_code": strconv.FormatBool(d.AllowUserCode),
	}
}

// connectionAttrOrder is the plan's order; the first four cannot change in place.
var connectionAttrOrder = []string{"connectivity_type", "type", "path", "allow_user_code", "name", "privacy_level",
	"credential_type", "single_sign_on", "connection_encryption", "skip_test_connection", "allow_gateway"}

func connectionForcesReplace(attr string) bool { return slices.Index(connectionAttrOrder, attr) < 4 }

// Credential states in the sensitive "credentials" attribute: never shown, they only make the
// attribute changed or not.
const (
	credsUnchanged = "unchanged"
	credsUnknown   = "unknown"   // fabplan never set them (or a rollback since): they are set again
	credsRotated   = "different" // the plan's credentials are not the ones fabplan last set
	credsPlanned   = "planned"
)

// credentialState compares the plan's credentials with the digest of the ones fabplan last set
// on the connection.
func (r *connectionResource) credentialState(rt *engine.Runtime, id string) string {
	digest := ""
	if rt != nil {
		digest = rt.CredentialDigests[id]
	}
	switch {
	case digest == "":
		return credsUnknown
	case secrets.DigestMatches(digest, r.creds.Canonical()):
		return credsUnchanged
	}
	return credsRotated
}

func (r *connectionResource) Diff(live engine.Live, rt *engine.Runtime) engine.Change {
	want := r.want()
	creds := engine.AttrChange{Name: "credentials", New: credsPlanned, Sensitive: true}
	if !live.Exists {
		ch := engine.Change{Action: engine.Create}
		for _, k := range connectionAttrOrder {
			ch.Attrs = append(ch.Attrs, engine.AttrChange{Name: k, New: want[k]})
		}
		ch.Attrs = append(ch.Attrs, creds, engine.AttrChange{Name: "id", Unknown: true})
		return ch
	}
	ch := engine.Change{Action: engine.NoOp}
	for _, k := range connectionAttrOrder {
		a := engine.AttrChange{Name: k, Old: live.Attrs[k], New: want[k]}
		if k == "path" || k == "name" {
			// Fabric compares names and normalizes hosts without regard to case.
			if strings.EqualFold(a.Old, a.New) {
				a.Old = a.New
			}
		}
		if a.Changed() {
			if connectionForcesReplace(k) {
				a.ForcesReplace = true
				ch.Action, ch.Reason = engine.Replace, "Fabric cannot change a connection's "+k+" in place"
			} else if ch.Action == engine.NoOp {
				ch.Action = engine.Update
			}
		}
		ch.Attrs = append(ch.Attrs, a)
	}
	state := r.credentialState(rt, live.ID)
	creds.Old = state
	if state == credsUnchanged {
		creds.New = credsUnchanged
	} else if ch.Action == engine.NoOp {
		ch.Action = engine.Update
		if state == credsUnknown {
			ch.Reason = "fabplan's state has no digest of the connection's credentials: they are set again"
		} else {
			ch.Reason = "the credentials are not the ones fabplan last set (rotated)"
		}
	}
	ch.Attrs = append(ch.Attrs, creds)
	return ch
}

// connectionUndo is the argument of the connection undo operations. Sent is what a create sent
// (the evidence its delete needs); Previous the connection an update or replace found, with the
// digest of its credentials when fabplan knew it (never a value), and whether this change set
// the credentials: only then does the undo read them again.
type connectionUndo struct {
	ID                 string         `json:"id,omitempty"`
	Name               string         `json:"name"`
	Sent               *connectionDef `json:"sent,omitempty"`
	Previous           *connectionDef `json:"previous,omitempty"`
	CredentialDigest   string         `json:"credential_digest,omitempty"`
	CredentialsChanged bool           `json:"credentials_changed,omitempty"`
}

// previousDef is the live connection as a definition: what Fabric returns (no parameters, only
// their path) with the plan's credential shape and secret names, which an undo verifies against
// the digest before sending.
func (r *connectionResource) previousDef(cn fabric.Connection) *connectionDef {
	d := r.def
	d.Type, d.Path, d.Parameters = cn.Type, cn.Path, nil
	d.PrivacyLevel, d.CredentialType, d.SingleSignOn, d.Encryption = cn.PrivacyLevel, cn.CredentialType,
		cn.SingleSignOnType, cn.ConnectionEncryption
	d.SkipTest, d.AllowGateway, d.AllowUserCode = cn.SkipTestConnection, cn.AllowGateway, cn.AllowUserCode
	return &d
}

func (r *connectionResource) Apply(ctx context.Context, rt *engine.Runtime, ch *engine.Change, intent func(engine.Undo) error) (engine.Applied, error) {
	defer rt.Forget(connectionsMemoKey)
	switch ch.Action {
	case engine.Create:
		sent := r.def
		cn, err := createJournalled(intent, engine.NewUndo("connection.delete", connectionUndo{Name: r.name, Sent: &sent}),
			func() (fabric.Connection, error) {
				return rt.Client.CreateConnection(ctx, r.def.create(r.name, r.creds))
			})
		if err != nil {
			return engine.Applied{}, err
		}
		return engine.Applied{ID: cn.ID, Undo: engine.NewUndo("connection.delete", connectionUndo{ID: cn.ID, Name: r.name}),
			CredentialDigest: secrets.Digest(r.creds.Canonical())}, nil
	case engine.Update:
		before := ch.Live.Data.(fabric.Connection)
		// What ignore_changes keeps is never sent (Change.Wants).
		setCreds := ch.Wants("credentials") || ch.Wants("credential_type")
		undo := engine.NewUndo("connection.restore", connectionUndo{ID: before.ID, Name: r.name,
			Previous: r.previousDef(before), CredentialDigest: rt.CredentialDigests[before.ID], CredentialsChanged: setCreds})
		if err := intent(undo); err != nil {
			return engine.Applied{}, err
		}
		up := r.update(before, ch.Wants)
		if setCreds {
			up.Credentials = &r.creds
		}
		if _, err := rt.Client.UpdateConnection(ctx, before.ID, up); err != nil {
			return engine.Applied{}, err
		}
		applied := engine.Applied{ID: before.ID, Undo: undo}
		if setCreds {
			applied.CredentialDigest = secrets.Digest(r.creds.Canonical())
		} else {
			// Unchanged: carry the known digest forward so the journals keep describing them.
			applied.CredentialDigest = rt.CredentialDigests[before.ID]
		}
		return applied, nil
	case engine.Replace:
		// The previous connection's parameters are not readable (Fabric returns only their
		// path), so it cannot be recreated as it was: the replace is journalled irreversible
		// and the plan said why.
		before := ch.Live.Data.(fabric.Connection)
		if err := intent(engine.Undo{Irreversible: true}); err != nil {
			return engine.Applied{}, err
		}
		if err := ignoreNotFound(rt.Client.DeleteConnection(ctx, before.ID)); err != nil {
			return engine.Applied{}, err
		}
		cn, err := rt.Client.CreateConnection(ctx, r.def.create(r.name, r.creds))
		if err != nil {
			return engine.Applied{}, fmt.Errorf("connection %q was deleted to be replaced, and creating it again failed: %w", r.name, err)
		}
		return engine.Applied{ID: cn.ID, Undo: engine.Undo{Irreversible: true},
			CredentialDigest: secrets.Digest(r.creds.Canonical())}, nil
	}
	return engine.Applied{}, fmt.Errorf("connection: cannot %s", ch.Action)
}

// update is the patch that brings the live connection to the definition, credentials aside: the
// attributes that differ and that wants (Change.Wants for a run: not ignored) asks for.
func (r *connectionResource) update(before fabric.Connection, wants func(attr string) bool) fabric.ConnectionUpdate {
	var up fabric.ConnectionUpdate
	d := r.def
	if before.DisplayName != r.name {
		up.DisplayName = &r.name
	}
	if before.PrivacyLevel != d.PrivacyLevel && wants("privacy_level") {
		up.PrivacyLevel = &d.PrivacyLevel
	}
	if before.SingleSignOnType != d.SingleSignOn && wants("single_sign_on") {
		up.SingleSignOnType = &d.SingleSignOn
	}
	if before.ConnectionEncryption != d.Encryption && wants("connection_encryption") {
		up.ConnectionEncryption = &d.Encryption
	}
	if before.SkipTestConnection != d.SkipTest && wants("skip_test_connection") {
		up.SkipTestConnection = &d.SkipTest
	}
	if before.AllowGateway != d.AllowGateway && wants("allow_gateway") {
		up.AllowGateway = &d.AllowGateway
	}
	return up
}

// Mismatch says how a connection found by name differs from what a create sent; "" when it is
// that.
func (d connectionDef) mismatch(name string, cn fabric.Connection) string {
	return d.create(name, fabric.Credentials{Type: d.CredentialType}).Mismatch(cn)
}

func (connectionBuiltin) UndoOps() engine.UndoRegistry {
	return engine.UndoRegistry{
		"connection.delete": undoOp(func(ctx context.Context, rt *engine.Runtime, u connectionUndo) error {
			return deleteCreated("DeleteConnection", fmt.Sprintf("connection %q", u.Name), u.ID, func() (string, string, bool, error) {
				cn, ok, err := rt.Client.FindConnection(ctx, u.Name)
				why := ""
				if ok && u.Sent != nil {
					why = u.Sent.mismatch(u.Name, cn)
				}
				return cn.ID, why, ok, err
			}, func(id string) error { return rt.Client.DeleteConnection(ctx, id) })
		}),
		"connection.restore": undoOp(restoreConnection),
	}
}

// restoreConnection puts back an updated connection's previous definition. Its credentials are read
// again, and sent, only when the run changed them, and only when what the secrets hold now is
// what the connection had before (the digest says so): fabplan never kept the previous value, so
// a secret that now holds another value cannot restore it, and the undo then changes nothing, so
// that the rollback can be attempted again once the secret holds the previous value.
func restoreConnection(ctx context.Context, rt *engine.Runtime, u connectionUndo) error {
	if u.Previous == nil {
		return fmt.Errorf("connection %q: the undo has no previous definition", u.Name)
	}
	p := u.Previous
	var up fabric.ConnectionUpdate
	if u.CredentialsChanged {
		var why string
		switch creds, err := p.resolveCredentials(ctx, rt); {
		case err != nil:
			why = err.Error()
		case u.CredentialDigest == "":
			why = "fabplan never knew the credentials it had before this run"
		case !secrets.DigestMatches(u.CredentialDigest, creds.Canonical()):
			why = fmt.Sprintf("the secrets %s no longer hold the values it had before this run", secretNames(p.Secrets))
		default:
			up.Credentials = &creds
		}
		if why != "" {
			return fmt.Errorf("connection %q: this run changed its credentials, which cannot be restored: %s; fabplan "+
				"never stores credentials: put the previous values back in the secrets (Key Vault: the earlier version) "+
				"and roll back again, or run the plan to keep the current ones (nothing was changed)", u.Name, why)
		}
	}
	cn, err := rt.Client.GetConnection(ctx, u.ID)
	if err != nil {
		return err
	}
	prev := &connectionResource{name: u.Name, def: *p}
	patch := prev.update(cn, func(string) bool { return true })
	patch.Credentials = up.Credentials
	if patch == (fabric.ConnectionUpdate{}) {
		return nil
	}
	_, err = rt.Client.UpdateConnection(ctx, u.ID, patch)
	return err
}

func secretNames(m map[string]string) string {
	var names []string
	for _, p := range credentialParams() {
		if n, ok := m[p]; ok {
			names = append(names, fmt.Sprintf("%q", n))
		}
	}
	return strings.Join(names, ", ")
}

// connectionPreviews are the rollback previews of the connection undo operations.
func connectionPreviews() engine.PreviewRegistry {
	read := func(ctx context.Context, rt *engine.Runtime, u connectionUndo, pv *engine.UndoPreview) error {
		var cn fabric.Connection
		var err error
		if u.ID != "" {
			cn, err = rt.Client.GetConnection(ctx, u.ID)
			pv.Exists = err == nil
		} else {
			cn, pv.Exists, err = rt.Client.FindConnection(ctx, u.Name)
		}
		if err = ignoreNotFound(err); err != nil || !pv.Exists {
			return err
		}
		pv.ID, pv.Live = cn.ID, connectionAttrs(cn)
		return nil
	}
	return engine.PreviewRegistry{
		"connection.delete": previewOp(func(ctx context.Context, rt *engine.Runtime, u connectionUndo) (engine.UndoPreview, error) {
			pv := engine.UndoPreview{Action: engine.Delete, Kind: "connection"}
			return pv, read(ctx, rt, u, &pv)
		}),
		"connection.restore": previewOp(func(ctx context.Context, rt *engine.Runtime, u connectionUndo) (engine.UndoPreview, error) {
			pv := engine.UndoPreview{Action: engine.Update, Kind: "connection"}
			if p := u.Previous; p != nil {
				pv.Restores = map[string]string{"privacy_level": p.PrivacyLevel, "single_sign_on": p.SingleSignOn,
					"connection_encryption": p.Encryption, "skip_test_connection": strconv.FormatBool(p.SkipTest),
					"allow_gateway": strconv.FormatBool(p.AllowGateway)}
			}
			return pv, read(ctx, rt, u, &pv)
		}),
	}
}
