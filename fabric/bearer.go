package fabric

import (
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// bearerPolicy authorizes each attempt with a token for its scope. It replaces azcore's
// BearerTokenPolicy for two reasons: an explicit --insecure may allow plain http to a loopback
// address (azcore allows all hosts or none), and a 401 TokenExpired/InvalidToken drops the cached
// token and is answered once with a fresh one.
type bearerPolicy struct {
	cred     azcore.TokenCredential
	scope    string
	insecure bool
}

func (p bearerPolicy) Do(req *policy.Request) (*http.Response, error) {
	if err := checkTransportSecurity(req.Raw(), p.insecure); err != nil {
		return nil, err
	}
	o := policy.TokenRequestOptions{Scopes: []string{p.scope}}
	tok, err := p.authorize(req, o)
	if err != nil {
		return nil, err
	}
	resp, err := req.Next()
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	tc, ok := p.cred.(*tokenCache)
	if code := responseCode(resp); !ok || code != "TokenExpired" && code != "InvalidToken" {
		return resp, nil
	}
	tc.invalidate(o, tok)
	if req.RewindBody() != nil {
		return resp, nil
	}
	if _, err := p.authorize(req, o); err != nil {
		return resp, nil
	}
	return req.Next()
}

// AuthHint is the remediation of a failed sign-in.
const AuthHint = "check the identity settings (--auth, AZURE_TENANT_ID, AZURE_CLIENT_ID, the secret or token file) and that the app may sign in to this tenant"

func (p bearerPolicy) authorize(req *policy.Request, o policy.TokenRequestOptions) (string, error) {
	tok, err := p.cred.GetToken(req.Raw().Context(), o)
	if err != nil {
		return "", &Error{ErrorCode: "AuthenticationFailed", Message: authMessage(err), Err: err, Hint: AuthHint}
	}
	req.Raw().Header.Set("Authorization", "Bearer "+tok.Token)
	return tok.Token, nil
}

// checkTransportSecurity refuses to send a bearer token anywhere but https, or http to a loopback
// address when insecure was asked for explicitly.
func checkTransportSecurity(r *http.Request, insecure bool) error {
	switch strings.ToLower(r.URL.Scheme) {
	case "https":
		return nil
	case "http":
		if insecure && isLoopback(r.URL.Hostname()) {
			return nil
		}
	}
	return withHint(&Error{ErrorCode: CodeInsecureEndpoint,
		Message: fmt.Sprintf("refusing to send a bearer token to %s://%s over plain http", r.URL.Scheme, r.URL.Host)})
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
