package fabric

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// Token scopes of the services fabplan calls.
const (
	FabricScope   = "https://api.fabric.microsoft.com/.default"
	GraphScope    = "https://graph.microsoft.com/.default"
	KeyVaultScope = "https://vault.azure.net/.default"
)

// Auth modes accepted by AuthConfig.Mode (and --auth / FABPLAN_AUTH).
const (
	AuthClientSecret     = "client-secret"
	AuthWorkloadIdentity = "workload-identity"
	AuthAzureCLI         = "azure-cli"
	AuthDeviceCode       = "device-code"
	AuthManagedIdentity  = "managed-identity"
	AuthDefault          = "default"
)

// AuthModes lists the accepted modes, in the order they are documented.
func AuthModes() []string {
	return []string{AuthClientSecret, AuthWorkloadIdentity, AuthAzureCLI, AuthDeviceCode, AuthManagedIdentity, AuthDefault}
}

// AuthConfig selects and configures the identity fabplan acts as.
type AuthConfig struct {
	Mode                                        string // one of AuthModes; "" = client-secret
	TenantID, ClientID, ClientSecret, TokenFile string
	// AuthorityHost points every credential at another Entra (the emulator) and turns MSAL's
	// instance discovery off, which would otherwise call login.microsoftonline.com.
	AuthorityHost    string
	HTTPClient       *http.Client // transport for Entra calls (CA trust); nil = default
	DeviceCodePrompt func(message string)
}

// AuthConfigFromEnv reads FABPLAN_AUTH, FABPLAN_AUTHORITY_HOST and the AZURE_* variables through
// getenv (os.Getenv in the CLI, a map in tests).
func AuthConfigFromEnv(getenv func(string) string) AuthConfig {
	return AuthConfig{
		Mode:          getenv("FABPLAN_AUTH"),
		TenantID:      getenv("AZURE_TENANT_ID"),
		ClientID:      getenv("AZURE_CLIENT_ID"),
		ClientSecret:  getenv("AZURE_CLIENT_SECRET"),
		TokenFile:     getenv("AZURE_FEDERATED_TOKEN_FILE"),
		AuthorityHost: getenv("FABPLAN_AUTHORITY_HOST"),
	}
}

// NewCredential builds the azidentity credential cfg asks for, wrapped in a per-scope token cache
// that fabplan's bearer policy can invalidate when Fabric answers TokenExpired.
func NewCredential(cfg AuthConfig) (azcore.TokenCredential, error) {
	opts := azcore.ClientOptions{}
	if cfg.HTTPClient != nil {
		opts.Transport = cfg.HTTPClient
	}
	discoveryOff := false
	if cfg.AuthorityHost != "" {
		host := cfg.AuthorityHost
		if !strings.HasPrefix(host, "https://") {
			return nil, fmt.Errorf("authority host %q: must be an https URL (FABPLAN_AUTHORITY_HOST or --authority-host)", host)
		}
		if !strings.HasSuffix(host, "/") {
			host += "/"
		}
		opts.Cloud = cloud.Configuration{ActiveDirectoryAuthorityHost: host}
		discoveryOff = true
	}
	mode := cfg.Mode
	if mode == "" {
		mode = AuthClientSecret
	}
	var cred azcore.TokenCredential
	var err error
	switch mode {
	case AuthClientSecret:
		if err := need(mode, map[string]string{"AZURE_TENANT_ID": cfg.TenantID, "AZURE_CLIENT_ID": cfg.ClientID, "AZURE_CLIENT_SECRET": cfg.ClientSecret}); err != nil {
			return nil, err
		}
		cred, err = azidentity.NewClientSecretCredential(cfg.TenantID, cfg.ClientID, cfg.ClientSecret,
			&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: discoveryOff})
	case AuthWorkloadIdentity:
		if err := need(mode, map[string]string{"AZURE_TENANT_ID": cfg.TenantID, "AZURE_CLIENT_ID": cfg.ClientID, "AZURE_FEDERATED_TOKEN_FILE": cfg.TokenFile}); err != nil {
			return nil, err
		}
		cred, err = azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
			ClientOptions: opts, TenantID: cfg.TenantID, ClientID: cfg.ClientID, TokenFilePath: cfg.TokenFile,
			DisableInstanceDiscovery: discoveryOff})
	case AuthAzureCLI:
		cred, err = azidentity.NewAzureCLICredential(&azidentity.AzureCLICredentialOptions{TenantID: cfg.TenantID})
	case AuthDeviceCode:
		prompt := cfg.DeviceCodePrompt
		if prompt == nil {
			return nil, errors.New("device-code auth needs a place to show the sign-in message (DeviceCodePrompt)")
		}
		cred, err = azidentity.NewDeviceCodeCredential(&azidentity.DeviceCodeCredentialOptions{
			ClientOptions: opts, TenantID: cfg.TenantID, ClientID: cfg.ClientID, DisableInstanceDiscovery: discoveryOff,
			UserPrompt: func(_ context.Context, m azidentity.DeviceCodeMessage) error { prompt(m.Message); return nil }})
	case AuthManagedIdentity:
		mi := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: opts}
		if cfg.ClientID != "" {
			mi.ID = azidentity.ClientID(cfg.ClientID)
		}
		cred, err = azidentity.NewManagedIdentityCredential(mi)
	case AuthDefault:
		cred, err = defaultChain(cfg, opts, discoveryOff)
	default:
		return nil, fmt.Errorf("unknown auth mode %q (--auth / FABPLAN_AUTH): use one of %s", mode, strings.Join(AuthModes(), ", "))
	}
	if err != nil {
		return nil, fmt.Errorf("%s credential: %w", mode, err)
	}
	tc := newTokenCache(cred)
	tc.secrets = []string{cfg.ClientSecret}
	return tc, nil
}

