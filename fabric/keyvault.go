package fabric

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
)

// KeyVaultConfig configures a Key Vault reader.
type KeyVaultConfig struct {
	URL string // https://NAME.vault.azure.net/
	// Credential is the identity to read secrets as; nil = the Fabric client's (--kv-auth picks
	// another).
	Credential azcore.TokenCredential
	// Timeout bounds one secret read, retries included; default 30 s.
	Timeout time.Duration
}

// KeyVault reads secrets through azsecrets, on the Fabric client's middleware (retry, breaker,
// throttle, logging, the one error type). It is safe for concurrent use.
type KeyVault struct {
	url     string
	timeout time.Duration
	client  *azsecrets.Client
}

// KeyVault returns a reader for the vault cfg names.
//
// azsecrets authorizes itself through Key Vault's challenge (a first request without a token, a 401
// naming tenant and resource). It checks that the challenge's resource (vault.azure.net) is a
// suffix of the vault's host; a vault on a loopback address (the emulator) cannot pass that check,
// so it is switched off for loopback hosts only, never for a real vault.
func (c *Client) KeyVault(cfg KeyVaultConfig) (*KeyVault, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("key vault URL %q is not an absolute URL (FABPLAN_KEY_VAULT_URL)", cfg.URL)
	}
	if u.Scheme != "https" {
		return nil, fmt.Errorf("key vault URL %q: must be https; secrets never travel over plain http", cfg.URL)
	}
	cred := cfg.Credential
	if cred == nil {
		cred = c.cfg.Credential
	}
	cred = vaultCredential{cred}
	opts := c.PipelineOptions("")
	opts.PerCallPolicies = append([]policy.Policy{odataErrorPolicy{}}, opts.PerCallPolicies...)
	client, err := azsecrets.NewClient(cfg.URL, cred, &azsecrets.ClientOptions{
		ClientOptions:                        *opts,
		DisableChallengeResourceVerification: isLoopback(u.Hostname()),
	})
	if err != nil {
		return nil, fmt.Errorf("key vault %s: %w", cfg.URL, err)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	return &KeyVault{url: cfg.URL, timeout: cfg.Timeout, client: client}, nil
}

// URL is the vault's address.
func (k *KeyVault) URL() string { return k.url }

// GetSecret returns the latest version of a secret. Failures are *Error (StatusCode 0 when the vault
// never answered).
func (k *KeyVault) GetSecret(ctx context.Context, name string) (string, error) {
	ctx, cancel := context.WithTimeout(withCall(ctx, "KeyVaultGetSecret"), k.timeout)
	defer cancel()
	resp, err := k.client.GetSecret(ctx, name, "", nil)
	if err != nil {
		return "", vaultCallError(err)
	}
	if resp.Value == nil {
		return "", &Error{Operation: "KeyVaultGetSecret", StatusCode: http.StatusOK, ErrorCode: "SecretHasNoValue",
			Message: fmt.Sprintf("secret %q has no value", name)}
	}
	return *resp.Value, nil
}

// vaultCallError turns what azsecrets returns into the one error type: the pipeline already gives
// *Error for answers; the challenge policy's own failures (a token refused, a malformed challenge)
// arrive as other errors.
func vaultCallError(err error) error {
	var fe *Error
	if errors.As(err, &fe) {
		return fe
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return &Error{Operation: "KeyVaultGetSecret", StatusCode: re.StatusCode, ErrorCode: re.ErrorCode, Message: err.Error(), Err: err}
	}
	return &Error{Operation: "KeyVaultGetSecret", ErrorCode: CodeRequestFailed, Message: err.Error(), Err: err}
}

// vaultCredential is the identity azsecrets' challenge policy asks for tokens. That policy returns
// a credential's failure as is; this makes it tokenError's, so that it is told apart from a vault
// that failed (the vault was never asked).
type vaultCredential struct{ azcore.TokenCredential }

func (c vaultCredential) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	tok, err := c.TokenCredential.GetToken(ctx, o)
	if err != nil {
		e := tokenError("KeyVaultGetSecret", err)
		e.Hint = "check the identity settings (--auth or --kv-auth, AZURE_TENANT_ID, AZURE_CLIENT_ID, the secret or token file) and that it may sign in to the vault's tenant"
		return tok, e
	}
	return tok, nil
}

// codeAuthenticationFailed is the errorCode of an *Error whose identity got no token.
const codeAuthenticationFailed = "AuthenticationFailed"

// AuthenticationFailed reports whether the identity got no token, so the service was never asked.
func (e *Error) AuthenticationFailed() bool { return e.ErrorCode == codeAuthenticationFailed }

// HTTPStatus is the status the service answered, 0 when none arrived.
func (e *Error) HTTPStatus() int { return e.StatusCode }

// ServiceMessage is the service's errorCode and message, without the operation or hint.
func (e *Error) ServiceMessage() string {
	if e.ErrorCode == "" {
		return e.Message
	}
	return e.ErrorCode + ": " + e.Message
}

// odataErrorPolicy reads the error body Graph and Key Vault send ({"error": {"code", "message",
// "innerError": {"request-id"}}}) into the *Error that errorPolicy built from a Fabric-shaped body.
type odataErrorPolicy struct{}

func (odataErrorPolicy) Do(req *policy.Request) (*http.Response, error) {
	resp, err := req.Next()
	var fe *Error
	if err == nil || resp == nil || !errors.As(err, &fe) || fe.StatusCode == 0 {
		return resp, err
	}
	var body struct {
		Error struct {
			Code       string `json:"code"`
			Message    string `json:"message"`
			InnerError struct {
				Code      string `json:"code"`
				RequestID string `json:"request-id"`
			} `json:"innerError"`
			InnerErrorKV struct {
				Code string `json:"code"`
			} `json:"innererror"`
		} `json:"error"`
	}
	if json.Unmarshal(peekBody(resp), &body) != nil || body.Error.Code == "" {
		return resp, err
	}
	fe.ErrorCode, fe.Message = body.Error.Code, strings.TrimSpace(body.Error.Message)
	if inner := body.Error.InnerErrorKV.Code; inner != "" {
		fe.Message += " (" + inner + ")"
	}
	if id := body.Error.InnerError.RequestID; id != "" && fe.RequestID == "" {
		fe.RequestID = id
	}
	if fe.Hint == "" {
		fe.Hint = hint(fe.ErrorCode)
	}
	return resp, fe
}
