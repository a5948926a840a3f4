package fabric

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/microsoft/fabric-sdk-go/fabric/core"
)

// Connection is a tenant-level connection as Fabric lists it. Fabric never returns credentials:
// only their type.
type Connection struct {
	ID                   string
	DisplayName          string
	ConnectivityType     string // ShareableCloud for the connections fabplan manages
	GatewayID            string // for cloud connections, the tenant's virtual gateway
	Type                 string // connectionDetails.type: SQL, AzureDataLakeStorage, AmazonS3...
	Path                 string // connectionDetails.path, derived by Fabric from the creation parameters
	PrivacyLevel         string
	CredentialType       string
	SingleSignOnType     string
	ConnectionEncryption string
	SkipTestConnection   bool
	AllowGateway         bool // allowConnectionUsageInGateway
	AllowUserCode        bool // allowUsageInUserControlledCode
}

// ConnectionParam is one connection details parameter. DataType is Text, Number or Boolean.
type ConnectionParam struct {
	Name     string `json:"name"`
	DataType string `json:"data_type"`
	Value    string `json:"value"`
}

// Credentials are a connection's credentials. They hold secret values: they format as
// "(credentials)" and refuse JSON encoding, so that no log line, error or journal record can
// carry them by accident. Only the request builder below reads the fields.
type Credentials struct {
	Type         string // Anonymous, Basic, Key, ServicePrincipal, SharedAccessSignature, WorkspaceIdentity
	Username     string // Basic
	Password     string // Basic
	Key          string // Key
	TenantID     string // ServicePrincipal
	ClientID     string // ServicePrincipal
	ClientSecret string // ServicePrincipal
	Token        string // SharedAccessSignature
}

// String hides the values.
func (Credentials) String() string { return "(credentials)" }

// GoString hides the values from %#v.
func (Credentials) GoString() string { return "(credentials)" }

// MarshalJSON refuses: credentials are sent through the SDK's request models only.
func (Credentials) MarshalJSON() ([]byte, error) {
	return nil, errors.New("fabric: credentials are never encoded outside a request")
}

// Canonical is the text a credential digest is computed over: the type and every field, in a
// fixed order, length-prefixed so that no two credentials share it.
func (c Credentials) Canonical() []byte {
	var b strings.Builder
	for _, f := range []string{c.Type, c.Username, c.Password, c.Key, c.TenantID, c.ClientID, c.ClientSecret, c.Token} {
		b.WriteString(strconv.Itoa(len(f)))
		b.WriteByte(':')
		b.WriteString(f)
	}
	return []byte(b.String())
}

func (c Credentials) sdk() core.CredentialsClassification {
	ct := core.CredentialType(c.Type)
	switch c.Type {
	case "Basic":
		return &core.BasicCredentials{CredentialType: &ct, Username: &c.Username, Password: &c.Password}
	case "Key":
		return &core.KeyCredentials{CredentialType: &ct, Key: &c.Key}
	case "ServicePrincipal":
		return &core.ServicePrincipalCredentials{CredentialType: &ct, TenantID: &c.TenantID,
			ServicePrincipalClientID: &c.ClientID, ServicePrincipalSecret: &c.ClientSecret}
	case "SharedAccessSignature":
		return &core.SharedAccessSignatureCredentials{CredentialType: &ct, Token: &c.Token}
	case "WorkspaceIdentity":
		return &core.WorkspaceIdentityCredentials{CredentialType: &ct}
	}
	return &core.AnonymousCredentials{CredentialType: &ct}
}

// ConnectionCreate is what CreateConnection sends: a ShareableCloud connection.
type ConnectionCreate struct {
	DisplayName          string
	Type                 string
	CreationMethod       string
	Parameters           []ConnectionParam
	PrivacyLevel         string
	Credentials          Credentials
	SingleSignOnType     string
	ConnectionEncryption string
	SkipTestConnection   bool
	AllowGateway         bool
	AllowUserCode        bool
}

