package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Fault rule actions.
const (
	ActionRespond     = "respond"      // answer with Status/ErrorCode/Message; nothing is applied
	ActionResetBefore = "reset_before" // break the connection before the request is applied
	ActionResetAfter  = "reset_after"  // apply the request, then break the connection instead of answering
	// ActionFailOperation accepts the request (202) but its operation ends Failed with UnknownError and
	// nothing is applied; a request the emulator answers without an operation is served normally.
	ActionFailOperation = "fail_operation"
	// ActionHoldAfter applies the request, then holds the answer back until the client goes away (or
	// the emulator closes): a client killed in the middle of a call that took effect.
	ActionHoldAfter = "hold_after"
)

// FaultRule is a deterministic fault: the Nth call (counting from 1) matching Method and Path, and the Times-1
// calls after it, fail as Action says. Path is a glob in which `*` matches exactly one path segment.
type FaultRule struct {
	Method     string `json:"method,omitempty"` // "" or "*" = any method
	Path       string `json:"path"`
	Nth        int    `json:"nth,omitempty"`   // default 1
	Times      int    `json:"times,omitempty"` // default 1
	Status     int    `json:"status,omitempty"`
	ErrorCode  string `json:"errorCode,omitempty"`
	Message    string `json:"message,omitempty"`
	Action     string `json:"action,omitempty"`     // respond (default) | reset_before | reset_after | fail_operation | hold_after
	RetryAfter int    `json:"retryAfter,omitempty"` // seconds, for 429 and 503 answers (default 1)
	// OutageMs makes the rule an outage: from its Nth matching call on, every matching call fails for
	// this many milliseconds of the emulator's clock (Times is then ignored).
	OutageMs int `json:"outageMs,omitempty"`
	// Mutating counts only calls that change something: any method but GET, and not getDefinition
	// (a POST that reads). "The Nth mutating call" picks a point in a run by what it has done.
	Mutating bool `json:"mutating,omitempty"`
}

// FaultConfig is the random part of fault injection, drawn from the seeded RNG. Rates are probabilities per
// request (0..1) and apply to Fabric, Graph and Key Vault calls; TokenFailureRate applies to the token endpoint.
type FaultConfig struct {
	Latency   time.Duration `json:"latency,omitempty"`   // added to every call
	Jitter    time.Duration `json:"jitter,omitempty"`    // plus a uniform random 0..Jitter
	ErrorRate float64       `json:"errorRate,omitempty"` // a 500, 502 or 503, each as likely
	// Error500Rate, Error502Rate and Error503Rate give each status a rate of its own (their sum at most
	// 1), for a service that fails one way more than another; they add to ErrorRate.
	Error500Rate     float64 `json:"error500Rate,omitempty"`
	Error502Rate     float64 `json:"error502Rate,omitempty"`
	Error503Rate     float64 `json:"error503Rate,omitempty"`
	ResetRate        float64 `json:"resetRate,omitempty"`        // connection reset before applying
	LostResponseRate float64 `json:"lostResponseRate,omitempty"` // applied, then connection reset
	LROFailureRate   float64 `json:"lroFailureRate,omitempty"`   // operations that end Failed
	TokenFailureRate float64 `json:"tokenFailureRate,omitempty"` // token endpoint answers 503
	// ThrottleRate is the sustained Fabric and Graph requests per second allowed per identity (0 = no throttling);
	// ThrottleBurst the bucket size (default max(1, rate)).
	ThrottleRate  float64 `json:"throttleRate,omitempty"`
	ThrottleBurst int     `json:"throttleBurst,omitempty"`
}

// MarshalJSON writes durations as Go duration strings ("150ms").
func (f FaultConfig) MarshalJSON() ([]byte, error) {
	type plain FaultConfig
	return json.Marshal(struct {
		plain
		Latency string `json:"latency,omitempty"`
		Jitter  string `json:"jitter,omitempty"`
	}{plain(f), durString(f.Latency), durString(f.Jitter)})
}

