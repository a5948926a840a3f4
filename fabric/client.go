package fabric

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	fabsdk "github.com/microsoft/fabric-sdk-go/fabric"
	"github.com/microsoft/fabric-sdk-go/fabric/core"
	"github.com/microsoft/fabric-sdk-go/fabric/kqldatabase"

	"github.com/fabplan/fabplan/telemetry"
)

// DefaultBaseURL is the Fabric REST API without /v1.
const DefaultBaseURL = "https://api.fabric.microsoft.com"

// Config configures a Client. Zero values take the documented defaults.
type Config struct {
	BaseURL    string // Fabric base, no /v1; default DefaultBaseURL
	Credential azcore.TokenCredential
	HTTPClient *http.Client // nil = default transport (honours SSL_CERT_FILE)
	Insecure   bool         // allow a plain-http loopback endpoint (explicit --insecure only)

	NoRetry, NoBreaker, NoThrottle bool

	Logger *slog.Logger // nil = discard; every line redacted
	// Secrets are values that must never appear in a log line (Key Vault values...). The client
	// secret of a credential from NewCredential is added by itself.
	Secrets []string

	// CallTimeout bounds one logical call, retries and waits included; default 15 min (the
	// ItemDisplayNameNotAvailableYet schedule needs minutes).
	CallTimeout time.Duration
	// TryTimeout bounds one attempt; default 2 min.
	TryTimeout time.Duration
	// RetryBudget is the number of retries the whole run may spend; default 1000.
	RetryBudget int
	// BackoffInitial is the first retry wait before jitter; default 1 s. NameReservedWait is the first
	// wait after ItemDisplayNameNotAvailableYet; default 30 s.
	BackoffInitial, BackoffMax, NameReservedWait time.Duration
	// BreakerFailures consecutive failures open a breaker (default 5); it half-opens after
	// BreakerCooldown (default 30 s).
	BreakerFailures uint32
	BreakerCooldown time.Duration
	// Throttle is the identity's shared scheduler; nil = a new one for this client. Share one between
	// clients that act as the same identity.
	Throttle *Throttle
	// LROPollMin is the shortest wait between polls of a long-running operation; default 1 s.
	LROPollMin time.Duration
	// CapacityPoll is the wait between reads of capacityAssignmentProgress and of an item's provisioning
	// state; default 2 s.
	CapacityPoll time.Duration
	Clock        Clock
	// Telemetry receives a span per attempt and the request, retry, throttle and breaker metrics;
	// nil = none.
	Telemetry *telemetry.Telemetry
}

// Client calls Fabric for many workers at once; it is safe for concurrent use.
type Client struct {
	base     string
	host     string
	clock    Clock
	log      *slog.Logger
	retry    *retrier
	throttle *Throttle // Fabric's; Graph and Key Vault limit the identity separately
	mu       sync.Mutex
	others   map[string]*Throttle // by token scope, for pipelines of other services
	breakers *breakers            // shared by every pipeline of the client (Fabric, Graph, Key Vault)
	stats    *counters
	pl       runtime.Pipeline
	cfg      Config

	workspaces *core.WorkspacesClient
	items      *core.ItemsClient
	capacities *core.CapacitiesClient
	folders    *core.FoldersClient
	shortcuts  *core.OneLakeShortcutsClient
	schedules  *core.JobSchedulerClient
	// tableShortcuts are a KQL database's shortcuts, which have their own API.
	tableShortcuts *kqldatabase.TableShortcutsClient
	conns          *core.ConnectionsClient
}

// Stats counts what the client did; read it at the end of a run.
type Stats struct {
	Requests      int64         // attempts sent, polls and retries included
	Throttled     int64         // 429 answers
	Retries       int64         // attempts beyond the first
	Reconciled    int64         // creates found by natural key after a lost or failed answer
	BreakerOpened int64         // times a circuit breaker opened
	ThrottleWait  time.Duration // wall-clock time during which at least one request waited for admission
	Pauses        int64         // 429 episodes that paused every worker
	Rate          float64       // current admission rate of the Fabric throttle (req/s); 0 when off
}

type counters struct {
	requests, throttled, retries, reconciled, breakerOpened atomic.Int64
}