// Mismatch says how a connection found by name differs from what the create sent; "" when it is
// that (credentials cannot be compared: Fabric never returns them).
func (in ConnectionCreate) Mismatch(cn Connection) string {
	return mismatch(field{"connectivity type", "ShareableCloud", cn.ConnectivityType, true},
		field{"type", in.Type, cn.Type, true},
		field{"path", ConnectionPath(in.Parameters), cn.Path, false},
		field{"credential type", in.Credentials.Type, cn.CredentialType, true})
}

// ConnectionPath is the path Fabric derives from creation parameters: their values in order,
// joined with ';' (a SQL server and database give "server;database").
func ConnectionPath(params []ConnectionParam) string {
	values := make([]string, len(params))
	for i, p := range params {
		values[i] = p.Value
	}
	return strings.Join(values, ";")
}

func sdkParams(params []ConnectionParam) ([]core.ConnectionDetailsParameterClassification, error) {
	out := make([]core.ConnectionDetailsParameterClassification, 0, len(params))
	for _, p := range params {
		dt := core.DataType(p.DataType)
		switch p.DataType {
		case "Number":
			f, err := strconv.ParseFloat(p.Value, 32)
			if err != nil {
				return nil, fmt.Errorf("connection parameter %s: %q is not a number", p.Name, p.Value)
			}
			v := float32(f)
			out = append(out, &core.ConnectionDetailsNumberParameter{DataType: &dt, Name: &p.Name, Value: &v})
		case "Boolean":
			v := p.Value == "true"
			out = append(out, &core.ConnectionDetailsBooleanParameter{DataType: &dt, Name: &p.Name, Value: &v})
		default:
			dt = core.DataTypeText
			out = append(out, &core.ConnectionDetailsTextParameter{DataType: &dt, Name: &p.Name, Value: &p.Value})
		}
	}
	return out, nil
}

func fromSDKConnection(cc core.ConnectionClassification) Connection {
	if cc == nil {
		return Connection{}
	}
	c := cc.GetConnection()
	cn := Connection{ID: str(c.ID), DisplayName: str(c.DisplayName), ConnectivityType: str(c.ConnectivityType),
		GatewayID: str(c.GatewayID), PrivacyLevel: str(c.PrivacyLevel)}
	if d := c.ConnectionDetails; d != nil {
		cn.Type, cn.Path = str(d.Type), str(d.Path)
	}
	if cd := c.CredentialDetails; cd != nil {
		cn.CredentialType, cn.SingleSignOnType, cn.ConnectionEncryption = str(cd.CredentialType),
			str(cd.SingleSignOnType), str(cd.ConnectionEncryption)
		cn.SkipTestConnection = cd.SkipTestConnection != nil && *cd.SkipTestConnection
	}
	if s, ok := cc.(*core.ShareableCloudConnection); ok {
		cn.AllowGateway = s.AllowConnectionUsageInGateway != nil && *s.AllowConnectionUsageInGateway
		cn.AllowUserCode = s.AllowUsageInUserControlledCode != nil && *s.AllowUsageInUserControlledCode
	}
	return cn
}

// ListConnections lists every connection the identity can see, following continuationUri.
func (c *Client) ListConnections(ctx context.Context) ([]Connection, error) {
	list, err := c.conns.ListConnections(withCall(ctx, "ListConnections"), nil)
	return convertAll(list, err, fromSDKConnection)
}

// FindConnection looks a connection up by display name, its natural key (Fabric compares names
// without regard to case).
func (c *Client) FindConnection(ctx context.Context, name string) (Connection, bool, error) {
	all, err := c.ListConnections(ctx)
	return findFirst(all, err, func(cn Connection) bool { return strings.EqualFold(cn.DisplayName, name) })
}

// GetConnection reads one connection.
func (c *Client) GetConnection(ctx context.Context, id string) (Connection, error) {
	r, err := c.conns.GetConnection(withCall(ctx, "GetConnection"), id, nil)
	if err != nil {
		return Connection{}, err
	}
	return fromSDKConnection(r.ConnectionClassification), nil
}

// CreateConnection creates a ShareableCloud connection; after a lost or failed answer it looks
// the name up instead of sending the create again blindly, and takes a connection it finds only
// if it is what was sent.
func (c *Client) CreateConnection(ctx context.Context, in ConnectionCreate) (Connection, error) {
	params, err := sdkParams(in.Parameters)
	if err != nil {
		return Connection{}, err
	}
	return createReconciled(ctx, c, "CreateConnection", fmt.Sprintf("connection %q", in.DisplayName),
		func(ctx context.Context) (Connection, bool, error) { return c.FindConnection(ctx, in.DisplayName) },
		func(_ context.Context, cn Connection) (string, error) { return in.Mismatch(cn), nil },
		func(ctx context.Context) (Connection, error) {
			ct := core.ConnectivityTypeShareableCloud
			req := &core.CreateCloudConnectionRequest{
				ConnectivityType: &ct, DisplayName: &in.DisplayName,
				ConnectionDetails: &core.CreateConnectionDetails{Type: &in.Type, CreationMethod: &in.CreationMethod,
					Parameters: params},
				CredentialDetails: &core.CreateCredentialDetails{Credentials: in.Credentials.sdk(),
					SkipTestConnection: &in.SkipTestConnection},
				AllowConnectionUsageInGateway: &in.AllowGateway, AllowUsageInUserControlledCode: &in.AllowUserCode,
			}
			if in.PrivacyLevel != "" {
				pl := core.PrivacyLevel(in.PrivacyLevel)
				req.PrivacyLevel = &pl
			}
			if in.SingleSignOnType != "" {
				s := core.SingleSignOnType(in.SingleSignOnType)
				req.CredentialDetails.SingleSignOnType = &s
			}
			if in.ConnectionEncryption != "" {
				e := core.ConnectionEncryption(in.ConnectionEncryption)
				req.CredentialDetails.ConnectionEncryption = &e
			}
			r, err := c.conns.CreateConnection(ctx, req, nil)
			if err != nil {
				return Connection{}, err
			}
			return fromSDKConnection(r.ConnectionClassification), nil
		})
}

// ConnectionUpdate changes what it gives; nil fields are left as they are. Credentials nil keeps
// the connection's credentials: Fabric asks for them only when they change.
type ConnectionUpdate struct {
	DisplayName          *string
	PrivacyLevel         *string
	Credentials          *Credentials
	SingleSignOnType     *string
	ConnectionEncryption *string
	SkipTestConnection   *bool
	AllowGateway         *bool
}

// UpdateConnection patches a ShareableCloud connection. Fabric cannot change a connection's type
// or parameters in place, nor allowUsageInUserControlledCode.
func (c *Client) UpdateConnection(ctx context.Context, id string, in ConnectionUpdate) (Connection, error) {
	ct := core.ConnectivityTypeShareableCloud
	req := &core.UpdateShareableCloudConnectionRequest{ConnectivityType: &ct, DisplayName: in.DisplayName,
		AllowConnectionUsageInGateway: in.AllowGateway}
	if in.PrivacyLevel != nil {
		pl := core.PrivacyLevel(*in.PrivacyLevel)
		req.PrivacyLevel = &pl
	}
	if in.Credentials != nil || in.SingleSignOnType != nil || in.ConnectionEncryption != nil || in.SkipTestConnection != nil {
		cd := &core.UpdateCredentialDetails{SkipTestConnection: in.SkipTestConnection}
		if in.Credentials != nil {
			cd.Credentials = in.Credentials.sdk()
		}
		if in.SingleSignOnType != nil {
			s := core.SingleSignOnType(*in.SingleSignOnType)
			cd.SingleSignOnType = &s
		}
		if in.ConnectionEncryption != nil {
			e := core.ConnectionEncryption(*in.ConnectionEncryption)
			cd.ConnectionEncryption = &e
		}
		req.CredentialDetails = cd
	}
	r, err := c.conns.UpdateConnection(withCall(ctx, "UpdateConnection"), id, req, nil)
	if err != nil {
		return Connection{}, err
	}
	return fromSDKConnection(r.ConnectionClassification), nil
}

// DeleteConnection deletes a connection.
func (c *Client) DeleteConnection(ctx context.Context, id string) error {
	_, err := c.conns.DeleteConnection(withCall(ctx, "DeleteConnection"), id, nil)
	return err
}
