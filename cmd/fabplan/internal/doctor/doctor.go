package doctor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/spf13/cobra"

	"github.com/fabplan/fabplan/builtins"
	"github.com/fabplan/fabplan/cmd/fabplan/internal/cli"
	"github.com/fabplan/fabplan/cmd/fabplan/internal/login"
	"github.com/fabplan/fabplan/engine"
	"github.com/fabplan/fabplan/fabric"
	"github.com/fabplan/fabplan/secrets"
)

// Options are the flags of `fabplan doctor`.
type Options struct {
	F        *cli.Factory
	PlanFile string
	Input    cli.PlanInput
	JSON     bool
}

// NewCmd builds the command; runF replaces the run function in tests of the flags.
func NewCmd(f *cli.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{F: f}
	cmd := &cobra.Command{
		Use:   "doctor [PLAN]",
		Short: "Check identity, permissions, capacities, principals and secrets before a run",
		Long: `Runs preflight checks and reports each as ✓ or ✗ with what to do: a token for Fabric, Microsoft
Graph and Key Vault; Fabric reachable, and the identity can list workspaces and capacities. Given a plan,
also: every capacity it names exists, is Active and usable by the identity; every principal it names
resolves through Graph (or --principals); every secret() resolves (values are never printed); and the
identity can carry out every step (steps that need a signed-in user refuse a service principal).
Nothing is changed.

Exit codes: 0 every check passed, 1 a check failed, 2 bad arguments.`,
		Example: `  fabplan doctor
  fabplan doctor --json plans/sales/estate.star --env prod`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.PlanFile = args[0]
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return Run(cmd.Context(), opts)
		},
	}
	f.BindConnectionFlags(cmd.Flags())
	opts.Input.Bind(cmd.Flags())
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the checks as JSON: {\"ok\": bool, \"checks\": [{\"name\", \"ok\", \"detail\", \"fix\"}]}")
	return cmd
}

// Check is one preflight check.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
	Fix    string `json:"fix,omitempty"`
}

// Report is every check doctor ran.
type Report struct {
	OK     bool    `json:"ok"`
	Checks []Check `json:"checks"`
}

func (r *Report) pass(name, detail string) {
	r.Checks = append(r.Checks, Check{Name: name, OK: true, Detail: detail})
}

// fail records a failed check; err's "hint:" line, if any, becomes the fix.
func (r *Report) fail(name string, err error, fix string) {
	detail := err.Error()
	if before, hint, ok := strings.Cut(detail, "\nhint: "); ok {
		detail = before
		if fix == "" {
			fix = hint
		}
	}
	r.Checks = append(r.Checks, Check{Name: name, Detail: firstLines(detail, 6), Fix: fix})
}

var aadstsRE = regexp.MustCompile(`AADSTS\d+: [^"\n]*`)

// firstLines keeps an error readable: azidentity's errors carry whole HTTP exchanges, so the first
// line and Entra's AADSTS message stand for them.
func firstLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if m := aadstsRE.FindString(s); m != "" && len(lines) > 1 {
		return strings.TrimSpace(lines[0]) + " " + m
	}
	if len(lines) > n {
		lines = append(lines[:n], "...")
	}
	return strings.Join(lines, "\n")
}

