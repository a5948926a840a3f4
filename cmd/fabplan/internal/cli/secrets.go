package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/spf13/pflag"

	"github.com/fabplan/fabplan/builtins"
	"github.com/fabplan/fabplan/fabric"
	"github.com/fabplan/fabplan/secrets"
)

// SecretSettings are the flags about secrets, principal lookups and the Key Vault identity, and
// the per-process state built from them. The Factory embeds them.
type SecretSettings struct {
	KeyVaultURL    string
	EnvFile        string
	SecretFallback string
	SecretTTL      time.Duration
	KVAuth         string
	KVTimeout      time.Duration
	GraphURL       string
	PrincipalsFile string

	redactOnce sync.Once
	redactor   *secrets.Redactor

	lookupMu   sync.Mutex
	resolver   *secrets.Resolver
	principals *builtins.PrincipalResolver
}

// Redactor is the process's redactor: every secret value resolved by this process is scrubbed from
// everything written through IOStreams (stdout, stderr, logs, errors) and from the journal. It
// starts out knowing the values of the credential variables in the environment (the client secret,
// a CI token; secrets.CredentialEnv), which fabplan never prints either.
func (f *Factory) Redactor() *secrets.Redactor {
	f.redactOnce.Do(func() {
		f.redactor = secrets.NewRedactor()
		for _, k := range secrets.CredentialEnv() {
			if v := f.Getenv(k); v != "" {
				f.redactor.Add(k, v)
			}
		}
	})
	return f.redactor
}

// Redact routes Out and ErrOut through r so that no secret value reaches them, even one split
// across writes. The returned function writes what the writers held back; call it before exit.
func (s *IOStreams) Redact(r *secrets.Redactor) (flush func()) {
	out, errOut := r.Writer(s.Out), r.Writer(s.ErrOut)
	s.Out, s.ErrOut = out, errOut
	return func() {
		out.Flush()
		errOut.Flush()
	}
}

// bindSecretFlags adds the flags of commands that resolve secrets or principals.
func (f *Factory) bindSecretFlags(fs *pflag.FlagSet) {
	fs.StringVar(&f.KeyVaultURL, "key-vault-url", "", "Azure Key Vault that secret() reads (env FABPLAN_KEY_VAULT_URL, or KEY_VAULT_URL with FEATURE_USE_KEY_VAULT=true)")
	fs.StringVar(&f.EnvFile, "env-file", "", "a .env file secret() falls back to (default: .env beside the plan, when it exists)")
	fs.StringVar(&f.SecretFallback, "secret-fallback", "auto", "when Key Vault fails, may the environment or .env file stand in: auto (yes, except under CI=true), allow or refuse")
	fs.DurationVar(&f.SecretTTL, "secret-ttl", secrets.DefaultTTL, "how long a resolved secret is reused within the run")
	fs.StringVar(&f.KVAuth, "kv-auth", "", "identity for Key Vault when it differs from the Fabric one (same modes as --auth; FABPLAN_KV_TENANT_ID, FABPLAN_KV_CLIENT_ID, FABPLAN_KV_CLIENT_SECRET and FABPLAN_KV_FEDERATED_TOKEN_FILE replace the AZURE_* settings)")
	fs.DurationVar(&f.KVTimeout, "kv-timeout", 30*time.Second, "bound on one Key Vault read, retries included")
	fs.StringVar(&f.GraphURL, "graph-url", "", "Microsoft Graph base URL incl. version (env FABPLAN_GRAPH_URL; default https://graph.microsoft.com/v1.0)")
	fs.StringVar(&f.PrincipalsFile, "principals", "", "JSON file mapping principal names (UPN, group name, app id) to object ids; used before Microsoft Graph")
}

// VaultURL is the configured vault: --key-vault-url, FABPLAN_KEY_VAULT_URL, or the seed framework's
// KEY_VAULT_URL when FEATURE_USE_KEY_VAULT=true. "" = none.
func (f *Factory) VaultURL() string {
	if f.KeyVaultURL != "" {
		return f.KeyVaultURL
	}
	if v := f.Getenv("FABPLAN_KEY_VAULT_URL"); v != "" {
		return v
	}
	if f.Getenv("FEATURE_USE_KEY_VAULT") == "true" {
		return f.Getenv("KEY_VAULT_URL")
	}
	return ""
}

// CI reports whether fabplan runs under CI (InCI): no prompts, no fallback by default.
func (f *Factory) CI() bool { return InCI(f.Getenv) }

// Secrets returns the run's secret resolver for a plan. It reads the .env file now; Key Vault is
// contacted only when a secret is resolved.
func (f *Factory) Secrets(planFile string) (*secrets.Resolver, error) {
	f.lookupMu.Lock()
	defer f.lookupMu.Unlock()
	if f.resolver != nil {
		return f.resolver, nil
	}
	fallback, err := secrets.ParseFallback(f.SecretFallback)
	if err != nil {
		return nil, Usagef(err)
	}
	envPath := f.EnvFile
	if envPath == "" && planFile != "" {
		if p := filepath.Join(filepath.Dir(planFile), ".env"); fileExists(p) {
			envPath = p
		}
	}
	var envFile *secrets.EnvFile
	if envPath != "" {
		if envFile, err = secrets.ReadEnvFile(envPath); err != nil {
			var bad *secrets.EnvFileError
			switch {
			case errors.Is(err, fs.ErrNotExist):
				return nil, Usagef(fmt.Errorf("--env-file %s does not exist", envPath))
			case errors.As(err, &bad): // bad input, like a plan that does not evaluate
				return nil, Usagef(err)
			}
			return nil, err
		}
	}
	opts := secrets.Options{Getenv: f.Getenv, EnvFile: envFile, TTL: f.SecretTTL, Fallback: fallback, CI: f.CI(),
		Redactor: f.Redactor(), Warn: func(msg string) { fmt.Fprintln(f.IO.ErrOut, "Warning:", msg) }}
	if u := f.VaultURL(); u != "" {
		opts.Vault = &lazyVault{f: f, url: u}
	}
	f.resolver = secrets.New(opts)
	return f.resolver, nil
}