// defaultChain tries, in order, every identity whose settings are present, then the Azure CLI, then
// managed identity (last: probing IMDS is slow off Azure). It keeps to the first that works.
func defaultChain(cfg AuthConfig, opts azcore.ClientOptions, discoveryOff bool) (azcore.TokenCredential, error) {
	var srcs []azcore.TokenCredential
	if cfg.TenantID != "" && cfg.ClientID != "" && cfg.ClientSecret != "" {
		c, err := azidentity.NewClientSecretCredential(cfg.TenantID, cfg.ClientID, cfg.ClientSecret,
			&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: discoveryOff})
		if err != nil {
			return nil, err
		}
		srcs = append(srcs, c)
	}
	if cfg.TenantID != "" && cfg.ClientID != "" && cfg.TokenFile != "" {
		c, err := azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
			ClientOptions: opts, TenantID: cfg.TenantID, ClientID: cfg.ClientID, TokenFilePath: cfg.TokenFile,
			DisableInstanceDiscovery: discoveryOff})
		if err != nil {
			return nil, err
		}
		srcs = append(srcs, c)
	}
	if c, err := azidentity.NewAzureCLICredential(&azidentity.AzureCLICredentialOptions{TenantID: cfg.TenantID}); err == nil {
		srcs = append(srcs, c)
	}
	mi := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: opts}
	if cfg.ClientID != "" && cfg.ClientSecret == "" && cfg.TokenFile == "" {
		mi.ID = azidentity.ClientID(cfg.ClientID)
	}
	if c, err := azidentity.NewManagedIdentityCredential(mi); err == nil {
		srcs = append(srcs, c)
	}
	return azidentity.NewChainedTokenCredential(srcs, nil)
}

func need(mode string, vals map[string]string) error {
	var missing []string
	for _, k := range []string{"AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_FEDERATED_TOKEN_FILE"} {
		if v, ok := vals[k]; ok && v == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s auth needs %s to be set", mode, strings.Join(missing, ", "))
	}
	return nil
}

// tokenCache caches one token per scope set and tenant. It refreshes a token five minutes before it
// expires (or at the RefreshOn the authority suggested) and drops it when a service says it expired.
type tokenCache struct {
	cred azcore.TokenCredential
	// secrets are the credential's own secret values; New adds them to the ones its logger blanks out.
	secrets []string
	mu      sync.Mutex
	m       map[string]*cachedToken
}

type cachedToken struct {
	mu  sync.Mutex // one refresh at a time per scope
	tok azcore.AccessToken
	// refused is the last token a service answered TokenExpired/InvalidToken to. azidentity keeps a
	// cache of its own and would hand the same token back while its clock says it is fresh.
	refused string
}

func newTokenCache(cred azcore.TokenCredential) *tokenCache {
	return &tokenCache{cred: cred, m: map[string]*cachedToken{}}
}

func cacheKey(o policy.TokenRequestOptions) string {
	return o.TenantID + "|" + strings.Join(o.Scopes, " ") + "|" + o.Claims
}

func (c *tokenCache) entry(o policy.TokenRequestOptions) *cachedToken {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := cacheKey(o)
	e, ok := c.m[k]
	if !ok {
		e = &cachedToken{}
		c.m[k] = e
	}
	return e
}

// GetToken returns the cached token for o's scopes while it is fresh, else a new one.
func (c *tokenCache) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	e := c.entry(o)
	e.mu.Lock()
	defer e.mu.Unlock()
	if fresh(e.tok, time.Now()) {
		return e.tok, nil
	}
	tok, err := c.cred.GetToken(ctx, o)
	if err != nil {
		return azcore.AccessToken{}, err
	}
	if e.refused != "" && tok.Token == e.refused {
		// A claims request is the documented way past azidentity's (MSAL's) cache: it always goes to
		// Entra. The claim asks for a token issued from now on, which any new token satisfies.
		fo := o
		fo.Claims = fmt.Sprintf(`{"access_token":{"nbf":{"essential":true,"value":"%d"}}}`, time.Now().Unix())
		if fresh, ferr := c.cred.GetToken(ctx, fo); ferr == nil {
			tok = fresh
		}
	}
	e.tok = tok
	return tok, nil
}

// invalidate drops the cached token for o after a service refused it.
func (c *tokenCache) invalidate(o policy.TokenRequestOptions, token string) {
	e := c.entry(o)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.tok.Token == token {
		e.tok = azcore.AccessToken{}
	}
	e.refused = token
}

func fresh(t azcore.AccessToken, now time.Time) bool {
	if t.Token == "" {
		return false
	}
	if !t.RefreshOn.IsZero() {
		return now.Before(t.RefreshOn)
	}
	return now.Before(t.ExpiresOn.Add(-5 * time.Minute))
}
