package drift

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"
)

// Pair is one plan and environment to watch.
type Pair struct {
	// Name labels the pair in status, metrics, logs and notifications; default PLAN or PLAN@ENV.
	Name    string            `json:"name,omitempty"`
	Plan    string            `json:"plan"`
	Env     string            `json:"env,omitempty"`
	EnvDir  string            `json:"env_dir,omitempty"`
	Vars    map[string]string `json:"vars,omitempty"`
	Targets []string          `json:"targets,omitempty"`
	// Interval between the end of one cycle and the start of the next, before jitter; 0 = the
	// service's --interval.
	Interval Duration `json:"interval,omitempty"`
}

// Duration is a time.Duration written as "5m" in JSON.
type Duration time.Duration

// MarshalText writes the duration as Go does ("5m0s").
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText reads a Go duration ("90s", "5m").
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration like 90s or 5m", b)
	}
	*d = Duration(v)
	return nil
}

// ParseWatch reads a --watch value: PLAN or PLAN@ENV.
func ParseWatch(s string) (Pair, error) {
	plan, env, _ := strings.Cut(s, "@")
	if plan == "" {
		return Pair{}, fmt.Errorf("--watch %q: want PLAN or PLAN@ENV, such as plans/sales.star@prod", s)
	}
	return Pair{Plan: plan, Env: env}, nil
}

// Config is the file --config reads: a default interval and the pairs to watch.
type Config struct {
	Interval Duration `json:"interval,omitempty"`
	Pairs    []Pair   `json:"pairs"`
}

// LoadConfig reads a config file. Unknown fields are errors: a misspelt setting would otherwise be
// dropped without a word.
func LoadConfig(file string) (*Config, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("--config: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var c Config
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("--config %s: %w", file, err)
	}
	if len(c.Pairs) == 0 {
		return nil, fmt.Errorf("--config %s: no pairs to watch; add {\"plan\": \"plans/x.star\", \"env\": \"prod\"} to \"pairs\"", file)
	}
	for i, p := range c.Pairs {
		if p.Plan == "" {
			return nil, fmt.Errorf("--config %s: pairs[%d] has no \"plan\"", file, i)
		}
	}
	return &c, nil
}

// label is the pair's default name.
func (p Pair) label() string {
	if p.Env == "" {
		return p.Plan
	}
	return p.Plan + "@" + p.Env
}

// normalize fills the pair's defaults and checks that names are unique.
func normalize(pairs []Pair, interval time.Duration) ([]Pair, error) {
	if len(pairs) == 0 {
		return nil, fmt.Errorf("nothing to watch: pass --watch PLAN[@ENV] or --config FILE")
	}
	seen := map[string]bool{}
	out := make([]Pair, len(pairs))
	for i, p := range pairs {
		if p.Name == "" {
			p.Name = p.label()
		}
		if p.Interval <= 0 {
			p.Interval = Duration(interval)
		}
		if p.Interval <= 0 {
			return nil, fmt.Errorf("pair %s: the interval must be positive", p.Name)
		}
		if seen[p.Name] {
			return nil, fmt.Errorf("pair %s is watched twice; give one of them another \"name\"", p.Name)
		}
		seen[p.Name] = true
		out[i] = p
	}
	return out, nil
}
