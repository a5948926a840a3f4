package login

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/fabplan/fabplan/builtins"
	"github.com/fabplan/fabplan/cmd/fabplan/internal/cli"
	"github.com/fabplan/fabplan/engine"
	"github.com/fabplan/fabplan/fabric"
)

// Options are the flags of `fabplan login`.
type Options struct {
	F             *cli.Factory
	DeviceCode    bool
	TenantID      string
	ClientID      string
	AuthorityHost string
	// HTTPClient carries the Entra calls; nil = the default transport (which trusts SSL_CERT_FILE).
	HTTPClient *http.Client
}

// NewCmd builds the command; runF replaces the run function in tests of the flags.
func NewCmd(f *cli.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{F: f}
	cmd := &cobra.Command{
		Use:   "login --device-code",
		Short: "Check that a user can sign in with a device code (nothing is saved; runs use --auth device-code)",
		Long: `Signs a user in with the device-code flow: fabplan prints a URL and a code, you enter the code
there and sign in, and fabplan reports who it signed in. Use it to check that a user can get tokens
before running a plan whose steps need a user identity (Git connections with Automatic credentials
to Azure DevOps, which service principals cannot use); the run itself signs in with --auth
device-code. Tokens are kept in memory only, so each process signs in once.

Under CI=true there is nobody to enter the code: login fails at once; use a service principal,
workload identity or managed identity there.

Exit codes: 0 signed in, 1 the sign-in failed or was declined, 2 bad arguments.`,
		Example: `  fabplan login --device-code
  fabplan run --auth device-code plans/sales/estate.star --env dev`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !opts.DeviceCode {
				return cli.Usagef(errors.New("choose how to sign in: --device-code (service principals need no login; for --auth azure-cli run az login)"))
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return Run(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.DeviceCode, "device-code", false, "sign in with a code entered on another device's browser")
	cmd.Flags().StringVar(&opts.TenantID, "tenant", "", "tenant to sign in to (env AZURE_TENANT_ID; default: the user's home tenant)")
	cmd.Flags().StringVar(&opts.ClientID, "client-id", "", "public client application to sign in through (env FABPLAN_LOGIN_CLIENT_ID; default: the Azure CLI's)")
	cmd.Flags().StringVar(&opts.AuthorityHost, "authority-host", "", "Entra ID authority host (env FABPLAN_AUTHORITY_HOST)")
	return cmd
}

// Run signs the user in and reports who it is.
func Run(ctx context.Context, opts *Options) error {
	f := opts.F
	if f.CI() {
		return errors.New("fabplan login --device-code needs a person at a browser, and CI=true says there is none: " +
			"in CI use a service principal (--auth client-secret), workload identity or managed identity")
	}
	auth := fabric.AuthConfig{Mode: fabric.AuthDeviceCode, TenantID: opts.TenantID, ClientID: opts.ClientID,
		AuthorityHost: opts.AuthorityHost, HTTPClient: opts.HTTPClient, DeviceCodePrompt: f.DeviceCodePrompt}
	if auth.TenantID == "" {
		auth.TenantID = f.Getenv("AZURE_TENANT_ID")
	}
	if auth.ClientID == "" {
		auth.ClientID = f.Getenv("FABPLAN_LOGIN_CLIENT_ID")
	}
	if auth.AuthorityHost == "" {
		auth.AuthorityHost = f.Getenv("FABPLAN_AUTHORITY_HOST")
	}
	rec := &aadErrors{base: http.DefaultTransport}
	if opts.HTTPClient != nil && opts.HTTPClient.Transport != nil {
		rec.base = opts.HTTPClient.Transport
	}
	auth.HTTPClient = &http.Client{Transport: rec}
	cred, err := fabric.NewCredential(auth)
	if err != nil {
		return err
	}
	claims, err := fabric.Token(ctx, cred, fabric.FabricScope)
	if err != nil {
		return SignInError(rec.code(), err)
	}
	fmt.Fprintf(f.IO.Out, "Signed in as %s (user %s, tenant %s).\n", claims.Who(), claims.ObjectID, claims.TenantID)
	// The sign-in ends with the process: say so, lest later commands be expected to use it.
	fmt.Fprintln(f.IO.ErrOut, "The sign-in is not kept (tokens live in memory only): a run that needs this user "+
		"signs in again with --auth device-code.")
	return nil
}

// SignInError explains a failed device-code sign-in by the error Entra answered the last token poll
// with (azidentity reports the response without its body, so the code is read off the wire).
func SignInError(code string, err error) error {
	switch code {
	case "authorization_declined":
		return errors.New("the sign-in was declined at the sign-in page; run fabplan login --device-code again and accept it")
	case "expired_token":
		return errors.New("the device code expired before it was entered (codes last 15 minutes); run fabplan login --device-code again")
	case "bad_verification_code":
		return errors.New("Entra ID did not recognize the device code; run fabplan login --device-code again")
	}
	return fmt.Errorf("device-code sign-in failed: %w", err)
}

// aadErrors remembers the OAuth error code of the last failed token call (pending polls aside).
type aadErrors struct {
	base http.RoundTripper
	mu   sync.Mutex
	last string
}

func (a *aadErrors) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := a.base.RoundTrip(r)
	if err != nil || resp.StatusCode < 400 || !strings.HasSuffix(r.URL.Path, "/token") {
		return resp, err
	}
	body, rerr := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	var e struct {
		Error string `json:"error"`
	}
	if rerr == nil && json.Unmarshal(body, &e) == nil && e.Error != "authorization_pending" && e.Error != "slow_down" {
		a.mu.Lock()
		a.last = e.Error
		a.mu.Unlock()
	}
	return resp, nil
}

func (a *aadErrors) code() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.last
}

// RequireUser checks, before any change, that the identity can carry out the plan's steps that need a
// signed-in user. A service principal gets an error naming those steps and what to do: sign in with
// --auth device-code (fabplan then prompts) or, under CI=true where nobody can, change the plan.
func RequireUser(ctx context.Context, f *cli.Factory, g *engine.Graph) error {
	steps := builtins.UserSteps(g)
	if len(steps) == 0 {
		return nil
	}
	c, err := f.Client()
	if err != nil {
		return err
	}
	claims, err := fabric.Token(ctx, c.Credential(), fabric.FabricScope)
	if err != nil {
		return err
	}
	if claims.IsUser() {
		return nil
	}
	return UserRequiredError(claims, steps, f.CI())
}

// UserRequiredError says which steps need a user, that the identity is an application, and what to do.
func UserRequiredError(claims fabric.TokenClaims, steps []builtins.UserRequirement, ci bool) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%d step(s) need a signed-in user, but fabplan runs as the application %s:", len(steps), claims.Who())
	for _, s := range steps {
		fmt.Fprintf(&b, "\n  %s: %s: %s", s.Pos, s.Addr, s.Why)
	}
	if ci {
		b.WriteString("\nhint: CI=true rules out an interactive sign-in; run these steps outside CI with --auth device-code, or give them credentials a service principal can use (a Fabric connection)")
	} else {
		b.WriteString("\nhint: run again with --auth device-code (fabplan prints a code to enter at the sign-in page) or --auth azure-cli after az login")
	}
	return errors.New(b.String())
}
