package emulator

import (
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/spf13/pflag"
)

// Config is the command-line form of Options: `fabplan emulator` registers its flags and turns it into
// Options, reading the files it names.
type Config struct {
	Addr         string
	Dir          string
	FixturesFile string
	StateFile    string
	FaultsFile   string
	Seed         int64

	LRODelay              time.Duration
	RetryAfter            int
	PageSize              int
	ImmediateTypes        []string
	AlwaysOperations      bool
	NameReservation       time.Duration
	CapacityAssignDelay   time.Duration
	TokenLifetime         time.Duration
	DeviceCodeAutoApprove int
	RequireCapacity       bool
	StrictRequests        bool

	Faults FaultConfig
}

// RegisterFlags adds the emulator's flags to fs, with c's current values as defaults.
func (c *Config) RegisterFlags(fs *pflag.FlagSet) {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8443"
	}
	fs.StringVar(&c.Addr, "addr", c.Addr, "listen address (loopback unless you mean it)")
	fs.StringVar(&c.Dir, "dir", c.Dir, "directory for ca.pem (default: a temporary directory)")
	fs.StringVar(&c.FixturesFile, "fixtures", c.FixturesFile, "JSON file with the tenant: capacities, principals, Graph objects, secrets, permissions")
	fs.StringVar(&c.StateFile, "state", c.StateFile, "persist the whole state to this file (atomic write on every change) and load it at start")
	fs.StringVar(&c.FaultsFile, "faults", c.FaultsFile, "JSON file with fault rules and random fault settings")
	fs.Int64Var(&c.Seed, "seed", c.Seed, "seed of the RNG behind ids, random faults and jitter")
	fs.DurationVar(&c.LRODelay, "lro-delay", c.LRODelay, "how long a long-running operation runs before it ends (0: done on the first poll)")
	fs.IntVar(&c.RetryAfter, "retry-after", max(c.RetryAfter, 1), "seconds sent in Retry-After on 202s and operation polls (>= 1)")
	fs.IntVar(&c.PageSize, "page-size", max(c.PageSize, 25), "entries per page of paged lists")
	fs.StringSliceVar(&c.ImmediateTypes, "immediate-types", c.ImmediateTypes, "item types whose create/getDefinition/updateDefinition answer 201/200 at once instead of 202")
	fs.BoolVar(&c.AlwaysOperations, "always-operations", c.AlwaysOperations, "answer every item create with a 202 operation, also of the types real Fabric creates at once (201)")
	fs.DurationVar(&c.NameReservation, "name-reservation", c.NameReservation, "how long a deleted item's name stays reserved (ItemDisplayNameNotAvailableYet)")
	fs.DurationVar(&c.CapacityAssignDelay, "capacity-assign-delay", c.CapacityAssignDelay, "how long capacityAssignmentProgress stays InProgress")
	fs.DurationVar(&c.TokenLifetime, "token-lifetime", max(c.TokenLifetime, time.Hour), "lifetime of issued access tokens")
	fs.IntVar(&c.DeviceCodeAutoApprove, "device-code-auto-approve", c.DeviceCodeAutoApprove, "approve device codes after this many pending polls (0: only via POST /_emulator/devicecode/approve)")
	fs.BoolVar(&c.RequireCapacity, "require-capacity", c.RequireCapacity, "refuse Fabric (non-Power BI) items in workspaces without a capacity, as Fabric does")
	fs.BoolVar(&c.StrictRequests, "strict-requests", c.StrictRequests, "refuse request bodies with fields the emulator does not know (Fabric ignores them), to catch a client's misspelt fields")
	fs.DurationVar(&c.Faults.Latency, "latency", c.Faults.Latency, "latency added to every call")
	fs.DurationVar(&c.Faults.Jitter, "jitter", c.Faults.Jitter, "random extra latency, uniform in 0..jitter")
	fs.Float64Var(&c.Faults.ErrorRate, "error-rate", c.Faults.ErrorRate, "probability of a random 500/502/503")
	fs.Float64Var(&c.Faults.Error500Rate, "error-500-rate", c.Faults.Error500Rate, "probability of a random 500 (on top of --error-rate)")
	fs.Float64Var(&c.Faults.Error502Rate, "error-502-rate", c.Faults.Error502Rate, "probability of a random 502 (on top of --error-rate)")
	fs.Float64Var(&c.Faults.Error503Rate, "error-503-rate", c.Faults.Error503Rate, "probability of a random 503 (on top of --error-rate)")
	fs.Float64Var(&c.Faults.ResetRate, "reset-rate", c.Faults.ResetRate, "probability of a connection reset before the request is applied")
	fs.Float64Var(&c.Faults.LostResponseRate, "lost-response-rate", c.Faults.LostResponseRate, "probability that a request is applied and its response lost")
	fs.Float64Var(&c.Faults.LROFailureRate, "lro-failure-rate", c.Faults.LROFailureRate, "probability that a long-running operation ends Failed")
	fs.Float64Var(&c.Faults.TokenFailureRate, "token-failure-rate", c.Faults.TokenFailureRate, "probability that the token endpoint answers 503")
	fs.Float64Var(&c.Faults.ThrottleRate, "throttle-rate", c.Faults.ThrottleRate, "Fabric and Graph requests per second per identity before 429 (0: off)")
	fs.IntVar(&c.Faults.ThrottleBurst, "throttle-burst", c.Faults.ThrottleBurst, "token bucket size per identity (default: the rate)")
}

// Options turns the configuration into Options, loading the fixtures and faults files. Flag names appear in
// its errors so that the user knows which flag to fix.
func (c *Config) Options() (Options, error) {
	o := Options{
		Addr: c.Addr, Dir: c.Dir, StateFile: c.StateFile, Seed: c.Seed, Faults: c.Faults,
		LRODelay: c.LRODelay, RetryAfter: c.RetryAfter, PageSize: c.PageSize, ImmediateTypes: c.ImmediateTypes,
		AlwaysOperations: c.AlwaysOperations,
		NameReservation:  c.NameReservation, CapacityAssignDelay: c.CapacityAssignDelay, TokenLifetime: c.TokenLifetime,
		DeviceCodeAutoApprove: c.DeviceCodeAutoApprove, RequireCapacity: c.RequireCapacity, StrictRequests: c.StrictRequests,
	}
	if c.RetryAfter < 0 {
		return o, fmt.Errorf("--retry-after %d: must be at least 1", c.RetryAfter)
	}
	for _, t := range c.ImmediateTypes {
		if !slices.Contains(itemTypes(), t) {
			return o, fmt.Errorf("--immediate-types: %q is not an item type of the Fabric spec", t)
		}
	}
	if err := c.Faults.validate(); err != nil {
		return o, fmt.Errorf("fault flags: %w", err)
	}
	if c.FixturesFile != "" {
		f, err := LoadFixtures(c.FixturesFile)
		if err != nil {
			return o, fmt.Errorf("--fixtures: %w", err)
		}
		o.Fixtures = f
	}
	if c.FaultsFile != "" {
		b, err := os.ReadFile(c.FaultsFile)
		if err != nil {
			return o, fmt.Errorf("--faults: %w", err)
		}
		ff, err := ParseFaults(b)
		if err != nil {
			return o, fmt.Errorf("--faults %s: %w", c.FaultsFile, err)
		}
		o.FaultRules = ff.Rules
		if ff.Random != nil {
			o.Faults = *ff.Random
		}
	}
	return o, nil
}
