package login

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fabplan/fabplan/builtins"
	"github.com/fabplan/fabplan/cmd/fabplan/internal/cli"
	"github.com/fabplan/fabplan/emulator"
	"github.com/fabplan/fabplan/engine"
	"github.com/fabplan/fabplan/fabric"
	"github.com/fabplan/fabplan/fabric/fabrictest"
)

// signIn runs `fabplan login --device-code` against emu while a goroutine plays the user at the
// browser: it waits for the code to be issued, then approves or declines it.
func signIn(t *testing.T, emu *emulator.Emulator, decline bool, env map[string]string) (string, string, error) {
	t.Helper()
	io, out, errOut := cli.Test()
	f := cli.NewFactory(io, "test")
	f.Getenv = func(k string) string { return env[k] }
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	go func() {
		for ctx.Err() == nil {
			if len(emu.DeviceCodes()) > 0 {
				emu.ApproveDeviceCode("", "", decline)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	err := Run(ctx, &Options{F: f, DeviceCode: true, TenantID: emu.TenantID(), AuthorityHost: emu.AuthorityHost(), HTTPClient: emu.HTTPClient()})
	return out.String(), errOut.String(), err
}

func TestDeviceCodeApproved(t *testing.T) {
	emu := fabrictest.Start(t, nil)
	out, errOut, err := signIn(t, emu, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut, emu.URL()+"/devicelogin") || !strings.Contains(errOut, "enter the code") {
		t.Errorf("stderr %q: want the sign-in URL and code", errOut)
	}
	if want := "Signed in as " + emulator.DefaultUserUPN + " (user " + emulator.DefaultUserID; !strings.HasPrefix(out, want) {
		t.Errorf("stdout %q: want %q", out, want)
	}
}

func TestDeviceCodeDeclined(t *testing.T) {
	emu := fabrictest.Start(t, nil)
	_, _, err := signIn(t, emu, true, nil)
	if err == nil || !strings.Contains(err.Error(), "the sign-in was declined") {
		t.Fatalf("declined: %v; want a clear error", err)
	}
}

// TestDeviceCodeExpired: nobody enters the code before it expires (the emulator's clock moves past
// its 15 minutes), and the error says so and what to do.
func TestDeviceCodeExpired(t *testing.T) {
	var skew atomic.Int64
	emu, err := emulator.Start(emulator.Options{Dir: t.TempDir(), Clock: func() time.Time {
		return time.Now().Add(time.Duration(skew.Load()))
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	io, out, _ := cli.Test()
	f := cli.NewFactory(io, "test")
	f.Getenv = func(string) string { return "" }
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	go func() {
		for ctx.Err() == nil && len(emu.DeviceCodes()) == 0 {
			time.Sleep(10 * time.Millisecond)
		}
		skew.Store(int64(16 * time.Minute))
	}()
	err = Run(ctx, &Options{F: f, DeviceCode: true, TenantID: emu.TenantID(), AuthorityHost: emu.AuthorityHost(), HTTPClient: emu.HTTPClient()})
	if err == nil || !strings.Contains(err.Error(), "the device code expired before it was entered") || out.Len() != 0 {
		t.Fatalf("expired: %v, stdout %q; want the expiry explained and nothing signed in", err, out)
	}
}

func TestDeviceCodeRefusedInCI(t *testing.T) {
	emu := fabrictest.Start(t, nil)
	_, errOut, err := signIn(t, emu, false, map[string]string{"CI": "true"})
	if err == nil || !strings.Contains(err.Error(), "CI=true") || errOut != "" {
		t.Fatalf("CI: %v, stderr %q; want an immediate error and no prompt", err, errOut)
	}
}

// userStep is a resource that needs a user, as a Git connection with Automatic credentials does.
type userStep struct{}

func (userStep) Addr() engine.Addr                          { return "workspace.w/git" }
func (userStep) Kind() string                               { return "git_connection" }
func (userStep) Pos() engine.Pos                            { return engine.Pos{File: "p.star", Line: 3, Col: 1} }
func (userStep) Deps() []engine.Addr                        { return nil }
func (userStep) Validate(*engine.Graph) []engine.Diagnostic { return nil }
func (userStep) Refresh(context.Context, *engine.Runtime) (engine.Live, error) {
	return engine.Live{}, nil
}
func (userStep) Diff(engine.Live, *engine.Runtime) engine.Change { return engine.Change{} }
func (userStep) Apply(context.Context, *engine.Runtime, *engine.Change, func(engine.Undo) error) (engine.Applied, error) {
	return engine.Applied{}, nil
}
func (userStep) RequiresUser() string { return "Automatic Git credentials to Azure DevOps" }

var _ builtins.UserStep = userStep{}

func TestRequireUser(t *testing.T) {
	io, _, _ := cli.Test()
	f := cli.NewFactory(io, "test")
	f.Getenv = func(string) string { return "" }
	f.Emulator = true // the embedded emulator, acting as its service principal
	defer f.Close()
	g := engine.NewGraph()
	if err := RequireUser(context.Background(), f, g); err != nil {
		t.Fatalf("a plan without user steps: %v", err)
	}
	g.Add(userStep{})
	err := RequireUser(context.Background(), f, g)
	if err == nil || !strings.Contains(err.Error(), "p.star:3:1: workspace.w/git: Automatic Git credentials") || !strings.Contains(err.Error(), "--auth device-code") {
		t.Fatalf("a user step as a service principal: %v; want the step and the remedy", err)
	}
}

func TestUserRequiredError(t *testing.T) {
	steps := []builtins.UserRequirement{{Addr: "workspace.w/git", Pos: engine.Pos{File: "p.star", Line: 3, Col: 1}, Why: "Automatic credentials"}}
	app := fabric.TokenClaims{AppID: emulator.DefaultClientID, IDType: "app"}
	for _, ci := range []bool{false, true} {
		err := UserRequiredError(app, steps, ci)
		msg := err.Error()
		for _, want := range []string{"p.star:3:1: workspace.w/git: Automatic credentials", emulator.DefaultClientID} {
			if !strings.Contains(msg, want) {
				t.Errorf("ci=%v: %q lacks %q", ci, msg, want)
			}
		}
		if ci != strings.Contains(msg, "CI=true rules out") || ci == strings.Contains(msg, "--auth device-code (fabplan prints") {
			t.Errorf("ci=%v: %q gives the wrong remedy", ci, msg)
		}
	}
}
