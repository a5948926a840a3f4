package emulator

import (
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

// Options configures an Emulator. The zero value is a working in-memory emulator on a random loopback port.
type Options struct {
	Addr       string        // listen address, default "127.0.0.1:0"
	Dir        string        // where ca.pem is written; default a temp dir owned (and removed) by the Emulator
	Fixtures   *Fixtures     // seed data; nil = DefaultFixtures()
	StateFile  string        // persist/load the whole state (atomic write on change); "" = memory only
	Seed       int64         // RNG seed for ids, random faults and jitter
	Faults     FaultConfig   // random faults, latency, throttling; zero value = none
	FaultRules []FaultRule   // deterministic fault rules installed at start
	LRODelay   time.Duration // how long an operation stays NotStarted/Running; 0 = Succeeded on the first poll
	RetryAfter int           // seconds sent in Retry-After on 202s and polls (default 1; never 0)
	Logger     *slog.Logger  // optional; nil = discard

	// PageSize is the number of entries per page of every paged list (default 25), kept small so that clients
	// exercise continuation.
	PageSize int
	// ImmediateTypes lists item types whose create, getDefinition and updateDefinition are answered at once
	// (201/200) instead of with a 202 long-running operation. Without it, creates are answered as real
	// Fabric answers them per type (201 for Lakehouse, DataPipeline, ...; 202 for Notebook, Report, ...)
	// and getDefinition and updateDefinition with a 202.
	ImmediateTypes []string
	// AlwaysOperations answers every create with a 202 operation, also of the types real Fabric creates at
	// once (unless ImmediateTypes lists them), so that a client's tests exercise its pollers everywhere.
	AlwaysOperations bool
	// NameReservation is how long the display name of a deleted item stays reserved
	// (ItemDisplayNameNotAvailableYet). 0 = not reserved.
	NameReservation time.Duration
	// CapacityAssignDelay is how long a workspace reports capacityAssignmentProgress InProgress after
	// assignToCapacity or unassignFromCapacity. 0 = Completed on the next read.
	CapacityAssignDelay time.Duration
	// RequireCapacity refuses to create Fabric (non-Power BI) items in a workspace without a capacity, as real
	// Fabric does (403 FeatureNotAvailable). Off by default so that plans need no capacity to try things out.
	RequireCapacity bool
	// TokenLifetime is the lifetime of issued access tokens (default 1h).
	TokenLifetime time.Duration
	// DeviceCodeAutoApprove approves a device code after this many pending polls (0 = approval only through
	// POST /_emulator/devicecode/approve).
	DeviceCodeAutoApprove int
	// StrictRequests refuses request bodies with fields the emulator does not know (400 InvalidInput with
	// an UnknownField detail). Fabric ignores unknown fields, and so does the emulator by default; a
	// client's tests turn this on so that a misspelt field fails instead of being silently dropped.
	StrictRequests bool
	// Clock replaces time.Now (tests advance it instead of sleeping). nil = time.Now.
	Clock func() time.Time
}

// Emulator is a running emulator. All methods are safe for concurrent use.
type Emulator struct {
	opts    Options
	fix     *Fixtures
	now     func() time.Time
	log     *slog.Logger
	ln      net.Listener
	srv     *http.Server
	base    string
	dir     string
	ownDir  bool
	caFile  string
	pool    *x509.CertPool
	signKey *ecdsa.PrivateKey
	// identityHeader is the secret managed-identity token requests must present, as on App Service.
	identityHeader string
	mux            *http.ServeMux
	faults         *faultSet
	reqlog         *requestLog
	tokens         *tokenCache
	limits         *throttle
	served         sync.WaitGroup
	// closing ends the answers hold_after faults hold back, so that Close does not wait for them.
	closing   chan struct{}
	closeOnce sync.Once

	telemetry telemetrySink // what the Application Insights ingestion endpoint received
	mu        sync.Mutex    // guards st, ids, devs, rts, dirty
	st        *state
	ids       *rand.Rand
	devs      map[string]*DeviceCode   // pending device codes by device code
	rts       map[string]*refreshToken // issued refresh tokens
	dirty     bool
}

// Start creates an emulator, binds its listener and starts serving before it returns.
func Start(opts Options) (*Emulator, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = 1
	}
	if opts.PageSize <= 0 {
		opts.PageSize = 25
	}
	if opts.TokenLifetime <= 0 {
		opts.TokenLifetime = time.Hour
	}
	if err := opts.Faults.validate(); err != nil {
		return nil, err
	}
	e := &Emulator{opts: opts, now: opts.Clock, log: opts.Logger, closing: make(chan struct{})}
	if e.now == nil {
		e.now = time.Now
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	e.fix = opts.Fixtures
	if e.fix == nil {
		e.fix = DefaultFixtures()
	}
	if err := e.fix.validate(); err != nil {
		return nil, err
	}
	e.ids = rand.New(rand.NewPCG(uint64(opts.Seed), 0x1d5))
	e.st = newState()
	e.devs = map[string]*DeviceCode{}
	e.rts = map[string]*refreshToken{}
	e.faults = newFaultSet(opts.Faults)
	e.faults.seed(opts.Seed)
	for _, r := range opts.FaultRules {
		if err := e.faults.add(r); err != nil {
			return nil, fmt.Errorf("emulator: %w", err)
		}
	}
	e.reqlog = newRequestLog(10000)
	e.tokens = newTokenCache()
	e.identityHeader = randomToken(16)
	e.limits = newThrottle()
	if err := e.loadState(); err != nil {
		return nil, err
	}

	e.dir = opts.Dir
	if e.dir == "" {
		d, err := os.MkdirTemp("", "fabplan-emulator-")
		if err != nil {
			return nil, fmt.Errorf("emulator: temp dir: %w", err)
		}
		e.dir, e.ownDir = d, true
	} else if err := os.MkdirAll(e.dir, 0o755); err != nil {
		return nil, fmt.Errorf("emulator: dir: %w", err)
	}

	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		e.cleanupDir()
		return nil, fmt.Errorf("emulator: listen on %s: %w", opts.Addr, err)
	}
	e.ln = ln
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	e.base = "https://" + net.JoinHostPort(host, port)

	cert, err := e.makeCertificates(host)
	if err != nil {
		ln.Close()
		e.cleanupDir()
		return nil, err
	}
	e.mux = http.NewServeMux()
	e.routes()
	e.srv = &http.Server{
		Handler: e,
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{cert},
			MinVersion:   tls.VersionTLS12,
		},
		// HTTP/1.1 only: the lost-response faults hijack the connection, which HTTP/2 cannot do.
		TLSNextProto:      map[string]func(*http.Server, *tls.Conn, http.Handler){},
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          slog.NewLogLogger(e.log.Handler(), slog.LevelDebug),
	}
	tlsLn := tls.NewListener(ln, e.srv.TLSConfig)
	e.served.Add(1)
	go func() {
		defer e.served.Done()
		if err := e.srv.Serve(tlsLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			e.log.Error("emulator stopped serving", "err", err)
		}
	}()
	e.log.Info("emulator listening", "url", e.base)
	return e, nil
}

