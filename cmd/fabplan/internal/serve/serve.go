// Package serve implements `fabplan serve`: continuous drift detection with health endpoints. It
// wires the drift package to fabplan plan's read-only refresh, fabplan run's apply, the Fabric
// client of the process and an HTTP server; the scheduling, checks and reports are drift's.
package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"

	"github.com/fabplan/fabplan/cmd/fabplan/internal/cli"
	"github.com/fabplan/fabplan/cmd/fabplan/internal/plan"
	"github.com/fabplan/fabplan/cmd/fabplan/internal/run"
	"github.com/fabplan/fabplan/drift"
	"github.com/fabplan/fabplan/engine"
	"github.com/fabplan/fabplan/fabric"
)

// Options are the flags of `fabplan serve`.
type Options struct {
	F               *cli.Factory
	Watch           []string
	Config          string
	Interval        time.Duration
	Jitter          float64
	CycleTimeout    time.Duration
	ReadyCycles     int
	Addr            string
	WebhookURL      string
	WebhookFormat   string
	Reconcile       bool
	ReconcilePolicy string
	Parallelism     int
}

// NewCmd builds the command.
func NewCmd(f *cli.Factory) *cobra.Command {
	opts := &Options{F: f}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Watch plans for drift and serve health, status and metrics over HTTP",
		Long: `Runs until stopped. Every --interval (with jitter) it plans each watched plan/env pair the way
fabplan plan does, reading live state and changing nothing; one cycle per pair at a time, every pair
sharing one identity's throttle and circuit breakers. Drift (a plan with changes) is logged, counted
in /metrics, recorded as an OpenTelemetry event and, with --webhook-url, posted to Slack or Teams.
With --reconcile the changes --reconcile-policy allows (default: updates in place only; never a
create, replace or delete) are applied through fabplan run, with its journal and lock.

HTTP (--addr): /healthz (alive), /readyz (credentials, Fabric reachable, breaker closed, a cycle
within --ready-cycles intervals), /metrics (Prometheus), /status (JSON per pair), / (status page).
SIGTERM or Ctrl-C cancels the cycles in flight and exits 0. See docs/serve.md.

Exit codes: 0 stopped by a signal, 1 the server failed, 2 bad flags or configuration.`,
		Example: `  fabplan serve --watch plans/sales/estate.star@prod --watch plans/sales/estate.star@dev --interval 10m
  fabplan serve --config serve.json --webhook-url https://hooks.slack.com/services/...
  fabplan serve --watch plans/sales/estate.star@prod --reconcile`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return Run(cmd.Context(), opts, cmd.Flags().Changed("interval"))
		},
	}
	f.BindConnectionFlags(cmd.Flags())
	f.BindStateFlags(cmd.Flags())
	fl := cmd.Flags()
	fl.StringArrayVar(&opts.Watch, "watch", nil, "watch `PLAN[@ENV]`, such as plans/sales.star@prod (repeatable)")
	fl.StringVar(&opts.Config, "config", "", "JSON `FILE` of pairs to watch (docs/serve.md), instead of or beside --watch")
	fl.DurationVar(&opts.Interval, "interval", 5*time.Minute, "time between the end of a pair's cycle and the start of its next")
	fl.Float64Var(&opts.Jitter, "jitter", 0.1, "spread cycles by up to this fraction of the interval")
	fl.DurationVar(&opts.CycleTimeout, "cycle-timeout", 0, "bound on one cycle (default: the pair's interval)")
	fl.IntVar(&opts.ReadyCycles, "ready-cycles", 3, "/readyz fails when a pair has not finished a cycle within this many intervals")
	fl.StringVar(&opts.Addr, "addr", ":8080", "HTTP listen `ADDRESS` for the health, status and metrics endpoints")
	fl.StringVar(&opts.WebhookURL, "webhook-url", "", "POST drift notifications to this Slack or Teams incoming webhook `URL` (env FABPLAN_WEBHOOK_URL)")
	fl.StringVar(&opts.WebhookFormat, "webhook-format", drift.FormatAuto, "webhook payload: slack ({\"text\"}), teams (Adaptive Card, for Workflows) or auto (by the URL's host)")
	fl.BoolVar(&opts.Reconcile, "reconcile", false, "apply the drift --reconcile-policy allows back, through fabplan run")
	fl.StringVar(&opts.ReconcilePolicy, "reconcile-policy", "update", "changes --reconcile may make: create, update, replace, delete or all, comma-separated")
	fl.IntVar(&opts.Parallelism, "parallelism", engine.DefaultParallelism,
		"at most how many refreshes (and reconcile changes) of one pair are in flight at once")
	fl.DurationVar(&f.BreakerCooldown, "breaker-cooldown", 30*time.Second, "how long an open circuit breaker waits before it lets a probe request through")
	return cmd
}

