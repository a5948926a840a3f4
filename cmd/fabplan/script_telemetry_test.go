package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/fabplan/fabplan/telemetry/telemetrytest"
)

// The script commands of telemetry and reports; testdata/script/README describes them.
func init() {
	scriptCommands["otlp-receiver"] = otlpReceiver
	scriptCommands["otlp-span"] = func(ts *testscript.TestScript, neg bool, args []string) {
		otlpMatch(ts, neg, args, "otlp-span", func() []named {
			r := receiverOf(ts)
			var out []named
			for _, s := range r.Spans() {
				out = append(out, named{s.Name, s.Attrs})
			}
			return out
		})
	}
	scriptCommands["otlp-metric"] = func(ts *testscript.TestScript, neg bool, args []string) {
		otlpMatch(ts, neg, args, "otlp-metric", func() []named {
			r := receiverOf(ts)
			var out []named
			for _, m := range r.Metrics() {
				out = append(out, named{m.Name, m.Attrs})
			}
			return out
		})
	}
	scriptCommands["otlp-log"] = func(ts *testscript.TestScript, neg bool, args []string) {
		otlpMatch(ts, neg, args, "otlp-log", func() []named {
			r := receiverOf(ts)
			var out []named
			for _, l := range r.Logs() {
				out = append(out, named{l.Body, l.Attrs})
			}
			return out
		})
	}
	scriptCommands["otlp-linked"] = otlpLinked
	scriptCommands["otlp-contains"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 1 {
			ts.Fatalf("usage: otlp-contains STRING")
		}
		if got := receiverOf(ts).Contains(args[0]); got != !neg {
			ts.Fatalf("telemetry received contains %q: %v", args[0], got)
		}
	}
	scriptCommands["json-schema"] = jsonSchema
	scriptCommands["appinsights"] = func(ts *testscript.TestScript, neg bool, args []string) {
		otlpMatch(ts, neg, args, "appinsights", func() []named { return appInsightsItems(ts) })
	}
}

// appInsightsItems lists what the script's emulator's ingestion endpoint accepted, each named
// "BASETYPE NAME" (the metric's name for MetricData) with its properties and tags.
func appInsightsItems(ts *testscript.TestScript) []named {
	var out []named
	for _, raw := range emulatorOf(ts).AppInsights() {
		var e struct {
			Tags map[string]string `json:"tags"`
			Data struct {
				BaseType string `json:"baseType"`
				BaseData struct {
					Name       string            `json:"name"`
					Message    string            `json:"message"`
					Properties map[string]string `json:"properties"`
					Metrics    []struct {
						Name string `json:"name"`
					} `json:"metrics"`
				} `json:"baseData"`
			} `json:"data"`
		}
		ts.Check(json.Unmarshal(raw, &e))
		d := e.Data.BaseData
		name := d.Name
		if len(d.Metrics) > 0 {
			name = d.Metrics[0].Name
		}
		if d.Message != "" {
			name = d.Message
		}
		attrs := map[string]string{}
		for k, v := range e.Tags {
			attrs[k] = v
		}
		for k, v := range d.Properties {
			attrs[k] = v
		}
		out = append(out, named{e.Data.BaseType + " " + name, attrs})
	}
	return out
}

const otlpKey = "otlp"

type otlpHolder struct{ r *telemetrytest.Receiver }

func receiverOf(ts *testscript.TestScript) *telemetrytest.Receiver {
	h, _ := ts.Value(otlpKey).(*otlpHolder)
	if h == nil || h.r == nil {
		ts.Fatalf("no OTLP receiver: run otlp-receiver first")
	}
	return h.r
}

