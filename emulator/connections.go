package emulator

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// cloudGatewayID is the virtual gateway every cloud connection of the tenant goes through.
const cloudGatewayID = "8f72eea3-d989-4a5a-aeed-02b3aaa2ddd0"

// connection is a shareable cloud connection. Its credentials are never kept: only their type.
type connection struct {
	ID                   string    `json:"id"`
	Seq                  uint64    `json:"seq"`
	DisplayName          string    `json:"displayName"`
	Type                 string    `json:"type"`
	Path                 string    `json:"path"`
	PrivacyLevel         string    `json:"privacyLevel"`
	CredentialType       string    `json:"credentialType"`
	SingleSignOnType     string    `json:"singleSignOnType"`
	ConnectionEncryption string    `json:"connectionEncryption"`
	SkipTestConnection   bool      `json:"skipTestConnection"`
	AllowGateway         bool      `json:"allowConnectionUsageInGateway"`
	AllowUserCode        bool      `json:"allowUsageInUserControlledCode"`
	Created              time.Time `json:"created"`
}

type connectionJSON struct {
	ID                             string            `json:"id"`
	DisplayName                    string            `json:"displayName"`
	GatewayID                      string            `json:"gatewayId"`
	ConnectivityType               string            `json:"connectivityType"`
	ConnectionDetails              connectionDetails `json:"connectionDetails"`
	PrivacyLevel                   string            `json:"privacyLevel"`
	CredentialDetails              credentialDetails `json:"credentialDetails"`
	AllowConnectionUsageInGateway  bool              `json:"allowConnectionUsageInGateway"`
	AllowUsageInUserControlledCode bool              `json:"allowUsageInUserControlledCode"`
	ConnectionRecency              connectionRecency `json:"connectionRecency"`
}

type connectionDetails struct {
	Type string `json:"type"`
	Path string `json:"path"`
}

type credentialDetails struct {
	CredentialType       string `json:"credentialType"`
	SingleSignOnType     string `json:"singleSignOnType"`
	ConnectionEncryption string `json:"connectionEncryption"`
	SkipTestConnection   bool   `json:"skipTestConnection"`
}

type connectionRecency struct {
	CreatedDateTime string `json:"createdDateTime"`
}

// seedConnections makes the fixture connections: shareable cloud connections with a key credential, which is
// what a GitHub connection for Git integration is.
func (e *Emulator) seedConnections() {
	e.st.Connections = map[string]*connection{}
	for _, fc := range e.fix.Connections {
		cn := &connection{ID: fc.ID, Seq: e.nextSeq(), DisplayName: fc.DisplayName, Type: fc.Type, Path: fc.Path,
			PrivacyLevel: "Organizational", CredentialType: "Key", SingleSignOnType: "None",
			ConnectionEncryption: "NotEncrypted", Created: e.now().UTC()}
		if cn.Type == "" {
			cn.Type = "GitHubSourceControl"
		}
		if cn.Path == "" {
			cn.Path = "https://github.com"
		}
		e.st.Connections[cn.ID] = cn
	}
}

func connectionView(cn *connection) connectionJSON {
	return connectionJSON{ID: cn.ID, DisplayName: cn.DisplayName, GatewayID: cloudGatewayID,
		ConnectivityType:  "ShareableCloud",
		ConnectionDetails: connectionDetails{Type: cn.Type, Path: cn.Path}, PrivacyLevel: cn.PrivacyLevel,
		CredentialDetails: credentialDetails{CredentialType: cn.CredentialType, SingleSignOnType: cn.SingleSignOnType,
			ConnectionEncryption: cn.ConnectionEncryption, SkipTestConnection: cn.SkipTestConnection},
		AllowConnectionUsageInGateway: cn.AllowGateway, AllowUsageInUserControlledCode: cn.AllowUserCode,
		ConnectionRecency: connectionRecency{CreatedDateTime: cn.Created.UTC().Format(time.RFC3339)}}
}

func (e *Emulator) listConnections(c *call) (*response, error) {
	all := make([]*connection, 0, len(e.st.Connections))
	for _, cn := range e.st.Connections {
		all = append(all, cn)
	}
	slices.SortFunc(all, func(a, b *connection) int { return cmpSeq(a.Seq, b.Seq) })
	out := make([]connectionJSON, 0, len(all))
	for _, cn := range all {
		out = append(out, connectionView(cn))
	}
	return paged(c, out)
}

