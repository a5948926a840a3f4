package fabric

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
)

// DefaultGraphURL is Microsoft Graph's base, version included.
const DefaultGraphURL = "https://graph.microsoft.com/v1.0"

// EnvGraphURL overrides DefaultGraphURL.
const EnvGraphURL = "FABPLAN_GRAPH_URL"

// Graph looks principals up in Microsoft Graph, on the Fabric client's middleware and identity.
type Graph struct {
	base string
	pl   runtime.Pipeline
}

// DirectoryObject is a user, group or service principal as Graph describes it.
type DirectoryObject struct {
	ID                string `json:"id"`
	DisplayName       string `json:"displayName"`
	UserPrincipalName string `json:"userPrincipalName,omitempty"`
	AppID             string `json:"appId,omitempty"`
}

// Graph permissions fabplan's lookups need, for messages.
const (
	GraphPermissionUsers             = "User.ReadBasic.All"
	GraphPermissionGroups            = "GroupMember.Read.All"
	GraphPermissionServicePrincipals = "Application.Read.All"
)

// Graph returns a Graph client for base ("" = FABPLAN_GRAPH_URL's default, Microsoft Graph v1.0).
func (c *Client) Graph(base string) (*Graph, error) {
	if base == "" {
		base = DefaultGraphURL
	}
	base = strings.TrimRight(base, "/")
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("graph URL %q is not an absolute URL (%s)", base, EnvGraphURL)
	}
	if err := checkTransportSecurity(&http.Request{URL: u}, c.cfg.Insecure); err != nil {
		return nil, fmt.Errorf("graph URL %q: %w", base, err)
	}
	opts := c.PipelineOptions(GraphScope)
	opts.PerCallPolicies = append([]policy.Policy{odataErrorPolicy{}}, opts.PerCallPolicies...)
	return &Graph{base: base, pl: runtime.NewPipeline("fabplan-graph", "v1", runtime.PipelineOptions{}, opts)}, nil
}

// odataLiteral quotes s as an OData string literal.
func odataLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// list runs GET base/collection?$filter=...&$select=... and follows @odata.nextLink.
func (g *Graph) list(ctx context.Context, op, collection, filter, sel string) ([]DirectoryObject, error) {
	ctx = withCall(ctx, op)
	q := url.Values{"$filter": {filter}, "$select": {sel}}
	next := g.base + "/" + collection + "?" + strings.ReplaceAll(q.Encode(), "+", "%20")
	var out []DirectoryObject
	for next != "" {
		req, err := runtime.NewRequest(ctx, http.MethodGet, next)
		if err != nil {
			return nil, transportError(op, err)
		}
		req.Raw().Header.Set("Accept", "application/json")
		resp, err := g.pl.Do(req)
		if err != nil {
			return nil, err
		}
		var page struct {
			Value    []DirectoryObject `json:"value"`
			NextLink string            `json:"@odata.nextLink"`
		}
		if err := decode(op, resp, &page); err != nil {
			return nil, err
		}
		out = append(out, page.Value...)
		next = page.NextLink
		if next != "" && !sameOrigin(g.base, next) {
			// The next request carries the identity's Graph token: it goes only where the first did.
			return nil, &Error{Operation: op, ErrorCode: "UnexpectedNextLink",
				Message: fmt.Sprintf("Microsoft Graph's @odata.nextLink leads away from %s; fabplan sends its token nowhere else", g.base)}
		}
	}
	return out, nil
}

// sameOrigin reports whether next has base's scheme and host.
func sameOrigin(base, next string) bool {
	b, err1 := url.Parse(base)
	n, err2 := url.Parse(next)
	return err1 == nil && err2 == nil && strings.EqualFold(b.Scheme, n.Scheme) && strings.EqualFold(b.Host, n.Host)
}

// UsersByUPN returns the users whose userPrincipalName is upn (none or one).
func (g *Graph) UsersByUPN(ctx context.Context, upn string) ([]DirectoryObject, error) {
	return g.list(ctx, "GraphListUsers", "users", "userPrincipalName eq "+odataLiteral(upn), "id,displayName,userPrincipalName")
}

// GroupsByName returns every group whose displayName is name; names are not unique.
func (g *Graph) GroupsByName(ctx context.Context, name string) ([]DirectoryObject, error) {
	return g.list(ctx, "GraphListGroups", "groups", "displayName eq "+odataLiteral(name), "id,displayName")
}

// ServicePrincipalsByAppID returns the service principal of an application (none or one).
func (g *Graph) ServicePrincipalsByAppID(ctx context.Context, appID string) ([]DirectoryObject, error) {
	return g.list(ctx, "GraphListServicePrincipals", "servicePrincipals", "appId eq "+odataLiteral(appID), "id,displayName,appId")
}

// TokenClaims are the claims of an access token fabplan reads to tell who it acts as. They are
// read, not verified: the service that receives the token verifies it.
type TokenClaims struct {
	ObjectID string `json:"oid"`
	AppID    string `json:"appid"`
	UPN      string `json:"upn"`
	Username string `json:"preferred_username"`
	IDType   string `json:"idtyp"` // "app" or "user"; optional in Entra's tokens
	Scope    string `json:"scp"`   // delegated permissions: only user tokens carry them
	TenantID string `json:"tid"`
	Audience string `json:"aud"`
}

// IsUser reports whether the token was issued to a signed-in user.
func (t TokenClaims) IsUser() bool {
	if t.IDType != "" {
		return t.IDType == "user"
	}
	return t.UPN != "" || t.Username != "" || t.Scope != ""
}

// Who names the identity: the user's name, else the application id, else the object id.
func (t TokenClaims) Who() string {
	for _, s := range []string{t.UPN, t.Username, t.AppID, t.ObjectID} {
		if s != "" {
			return s
		}
	}
	return "unknown identity"
}

// tokenError is a credential's failure to get a token as an *Error whose AuthenticationFailed is
// true, condensed to the credential and the explanation of Entra (AADSTS) or of a managed identity
// endpoint ({"message": ...}): azidentity's own text carries the whole HTTP exchange.
func tokenError(op string, err error) *Error {
	msg := authMessage(err)
	if m := serviceMessage.FindStringSubmatch(err.Error()); m != nil && !strings.Contains(msg, "AADSTS") {
		var text string
		if json.Unmarshal([]byte(m[1]), &text) == nil {
			msg += " " + text
		}
	}
	return &Error{Operation: op, ErrorCode: codeAuthenticationFailed, Message: msg, Err: err}
}

// serviceMessage finds a "message" in the response body azidentity quotes in its error.
var serviceMessage = regexp.MustCompile(`"message":\s*("(?:[^"\\]|\\.)*")`)

// Token gets a token for scope from cred and reads its claims; a failure is tokenError's.
func Token(ctx context.Context, cred azcore.TokenCredential, scope string) (TokenClaims, error) {
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
	if err != nil {
		return TokenClaims{}, tokenError("", err)
	}
	return parseClaims(tok.Token), nil
}

// parseClaims decodes a JWT's payload; a token that is no JWT gives empty claims.
func parseClaims(tok string) TokenClaims {
	var c TokenClaims
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return c
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return c
	}
	_ = json.Unmarshal(b, &c)
	return c
}

// Credential is the identity the client acts as (for Graph, Key Vault and doctor's token checks).
func (c *Client) Credential() azcore.TokenCredential { return c.cfg.Credential }

// BaseURL is the Fabric endpoint the client calls (without /v1): journals record it as their target.
func (c *Client) BaseURL() string { return c.base }