// URL is the public base of every surface ("https://127.0.0.1:PORT"); every absolute URL the emulator returns
// is built from it.
func (e *Emulator) URL() string { return e.base }

// FabricURL is the Fabric API base without /v1 (clients append /v1/...).
func (e *Emulator) FabricURL() string { return e.base }

// AuthorityHost is the Entra authority host; tenants live below it.
func (e *Emulator) AuthorityHost() string { return e.base + "/" }

// GraphURL is the Microsoft Graph base including the version segment.
func (e *Emulator) GraphURL() string { return e.base + "/graph/v1.0" }

// KeyVaultURL is the vault URL handed to azsecrets.
func (e *Emulator) KeyVaultURL() string { return e.base + "/keyvault" }

// CAFile is the PEM file of the emulator's own CA (hand it to clients through SSL_CERT_FILE).
func (e *Emulator) CAFile() string { return e.caFile }

// CertPool holds the emulator's CA.
func (e *Emulator) CertPool() *x509.CertPool { return e.pool }

// HTTPClient returns a new client that trusts the emulator's CA (and nothing else).
func (e *Emulator) HTTPClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: e.pool, MinVersion: tls.VersionTLS12},
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
	}}
}

// TenantID is the emulated tenant.
func (e *Emulator) TenantID() string { return e.fix.TenantID }

// ServicePrincipal returns the client id and secret of the seeded service principal (the first service
// principal of the fixtures that has a client secret).
func (e *Emulator) ServicePrincipal() (clientID, clientSecret string) {
	for i := range e.fix.Principals {
		p := &e.fix.Principals[i]
		if p.Type == PrincipalServicePrincipal && p.ClientSecret != "" {
			return p.AppID, p.ClientSecret
		}
	}
	return "", ""
}

// Close stops serving, waits for in-flight requests, writes the state file, and removes an owned temp dir.
func (e *Emulator) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	e.closeOnce.Do(func() { close(e.closing) })
	err := e.srv.Shutdown(ctx)
	e.served.Wait()
	e.mu.Lock()
	if serr := e.saveLocked(); serr != nil && err == nil {
		err = serr
	}
	e.mu.Unlock()
	e.cleanupDir()
	return err
}

func (e *Emulator) cleanupDir() {
	if e.ownDir {
		os.RemoveAll(e.dir)
	}
}