// otlpReceiver: otlp-receiver grpc|http/protobuf starts a real OTLP receiver on loopback and
// points fabplan at it through the standard OTEL_EXPORTER_OTLP_* variables.
func otlpReceiver(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 || args[0] != "grpc" && args[0] != "http/protobuf" {
		ts.Fatalf("usage: otlp-receiver grpc|http/protobuf")
	}
	r, err := telemetrytest.Start()
	ts.Check(err)
	ts.Defer(r.Close)
	endpoint := r.HTTPURL
	if args[0] == "grpc" {
		endpoint = "http://" + r.GRPCAddr
	}
	ts.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
	ts.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", args[0])
	ts.Setenv("OTEL_EXPORTER_OTLP_INSECURE", "true")
	// Metrics are read at exit; no periodic export races the assertions.
	ts.Setenv("OTEL_METRIC_EXPORT_INTERVAL", "600000")
	h, _ := ts.Value(otlpKey).(*otlpHolder)
	if h == nil {
		ts.Fatalf("otlp holder missing")
	}
	h.r = r
}

type named struct {
	name  string
	attrs map[string]string
}

// otlpMatch: CMD NAME [KEY=VALUE|KEY]... passes when something received is named NAME (a regexp,
// anchored) and has every attribute given (KEY alone: present with any value).
func otlpMatch(ts *testscript.TestScript, neg bool, args []string, cmd string, list func() []named) {
	if len(args) < 1 {
		ts.Fatalf("usage: %s NAME [KEY=VALUE|KEY]...", cmd)
	}
	re, err := regexp.Compile("^(?:" + args[0] + ")$")
	ts.Check(err)
	items := list()
	found := false
	for _, it := range items {
		if !re.MatchString(it.name) {
			continue
		}
		ok := true
		for _, a := range args[1:] {
			k, v, hasV := strings.Cut(a, "=")
			got, present := it.attrs[k]
			ok = ok && present && (!hasV || got == v)
		}
		found = found || ok
	}
	if found == neg {
		var b strings.Builder
		for _, it := range items {
			b.WriteString(it.name)
			b.WriteString(" ")
			b.WriteString(strings.TrimPrefix(strings.ReplaceAll(strings.TrimSpace(sprintAttrs(it.attrs)), "\n", " "), " "))
			b.WriteString("\n")
		}
		ts.Fatalf("%s %s: found=%v; received:\n%s", cmd, strings.Join(args, " "), found, b.String())
	}
}

func sprintAttrs(m map[string]string) string {
	var b strings.Builder
	for k, v := range m {
		b.WriteString(" " + k + "=" + v)
	}
	return b.String()
}

// otlpLinked: every span received is in one trace whose root is fabplan.run, reached through
// parent ids.
func otlpLinked(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: otlp-linked")
	}
	spans := receiverOf(ts).Spans()
	byID := map[string]telemetrytest.Span{}
	for _, s := range spans {
		byID[s.SpanID] = s
	}
	if len(spans) == 0 {
		ts.Fatalf("no spans received")
	}
	for _, s := range spans {
		cur := s
		for i := 0; cur.ParentSpanID != "" && i < 100; i++ {
			p, ok := byID[cur.ParentSpanID]
			if !ok {
				ts.Fatalf("span %q has a parent that was not received", cur.Name)
			}
			cur = p
		}
		if cur.Name != "fabplan.run" || s.TraceID != cur.TraceID {
			ts.Fatalf("span %q does not lead to the run's span (root %q)", s.Name, cur.Name)
		}
	}
}

// jsonSchema: json-schema DOC FILE validates FILE against the JSON Schema under "## Schema" in
// docs/DOC.
func jsonSchema(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: json-schema DOC FILE")
	}
	md, err := os.ReadFile(filepath.Join(repoRoot, "docs", args[0]))
	ts.Check(err)
	m := regexp.MustCompile("(?s)## Schema.*?```json\n(.*?)```").FindSubmatch(md)
	if m == nil {
		ts.Fatalf("docs/%s has no ```json block under ## Schema", args[0])
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(m[1]))
	ts.Check(err)
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	ts.Check(c.AddResource("schema.json", doc))
	sch, err := c.Compile("schema.json")
	ts.Check(err)
	data, err := os.ReadFile(ts.MkAbs(args[1]))
	ts.Check(err)
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	ts.Check(err)
	if err := sch.Validate(v); err != nil {
		ts.Fatalf("%s does not follow docs/%s: %v", args[1], args[0], err)
	}
}
