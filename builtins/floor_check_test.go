package builtins

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// floorsFile holds the committed floor figures `make bench-check` compares with.
const floorsFile = "testdata/floors.json"

// floorFigure is one phase's committed figures.
type floorFigure struct {
	// Ratio is wall / floor: stable on a noisy machine, unlike wall times.
	Ratio float64 `json:"ratio"`
	// Requests is the requests the phase needed (429s excluded).
	Requests int64 `json:"requests"`
}

// regression is how much worse a ratio may get before bench-check fails (the hardening plan's
// "alert if > 10 % degradation").
const regression = 1.10

// TestFloorsCheck is `make bench-check`: it runs floorPhases for the estates FABPLAN_BENCH_CHECK
// names ("all", or an estate's name) at default flags and fails when a phase's wall/floor is more
// than 10 % above the committed figure, when it needs more requests than committed, or when more
// than 1 % of its requests were answered 429. FABPLAN_BENCH_UPDATE=1 writes the figures measured
// instead. Without FABPLAN_BENCH_CHECK it is skipped: it takes minutes, and its figures mean
// something only on a machine that is not running other suites at the same time.
func TestFloorsCheck(t *testing.T) {
	which := os.Getenv("FABPLAN_BENCH_CHECK")
	if which == "" {
		t.Skip("run by make bench-check (FABPLAN_BENCH_CHECK=all|estate5|estateL)")
	}
	committed := map[string]map[string]floorFigure{}
	data, err := os.ReadFile(floorsFile)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if err == nil {
		if err := json.Unmarshal(data, &committed); err != nil {
			t.Fatalf("%s: %v", floorsFile, err)
		}
	}
	update := os.Getenv("FABPLAN_BENCH_UPDATE") == "1"
	ran := false
	for _, e := range floorEstates {
		if which != "all" && which != e.name {
			continue
		}
		ran = true
		phases := floorPhases(t, e, 0)
		for _, name := range floorPhaseNames {
			p := phases[name]
			got := floorFigure{Ratio: round3(p.ratio(floorRate)), Requests: p.requests - p.throttled}
			share := float64(p.throttled) / float64(p.requests)
			t.Logf("%s %s: wall %.2fs, %d requests, %d 429s (%.2f%%), critical path %.2fs, floor %.2fs, "+
				"wall/floor %.3f, peak in flight %d", e.name, name, p.wall.Seconds(), p.requests, p.throttled,
				100*share, p.critical.Seconds(), p.floor(floorRate).Seconds(), got.Ratio, p.peak)
			if update {
				if committed[e.name] == nil {
					committed[e.name] = map[string]floorFigure{}
				}
				committed[e.name][name] = got
				continue
			}
			want, ok := committed[e.name][name]
			if !ok {
				t.Errorf("%s %s: no committed figure in %s (FABPLAN_BENCH_UPDATE=1 writes them)", e.name, name, floorsFile)
				continue
			}
			if got.Ratio > want.Ratio*regression {
				t.Errorf("%s %s: wall/floor %.3f, more than 10 %% above the committed %.3f", e.name, name, got.Ratio, want.Ratio)
			}
			if got.Requests > want.Requests {
				t.Errorf("%s %s: %d requests, more than the committed %d", e.name, name, got.Requests, want.Requests)
			}
			if share > 0.01 {
				t.Errorf("%s %s: %.2f %% of requests answered 429, target at most 1 %%", e.name, name, 100*share)
			}
		}
	}
	if !ran {
		t.Fatalf("FABPLAN_BENCH_CHECK=%q names no estate; use all or one of %v", which, estateNames())
	}
	if update {
		out, _ := json.MarshalIndent(committed, "", "  ")
		if err := os.MkdirAll(filepath.Dir(floorsFile), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(floorsFile, append(out, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func estateNames() []string {
	var names []string
	for _, e := range floorEstates {
		names = append(names, e.name)
	}
	return names
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }
