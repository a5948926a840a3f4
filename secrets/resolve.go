package secrets

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// Vault reads secrets from Azure Key Vault. fabric.KeyVault implements it.
type Vault interface {
	// GetSecret returns the latest version of a secret.
	GetSecret(ctx context.Context, name string) (string, error)
	// URL is the vault's address, for messages.
	URL() string
}

// Source says where a value came from.
type Source string

const (
	FromKeyVault Source = "key vault"
	FromEnv      Source = "environment"
	FromEnvFile  Source = ".env file"
)

// Fallback says whether the environment and the .env file may stand in for Key Vault when the
// vault fails.
type Fallback string

const (
	FallbackAuto   Fallback = "auto"   // allowed, except under CI=true
	FallbackAllow  Fallback = "allow"  // always allowed (with a warning)
	FallbackRefuse Fallback = "refuse" // never: a vault failure is an error
)

// ParseFallback reads the --secret-fallback flag.
func ParseFallback(s string) (Fallback, error) {
	switch f := Fallback(strings.ToLower(strings.TrimSpace(s))); f {
	case "":
		return FallbackAuto, nil
	case FallbackAuto, FallbackAllow, FallbackRefuse:
		return f, nil
	}
	return "", fmt.Errorf("--secret-fallback %q: use auto, allow or refuse", s)
}

// DefaultTTL is how long a resolved value is reused within a run.
const DefaultTTL = time.Hour

// Options configure a Resolver.
type Options struct {
	Vault Vault // nil: no vault configured
	// Getenv reads the environment (os.Getenv in the CLI); nil reads nothing.
	Getenv func(string) string
	// EnvFile is a parsed .env file; nil when there is none.
	EnvFile *EnvFile
	// TTL is how long a value is cached; 0 = DefaultTTL.
	TTL      time.Duration
	Fallback Fallback
	// CI is true under CI=true: the auto fallback policy refuses.
	CI bool
	// Warn receives warnings (a vault failure covered by the fallback). nil drops them.
	Warn func(msg string)
	// Redactor learns every resolved value before Resolve returns it. nil = a new one.
	Redactor *Redactor
	Now      func() time.Time
}

// Resolver resolves secret names to values for one run. It is safe for concurrent use; each name is
// looked up once per TTL however many callers ask at once.
type Resolver struct {
	opts     Options
	mu       sync.Mutex
	m        map[string]*entry
	declared []Declaration
}

type entry struct {
	mu     sync.Mutex
	value  string
	source Source
	at     time.Time
	ok     bool
}

