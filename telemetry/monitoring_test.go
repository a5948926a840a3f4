package telemetry

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// emittedNames reads names.go (the one list of what fabplan emits) and returns every metric,
// attribute and span name as emitted (what Application Insights stores) and in the Prometheus form an OpenTelemetry Collector gives it (dots to underscores, unit and
// _total suffixes, histogram series) and every attribute name as a label.
func emittedNames(t *testing.T) map[string]bool {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "names.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			for i, id := range vs.Names {
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok {
					continue
				}
				v, _ := strconv.Unquote(lit.Value)
				prom := strings.ReplaceAll(v, ".", "_")
				switch {
				case strings.HasPrefix(id.Name, "Attr"):
					names[v], names[prom] = true, true
				case strings.HasPrefix(id.Name, "Metric"):
					names[v] = true
					for _, series := range promSeries(v, prom) {
						names[series] = true
					}
				case strings.HasPrefix(id.Name, "Span"), strings.HasPrefix(id.Name, "Event"):
					names[v] = true
				}
			}
		}
	}
	return names
}

// promSeries is how a metric looks in Prometheus: histograms (seconds) get _seconds and the
// _bucket/_sum/_count series, counters _total, gauges stay as they are.
func promSeries(name, prom string) []string {
	switch name {
	case MetricHTTPDuration, MetricThrottleWait, MetricStepDuration, MetricRunDuration:
		base := strings.TrimSuffix(prom, "_duration") + "_duration_seconds"
		return []string{base + "_bucket", base + "_sum", base + "_count"}
	case MetricDriftResources:
		return []string{prom}
	}
	return []string{prom + "_total"}
}

// TestMonitoringNamesAreEmitted: every metric and label name the dashboards and alert rules under
// deploy/monitoring use is one fabplan emits, so a renamed metric cannot leave a silent panel.
func TestMonitoringNamesAreEmitted(t *testing.T) {
	emitted := emittedNames(t)
	files, err := filepath.Glob(filepath.Join("..", "deploy", "monitoring", "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no files under deploy/monitoring (%v)", err)
	}
	// Names in fabplan's namespaces and the semconv ones it uses, in Prometheus form (KQL of the
	// workbook and alerts uses the dotted form).
	re := regexp.MustCompile(`\b(?:fabplan|http|url|server|error)(?:_[a-z_]+|(?:\.[a-z_]+)+)\b`)
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		seen := 0
		for _, name := range re.FindAllString(string(b), -1) {
			seen++
			if !emitted[name] {
				t.Errorf("%s uses %s, which fabplan does not emit (telemetry/names.go)", filepath.Base(file), name)
			}
		}
		if seen == 0 {
			t.Errorf("%s names no fabplan metric", filepath.Base(file))
		}
	}
}
