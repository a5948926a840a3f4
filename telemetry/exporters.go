package telemetry

import (
	"context"
	"strings"

	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Environment variables Setup reads itself (docs/configuration.md); the OTLP exporters read the
// other OTEL_EXPORTER_OTLP_* ones.
const (
	EnvFeature          = "FEATURE_USE_TELEMETRY"
	EnvSDKDisabled      = "OTEL_SDK_DISABLED"
	EnvConnectionString = "APPLICATIONINSIGHTS_CONNECTION_STRING"
)

type exporters struct {
	spans   []sdktrace.SpanExporter
	metrics []sdkmetric.Exporter
	logs    []sdklog.Exporter
}

func (e exporters) any() bool { return len(e.spans)+len(e.metrics)+len(e.logs) > 0 }

// exportersFromEnv builds the exporters the environment asks for.
func exportersFromEnv(ctx context.Context, o Options) (exporters, error) {
	var e exporters
	on, err := parseSwitch(EnvFeature, o.Getenv(EnvFeature))
	if err != nil || !on {
		return e, err
	}
	if strings.EqualFold(strings.TrimSpace(o.Getenv(EnvSDKDisabled)), "true") {
		return e, nil
	}
	for _, sig := range []string{"TRACES", "METRICS", "LOGS"} {
		want, err := otlpWanted(o.Getenv, sig)
		if err != nil {
			return e, err
		}
		if !want {
			continue
		}
		grpc, err := otlpGRPC(o.Getenv, sig)
		if err != nil {
			return e, err
		}
		if err := e.addOTLP(ctx, sig, grpc); err != nil {
			return e, err
		}
	}
	if cs := o.Getenv(EnvConnectionString); cs != "" {
		ai, err := newAppInsights(cs, o.HTTPClient)
		if err != nil {
			return e, err
		}
		e.spans = append(e.spans, ai)
		e.metrics = append(e.metrics, ai.metrics())
		e.logs = append(e.logs, ai.logs())
	}
	return e, nil
}

func (e *exporters) addOTLP(ctx context.Context, sig string, grpc bool) error {
	var err error
	switch {
	case sig == "TRACES" && grpc:
		var x sdktrace.SpanExporter
		x, err = otlptracegrpc.New(ctx)
		e.spans = append(e.spans, x)
	case sig == "TRACES":
		var x sdktrace.SpanExporter
		x, err = otlptracehttp.New(ctx)
		e.spans = append(e.spans, x)
	case sig == "METRICS" && grpc:
		var x sdkmetric.Exporter
		x, err = otlpmetricgrpc.New(ctx)
		e.metrics = append(e.metrics, x)
	case sig == "METRICS":
		var x sdkmetric.Exporter
		x, err = otlpmetrichttp.New(ctx)
		e.metrics = append(e.metrics, x)
	case grpc:
		var x sdklog.Exporter
		x, err = otlploggrpc.New(ctx)
		e.logs = append(e.logs, x)
	default:
		var x sdklog.Exporter
		x, err = otlploghttp.New(ctx)
		e.logs = append(e.logs, x)
	}
	if err != nil {
		return &ConfigError{Var: "OTEL_EXPORTER_OTLP_" + sig + "_*", Value: "", Want: err.Error()}
	}
	return nil
}

// otlpWanted: OTEL_<SIGNAL>_EXPORTER decides (otlp or none); unset, an OTLP endpoint for the signal
// does. fabplan sends nothing to the default localhost endpoint unless asked.
func otlpWanted(getenv func(string) string, sig string) (bool, error) {
	name := "OTEL_" + sig + "_EXPORTER"
	switch v := strings.TrimSpace(getenv(name)); v {
	case "none":
		return false, nil
	case "otlp":
		return true, nil
	case "":
		return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_"+sig+"_ENDPOINT") != "", nil
	default:
		return false, &ConfigError{Var: name, Value: v, Want: "fabplan exports otlp or none (or set APPLICATIONINSIGHTS_CONNECTION_STRING)"}
	}
}

// otlpGRPC reads the protocol: OTEL_EXPORTER_OTLP_<SIGNAL>_PROTOCOL, then OTEL_EXPORTER_OTLP_PROTOCOL,
// then the specification's default, http/protobuf.
func otlpGRPC(getenv func(string) string, sig string) (bool, error) {
	name := "OTEL_EXPORTER_OTLP_" + sig + "_PROTOCOL"
	v := getenv(name)
	if v == "" {
		name = "OTEL_EXPORTER_OTLP_PROTOCOL"
		v = getenv(name)
	}
	switch v {
	case "grpc":
		return true, nil
	case "", "http/protobuf":
		return false, nil
	}
	return false, &ConfigError{Var: name, Value: v, Want: "use grpc or http/protobuf (http/json is not supported)"}
}

// parseSwitch reads an on/off variable the way fabric reads the other FEATURE_USE_* switches.
func parseSwitch(name, v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "true", "1", "on", "yes":
		return true, nil
	case "false", "0", "off", "no":
		return false, nil
	}
	return false, &ConfigError{Var: name, Value: v, Want: "use true or false"}
}