// New returns a resolver.
func New(opts Options) *Resolver {
	if opts.TTL <= 0 {
		opts.TTL = DefaultTTL
	}
	if opts.Getenv == nil {
		opts.Getenv = func(string) string { return "" }
	}
	if opts.Redactor == nil {
		opts.Redactor = NewRedactor()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Fallback == "" {
		opts.Fallback = FallbackAuto
	}
	return &Resolver{opts: opts, m: map[string]*entry{}}
}

// Redactor is the redactor that learns every value this resolver hands out.
func (r *Resolver) Redactor() *Redactor { return r.opts.Redactor }

// VaultURL is the configured vault, or "".
func (r *Resolver) VaultURL() string {
	if r.opts.Vault == nil {
		return ""
	}
	return r.opts.Vault.URL()
}

var validName = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z-]{0,126}$`)

// CheckName reports whether name can name a secret: Key Vault's rule (1-127 letters, digits and
// dashes), which also makes a valid environment variable name once mapped.
func CheckName(name string) error {
	if !validName.MatchString(name) {
		return fmt.Errorf("secret name %q: use 1-127 letters, digits and dashes (Key Vault's rule), starting with a letter or digit", name)
	}
	return nil
}

// EnvName is the environment variable (and .env key) that holds a secret: NAME upper-cased with
// "-" as "_".
func EnvName(name string) string { return strings.ToUpper(strings.ReplaceAll(name, "-", "_")) }

// Resolve returns a secret's value and where it came from. The value has been registered with the
// Redactor before it is returned. Errors never contain the value.
func (r *Resolver) Resolve(ctx context.Context, name string) (string, Source, error) {
	if err := CheckName(name); err != nil {
		return "", "", err
	}
	r.mu.Lock()
	e, ok := r.m[name]
	if !ok {
		e = &entry{}
		r.m[name] = e
	}
	r.mu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ok && r.opts.Now().Sub(e.at) < r.opts.TTL {
		return e.value, e.source, nil
	}
	v, src, err := r.lookup(ctx, name)
	if err != nil {
		return "", "", err
	}
	if len(v) < MinLength {
		return "", "", &Error{Name: name, Source: src, Cause: CauseTooShort,
			Fix: fmt.Sprintf("use a value of at least %d characters; shorter values cannot be kept out of logs reliably", MinLength)}
	}
	r.opts.Redactor.Add(name, v)
	e.value, e.source, e.at, e.ok = v, src, r.opts.Now(), true
	return v, src, nil
}

// CredentialEnv lists the environment variables that hold the deployer's own credentials (the
// identity fabplan, azidentity or Terraform sign in with) or a CI system's token.
//
// secret() never reads one from the environment or a .env file: a plan could otherwise copy the
// identity that deploys it into what it deploys, where anyone who may read a notebook would find
// it. Key Vault may hold a secret of any name; the vault's access policy decides who reads it. The
// CLI also registers their values with its Redactor, so that none reaches an output either.
func CredentialEnv() []string {
	return []string{"AZURE_CLIENT_SECRET", "FABPLAN_KV_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PASSWORD", "AZURE_PASSWORD",
		"AZURE_FEDERATED_TOKEN", "IDENTITY_HEADER", "MSI_SECRET", "ARM_CLIENT_SECRET",
		"ARM_OIDC_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_TOKEN", "ACTIONS_RUNTIME_TOKEN", "GITHUB_TOKEN", "GH_TOKEN",
		"SYSTEM_ACCESSTOKEN", "AZURE_DEVOPS_EXT_PAT", "CI_JOB_TOKEN", "CI_JOB_JWT", "CI_JOB_JWT_V2"}
}

func reservedEnv(key string) bool { return slices.Contains(CredentialEnv(), key) }

// fallback returns the value from the environment or the .env file, if either has one.
func (r *Resolver) fallback(name string) (string, Source, bool) {
	key := EnvName(name)
	if reservedEnv(key) {
		return "", "", false
	}
	if v := r.opts.Getenv(key); v != "" {
		return v, FromEnv, true
	}
	if r.opts.EnvFile != nil {
		if v, ok := r.opts.EnvFile.Values[key]; ok && v != "" {
			return v, FromEnvFile, true
		}
	}
	return "", "", false
}

func (r *Resolver) fallbackAllowed() bool {
	switch r.opts.Fallback {
	case FallbackAllow:
		return true
	case FallbackRefuse:
		return false
	}
	return !r.opts.CI
}

func (r *Resolver) lookup(ctx context.Context, name string) (string, Source, error) {
	if r.opts.Vault == nil {
		if v, src, ok := r.fallback(name); ok {
			return v, src, nil
		}
		if reservedEnv(EnvName(name)) {
			return "", "", &Error{Name: name, Cause: CauseReserved,
				Detail: EnvName(name) + " holds the deployer's credentials or the CI system's token, which a plan never reads",
				Fix:    "store the value in Key Vault (FABPLAN_KEY_VAULT_URL), or under another name in the environment or the .env file"}
		}
		where := "the environment"
		if r.opts.EnvFile != nil {
			where += " or " + r.opts.EnvFile.Path
		}
		return "", "", &Error{Name: name, Cause: CauseNotFound, Detail: "not in " + where + " and no Key Vault is configured",
			Fix: fmt.Sprintf("set %s, add %s=... to a .env file beside the plan (or --env-file), or configure a vault with FABPLAN_KEY_VAULT_URL", EnvName(name), EnvName(name))}
	}
	v, err := r.opts.Vault.GetSecret(ctx, name)
	if err == nil {
		return v, FromKeyVault, nil
	}
	var ce *ConfigError
	if errors.As(err, &ce) {
		// A vault that cannot be used as configured is a mistake to fix, not an outage to ride out.
		return "", "", &Error{Name: name, Vault: r.opts.Vault.URL(), Cause: CauseConfig, Detail: ce.Err.Error(), Err: err,
			Fix: "fix the settings of the vault or of the identity that reads it (FABPLAN_KEY_VAULT_URL; --kv-auth, else --auth, and their AZURE_* variables); no fallback stands in for a misconfigured vault"}
	}
	verr := vaultError(r.opts.Vault.URL(), name, err)
	fv, src, ok := r.fallback(name)
	if !ok {
		return "", "", verr
	}
	if !r.fallbackAllowed() {
		verr.Fix += fmt.Sprintf("; a fallback value exists in the %s (%s) but --secret-fallback=%s refuses it", src, EnvName(name), r.opts.Fallback)
		if r.opts.Fallback == FallbackAuto {
			verr.Fix += " under CI=true"
		}
		return "", "", verr
	}
	if r.opts.Warn != nil {
		r.opts.Warn(fmt.Sprintf("secret %q: Key Vault failed (%s); using the value from the %s (%s) instead", name, verr.Cause, src, EnvName(name)))
	}
	return fv, src, nil
}

// Cause classifies a failure to resolve a secret.
type Cause string

const (
	CauseUnauthorized Cause = "401 unauthorized"
	CauseForbidden    Cause = "403 forbidden"
	CauseNotFound     Cause = "404 not found"
	CauseNetwork      Cause = "network"
	CauseNoToken      Cause = "no token"
	CauseOther        Cause = "error"
	CauseTooShort     Cause = "value too short"
	CauseConfig       Cause = "misconfigured"
	CauseReserved     Cause = "reserved name"
)

// ConfigError is what a Vault returns when it cannot be used as configured (a bad URL, an unusable
// --kv-auth identity). The fallback never stands in for it.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// Error is a secret that could not be resolved: which one, from which vault, why, and what to do.
// It never holds the value.
type Error struct {
	Name   string
	Vault  string // "" when no vault was asked
	Source Source
	Cause  Cause
	Status int
	Detail string // the service's message
	Fix    string
	Err    error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "secret %q", e.Name)
	if e.Vault != "" {
		fmt.Fprintf(&b, " from Key Vault %s", e.Vault)
	} else if e.Source != "" {
		fmt.Fprintf(&b, " from the %s", e.Source)
	}
	fmt.Fprintf(&b, ": %s", e.Cause)
	if e.Detail != "" {
		fmt.Fprintf(&b, ": %s", e.Detail)
	}
	if e.Fix != "" {
		fmt.Fprintf(&b, "\nhint: %s", e.Fix)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// StatusError is what a Vault's errors may implement to say which HTTP status the vault answered
// (0 when none arrived) and the service's own message.
type StatusError interface {
	error
	HTTPStatus() int
	ServiceMessage() string
}

// AuthError is what a Vault's errors may implement to say that the identity got no token for the
// vault, so the vault was never asked.
type AuthError interface {
	error
	AuthenticationFailed() bool
}

func vaultError(vault, name string, err error) *Error {
	e := &Error{Name: name, Vault: vault, Err: err, Detail: err.Error()}
	var se StatusError
	if errors.As(err, &se) {
		e.Status, e.Detail = se.HTTPStatus(), se.ServiceMessage()
	}
	var ae AuthError
	switch {
	case errors.As(err, &ae) && ae.AuthenticationFailed():
		e.Cause = CauseNoToken
		e.Fix = "the identity could not sign in for Key Vault (https://vault.azure.net): check --auth or --kv-auth and its AZURE_TENANT_ID, AZURE_CLIENT_ID and secret or token file"
	case e.Status == 401:
		e.Cause = CauseUnauthorized
		e.Fix = "the vault did not accept the identity's token: check the identity settings (--auth or --kv-auth, AZURE_TENANT_ID) and that the vault belongs to the identity's tenant"
	case e.Status == 403:
		e.Cause = CauseForbidden
		e.Fix = "give the identity the \"Key Vault Secrets User\" role on the vault (or an access policy allowing secret get), or use --kv-auth to read it as another identity"
	case e.Status == 404:
		e.Cause = CauseNotFound
		e.Fix = fmt.Sprintf("create the secret %q in the vault, or check the name in the plan and the vault URL (FABPLAN_KEY_VAULT_URL)", name)
	case e.Status == 0:
		e.Cause = CauseNetwork
		e.Fix = "check the vault URL (FABPLAN_KEY_VAULT_URL), the network path to it and its firewall; set " + EnvName(name) + " to fall back to the environment"
	default:
		e.Cause = Cause(fmt.Sprintf("HTTP %d", e.Status))
		e.Fix = "retry later; if it persists, check the vault's health in the Azure portal"
	}
	if errors.Is(err, context.DeadlineExceeded) && e.Status == 0 {
		e.Detail = "no answer in time: " + e.Detail
	}
	return e
}

// Declaration is a secret() call of the plan: the name and where it was written.
type Declaration struct {
	Name string `json:"name"`
	Pos  string `json:"pos"`
}

// Declare records that the plan uses a secret, so that doctor can check each one resolves.
func (r *Resolver) Declare(name, pos string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.declared = append(r.declared, Declaration{name, pos})
}

// Declared returns the plan's secret() calls in the order they were evaluated.
func (r *Resolver) Declared() []Declaration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Declaration(nil), r.declared...)
}