// Run carries out `fabplan serve`.
func Run(ctx context.Context, opts *Options, intervalSet bool) error {
	f := opts.F
	wo, err := watchOptions(opts, intervalSet)
	if err != nil {
		return err
	}
	if f.Emulator {
		return cli.Usagef(errors.New("serve watches a Fabric that outlives it; --emulator's starts empty and ends with the " +
			"process: run `fabplan emulator` and point serve at it with FABPLAN_FABRIC_URL instead"))
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return cli.Usagef(fmt.Errorf("--addr %s: %w", opts.Addr, err))
	}
	defer ln.Close()

	log := slog.New(slog.NewJSONHandler(f.IO.ErrOut, nil))
	// /metrics is a Prometheus reader of fabplan's one MeterProvider: what an OTLP exporter
	// receives, Prometheus scrapes.
	reg := prometheus.NewRegistry()
	exporter, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return err
	}
	// Before anything sets telemetry up: the client's, the runs' and the watcher's instruments all
	// live on the one MeterProvider this reader serves. root flushes it at exit.
	f.MetricReaders = append(f.MetricReaders, exporter)
	tel, err := f.Telemetry()
	if err != nil {
		return err
	}

	s := &server{f: f, parallelism: opts.Parallelism}
	wo.Plan = s.plan
	if opts.Reconcile {
		wo.Reconcile = s.reconcile
	}
	// The watcher checks the pairs before fabplan signs in; the client exists before it runs.
	wo.OpenBreakers = func() []string { return s.client.OpenBreakers() }
	wo.Logger = log
	wo.Redact = f.Redactor().Redact
	wo.Telemetry = tel
	wo.StatusURL = statusURL(ln.Addr())
	w, err := drift.New(wo)
	if err != nil {
		return cli.Usagef(err)
	}
	if s.client, err = f.Client(); err != nil {
		return err
	}

	srv := &http.Server{Handler: w.Handler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})),
		ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("serving", "addr", ln.Addr().String(), "pairs", len(wo.Pairs), "reconcile", opts.Reconcile)

	watched := make(chan error, 1)
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() { watched <- w.Run(wctx) }()
	select {
	case err = <-served:
		stop()
		<-watched
		return fmt.Errorf("HTTP server on %s: %w", opts.Addr, err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "cause", context.Cause(ctx).Error())
	<-watched
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 500*time.Millisecond)
	defer cancel()
	srv.Shutdown(sctx)
	return nil
}

