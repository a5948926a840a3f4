package drift

import (
	_ "embed"
	"encoding/json"
	"html/template"
	"net/http"
	"time"
)

// PairStatus is one pair in /status.
type PairStatus struct {
	Name     string       `json:"name"`
	Plan     string       `json:"plan"`
	Env      string       `json:"env,omitempty"`
	Interval Duration     `json:"interval"`
	Running  bool         `json:"running"`
	Cycles   int          `json:"cycles"`
	Drift    bool         `json:"drift"`
	Since    *time.Time   `json:"drift_since,omitempty"`
	Last     *CycleResult `json:"last_cycle,omitempty"`
	// LastOK is the last cycle that computed a plan, when the last one failed.
	LastOK *CycleResult `json:"last_successful_cycle,omitempty"`
	Next   *time.Time   `json:"next_cycle,omitempty"`
}

// Status is /status.
type Status struct {
	Started   time.Time    `json:"started"`
	Readiness Readiness    `json:"readiness"`
	Reconcile string       `json:"reconcile_policy,omitempty"` // "" when --reconcile is off
	Pairs     []PairStatus `json:"pairs"`
}

// Status reports every pair.
func (w *Watcher) Status() Status {
	s := Status{Started: w.start, Readiness: w.Ready()}
	if w.o.Reconcile != nil {
		s.Reconcile = w.o.Policy.String()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, ps := range w.pairs {
		p := PairStatus{Name: ps.pair.Name, Plan: ps.pair.Plan, Env: ps.pair.Env, Interval: ps.pair.Interval,
			Running: ps.running, Cycles: ps.cycles, Drift: ps.driftKey != ""}
		if p.Drift {
			since := ps.since
			p.Since = &since
		}
		if ps.last != nil {
			last := *ps.last
			p.Last = &last
			if ps.lastOK != nil && ps.lastOK != ps.last {
				ok := *ps.lastOK
				p.LastOK = &ok
			}
		}
		if !ps.running && !ps.next.IsZero() {
			next := ps.next
			p.Next = &next
		}
		s.Pairs = append(s.Pairs, p)
	}
	return s
}

// Handler serves /healthz, /readyz, /status, metrics at /metrics, and the status page at /.
// Everything is read-only: nothing served here starts a cycle or changes a setting.
func (w *Watcher) Handler(metrics http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		rw.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(rw http.ResponseWriter, _ *http.Request) {
		r := w.Ready()
		code := http.StatusOK
		if !r.Ready {
			code = http.StatusServiceUnavailable
		}
		writeJSON(rw, code, r)
	})
	mux.HandleFunc("GET /status", func(rw http.ResponseWriter, _ *http.Request) {
		writeJSON(rw, http.StatusOK, w.Status())
	})
	if metrics != nil {
		mux.Handle("GET /metrics", metrics)
	}
	mux.HandleFunc("GET /{$}", func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err := statusPage.Execute(rw, w.Status()); err != nil {
			w.log.Error("status page", "error", err.Error())
		}
	})
	return mux
}

func writeJSON(rw http.ResponseWriter, code int, v any) {
	rw.Header().Set("Content-Type", "application/json")
	rw.Header().Set("Cache-Control", "no-store")
	rw.WriteHeader(code)
	enc := json.NewEncoder(rw)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

//go:embed status.html
var statusHTML string

var statusPage = template.Must(template.New("status").Funcs(template.FuncMap{
	"when": func(v any) string {
		var t time.Time
		switch v := v.(type) {
		case time.Time:
			t = v
		case *time.Time:
			if v != nil {
				t = *v
			}
		}
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format(time.RFC3339)
	},
}).Parse(statusHTML))