func (c *call) connection() (*connection, error) {
	id, err := c.pathID("connectionId")
	if err != nil {
		return nil, err
	}
	cn := c.e.st.Connections[id]
	if cn == nil {
		return nil, notFound("ConnectionNotFound", "Connection", id)
	}
	return cn, nil
}

func (e *Emulator) getConnection(c *call) (*response, error) {
	cn, err := c.connection()
	if err != nil {
		return nil, err
	}
	return ok(connectionView(cn))
}

type connectionRequest struct {
	ConnectivityType  *string `json:"connectivityType"`
	DisplayName       *string `json:"displayName"`
	PrivacyLevel      *string `json:"privacyLevel"`
	ConnectionDetails *struct {
		Type           string `json:"type"`
		CreationMethod string `json:"creationMethod"`
		Parameters     []struct {
			DataType string `json:"dataType"`
			Name     string `json:"name"`
			Value    string `json:"value"`
		} `json:"parameters"`
	} `json:"connectionDetails"`
	CredentialDetails *struct {
		SingleSignOnType     *string `json:"singleSignOnType"`
		ConnectionEncryption *string `json:"connectionEncryption"`
		SkipTestConnection   *bool   `json:"skipTestConnection"`
		// Credentials is checked for the fields its type requires, then kept for its type only:
		// the secrets in it are dropped with the request.
		Credentials *credentialsRequest `json:"credentials"`
	} `json:"credentialDetails"`
	AllowConnectionUsageInGateway  *bool `json:"allowConnectionUsageInGateway"`
	AllowUsageInUserControlledCode *bool `json:"allowUsageInUserControlledCode"`
}

type credentialsRequest struct {
	CredentialType                  string          `json:"credentialType"`
	Username                        string          `json:"username"`
	Password                        string          `json:"password"`
	PasswordReference               json.RawMessage `json:"passwordReference"`
	Key                             string          `json:"key"`
	KeyReference                    json.RawMessage `json:"keyReference"`
	TenantID                        string          `json:"tenantId"`
	ServicePrincipalClientID        string          `json:"servicePrincipalClientId"`
	ServicePrincipalSecret          string          `json:"servicePrincipalSecret"`
	ServicePrincipalSecretReference json.RawMessage `json:"servicePrincipalSecretReference"`
	Token                           string          `json:"token"`
	TokenReference                  json.RawMessage `json:"tokenReference"`
}

// check refuses credentials without what their type requires: a value or its Key Vault reference,
// never both.
func (cr *credentialsRequest) check() error {
	const f = "credentialDetails.credentials."
	secret := func(name, value string, ref json.RawMessage) error {
		has := len(ref) > 0 && string(ref) != "null"
		if (value == "") == !has {
			return invalidField(f+name, "is required: give "+name+" or "+name+"Reference, not both")
		}
		return nil
	}
	switch cr.CredentialType {
	case "Basic":
		if cr.Username == "" {
			return invalidField(f+"username", "is required")
		}
		return secret("password", cr.Password, cr.PasswordReference)
	case "Key":
		return secret("key", cr.Key, cr.KeyReference)
	case "ServicePrincipal":
		if cr.TenantID == "" || cr.ServicePrincipalClientID == "" {
			return invalidField(f+"tenantId, servicePrincipalClientId", "are required")
		}
		return secret("servicePrincipalSecret", cr.ServicePrincipalSecret, cr.ServicePrincipalSecretReference)
	case "SharedAccessSignature":
		return secret("token", cr.Token, cr.TokenReference)
	}
	return nil
}

// decodeConnection parses a create or update body: the shareable cloud connections the emulator serves.
func (c *call) decodeConnection() (*connectionRequest, error) {
	var req connectionRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if req.ConnectivityType == nil {
		return nil, invalidField("connectivityType", "is required")
	}
	if *req.ConnectivityType != "ShareableCloud" {
		return nil, invalidField("connectivityType", "the emulator serves ShareableCloud connections only, not '"+
			truncate(*req.ConnectivityType, 40)+"'")
	}
	if p := req.PrivacyLevel; p != nil && !slices.Contains([]string{"None", "Organizational", "Private", "Public"}, *p) {
		return nil, invalidField("privacyLevel", "must be None, Organizational, Private or Public")
	}
	if cd := req.CredentialDetails; cd != nil && cd.Credentials != nil && !slices.Contains([]string{"Anonymous", "Basic",
		"Key", "OAuth2", "ServicePrincipal", "SharedAccessSignature", "Windows", "WindowsWithoutImpersonation",
		"WorkspaceIdentity", "KeyPair"}, cd.Credentials.CredentialType) {
		return nil, invalidField("credentialDetails.credentials.credentialType", "is not a credential type")
	}
	if cd := req.CredentialDetails; cd != nil && cd.Credentials != nil {
		if err := cd.Credentials.check(); err != nil {
			return nil, err
		}
	}
	return &req, nil
}

// invalidField is Fabric's validation error: InvalidInput, with a detail naming the field.
func invalidField(field, msg string) *apiError {
	ae := invalidInput("The request has an invalid input")
	ae.More = []errorDetail{{ErrorCode: "InvalidParameter", Message: "'" + field + "' " + msg}}
	return ae
}

func (e *Emulator) checkConnectionName(name, self string) error {
	if strings.TrimSpace(name) == "" || utf8.RuneCountInString(name) > 200 {
		return invalidField("displayName", "must be 1 to 200 characters")
	}
	for _, cn := range e.st.Connections {
		if cn.ID != self && strings.EqualFold(cn.DisplayName, name) {
			return errf(http.StatusConflict, "DuplicateConnectionName", "A connection named '%s' already exists", name)
		}
	}
	return nil
}

func (e *Emulator) createConnection(c *call) (*response, error) {
	req, err := c.decodeConnection()
	if err != nil {
		return nil, err
	}
	if req.DisplayName == nil || req.ConnectionDetails == nil || req.CredentialDetails == nil ||
		req.CredentialDetails.Credentials == nil {
		return nil, invalidField("displayName, connectionDetails, credentialDetails.credentials", "are required")
	}
	if err := e.checkConnectionName(*req.DisplayName, ""); err != nil {
		return nil, err
	}
	d := req.ConnectionDetails
	if d.Type == "" || d.CreationMethod == "" || len(d.Parameters) == 0 {
		return nil, invalidField("connectionDetails", "needs type, creationMethod and parameters")
	}
	var values []string
	for _, p := range d.Parameters {
		values = append(values, p.Value)
	}
	cn := &connection{ID: e.newID(), Seq: e.nextSeq(), DisplayName: *req.DisplayName, Type: d.Type,
		Path: strings.Join(values, ";"), PrivacyLevel: "Organizational", SingleSignOnType: "None",
		ConnectionEncryption: "NotEncrypted", Created: c.now.UTC()}
	cn.apply(req)
	e.st.Connections[cn.ID] = cn
	return &response{status: http.StatusCreated, header: http.Header{"Location": {e.base + "/v1/connections/" + cn.ID}},
		body: connectionView(cn)}, nil
}

// apply sets what a create or update request gives.
func (cn *connection) apply(req *connectionRequest) {
	if req.DisplayName != nil {
		cn.DisplayName = *req.DisplayName
	}
	if req.PrivacyLevel != nil {
		cn.PrivacyLevel = *req.PrivacyLevel
	}
	if cd := req.CredentialDetails; cd != nil {
		if cd.SingleSignOnType != nil {
			cn.SingleSignOnType = *cd.SingleSignOnType
		}
		if cd.ConnectionEncryption != nil {
			cn.ConnectionEncryption = *cd.ConnectionEncryption
		}
		if cd.SkipTestConnection != nil {
			cn.SkipTestConnection = *cd.SkipTestConnection
		}
		if cd.Credentials != nil {
			cn.CredentialType = cd.Credentials.CredentialType
		}
	}
	if req.AllowConnectionUsageInGateway != nil {
		cn.AllowGateway = *req.AllowConnectionUsageInGateway
	}
	if req.AllowUsageInUserControlledCode != nil {
		cn.AllowUserCode = *req.AllowUsageInUserControlledCode
	}
}

func (e *Emulator) updateConnection(c *call) (*response, error) {
	cn, err := c.connection()
	if err != nil {
		return nil, err
	}
	req, err := c.decodeConnection()
	if err != nil {
		return nil, err
	}
	if req.DisplayName != nil {
		if err := e.checkConnectionName(*req.DisplayName, cn.ID); err != nil {
			return nil, err
		}
	}
	cn.apply(req)
	return ok(connectionView(cn))
}

func (e *Emulator) deleteConnection(c *call) (*response, error) {
	cn, err := c.connection()
	if err != nil {
		return nil, err
	}
	delete(e.st.Connections, cn.ID)
	return emptyOK()
}