// Run carries out the checks and prints the report.
func Run(ctx context.Context, opts *Options) error {
	f := opts.F
	defer f.Close()
	if err := checkArgs(opts); err != nil {
		return err
	}
	rep := check(ctx, opts)
	rep.OK = true
	for _, c := range rep.Checks {
		rep.OK = rep.OK && c.OK
	}
	if opts.JSON {
		enc := json.NewEncoder(f.IO.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		write(f.IO, rep)
	}
	if !rep.OK {
		return &cli.ExitCodeError{Code: cli.ExitError}
	}
	return nil
}

func write(io *cli.IOStreams, rep *Report) {
	failed := 0
	for _, c := range rep.Checks {
		mark := "✓"
		if !c.OK {
			mark = "✗"
			failed++
		}
		fmt.Fprintf(io.Out, "%s %s", mark, c.Name)
		if c.Detail != "" {
			fmt.Fprintf(io.Out, ": %s", strings.ReplaceAll(c.Detail, "\n", "\n    "))
		}
		fmt.Fprintln(io.Out)
		if c.Fix != "" {
			fmt.Fprintf(io.Out, "    fix: %s\n", c.Fix)
		}
	}
	if failed == 0 {
		fmt.Fprintf(io.Out, "All %d checks passed.\n", len(rep.Checks))
	} else {
		fmt.Fprintf(io.Out, "%d of %d checks failed.\n", failed, len(rep.Checks))
	}
}

// checkArgs refuses, before any check runs, what is wrong with the command line itself: a plan
// file that does not exist, a bad --secret-fallback, a missing --env-file or a malformed
// --principals file. Those are bad arguments (exit 2), not failed checks of the estate.
func checkArgs(opts *Options) error {
	f := opts.F
	if opts.PlanFile != "" {
		if _, err := os.Stat(opts.PlanFile); err != nil {
			return cli.Usagef(fmt.Errorf("%s: plan file does not exist; check the path", opts.PlanFile))
		}
	}
	var usage *cli.UsageError
	if _, err := f.Secrets(opts.PlanFile); errors.As(err, &usage) {
		return err
	}
	if _, err := f.Principals(); errors.As(err, &usage) {
		return err
	}
	return nil
}

const authFix = "check the identity settings: --auth (or FABPLAN_AUTH), AZURE_TENANT_ID, AZURE_CLIENT_ID and the secret, token file or az login"

func check(ctx context.Context, opts *Options) *Report {
	f := opts.F
	rep := &Report{}
	client, err := f.Client()
	if err != nil {
		rep.fail("identity", err, authFix)
		return rep
	}
	cred := client.Credential()
	claims, err := fabric.Token(ctx, cred, fabric.FabricScope)
	if err != nil {
		rep.fail("token for Fabric", err, authFix)
	} else {
		rep.pass("token for Fabric", "acting as "+describe(claims))
	}
	if _, err := fabric.Token(ctx, cred, fabric.GraphScope); err != nil {
		rep.fail("token for Microsoft Graph", err, "let the identity sign in to Microsoft Graph (the app registration must be enabled for the tenant); needed for principals given by name")
	} else {
		rep.pass("token for Microsoft Graph", "")
	}
	if u := f.VaultURL(); u == "" {
		rep.pass("token for Key Vault", "no vault configured; secret() reads the environment and the .env file")
	} else if _, err := kvToken(ctx, f, cred); err != nil {
		rep.fail("token for Key Vault", err, "let the identity (or --kv-auth's) sign in for https://vault.azure.net")
	} else {
		rep.pass("token for Key Vault", "scope https://vault.azure.net")
	}

	if ws, err := client.ListWorkspaces(ctx); err != nil {
		rep.fail("Fabric reachable, workspaces listed", err, fabricFix(err))
	} else {
		rep.pass("Fabric reachable, workspaces listed", fmt.Sprintf("the identity sees %d workspace(s)", len(ws)))
	}
	caps, err := client.ListCapacities(ctx)
	switch {
	case err != nil:
		rep.fail("capacities listed", err, fabricFix(err))
	case len(caps) == 0:
		rep.fail("capacities listed", errors.New("the identity may use no capacity"), "ask a capacity admin to add the identity as a capacity contributor")
	default:
		var names []string
		for _, c := range caps {
			names = append(names, c.DisplayName)
		}
		sort.Strings(names)
		rep.pass("capacities listed", "the identity may use "+strings.Join(names, ", "))
	}
	if opts.PlanFile != "" {
		checkPlan(ctx, opts, client, claims, rep)
	}
	return rep
}

const capacityFix = "check the capacity's name in the plan (names match exactly); a capacity admin adds the identity " +
	"as a contributor, and an Inactive capacity is resumed in the Azure portal"

// fabricFix says what to do when a Fabric call that any deployer needs failed; "" when the error
// carries a hint of its own, which fail then uses.
func fabricFix(err error) string {
	var fe *fabric.Error
	errors.As(err, &fe)
	switch {
	case fe != nil && fe.Hint != "":
		return ""
	case fe == nil || fe.StatusCode == 0:
		return "check FABPLAN_FABRIC_URL (default https://api.fabric.microsoft.com), the network path to it and any proxy"
	case fe.StatusCode == 401 || fe.StatusCode == 403:
		return "let the identity call Fabric's APIs: a Fabric admin enables the tenant setting that lets service principals use " +
			"Fabric APIs (Admin portal > Developer settings) for a security group holding it; a user needs a Fabric license"
	}
	return "retry later; if it persists, check Fabric's service health"
}

// kvToken gets a token the way azsecrets will: the vault's scope, from --kv-auth's identity if set.
func kvToken(ctx context.Context, f *cli.Factory, cred azcore.TokenCredential) (fabric.TokenClaims, error) {
	kv, err := f.KeyVaultCredential()
	if err != nil {
		return fabric.TokenClaims{}, err
	}
	if kv != nil {
		cred = kv
	}
	return fabric.Token(ctx, cred, fabric.KeyVaultScope)
}

func describe(c fabric.TokenClaims) string {
	if c.IsUser() {
		return fmt.Sprintf("%s (user %s)", c.Who(), c.ObjectID)
	}
	return fmt.Sprintf("application %s (service principal %s)", c.Who(), c.ObjectID)
}

func checkPlan(ctx context.Context, opts *Options, client *fabric.Client, claims fabric.TokenClaims, rep *Report) {
	f := opts.F
	eo, err := opts.Input.EvalOptions(opts.PlanFile, os.Environ())
	if err != nil {
		rep.fail("plan evaluates", err, "")
		return
	}
	if err := f.Lookups(&eo); err != nil {
		rep.fail("plan evaluates", err, "")
		return
	}
	// Offline: secrets and principals are declared, not resolved, so each gets a check of its own.
	eo.Offline = true
	g, err := builtins.Evaluate(ctx, eo)
	if err != nil {
		rep.fail("plan evaluates", err, "fix the plan (fabplan lint shows every problem)")
		return
	}
	rep.pass("plan evaluates", fmt.Sprintf("%s declares %d resource(s)", opts.PlanFile, g.Len()))

	rt := engine.NewRuntime(client)
	for _, r := range g.Resources() {
		if r.Kind() != "capacity" {
			continue
		}
		name := "capacity " + strings.TrimPrefix(string(r.Addr()), "capacity.")
		live, err := r.Refresh(ctx, rt)
		if err != nil {
			rep.fail(name, fmt.Errorf("%s: %w", r.Pos(), err), capacityFix)
			continue
		}
		rep.pass(name, fmt.Sprintf("%s, %s, %s; usable by the identity", live.Attrs["state"], live.Attrs["sku"], live.Attrs["region"]))
	}

	lookups := eo.Principals.Declared()
	for i, err := range eo.Principals.ResolveAll(ctx, lookups) {
		name := "principal " + lookups[i].String()
		if err != nil {
			var pe *builtins.PrincipalError
			fix := ""
			if errors.As(err, &pe) && pe.Forbidden {
				fallback := "pass --principals principals.json"
				if f.PrincipalsFile != "" {
					fallback = "add it to " + f.PrincipalsFile
				}
				fix = fmt.Sprintf("grant the Graph application permission %s (or Directory.Read.All) with admin consent, or %s", lookups[i].Permission(), fallback)
			}
			rep.fail(name, err, fix)
			continue
		}
		id, _ := eo.Principals.Resolve(ctx, lookups[i])
		rep.pass(name, "-> "+id)
	}

	seen := map[string]bool{}
	for _, d := range eo.Secrets.Declared() {
		if seen[d.Name] {
			continue
		}
		seen[d.Name] = true
		name := fmt.Sprintf("secret %q", d.Name)
		_, src, err := eo.Secrets.Resolve(ctx, d.Name)
		var se *secrets.Error
		switch {
		case errors.As(err, &se):
			rep.fail(name, fmt.Errorf("%s: %w", d.Pos, err), "")
		case err != nil:
			rep.fail(name, err, "")
		default:
			rep.pass(name, "resolves from the "+string(src))
		}
	}

	if steps := builtins.UserSteps(g); len(steps) > 0 && !claims.IsUser() {
		rep.fail("identity type", login.UserRequiredError(claims, steps, f.CI()), "")
	} else if claims.IsUser() {
		rep.pass("identity type", "a signed-in user may carry out every step")
	} else {
		rep.pass("identity type", "no step of the plan needs a signed-in user; a service principal will do")
	}
}