// New builds the client on fabric-sdk-go's pipeline with fabplan's policies.
func New(cfg Config) (*Client, error) {
	if cfg.Credential == nil {
		return nil, errors.New("fabric: Config.Credential is required")
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("fabric: base URL %q is not an absolute URL (FABPLAN_FABRIC_URL)", cfg.BaseURL)
	}
	if err := checkTransportSecurity(&http.Request{URL: u}, cfg.Insecure); err != nil {
		return nil, fmt.Errorf("fabric: base URL %q: %w", base, err)
	}
	setDefaults(&cfg)
	c := &Client{base: base, host: u.Host, clock: cfg.Clock, stats: &counters{}, cfg: cfg}
	secrets := cfg.Secrets
	if tc, ok := cfg.Credential.(*tokenCache); ok {
		secrets = append(secrets[:len(secrets):len(secrets)], tc.secrets...)
	}
	c.log = NewRedactingLogger(cfg.Logger, secrets...)
	c.retry = &retrier{off: cfg.NoRetry, callTime: cfg.CallTimeout, tryTime: cfg.TryTimeout,
		initial: cfg.BackoffInitial, maxWait: cfg.BackoffMax, nameWait: cfg.NameReservedWait,
		clock: cfg.Clock, log: c.log, stats: c.stats, tel: cfg.Telemetry}
	c.retry.budgetLeft.Store(int64(cfg.RetryBudget))
	if !cfg.NoBreaker {
		c.breakers = newBreakers(cfg.BreakerFailures, cfg.BreakerCooldown, c.log, c.stats)
		c.breakers.tel = cfg.Telemetry
	}
	if !cfg.NoThrottle {
		c.throttle = cfg.Throttle
		if c.throttle == nil {
			c.throttle = NewThrottle(ThrottleOptions{Clock: cfg.Clock, Logger: c.log})
		}
	}
	opts := c.PipelineOptions(FabricScope)
	sdk, err := fabsdk.NewClient(nil, &base, &fabsdk.ClientOptions{ClientOptions: *opts})
	if err != nil {
		return nil, fmt.Errorf("fabric: %w", err)
	}
	c.pl = sdk.Internal.Pipeline()
	f := core.NewClientFactoryWithClient(*sdk)
	c.workspaces = f.NewWorkspacesClient()
	c.items = f.NewItemsClient()
	c.capacities = f.NewCapacitiesClient()
	c.folders = f.NewFoldersClient()
	c.shortcuts = f.NewOneLakeShortcutsClient()
	c.schedules = f.NewJobSchedulerClient()
	c.tableShortcuts = kqldatabase.NewClientFactoryWithClient(*sdk).NewTableShortcutsClient()
	c.conns = f.NewConnectionsClient()
	return c, nil
}

func setDefaults(cfg *Config) {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.CallTimeout, 15*time.Minute)
	def(&cfg.TryTimeout, 2*time.Minute)
	def(&cfg.BackoffInitial, time.Second)
	def(&cfg.BackoffMax, time.Minute)
	def(&cfg.NameReservedWait, 30*time.Second)
	def(&cfg.BreakerCooldown, 30*time.Second)
	def(&cfg.LROPollMin, time.Second)
	def(&cfg.CapacityPoll, 2*time.Second)
	if cfg.RetryBudget <= 0 {
		cfg.RetryBudget = 1000
	}
	if cfg.BreakerFailures == 0 {
		cfg.BreakerFailures = 5
	}
	if cfg.Clock == nil {
		cfg.Clock = realClock{}
	}
}

// PipelineOptions returns azcore client options carrying fabplan's middleware (errors, retry,
// breaker, throttle, bearer token for scope, logging) with azcore's own retry switched off. The
// Fabric client uses it; so can Graph and Key Vault clients of the same identity. Pass scope ""
// for a client that authorizes itself (azsecrets' challenge policy).
func (c *Client) PipelineOptions(scope string) *policy.ClientOptions {
	perRetry := []policy.Policy{}
	if c.cfg.Telemetry != nil {
		perRetry = append(perRetry, telemetryPolicy{c.cfg.Telemetry})
	}
	if c.breakers != nil {
		perRetry = append(perRetry, breakerPolicy{c.breakers})
	}
	if t := c.throttleFor(scope); t != nil {
		perRetry = append(perRetry, throttlePolicy{t: t, clock: c.clock})
	}
	if scope != "" {
		perRetry = append(perRetry, bearerPolicy{cred: c.cfg.Credential, scope: scope, insecure: c.cfg.Insecure})
	}
	perRetry = append(perRetry, logPolicy{log: c.log, stats: c.stats, clock: c.clock})
	o := &policy.ClientOptions{
		PerCallPolicies:  []policy.Policy{errorPolicy{}, retryPolicy{c.retry}},
		PerRetryPolicies: perRetry,
		Retry:            policy.RetryOptions{MaxRetries: -1},
		Telemetry:        policy.TelemetryOptions{ApplicationID: "fabplan"},
	}
	if c.cfg.HTTPClient != nil {
		o.Transport = c.cfg.HTTPClient
	}
	return o
}

