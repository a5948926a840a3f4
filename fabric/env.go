package fabric

import (
	"fmt"
	"strings"
)

// Environment variables read by ConfigFromEnv and AuthConfigFromEnv (docs/configuration.md).
const (
	EnvFabricURL      = "FABPLAN_FABRIC_URL"
	EnvRetry          = "FEATURE_USE_RETRY_LOGIC"
	EnvCircuitBreaker = "FEATURE_USE_CIRCUIT_BREAKER"
	EnvThrottle       = "FEATURE_USE_THROTTLE"
)

// ConfigFromEnv reads the Fabric URL and the middleware switches through getenv (os.Getenv in the
// CLI). A switch is on unless set to false, 0, off or no; flags such as --no-retry are applied by
// the caller on top.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{BaseURL: getenv(EnvFabricURL)}
	for _, s := range []struct {
		name string
		off  *bool
	}{{EnvRetry, &cfg.NoRetry}, {EnvCircuitBreaker, &cfg.NoBreaker}, {EnvThrottle, &cfg.NoThrottle}} {
		on, err := parseSwitch(s.name, getenv(s.name))
		if err != nil {
			return Config{}, err
		}
		*s.off = !on
	}
	return cfg, nil
}

func parseSwitch(name, v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "true", "1", "on", "yes":
		return true, nil
	case "false", "0", "off", "no":
		return false, nil
	}
	return false, fmt.Errorf("%s=%q: use true or false", name, v)
}
