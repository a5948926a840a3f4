package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/spf13/pflag"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/fabplan/fabplan/emulator"
	"github.com/fabplan/fabplan/engine"
	"github.com/fabplan/fabplan/engine/journal"
	"github.com/fabplan/fabplan/fabric"
	"github.com/fabplan/fabplan/state"
	"github.com/fabplan/fabplan/telemetry"
)

// Factory hands out what commands need, lazily: lint and fmt never ask for a client, so they
// need no network and no credentials.
type Factory struct {
	IO      *IOStreams
	Version string
	Getenv  func(string) string

	// Connection settings, bound to flags by BindConnectionFlags.
	FabricURL     string
	AuthorityHost string
	Auth          string
	Insecure      bool
	NoRetry       bool
	NoBreaker     bool
	NoThrottle    bool
	Emulator      bool
	StateLoc      string
	LockTimeout   time.Duration
	Verbose       bool
	// BreakerCooldown, when set, is how long an open circuit breaker waits before its half-open
	// probe (fabplan serve --breaker-cooldown); 0 keeps the client's default.
	BreakerCooldown time.Duration
	// MetricReaders are extra readers of the process's MeterProvider, set before the first call of
	// Telemetry (fabplan serve's Prometheus /metrics).
	MetricReaders []sdkmetric.Reader
	LogFormat     string // text or json (--log-format)

	SecretSettings

	mu     sync.Mutex
	store  state.Store
	plan   string // the plan file whose fabplan.state applies
	emu    *emulator.Emulator
	client *fabric.Client
	logMu  sync.Mutex
	logger *slog.Logger

	telOnce sync.Once
	tel     *telemetry.Telemetry
	telErr  error

	// throttleMem is where the throttle's learned rate is saved when the process ends.
	throttleMem *throttleMemory
}

// NewFactory returns a factory for the process.
func NewFactory(io *IOStreams, version string) *Factory {
	return &Factory{IO: io, Version: version, Getenv: os.Getenv}
}

func (f *Factory) env(name, def string) string {
	if v := f.Getenv(name); v != "" {
		return v
	}
	return def
}

// BindConnectionFlags adds the flags of commands that talk to Fabric.
func (f *Factory) BindConnectionFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&f.Emulator, "emulator", false, "start an in-process Fabric emulator and run against it (no Azure account needed)")
	fs.StringVar(&f.FabricURL, "fabric-url", "", "Fabric API base URL without /v1 (env FABPLAN_FABRIC_URL; default https://api.fabric.microsoft.com)")
	fs.StringVar(&f.AuthorityHost, "authority-host", "", "Entra ID authority host; also turns instance discovery off (env FABPLAN_AUTHORITY_HOST)")
	fs.StringVar(&f.Auth, "auth", "", "identity: client-secret, workload-identity, azure-cli, device-code, managed-identity or default (env FABPLAN_AUTH; default client-secret)")
	fs.BoolVar(&f.Insecure, "insecure", false, "allow a plain-http loopback Fabric endpoint (tokens are never sent over http otherwise)")
	fs.BoolVar(&f.NoRetry, "no-retry", false, "turn retries off, for debugging (env FEATURE_USE_RETRY_LOGIC=false)")
	fs.BoolVar(&f.NoBreaker, "no-circuit-breaker", false, "turn the circuit breaker off (env FEATURE_USE_CIRCUIT_BREAKER=false)")
	fs.BoolVar(&f.NoThrottle, "no-throttle", false, "turn the shared per-identity throttle off (env FEATURE_USE_THROTTLE=false)")
	f.bindSecretFlags(fs)
}

// Logger is the run's log: warnings always, details with --verbose, on stderr as text or JSON
// (--log-format); Info and above also go to OpenTelemetry logs when an exporter is configured.
func (f *Factory) Logger() *slog.Logger {
	tel, _ := f.Telemetry() // a bad setting is reported by the command that needs telemetry
	// Its own lock: Client builds the logger while it holds f.mu.
	f.logMu.Lock()
	defer f.logMu.Unlock()
	if f.logger == nil {
		f.logger = slog.New(telemetry.Tee(f.consoleHandler(), tel.LogHandler()))
	}
	return f.logger
}

func (f *Factory) consoleHandler() slog.Handler {
	level := slog.LevelWarn
	if f.Verbose {
		level = slog.LevelDebug
	}
	var w io.Writer = f.IO.ErrOut
	o := &slog.HandlerOptions{Level: level}
	if f.LogFormat == "json" {
		return slog.NewJSONHandler(w, o)
	}
	return slog.NewTextHandler(w, o)
}

// Telemetry returns the process's OpenTelemetry, set up once from the environment; nil (valid,
// emitting nothing) when no exporter is configured. Export failures are logged on stderr, never
// returned.
func (f *Factory) Telemetry() (*telemetry.Telemetry, error) {
	f.telOnce.Do(func() {
		f.tel, f.telErr = telemetry.Setup(context.Background(), telemetry.Options{
			Getenv:         f.Getenv,
			ServiceVersion: f.Version,
			Redact:         f.Redactor().Redact,
			ErrorLog:       slog.New(f.consoleHandler()),
			Readers:        f.MetricReaders,
		})
		if f.telErr != nil {
			f.telErr = Usagef(fmt.Errorf("telemetry: %w", f.telErr))
		}
	})
	return f.tel, f.telErr
}

// ShutdownTelemetry flushes telemetry within its short deadline; call it once, at exit.
func (f *Factory) ShutdownTelemetry() {
	// Only what was set up is flushed: lint and fmt never set telemetry up.
	if f.tel != nil {
		f.tel.Shutdown(context.Background())
	}
}

// Client returns the Fabric client, starting the embedded emulator first with --emulator.
func (f *Factory) Client() (*fabric.Client, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.client != nil {
		return f.client, nil
	}
	auth := fabric.AuthConfigFromEnv(f.Getenv)
	if f.Auth != "" {
		auth.Mode = f.Auth
	}
	if f.AuthorityHost != "" {
		auth.AuthorityHost = f.AuthorityHost
	}
	// The switches and the base URL come from the environment the way the seed framework set them;
	// flags override.
	cfg, err := fabric.ConfigFromEnv(f.Getenv)
	if err != nil {
		return nil, Usagef(err)
	}
	if f.FabricURL != "" {
		cfg.BaseURL = f.FabricURL
	}
	cfg.Insecure = f.Insecure
	cfg.NoRetry = cfg.NoRetry || f.NoRetry
	cfg.NoBreaker = cfg.NoBreaker || f.NoBreaker
	cfg.NoThrottle = cfg.NoThrottle || f.NoThrottle
	cfg.BreakerCooldown = f.BreakerCooldown
	if f.Emulator {
		emu, err := emulator.Start(emulator.Options{StateFile: f.embeddedStateFile()})
		if err != nil {
			return nil, fmt.Errorf("starting the embedded emulator: %w", err)
		}
		f.emu = emu
		id, secret := emu.ServicePrincipal()
		auth = fabric.AuthConfig{Mode: "client-secret", TenantID: emu.TenantID(), ClientID: id, ClientSecret: secret,
			AuthorityHost: emu.AuthorityHost(), HTTPClient: emu.HTTPClient()}
		cfg.BaseURL, cfg.HTTPClient = emu.FabricURL(), emu.HTTPClient()
	}
	auth.DeviceCodePrompt = f.DeviceCodePrompt
	if err := f.checkPrompt(auth.Mode); err != nil {
		return nil, err
	}
	cred, err := fabric.NewCredential(auth)
	if err != nil {
		return nil, err
	}
	cfg.Credential = cred
	cfg.Logger = f.Logger()
	if cfg.Telemetry, err = f.Telemetry(); err != nil {
		return nil, err
	}
	c, err := fabric.New(cfg)
	if err != nil {
		return nil, err
	}
	f.client = c
	return c, nil
}

// EmbeddedEndpoint is the endpoint journals record for runs against the embedded emulator
// (--emulator): its port changes with every process, but what it holds does not (embeddedStateFile),
// so that a later fabplan --emulator can roll a run back, see its drift or prune what it made.
const EmbeddedEndpoint = "embedded-emulator"

// EmbeddedStateName is the file in a local state directory that keeps the embedded emulator's
// workspaces and items between commands; deleting it starts the emulator afresh.
const EmbeddedStateName = "emulator.json"

// embeddedStateFile is where the embedded emulator keeps its state: beside the journals when the
// state is a local directory. With blob state the emulator holds its objects in memory only, and a
// later --emulator command starts empty. Called with f.mu held.
func (f *Factory) embeddedStateFile() string {
	loc, _, err := f.StateLocation()
	if err != nil || loc.IsBlob() {
		return "" // a bad --state is reported by the command's Store call
	}
	return filepath.Join(loc.Dir, EmbeddedStateName)
}

// EmulatorURL is the embedded emulator's base URL, when one runs.
func (f *Factory) EmulatorURL() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.emu == nil {
		return ""
	}
	return f.emu.URL()
}

// Close keeps what the throttle learned and stops what the factory started.
func (f *Factory) Close() error {
	f.saveThrottle()
	f.mu.Lock()
	defer f.mu.Unlock()
	var errs []error
	if f.emu != nil {
		errs = append(errs, f.emu.Close())
		f.emu = nil
	}
	return errors.Join(errs...)
}

// Runtime returns an engine runtime around the client, knowing which objects fabplan created
// (from the state directory's journals of runs against this Fabric), so that prune deletes only
// those.
func (f *Factory) Runtime(ctx context.Context, client *fabric.Client) (*engine.Runtime, error) {
	target, err := f.Target(ctx, client)
	if err != nil {
		return nil, err
	}
	st, err := f.Store()
	if err != nil {
		return nil, err
	}
	ev, err := journal.ReadEvidence(ctx, st, &target)
	if err != nil {
		return nil, err
	}
	f.resumeThrottle(ctx, st, client, target)
	rt := engine.NewRuntime(client)
	rt.Telemetry, _ = f.Telemetry()
	rt.Owned, rt.Sensitive, rt.CredentialDigests, rt.Protected = ev.Owned, ev.Sensitive, ev.CredentialDigests, ev.Protected
	// An undo that must send a connection's credentials again reads them by name, from the
	// sources evaluation uses (the resolver evaluation built, or one for the plan rollback names).
	rt.Resolve = func(ctx context.Context, name string) (string, error) {
		f.mu.Lock()
		plan := f.plan // the .env beside it is a source
		f.mu.Unlock()
		r, err := f.Secrets(plan)
		if err != nil {
			return "", err
		}
		v, _, err := r.Resolve(ctx, name)
		return v, err
	}
	return rt, nil
}