// UnmarshalJSON reads durations as Go duration strings ("150ms") or integer milliseconds. Unknown
// fields are errors: a misspelt rate would otherwise leave that fault off without a word.
func (f *FaultConfig) UnmarshalJSON(b []byte) error {
	type plain FaultConfig
	var aux struct {
		plain
		Latency json.RawMessage `json:"latency,omitempty"`
		Jitter  json.RawMessage `json:"jitter,omitempty"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&aux); err != nil {
		return err
	}
	*f = FaultConfig(aux.plain)
	var err error
	if f.Latency, err = parseDur("latency", aux.Latency); err != nil {
		return err
	}
	f.Jitter, err = parseDur("jitter", aux.Jitter)
	return err
}

func durString(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

func parseDur(name string, raw json.RawMessage) (time.Duration, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", name, err)
		}
		return d, nil
	}
	var ms float64
	if err := json.Unmarshal(raw, &ms); err != nil {
		return 0, fmt.Errorf("%s: want a duration string like \"150ms\" or milliseconds", name)
	}
	return time.Duration(ms * float64(time.Millisecond)), nil
}

func (f FaultConfig) validate() error {
	if sum := f.Error500Rate + f.Error502Rate + f.Error503Rate; sum > 1 {
		return fmt.Errorf("emulator faults: error500Rate + error502Rate + error503Rate is %v, more than 1", sum)
	}
	for name, v := range map[string]float64{"errorRate": f.ErrorRate, "resetRate": f.ResetRate,
		"error500Rate": f.Error500Rate, "error502Rate": f.Error502Rate, "error503Rate": f.Error503Rate,
		"lostResponseRate": f.LostResponseRate, "lroFailureRate": f.LROFailureRate, "tokenFailureRate": f.TokenFailureRate} {
		if v < 0 || v > 1 || math.IsNaN(v) {
			return fmt.Errorf("emulator faults: %s %v is not between 0 and 1", name, v)
		}
	}
	if f.Latency < 0 || f.Jitter < 0 || f.ThrottleRate < 0 || f.ThrottleBurst < 0 {
		return fmt.Errorf("emulator faults: latency, jitter and throttle settings must not be negative")
	}
	return nil
}

// normalize checks a rule and fills its defaults.
func (r *FaultRule) normalize() error {
	if r.Path == "" || !strings.HasPrefix(r.Path, "/") {
		return fmt.Errorf("fault rule: path %q must start with /", r.Path)
	}
	r.Method = strings.ToUpper(r.Method)
	if r.Method == "*" {
		r.Method = ""
	}
	if r.Nth < 0 || r.Times < 0 {
		return fmt.Errorf("fault rule %s %s: nth and times must not be negative", r.Method, r.Path)
	}
	if r.Nth == 0 {
		r.Nth = 1
	}
	if r.Times == 0 {
		r.Times = 1
	}
	switch r.Action {
	case "":
		r.Action = ActionRespond
	case ActionRespond, ActionResetBefore, ActionResetAfter, ActionFailOperation, ActionHoldAfter:
	default:
		return fmt.Errorf("fault rule %s %s: action %q is not respond, reset_before, reset_after, fail_operation or hold_after",
			r.Method, r.Path, r.Action)
	}
	if r.OutageMs < 0 {
		return fmt.Errorf("fault rule %s %s: outageMs must not be negative", r.Method, r.Path)
	}
	if r.Action == ActionRespond {
		if r.Status == 0 {
			r.Status = http.StatusInternalServerError
		}
		if r.Status < 400 || r.Status > 599 {
			return fmt.Errorf("fault rule %s %s: status %d is not a 4xx or 5xx", r.Method, r.Path, r.Status)
		}
		if r.ErrorCode == "" {
			r.ErrorCode = defaultErrorCode(r.Status)
		}
		if r.Message == "" && r.Status != http.StatusTooManyRequests {
			r.Message = fmt.Sprintf("Injected fault: %s %s call %d", r.Method, r.Path, r.Nth)
		}
	}
	if r.RetryAfter < 0 {
		return fmt.Errorf("fault rule %s %s: retryAfter must not be negative", r.Method, r.Path)
	}
	return nil
}

func (r *FaultRule) matches(method, path string) bool {
	if r.Method != "" && r.Method != method {
		return false
	}
	if r.Mutating && (method == http.MethodGet || strings.HasSuffix(path, "/getDefinition")) {
		return false
	}
	return globMatch(r.Path, path)
}

// globMatch matches path segments; `*` matches one segment, a trailing `/**` any number of them.
func globMatch(pattern, path string) bool {
	ps := strings.Split(strings.Trim(pattern, "/"), "/")
	xs := strings.Split(strings.Trim(path, "/"), "/")
	for i, p := range ps {
		if p == "**" && i == len(ps)-1 {
			return len(xs) >= i
		}
		if i >= len(xs) {
			return false
		}
		if p != "*" && !strings.EqualFold(p, xs[i]) {
			return false
		}
	}
	return len(ps) == len(xs)
}

func (r *FaultRule) describe() string {
	if r.OutageMs > 0 {
		return fmt.Sprintf("rule %s %s #%d: outage of %dms: %d %s", r.Method, r.Path, r.Nth, r.OutageMs, r.Status, r.ErrorCode)
	}
	if r.Action == ActionRespond {
		return fmt.Sprintf("rule %s %s #%d: %d %s", r.Method, r.Path, r.Nth, r.Status, r.ErrorCode)
	}
	return fmt.Sprintf("rule %s %s #%d: %s", r.Method, r.Path, r.Nth, r.Action)
}

// RuleStatus is a fault rule with the number of calls that matched it so far.
type RuleStatus struct {
	FaultRule
	Matched int `json:"matched"`
	Fired   int `json:"fired"`
	// until is the end of an outage rule's window once it has started.
	until time.Time
}

// faultSet holds the rules, the random configuration and the RNG they draw from.
type faultSet struct {
	mu    sync.Mutex
	rules []*RuleStatus
	cfg   FaultConfig
	rng   *rand.Rand
}

func newFaultSet(cfg FaultConfig) *faultSet {
	return &faultSet{cfg: cfg}
}

func (f *faultSet) seed(seed int64) { f.rng = rand.New(rand.NewPCG(uint64(seed), 0xfa17)) }

func (f *faultSet) add(r FaultRule) error {
	if err := r.normalize(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = append(f.rules, &RuleStatus{FaultRule: r})
	return nil
}

func (f *faultSet) clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = nil
	f.cfg = FaultConfig{}
}

func (f *faultSet) setConfig(c FaultConfig) error {
	if err := c.validate(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cfg = c
	return nil
}

func (f *faultSet) config() FaultConfig {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cfg
}

func (f *faultSet) list() []RuleStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]RuleStatus, len(f.rules))
	for i, r := range f.rules {
		out[i] = *r
	}
	return out
}

// match counts the call against every rule and returns the first rule that fires for it.
func (f *faultSet) match(method, path string, now time.Time) (FaultRule, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var hit *RuleStatus
	for _, r := range f.rules {
		if !r.matches(method, path) {
			continue
		}
		r.Matched++
		if hit != nil {
			continue
		}
		switch {
		case r.OutageMs > 0:
			if r.Matched == r.Nth {
				r.until = now.Add(time.Duration(r.OutageMs) * time.Millisecond)
			}
			if r.Matched >= r.Nth && now.Before(r.until) {
				hit = r
			}
		case r.Matched >= r.Nth && r.Matched < r.Nth+r.Times:
			hit = r
		}
	}
	if hit == nil {
		return FaultRule{}, false
	}
	hit.Fired++
	return hit.FaultRule, true
}

// decision is what the random faults do to one request.
type decision struct {
	delay       time.Duration
	status      int
	resetBefore bool
	resetAfter  bool
}

func (f *faultSet) roll(path string, s surface) decision {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.cfg
	var d decision
	d.delay = c.Latency
	if c.Jitter > 0 {
		d.delay += time.Duration(f.rng.Int64N(int64(c.Jitter) + 1))
	}
	switch s {
	case surfaceEntra:
		if strings.HasSuffix(path, "/oauth2/v2.0/token") && c.TokenFailureRate > 0 && f.rng.Float64() < c.TokenFailureRate {
			d.status = http.StatusServiceUnavailable
		}
	case surfaceFabric, surfaceGraph, surfaceVault:
		switch {
		case c.ResetRate > 0 && f.rng.Float64() < c.ResetRate:
			d.resetBefore = true
		case c.ErrorRate > 0 && f.rng.Float64() < c.ErrorRate:
			d.status = []int{500, 502, 503}[f.rng.IntN(3)]
		default:
			if d.status = f.drawStatus(c); d.status == 0 {
				d.resetAfter = c.LostResponseRate > 0 && f.rng.Float64() < c.LostResponseRate
			}
		}
	}
	return d
}

// drawStatus draws from the per-status rates: 500, 502, 503, or 0 for none. It draws nothing when they
// are all 0, so that a seed gives the same faults as before they existed. f.mu is held.
func (f *faultSet) drawStatus(c FaultConfig) int {
	if c.Error500Rate+c.Error502Rate+c.Error503Rate == 0 {
		return 0
	}
	switch u := f.rng.Float64(); {
	case u < c.Error500Rate:
		return 500
	case u < c.Error500Rate+c.Error502Rate:
		return 502
	case u < c.Error500Rate+c.Error502Rate+c.Error503Rate:
		return 503
	}
	return 0
}

// lroFails draws whether a new operation will end Failed.
func (f *faultSet) lroFails() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cfg.LROFailureRate > 0 && f.rng.Float64() < f.cfg.LROFailureRate
}

// AddFault installs a deterministic fault rule.
func (e *Emulator) AddFault(r FaultRule) error { return e.faults.add(r) }

// SetFaultConfig replaces the random fault configuration.
func (e *Emulator) SetFaultConfig(c FaultConfig) error { return e.faults.setConfig(c) }

// ClearFaults removes every rule and turns random faults off.
func (e *Emulator) ClearFaults() { e.faults.clear() }

// Faults lists the installed rules with their match counts.
func (e *Emulator) Faults() []RuleStatus { return e.faults.list() }

// throttle is the per-identity token bucket behind 429 RequestBlocked.
type throttle struct {
	mu       sync.Mutex
	limiters map[string]*rate.Limiter
	cfg      FaultConfig
}

func newThrottle() *throttle { return &throttle{limiters: map[string]*rate.Limiter{}} }

// admit takes a token for the identity or returns the 429 Fabric sends, with a whole-second Retry-After.
func (t *throttle) admit(identity string, cfg FaultConfig, now time.Time) *apiError {
	if cfg.ThrottleRate <= 0 {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if cfg.ThrottleRate != t.cfg.ThrottleRate || cfg.ThrottleBurst != t.cfg.ThrottleBurst {
		clear(t.limiters)
		t.cfg = cfg
	}
	l := t.limiters[identity]
	if l == nil {
		burst := cfg.ThrottleBurst
		if burst <= 0 {
			burst = max(1, int(cfg.ThrottleRate))
		}
		l = rate.NewLimiter(rate.Limit(cfg.ThrottleRate), burst)
		t.limiters[identity] = l
	}
	res := l.ReserveN(now, 1)
	wait := res.DelayFrom(now)
	if wait <= 0 {
		return nil
	}
	res.CancelAt(now)
	return requestBlocked(now, max(int(math.Ceil(wait.Seconds())), 1))
}

// requestBlocked is Fabric's 429: RequestBlocked, the time the block ends in the message, whole-second
// Retry-After.
func requestBlocked(now time.Time, secs int) *apiError {
	until := now.Add(time.Duration(secs) * time.Second).UTC()
	ae := errf(http.StatusTooManyRequests, "RequestBlocked",
		"Request is blocked by the upstream service until: %s (UTC)", until.Format("1/2/2006 3:04:05 PM"))
	ae.RetryAfter = secs
	return ae
}