// watchOptions turns the flags into the watcher's options, checking them first.
func watchOptions(opts *Options, intervalSet bool) (drift.Options, error) {
	f := opts.F
	var pairs []drift.Pair
	interval := opts.Interval
	if opts.Config != "" {
		c, err := drift.LoadConfig(opts.Config)
		if err != nil {
			return drift.Options{}, cli.Usagef(err)
		}
		pairs = append(pairs, c.Pairs...)
		if c.Interval > 0 && !intervalSet {
			interval = time.Duration(c.Interval)
		}
	}
	for _, s := range opts.Watch {
		p, err := drift.ParseWatch(s)
		if err != nil {
			return drift.Options{}, cli.Usagef(err)
		}
		pairs = append(pairs, p)
	}
	for _, p := range pairs {
		if _, err := os.Stat(p.Plan); err != nil {
			return drift.Options{}, cli.Usagef(fmt.Errorf("pair %s: %w", p.Plan, err))
		}
	}
	if interval <= 0 {
		return drift.Options{}, cli.Usagef(fmt.Errorf("--interval %s: must be positive", interval))
	}
	if opts.Parallelism < 1 {
		return drift.Options{}, cli.Usagef(errors.New("--parallelism must be at least 1"))
	}
	wo := drift.Options{Pairs: pairs, Interval: interval, Jitter: opts.Jitter, CycleTimeout: opts.CycleTimeout,
		ReadyCycles: opts.ReadyCycles}
	if opts.Reconcile {
		p, err := drift.ParsePolicy(opts.ReconcilePolicy)
		if err != nil {
			return drift.Options{}, cli.Usagef(err)
		}
		wo.Policy = p
	}
	url := opts.WebhookURL
	if url == "" {
		url = f.Getenv("FABPLAN_WEBHOOK_URL")
	}
	if url != "" {
		if err := drift.CheckWebhookURL(url); err != nil {
			return drift.Options{}, cli.Usagef(err)
		}
		switch opts.WebhookFormat {
		case drift.FormatAuto, drift.FormatSlack, drift.FormatTeams:
		default:
			return drift.Options{}, cli.Usagef(fmt.Errorf("--webhook-format %q: want auto, slack or teams", opts.WebhookFormat))
		}
		// The webhook URL carries its secret token: it is redacted like any other secret.
		f.Redactor().Add("webhook-url", url)
		wo.Webhook = &drift.Webhook{URL: url, Format: opts.WebhookFormat}
	}
	return wo, nil
}

func statusURL(a net.Addr) string {
	if tcp, ok := a.(*net.TCPAddr); ok && tcp.IP.IsUnspecified() {
		return ""
	}
	return "http://" + a.String() + "/"
}

// server holds what the cycles share: the one client (its identity's throttle and breakers).
type server struct {
	f           *cli.Factory
	client      *fabric.Client
	parallelism int
	// reconciles run one at a time: they share the state directory's lock.
	reconcileMu sync.Mutex
}

func input(p drift.Pair) cli.PlanInput {
	in := cli.PlanInput{Env: p.Env, EnvDir: p.EnvDir}
	for k, v := range p.Vars {
		in.Vars = append(in.Vars, k+"="+v)
	}
	return in
}

// plan is one cycle: fabplan plan's evaluate and refresh, read-only.
func (s *server) plan(ctx context.Context, p drift.Pair) (*engine.Document, error) {
	in := input(p)
	eo, err := in.EvalOptions(p.Plan, os.Environ())
	if err != nil {
		return nil, err
	}
	src := plan.SourceOf(eo, p.Targets)
	s.client.RefillRetryBudget()
	rt, err := s.f.Runtime(ctx, s.client)
	if err != nil {
		return nil, err
	}
	res, err := plan.Compute(ctx, src, rt, s.parallelism, s.f.Lookups)
	if err != nil {
		return nil, err
	}
	return engine.NewDocument(res.Plan, src, s.f.Version), nil
}

// reconcile applies the policy's changes through fabplan run.
func (s *server) reconcile(ctx context.Context, p drift.Pair, limit func(*engine.Plan)) error {
	s.reconcileMu.Lock()
	defer s.reconcileMu.Unlock()
	return run.Run(ctx, &run.Options{F: s.f, PlanFile: p.Plan, Input: input(p), Parallelism: s.parallelism,
		Targets: p.Targets, Limit: limit, Yes: true}) // a service has no one to ask
}