// throttleFor is the scheduler of the identity for the service behind scope: the Fabric one for
// Fabric, one of its own for every other service, whose limits are separate.
func (c *Client) throttleFor(scope string) *Throttle {
	if c.throttle == nil || scope == FabricScope {
		return c.throttle
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.others == nil {
		c.others = map[string]*Throttle{}
	}
	t, ok := c.others[scope]
	if !ok {
		t = NewThrottle(ThrottleOptions{Clock: c.clock, Logger: c.log})
		c.others[scope] = t
	}
	return t
}

// Throttle is the identity's Fabric throttle, or nil when it is off.
func (c *Client) Throttle() *Throttle { return c.throttle }

// RefillRetryBudget gives the client its whole retry budget again. The budget is per run; a
// long-running caller (fabplan serve) refills it at the start of each cycle, which is its run.
func (c *Client) RefillRetryBudget() { c.retry.budgetLeft.Store(int64(c.cfg.RetryBudget)) }

// Stats returns what the client has done so far.
func (c *Client) Stats() Stats {
	s := Stats{
		Requests:      c.stats.requests.Load(),
		Throttled:     c.stats.throttled.Load(),
		Retries:       c.stats.retries.Load(),
		Reconciled:    c.stats.reconciled.Load(),
		BreakerOpened: c.stats.breakerOpened.Load(),
	}
	if c.throttle != nil {
		c.throttle.mu.Lock()
		s.ThrottleWait, s.Rate, s.Pauses = c.throttle.waited, c.throttle.rate, c.throttle.episodes
		if c.throttle.queued > 0 {
			s.ThrottleWait += c.clock.Now().Sub(c.throttle.queuedSince)
		}
		c.throttle.mu.Unlock()
	}
	return s
}

// errorPolicy is the outermost policy: every non-2xx answer and every request without one leaves
// the pipeline as *Error, so fabric-sdk-go's clients pass it through unchanged.
type errorPolicy struct{}

func (errorPolicy) Do(req *policy.Request) (*http.Response, error) {
	op := callFrom(req.Raw().Context()).op
	resp, err := req.Next()
	if err != nil {
		return resp, transportError(op, err)
	}
	if resp.StatusCode >= 300 {
		return resp, responseError(op, resp)
	}
	return resp, nil
}

// logPolicy logs each attempt (no headers, no body) and counts it.
type logPolicy struct {
	log   *slog.Logger
	stats *counters
	clock Clock
}

func (p logPolicy) Do(req *policy.Request) (*http.Response, error) {
	p.stats.requests.Add(1)
	r := req.Raw()
	start := p.clock.Now()
	resp, err := req.Next()
	attrs := []any{"op", callFrom(r.Context()).op, "method", r.Method, "url", r.URL.Scheme + "://" + r.URL.Host + r.URL.Path,
		"elapsed", p.clock.Now().Sub(start).Round(time.Millisecond)}
	if err != nil {
		p.log.Debug("request failed", append(attrs, "error", err.Error())...)
		return resp, err
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		p.stats.throttled.Add(1)
	}
	p.log.Debug("request", append(attrs, "status", resp.StatusCode, "requestId", resp.Header.Get("RequestId"))...)
	return resp, nil
}

// send runs one raw request through the pipeline: path is relative to the base ("/v1/...") or an
// absolute URL (Location, continuationUri). A non-nil body is sent as JSON.
func (c *Client) send(ctx context.Context, method, path string, body any) (*http.Response, error) {
	target := path
	if strings.HasPrefix(path, "/") {
		target = c.base + path
	}
	req, err := runtime.NewRequest(ctx, method, target)
	if err != nil {
		return nil, transportError(callFrom(ctx).op, err)
	}
	req.Raw().Header.Set("Accept", "application/json")
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		if err := req.SetBody(streamingNopCloser(b), "application/json"); err != nil {
			return nil, err
		}
	}
	return c.pl.Do(req)
}

// decode reads a JSON body into out (nil out or an empty body: nothing to do).
func decode(op string, resp *http.Response, out any) error {
	if out == nil || resp == nil || resp.Body == nil {
		return nil
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return transportError(op, err)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return &Error{Operation: op, StatusCode: resp.StatusCode, ErrorCode: "InvalidResponse",
			Message: "cannot read the answer: " + err.Error(), RequestID: resp.Header.Get("RequestId")}
	}
	return nil
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

func streamingNopCloser(b []byte) nopCloser { return nopCloser{bytes.NewReader(b)} }