// Principals returns the run's principal resolver; Microsoft Graph is contacted only when a
// principal given by name is resolved.
func (f *Factory) Principals() (*builtins.PrincipalResolver, error) {
	f.lookupMu.Lock()
	defer f.lookupMu.Unlock()
	if f.principals != nil {
		return f.principals, nil
	}
	pr, err := builtins.NewPrincipalResolver(func() (builtins.Directory, error) {
		c, err := f.Client()
		if err != nil {
			return nil, err
		}
		return c.Graph(f.graphURL())
	}, f.PrincipalsFile)
	if err != nil {
		return nil, Usagef(err)
	}
	f.principals = pr
	return pr, nil
}

// graphURL is --graph-url, FABPLAN_GRAPH_URL, the embedded emulator's Graph under --emulator, or ""
// for Microsoft Graph. Call it after Client, which starts the embedded emulator.
func (f *Factory) graphURL() string {
	if f.GraphURL != "" {
		return f.GraphURL
	}
	if u := f.EmulatorURL(); u != "" {
		return u + "/graph/v1.0"
	}
	return f.Getenv(fabric.EnvGraphURL)
}

// Lookups gives an evaluation the run's secret and principal resolvers.
func (f *Factory) Lookups(eo *builtins.EvalOptions) error {
	s, err := f.Secrets(eo.File)
	if err != nil {
		return err
	}
	p, err := f.Principals()
	if err != nil {
		return err
	}
	eo.Secrets, eo.Principals = s, p
	return nil
}

// KeyVault returns the reader of the configured vault, acting as --kv-auth's identity or else the
// Fabric one.
func (f *Factory) KeyVault() (*fabric.KeyVault, error) {
	u := f.VaultURL()
	if u == "" {
		return nil, errors.New("no Key Vault is configured (FABPLAN_KEY_VAULT_URL or --key-vault-url)")
	}
	c, err := f.Client()
	if err != nil {
		return nil, err
	}
	cred, err := f.KeyVaultCredential()
	if err != nil {
		return nil, err
	}
	return c.KeyVault(fabric.KeyVaultConfig{URL: u, Credential: cred, Timeout: f.KVTimeout})
}

// KeyVaultCredential is --kv-auth's identity; nil when Key Vault uses the Fabric identity.
//
// It takes the AZURE_* settings, except those FABPLAN_KV_* variables replace: without them, Key
// Vault could only be read in another mode of the same identity, never as a second one (a service
// principal with vault access beside a deployer without it). A managed identity for Key Vault is
// the one FABPLAN_KV_CLIENT_ID names, or the system-assigned one: AZURE_CLIENT_ID then names the
// Fabric identity, not a user-assigned identity of this host.
func (f *Factory) KeyVaultCredential() (azcore.TokenCredential, error) {
	if f.KVAuth == "" {
		return nil, nil
	}
	auth := fabric.AuthConfigFromEnv(f.Getenv)
	auth.Mode = f.KVAuth
	for _, o := range []struct {
		env string
		to  *string
	}{
		{"FABPLAN_KV_TENANT_ID", &auth.TenantID},
		{"FABPLAN_KV_CLIENT_ID", &auth.ClientID},
		{"FABPLAN_KV_CLIENT_SECRET", &auth.ClientSecret},
		{"FABPLAN_KV_FEDERATED_TOKEN_FILE", &auth.TokenFile},
	} {
		if v := f.Getenv(o.env); v != "" {
			*o.to = v
		}
	}
	if auth.Mode == fabric.AuthManagedIdentity {
		auth.ClientID = f.Getenv("FABPLAN_KV_CLIENT_ID")
	}
	if f.AuthorityHost != "" {
		auth.AuthorityHost = f.AuthorityHost
	}
	auth.DeviceCodePrompt = f.DeviceCodePrompt
	if err := f.checkPrompt(auth.Mode); err != nil {
		return nil, fmt.Errorf("--kv-auth: %w", err)
	}
	cred, err := fabric.NewCredential(auth)
	if err != nil {
		return nil, fmt.Errorf("--kv-auth: %w", err)
	}
	return cred, nil
}

// checkPrompt refuses a device-code sign-in under CI=true, where it would wait for a code nobody
// can enter until it expires.
func (f *Factory) checkPrompt(mode string) error {
	if mode == fabric.AuthDeviceCode && f.CI() {
		return errors.New("--auth device-code needs a person to enter a code, and CI=true says there is none: " +
			"in CI use a service principal (client-secret), workload identity or managed identity")
	}
	return nil
}

// DeviceCodePrompt shows the device-code sign-in message on stderr.
func (f *Factory) DeviceCodePrompt(message string) { fmt.Fprintln(f.IO.ErrOut, message) }

// lazyVault builds the Key Vault reader on first use, so that a plan without secrets needs no
// client.
type lazyVault struct {
	f    *Factory
	url  string
	once sync.Once
	kv   *fabric.KeyVault
	err  error
}

var _ secrets.Vault = (*lazyVault)(nil)

func (v *lazyVault) URL() string { return v.url }

func (v *lazyVault) GetSecret(ctx context.Context, name string) (string, error) {
	v.once.Do(func() { v.kv, v.err = v.f.KeyVault() })
	if v.err != nil {
		return "", &secrets.ConfigError{Err: v.err}
	}
	return v.kv.GetSecret(ctx, name)
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}
