package drift

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fabplan/fabplan/engine"
	"github.com/fabplan/fabplan/fabric"
)

func doc(changes ...engine.DocChange) *engine.Document {
	d := &engine.Document{Changes: changes}
	for _, c := range changes {
		switch c.Action {
		case engine.Create:
			d.Summary.Add++
		case engine.Update:
			d.Summary.Change++
		case engine.Replace:
			d.Summary.Replace++
		case engine.Delete:
			d.Summary.Destroy++
		}
		d.Summary.HasChanges = d.Summary.HasChanges || c.Action.Mutates()
	}
	return d
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func run(t *testing.T, w *Watcher) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
}

// TestOneCyclePerPairAtATime: a pair's cycles never overlap, even when a cycle takes longer
// than the interval, while different pairs do run at once.
func TestOneCyclePerPairAtATime(t *testing.T) {
	var mu sync.Mutex
	inFlight := map[string]int{}
	overlap, both := false, false
	w, err := New(Options{Pairs: []Pair{{Plan: "a.star"}, {Plan: "b.star"}}, Interval: time.Millisecond, Jitter: 0.5,
		CycleTimeout: time.Minute, Seed: 1,
		Plan: func(ctx context.Context, p Pair) (*engine.Document, error) {
			mu.Lock()
			inFlight[p.Name]++
			overlap = overlap || inFlight[p.Name] > 1
			both = both || (inFlight["a.star"] > 0 && inFlight["b.star"] > 0)
			mu.Unlock()
			time.Sleep(3 * time.Millisecond) // longer than the interval
			mu.Lock()
			inFlight[p.Name]--
			mu.Unlock()
			return doc(), nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, w)
	waitFor(t, "50 cycles of each pair", func() bool {
		s := w.Status()
		return s.Pairs[0].Cycles >= 50 && s.Pairs[1].Cycles >= 50
	})
	stop()
	if overlap {
		t.Error("two cycles of one pair ran at once")
	}
	if !both {
		t.Error("the two pairs never ran at the same time: one pair's cycle holds up the others")
	}
}

// TestJitterSpreadsCycles: waits stay within interval×(1±jitter) and are not all equal; the
// first cycle starts within jitter×interval.
func TestJitterSpreadsCycles(t *testing.T) {
	w, err := New(Options{Pairs: []Pair{{Plan: "a.star"}}, Interval: time.Minute, Jitter: 0.2, Seed: 7,
		Plan: func(context.Context, Pair) (*engine.Document, error) { return doc(), nil }})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[time.Duration]bool{}
	for range 200 {
		d := w.nextDelay(time.Minute)
		if d < 48*time.Second || d > 72*time.Second {
			t.Fatalf("a wait of %s is outside 1m ± 20%%", d)
		}
		seen[d] = true
		if f := w.firstDelay(time.Minute); f < 0 || f > 12*time.Second {
			t.Fatalf("a first cycle after %s, not within 20%% of 1m", f)
		}
	}
	if len(seen) < 100 {
		t.Errorf("only %d distinct waits in 200: no jitter", len(seen))
	}
	if _, err := New(Options{Pairs: []Pair{{Plan: "a.star"}}, Interval: time.Minute, Jitter: 1,
		Plan: func(context.Context, Pair) (*engine.Document, error) { return doc(), nil }}); err == nil {
		t.Error("a jitter of 1 (a wait of 0) was accepted")
	}
}

// TestReadiness: each check fails for its own reason and recovers; a plan that does not
// evaluate says nothing about Fabric.
func TestReadiness(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	var open []string
	var planErr error
	w, err := New(Options{Pairs: []Pair{{Plan: "a.star"}}, Interval: time.Minute, ReadyCycles: 3,
		Now: func() time.Time { return now }, OpenBreakers: func() []string { return open },
		Plan: func(context.Context, Pair) (*engine.Document, error) {
			if planErr != nil {
				return nil, planErr
			}
			return doc(), nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	failing := func() []string {
		var names []string
		for _, c := range w.Ready().Checks {
			if !c.OK {
				names = append(names, c.Name)
			}
		}
		return names
	}
	cycle := func(err error) {
		planErr = err
		w.cycle(context.Background(), w.pairs[0])
	}
	expect := func(step string, want ...string) {
		t.Helper()
		got := failing()
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: failing checks %v, want %v", step, got, want)
		}
		if r := w.Ready(); r.Ready != (len(want) == 0) {
			t.Errorf("%s: Ready %v with failing checks %v", step, r.Ready, got)
		}
	}
	expect("before any cycle", CheckCredentials, CheckFabric, CheckCycles)
	cycle(nil)
	expect("after a good cycle")
	cycle(&fabric.Error{StatusCode: 503, ErrorCode: "ServiceUnavailable", Message: "down"})
	expect("503", CheckFabric)
	cycle(errors.New("plan.star:3:1: undefined: x"))
	expect("a plan error keeps what was known", CheckFabric)
	cycle(&fabric.Error{ErrorCode: fabric.CodeRequestFailed, Err: errors.New("connection refused")})
	expect("no answer", CheckFabric)
	cycle(nil)
	expect("recovered")
	cycle(&fabric.Error{ErrorCode: "AuthenticationFailed", Message: "AADSTS7000215: Invalid client secret"})
	expect("bad credentials", CheckCredentials)
	cycle(&fabric.Error{StatusCode: 403, ErrorCode: "InsufficientPrivileges"})
	expect("a 403 proves the token and Fabric")
	open = []string{"api.fabric.microsoft.com items (open)"}
	expect("open breaker", CheckBreaker)
	open = nil
	cycle(context.DeadlineExceeded)
	expect("a cycle that timed out", CheckFabric)
	cycle(nil)
	now = now.Add(3*time.Minute + time.Second)
	expect("no cycle for more than 3 intervals", CheckCycles)
}

// TestShutdownLeavesAStuckCycle: Run returns after ShutdownTimeout even when a cycle ignores its
// cancellation, so that SIGTERM always ends the process.
func TestShutdownLeavesAStuckCycle(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	var once sync.Once
	w, err := New(Options{Pairs: []Pair{{Plan: "a.star"}}, Interval: time.Millisecond, ShutdownTimeout: 10 * time.Millisecond,
		CycleTimeout: time.Hour,
		Plan: func(context.Context, Pair) (*engine.Document, error) {
			once.Do(func() { close(started) })
			<-release // ignores ctx
			return doc(), nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	<-started
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestShutdownCancelsTheCycle: a cycle in flight sees its context cancelled, and the cancelled
// cycle is not recorded as a Fabric failure.
func TestShutdownCancelsTheCycle(t *testing.T) {
	started := make(chan struct{})
	var once sync.Once
	w, err := New(Options{Pairs: []Pair{{Plan: "a.star"}}, Interval: time.Millisecond, CycleTimeout: time.Hour,
		Plan: func(ctx context.Context, _ Pair) (*engine.Document, error) {
			once.Do(func() { close(started) })
			<-ctx.Done()
			return nil, &fabric.Error{ErrorCode: fabric.CodeRequestFailed, Err: ctx.Err()}
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	<-started
	cancel()
	<-done
	if s := w.Status(); s.Pairs[0].Cycles != 0 || s.Pairs[0].Last != nil {
		t.Errorf("a cycle cancelled by shutdown was recorded: %+v", s.Pairs[0])
	}
}

// TestWebhook: drift is posted once per new drift (not every cycle), and its end once, to a
// loopback receiver, in the Slack and the Teams format; a secret in an error never reaches it.
func TestWebhook(t *testing.T) {
	for _, format := range []string{FormatSlack, FormatTeams} {
		t.Run(format, func(t *testing.T) {
			var mu sync.Mutex
			var bodies []map[string]any
			recv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				var v map[string]any
				if err := json.Unmarshal(b, &v); err != nil || r.Header.Get("Content-Type") != "application/json" {
					t.Errorf("not a JSON POST: %s %q", r.Header.Get("Content-Type"), b)
				}
				mu.Lock()
				bodies = append(bodies, v)
				mu.Unlock()
			}))
			defer recv.Close()
			update := engine.DocChange{Address: "workspace.sales/item.Notebook.nb", Action: engine.Update}
			del := engine.DocChange{Address: "workspace.sales/item.Notebook.old", Action: engine.Delete}
			script := []*engine.Document{doc(), doc(update), doc(update), doc(update, del), doc(update, del), doc()}
			var n atomic.Int64
			w, err := New(Options{Pairs: []Pair{{Plan: "sales.star", Env: "prod"}}, Interval: time.Minute,
				Webhook: &Webhook{URL: recv.URL, Format: format}, StatusURL: "http://fabplan:8080/",
				Plan: func(context.Context, Pair) (*engine.Document, error) {
					return script[n.Add(1)-1], nil
				}})
			if err != nil {
				t.Fatal(err)
			}
			for range script {
				w.cycle(context.Background(), w.pairs[0])
			}
			mu.Lock()
			defer mu.Unlock()
			if len(bodies) != 3 {
				t.Fatalf("%d posts, want 3 (drift, changed drift, resolved): %v", len(bodies), bodies)
			}
			var texts []string
			for _, b := range bodies {
				raw, _ := json.Marshal(b)
				texts = append(texts, string(raw))
				if format == FormatSlack && b["text"] == nil {
					t.Errorf("a Slack payload without text: %s", raw)
				}
				if format == FormatTeams {
					att, _ := b["attachments"].([]any)
					if b["type"] != "message" || len(att) != 1 ||
						att[0].(map[string]any)["contentType"] != "application/vnd.microsoft.card.adaptive" {
						t.Errorf("not a Teams message with an Adaptive Card: %s", raw)
					}
				}
			}
			for i, want := range []string{"fabplan: drift in sales.star@prod", "1 to change, 0 to replace, 1 to destroy", "back in sync"} {
				if !strings.Contains(texts[i], want) {
					t.Errorf("post %d does not say %q: %s", i+1, want, texts[i])
				}
			}
			for _, want := range []string{"~ workspace.sales/item.Notebook.nb (update)", `"address":"workspace.sales/item.Notebook.nb"`, "http://fabplan:8080/"} {
				if !strings.Contains(texts[0], want) {
					t.Errorf("the first post does not carry %q: %s", want, texts[0])
				}
			}
			if ev := bodies[2]["fabplan"].(map[string]any)["event"]; ev != "resolved" {
				t.Errorf("the last post's event is %v, want resolved", ev)
			}
		})
	}
}

func TestWebhookFormatByHost(t *testing.T) {
	for url, want := range map[string]string{
		"https://hooks.slack.com/services/T/B/X":                        FormatSlack,
		"https://contoso.webhook.office.com/webhookb2/x":                FormatTeams,
		"https://prod-12.westeurope.logic.azure.com:443/workflows/x":    FormatTeams,
		"https://default1.environment.api.powerplatform.com/powerauto/": FormatTeams,
		"https://alerts.example.com/hook":                               FormatSlack,
	} {
		if got := (&Webhook{URL: url}).format(); got != want {
			t.Errorf("%s: format %s, want %s", url, got, want)
		}
	}
	if err := CheckWebhookURL("hooks.slack.com/x"); err == nil {
		t.Error("a webhook URL without a scheme was accepted")
	}
}

// TestPolicy: the default policy applies updates only; Limit turns the rest into no-ops that
// keep their live id.
func TestPolicy(t *testing.T) {
	plan := &engine.Plan{Changes: []engine.Change{
		{Addr: "workspace.a", Action: engine.Replace, ID: "ws-1", Attrs: []engine.AttrChange{{Name: "name", Old: "x", New: "y"}}},
		{Addr: "workspace.a/item.Notebook.n", Action: engine.Update, ID: "it-1"},
		{Addr: "workspace.a/item.Notebook.new", Action: engine.Create},
		{Addr: "workspace.a/item.Notebook.gone", Action: engine.Delete, ID: "it-2"},
		{Addr: "capacity.c", Action: engine.Read, ID: "cap"},
	}}
	applied, held := DefaultPolicy.Limit(plan)
	if len(applied) != 1 || applied[0] != "workspace.a/item.Notebook.n" || len(held) != 3 {
		t.Fatalf("applied %v, held %v", applied, held)
	}
	for _, c := range plan.Changes {
		if c.Action.Mutates() && c.Action != engine.Update {
			t.Errorf("%s is still a %s", c.Addr, c.Action)
		}
	}
	if c := plan.Changes[0]; c.ID != "ws-1" || c.Attrs != nil {
		t.Errorf("a held-back replace lost its id or kept its attributes: %+v", c)
	}
	p, err := ParsePolicy("update, create")
	if err != nil || !p.Allows(engine.Create) || !p.Allows(engine.Update) || p.Allows(engine.Delete) || p.String() != "create,update" {
		t.Errorf("ParsePolicy(update, create) = %v, %v", p, err)
	}
	if p, _ := ParsePolicy("all"); !p.Allows(engine.Delete) || !p.Allows(engine.Replace) {
		t.Error("all does not allow delete and replace")
	}
	if _, err := ParsePolicy("updates"); err == nil || !strings.Contains(err.Error(), "create, update, replace, delete or all") {
		t.Errorf("a misspelt policy: %v", err)
	}
}

// TestReconcileRunsOnlyWhatThePolicyAllows: the reconciler is called only when the policy allows
// one of the drifted changes, and its limit makes the others no-ops.
func TestReconcileRunsOnlyWhatThePolicyAllows(t *testing.T) {
	update := engine.DocChange{Address: "workspace.a/item.Notebook.n", Action: engine.Update}
	del := engine.DocChange{Address: "workspace.a/item.Notebook.old", Action: engine.Delete}
	docs := []*engine.Document{doc(del), doc(update, del)}
	var i int
	var calls int
	var limited *engine.Plan
	w, err := New(Options{Pairs: []Pair{{Plan: "a.star"}}, Interval: time.Minute, Policy: DefaultPolicy,
		Plan: func(context.Context, Pair) (*engine.Document, error) { i++; return docs[i-1], nil },
		Reconcile: func(_ context.Context, _ Pair, limit func(*engine.Plan)) error {
			calls++
			limited = &engine.Plan{Changes: []engine.Change{{Addr: update.Address, Action: engine.Update}, {Addr: del.Address, Action: engine.Delete}}}
			limit(limited)
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	w.cycle(context.Background(), w.pairs[0])
	if calls != 0 {
		t.Fatal("reconcile ran for a delete the policy does not allow")
	}
	w.cycle(context.Background(), w.pairs[0])
	if calls != 1 || limited.Changes[1].Action != engine.NoOp || limited.Changes[0].Action != engine.Update {
		t.Fatalf("calls %d, plan after limit %+v", calls, limited)
	}
	rr := w.Status().Pairs[0].Last.Reconcile
	if rr == nil || len(rr.Applied) != 1 || len(rr.Held) != 1 {
		t.Errorf("status of the reconcile: %+v", rr)
	}
}

func TestConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		f := filepath.Join(dir, "serve.json")
		if err := os.WriteFile(f, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	c, err := LoadConfig(write(`{"interval": "10m", "pairs": [{"plan": "p.star", "env": "prod", "interval": "1m"}, {"plan": "q.star"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	pairs, err := normalize(c.Pairs, time.Duration(c.Interval))
	if err != nil || pairs[0].Name != "p.star@prod" || pairs[0].Interval != Duration(time.Minute) || pairs[1].Interval != Duration(10*time.Minute) {
		t.Errorf("pairs %+v, %v", pairs, err)
	}
	for src, want := range map[string]string{
		`{"pairs": [{"plan": "p.star", "intervall": "1m"}]}`: `unknown field "intervall"`,
		`{"pairs": []}`:                                  "no pairs to watch",
		`{"pairs": [{"env": "prod"}]}`:                   `pairs[0] has no "plan"`,
		`{"pairs": [{"plan": "p", "interval": "soon"}]}`: "not a duration",
	} {
		if _, err := LoadConfig(write(src)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", src, err, want)
		}
	}
	if _, err := normalize([]Pair{{Plan: "p.star"}, {Plan: "p.star"}}, time.Minute); err == nil {
		t.Error("a pair watched twice was accepted")
	}
	if p, err := ParseWatch("plans/a.star@prod"); err != nil || p.Plan != "plans/a.star" || p.Env != "prod" {
		t.Errorf("ParseWatch: %+v, %v", p, err)
	}
}
