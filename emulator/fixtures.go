package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// Principal types as Fabric and Graph name them.
const (
	PrincipalUser                    = "User"
	PrincipalGroup                   = "Group"
	PrincipalServicePrincipal        = "ServicePrincipal"
	PrincipalServicePrincipalProfile = "ServicePrincipalProfile"
)

// Fixtures is the seed data of a tenant: who exists, what they may do, and which capacities and secrets there
// are. It is read-only once the emulator has started. The JSON form is what --fixtures FILE reads.
type Fixtures struct {
	TenantID    string       `json:"tenantId"`
	Principals  []Principal  `json:"principals"`
	Capacities  []Capacity   `json:"capacities"`
	Secrets     []Secret     `json:"secrets,omitempty"`
	Connections []Connection `json:"connections,omitempty"`
	// DeviceCodeUser is the user principal name a device-code sign-in authenticates as (default: first user).
	DeviceCodeUser string `json:"deviceCodeUser,omitempty"`
}

// Principal is an Entra object: a user, group, service principal or service principal profile.
type Principal struct {
	ID                string `json:"id"` // Entra object id (for service principals the SP object id, not the appId)
	Type              string `json:"type"`
	DisplayName       string `json:"displayName"`
	UserPrincipalName string `json:"userPrincipalName,omitempty"` // users
	Mail              string `json:"mail,omitempty"`              // users
	AppID             string `json:"appId,omitempty"`             // service principals: the client id
	ClientSecret      string `json:"clientSecret,omitempty"`      // service principals that sign in with a secret
	// FederatedSubject is the `sub` a client_assertion must carry (workload identity). Empty = the assertion
	// must name the client id as its subject.
	FederatedSubject string   `json:"federatedSubject,omitempty"`
	Members          []string `json:"members,omitempty"`   // groups: member object ids
	GroupType        string   `json:"groupType,omitempty"` // groups: SecurityGroup (default) | DistributionList | Unknown
	ParentID         string   `json:"parentId,omitempty"`  // profiles: the parent service principal's object id
	// GraphRead lets the principal read users, groups and service principals through Microsoft Graph.
	GraphRead bool `json:"graphRead,omitempty"`
	// SecretsRead lets the principal read Key Vault secrets.
	SecretsRead bool `json:"secretsRead,omitempty"`
	// ManagedIdentity makes a service principal a managed identity: it gets tokens from the App Service style
	// endpoint (IDENTITY_ENDPOINT) instead of with a secret. The first one is the system-assigned identity.
	ManagedIdentity bool `json:"managedIdentity,omitempty"`
	// NoWorkspaceCreate forbids creating workspaces (tenant setting "Create workspaces").
	NoWorkspaceCreate bool `json:"noWorkspaceCreate,omitempty"`
}

// Capacity is a Fabric capacity.
type Capacity struct {
	ID          string   `json:"id"`
	DisplayName string   `json:"displayName"`
	SKU         string   `json:"sku"`
	Region      string   `json:"region"`
	State       string   `json:"state"`           // Active | Inactive
	Users       []string `json:"users,omitempty"` // object ids allowed to assign workspaces (capacity contributors)
}

// Secret is a Key Vault secret seeded at start.
type Secret struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Connection is a Fabric connection, listed by GET /v1/connections; a GitHub Git connection names one
// (myGitCredentials ConfiguredConnection).
type Connection struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	Type        string `json:"type,omitempty"` // connectionDetails.type, default GitHubSourceControl
	Path        string `json:"path,omitempty"` // connectionDetails.path, default https://github.com
}

// Fixed ids of DefaultFixtures, so that docs, scripts and golden files can name them.
const (
	DefaultTenantID       = "8c3dad1d-b6bc-4f8b-939b-8263372eced6"
	DefaultClientID       = "5c7a2bd6-2f1f-4f3e-9a51-0c1d9e2f0a01"
	DefaultClientSecret   = "emulator-only-secret-5c7a2bd6"
	DefaultSPObjectID     = "9b2e7f30-6a3c-4b8e-8f21-3d5a6c7e8f02"
	DefaultCapacityID     = "3f6b1d2e-4c5a-4e7f-9a8b-7c6d5e4f3a21"
	DefaultUserID         = "1a2b3c4d-0000-4000-8000-00000000a11c"
	DefaultUserUPN        = "alice@fabplan.test"
	DefaultGroupID        = "2b3c4d5e-0000-4000-8000-0000000d47a0"
	DefaultConnectionID   = "4c5d6e7f-0000-4000-8000-00000000c011"
	defaultReaderObjectID = "7d8e9f00-0000-4000-8000-0000000be11a"
	DefaultMIClientID     = "8e9fa0b1-0000-4000-8000-00000000a1d1"
	DefaultMIObjectID     = "8e9fa0b1-0000-4000-8000-00000000a1d2"
)

// DefaultFixtures is the tenant every emulator starts with unless told otherwise: one service principal that
// may do everything (Fabric, Graph, Key Vault, the capacity), a user, a group, a service principal without
// Graph, Key Vault or capacity rights, a managed identity that may read Key Vault, a capacity named
// "demo-capacity" (F4, Active) and one secret.
func DefaultFixtures() *Fixtures {
	return &Fixtures{
		TenantID: DefaultTenantID,
		Principals: []Principal{
			{ID: DefaultSPObjectID, Type: PrincipalServicePrincipal, DisplayName: "fabplan-deployer",
				AppID: DefaultClientID, ClientSecret: DefaultClientSecret, GraphRead: true, SecretsRead: true},
			{ID: DefaultUserID, Type: PrincipalUser, DisplayName: "Alice Example",
				UserPrincipalName: DefaultUserUPN, Mail: DefaultUserUPN},
			{ID: DefaultGroupID, Type: PrincipalGroup, DisplayName: "Data Engineers", GroupType: "SecurityGroup",
				Members: []string{DefaultUserID}},
			{ID: defaultReaderObjectID, Type: PrincipalServicePrincipal, DisplayName: "fabplan-reader",
				AppID: "6d7e8f90-0000-4000-8000-0000000be11b", ClientSecret: "emulator-only-reader-secret"},
			{ID: DefaultMIObjectID, Type: PrincipalServicePrincipal, DisplayName: "fabplan-runner-identity",
				AppID: DefaultMIClientID, ManagedIdentity: true, SecretsRead: true},
		},
		Capacities: []Capacity{{ID: DefaultCapacityID, DisplayName: "demo-capacity", SKU: "F4",
			Region: "West Central US", State: "Active", Users: []string{DefaultSPObjectID}}},
		Secrets:     []Secret{{Name: "demo-secret", Value: "s3cr3t-from-the-emulator"}},
		Connections: []Connection{{ID: DefaultConnectionID, DisplayName: "github-fabplan"}},
	}
}

// LoadFixtures reads a fixtures JSON file; unknown fields are errors so that typos do not pass silently.
func LoadFixtures(path string) (*Fixtures, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("fixtures: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var f Fixtures
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("fixtures file %s: %w", path, err)
	}
	if err := f.validate(); err != nil {
		return nil, fmt.Errorf("fixtures file %s: %w", path, err)
	}
	return &f, nil
}

func (f *Fixtures) validate() error {
	if _, err := guid("tenantId", f.TenantID); err != nil {
		return fmt.Errorf("tenantId %q is not a GUID", f.TenantID)
	}
	if strings.Contains(f.TenantID, "token") {
		return fmt.Errorf("tenantId must not contain \"token\" (MSAL rewrites it)")
	}
	seen := map[string]bool{}
	for i := range f.Principals {
		p := &f.Principals[i]
		if _, err := guid("id", p.ID); err != nil {
			return fmt.Errorf("principal %q: id %q is not a GUID", p.DisplayName, p.ID)
		}
		if seen[p.ID] {
			return fmt.Errorf("principal id %s appears twice", p.ID)
		}
		seen[p.ID] = true
		switch p.Type {
		case PrincipalUser, PrincipalGroup, PrincipalServicePrincipalProfile:
		case PrincipalServicePrincipal:
			if _, err := guid("appId", p.AppID); err != nil {
				return fmt.Errorf("service principal %q: appId %q is not a GUID", p.DisplayName, p.AppID)
			}
		default:
			return fmt.Errorf("principal %q: type %q is not User, Group, ServicePrincipal or ServicePrincipalProfile", p.DisplayName, p.Type)
		}
	}
	for _, c := range f.Capacities {
		if _, err := guid("id", c.ID); err != nil {
			return fmt.Errorf("capacity %q: id %q is not a GUID", c.DisplayName, c.ID)
		}
		if c.State != "Active" && c.State != "Inactive" {
			return fmt.Errorf("capacity %q: state %q is not Active or Inactive", c.DisplayName, c.State)
		}
	}
	return nil
}

func (f *Fixtures) principal(id string) *Principal {
	for i := range f.Principals {
		if f.Principals[i].ID == id {
			return &f.Principals[i]
		}
	}
	return nil
}

func (f *Fixtures) principalByAppID(appID string) *Principal {
	for i := range f.Principals {
		if f.Principals[i].Type == PrincipalServicePrincipal && strings.EqualFold(f.Principals[i].AppID, appID) {
			return &f.Principals[i]
		}
	}
	return nil
}

func (f *Fixtures) userByUPN(upn string) *Principal {
	for i := range f.Principals {
		p := &f.Principals[i]
		if p.Type == PrincipalUser && strings.EqualFold(p.UserPrincipalName, upn) {
			return p
		}
	}
	return nil
}

func (f *Fixtures) capacity(id string) *Capacity {
	for i := range f.Capacities {
		if strings.EqualFold(f.Capacities[i].ID, id) {
			return &f.Capacities[i]
		}
	}
	return nil
}

// groupsOf returns the ids of the groups the principal is a direct member of.
func (f *Fixtures) groupsOf(id string) []string {
	var out []string
	for _, p := range f.Principals {
		if p.Type == PrincipalGroup {
			for _, m := range p.Members {
				if m == id {
					out = append(out, p.ID)
				}
			}
		}
	}
	return out
}

// label names a principal in the request log: the UPN, app id or display name.
func (p *Principal) label() string {
	switch {
	case p.UserPrincipalName != "":
		return p.UserPrincipalName
	case p.DisplayName != "":
		return p.DisplayName
	}
	return p.ID
}

func (c *Capacity) allows(principalID string) bool {
	for _, u := range c.Users {
		if u == principalID {
			return true
		}
	}
	return false
}
