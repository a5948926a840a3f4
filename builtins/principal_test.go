package builtins

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fabplan/fabplan/emulator"
	"github.com/fabplan/fabplan/engine"
	"github.com/fabplan/fabplan/fabric"
	"github.com/fabplan/fabplan/fabric/fabrictest"
)

// directory starts an emulator with two groups named "Analysts" and returns a client acting as
// clientID ("" = the deployer, who may read Graph).
func directory(t *testing.T, clientID, secret string) (*emulator.Emulator, *fabric.Client) {
	t.Helper()
	fx := emulator.DefaultFixtures()
	fx.Principals = append(fx.Principals,
		emulator.Principal{ID: "3c4d5e6f-0000-4000-8000-00000000a001", Type: emulator.PrincipalGroup, DisplayName: "Analysts"},
		emulator.Principal{ID: "3c4d5e6f-0000-4000-8000-00000000a002", Type: emulator.PrincipalGroup, DisplayName: "Analysts"})
	emu := fabrictest.Start(t, fx)
	return emu, fabrictest.Client(t, emu, clientID, secret)
}

func graphOf(emu *emulator.Emulator, c *fabric.Client) func() (Directory, error) {
	return func() (Directory, error) { return c.Graph(emu.GraphURL()) }
}

// refreshPlan evaluates plan with a principal resolver and refreshes it against the emulator.
func refreshPlan(t *testing.T, emu *emulator.Emulator, c *fabric.Client, plan, principalsFile string) (*engine.Plan, error) {
	t.Helper()
	dir := writeTree(t, map[string]string{"plan.star": plan})
	pf := ""
	if principalsFile != "" {
		pf = filepath.Join(dir, "principals.json")
		os.WriteFile(pf, []byte(principalsFile), 0o600)
	}
	pr, err := NewPrincipalResolver(graphOf(emu, c), pf)
	if err != nil {
		t.Fatal(err)
	}
	g, err := Evaluate(context.Background(), EvalOptions{File: filepath.Join(dir, "plan.star"), Principals: pr})
	if err != nil {
		t.Fatal(err)
	}
	return engine.Refresh(context.Background(), g, engine.NewRuntime(c), 4)
}

func principalAttrs(p *engine.Plan) []string {
	var out []string
	for _, ch := range p.Changes {
		for _, a := range ch.Attrs {
			if a.Name == "principal" {
				out = append(out, a.New)
			}
		}
	}
	return out
}

const rolesPlan = `
ws = fabric.workspace(name = "sales")
alice = principal.user(upn = "alice@fabplan.test")
fabric.role_assignment(workspace = ws, principal = alice, role = "Admin")
fabric.role_assignment(workspace = ws, principal = principal.group(name = "Data Engineers"), role = "Member")
fabric.role_assignment(workspace = ws, principal = principal.service_principal(app_id = "5c7a2bd6-2f1f-4f3e-9a51-0c1d9e2f0a01"), role = "Contributor")
fabric.role_assignment(workspace = fabric.workspace(name = "hr"), principal = alice, role = "Viewer")
`

func TestPrincipalsResolvedThroughGraph(t *testing.T) {
	emu, c := directory(t, "", "")
	p, err := refreshPlan(t, emu, c, rolesPlan, "")
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(principalAttrs(p), "\n")
	want := strings.Join([]string{
		"User alice@fabplan.test -> " + emulator.DefaultUserID,
		"Group Data Engineers -> " + emulator.DefaultGroupID,
		"ServicePrincipal fabplan-deployer (app id " + emulator.DefaultClientID + ") -> " + emulator.DefaultSPObjectID,
		"User alice@fabplan.test -> " + emulator.DefaultUserID,
	}, "\n")
	if got != want {
		t.Fatalf("principals shown as\n%s\nwant\n%s", got, want)
	}
	graphCalls := 0
	for _, r := range emu.Requests() {
		if strings.HasPrefix(r.Path, "/graph/") {
			graphCalls++
		}
	}
	if graphCalls != 3 {
		t.Fatalf("%d Graph calls; want 3 (alice is looked up once for two assignments)", graphCalls)
	}
}

func TestPrincipalLookupFailures(t *testing.T) {
	for _, tc := range []struct {
		name, plan string
		reader     bool
		file       string
		want       []string
		forbidden  bool
	}{
		{name: "ambiguous group", plan: `principal.group(name = "Analysts")`,
			want: []string{`group "Analysts"`, "plan.star:2:", "found 2", "3c4d5e6f-0000-4000-8000-00000000a001 (Analysts)", "3c4d5e6f-0000-4000-8000-00000000a002 (Analysts)", "id="}},
		{name: "no such group", plan: `principal.group(name = "Nobody Here")`, want: []string{`group "Nobody Here"`, "found none"}},
		{name: "no such user", plan: `principal.user(upn = "bob@fabplan.test")`, want: []string{`user "bob@fabplan.test"`, "found none"}},
		{name: "forbidden", plan: `principal.group(name = "Data Engineers")`, reader: true, forbidden: true,
			want: []string{"403 Authorization_RequestDenied", "GroupMember.Read.All", "--principals principals.json", `"Data Engineers"`}},
		{name: "forbidden, not in the principals file", plan: `principal.group(name = "Data Engineers")`, reader: true, forbidden: true,
			file: `{"Someone Else": "` + emulator.DefaultUserID + `"}`,
			want: []string{"403 Authorization_RequestDenied", `add "Data Engineers" with its object id to `}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var emu *emulator.Emulator
			var c *fabric.Client
			if tc.reader {
				emu, c = directory(t, fabrictest.ReaderID, fabrictest.ReaderSecret)
			} else {
				emu, c = directory(t, "", "")
			}
			plan := "ws = fabric.workspace(name = \"w\")\nfabric.role_assignment(workspace = ws, principal = " + tc.plan + ", role = \"Viewer\")\n"
			_, err := refreshPlan(t, emu, c, plan, tc.file)
			if err == nil {
				t.Fatal("refresh succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			var pe *PrincipalError
			if !errors.As(err, &pe) || pe.Forbidden != tc.forbidden {
				t.Errorf("error %v: want a *PrincipalError with Forbidden=%v", err, tc.forbidden)
			}
		})
	}
}

func TestPrincipalsFileFallback(t *testing.T) {
	emu, c := directory(t, fabrictest.ReaderID, fabrictest.ReaderSecret)
	plan := "ws = fabric.workspace(name = \"w\")\nfabric.role_assignment(workspace = ws, principal = principal.group(name = \"Data Engineers\"), role = \"Viewer\")\n"
	p, err := refreshPlan(t, emu, c, plan, `{"data engineers": "`+emulator.DefaultGroupID+`"}`)
	if err != nil {
		t.Fatal(err)
	}
	if got := principalAttrs(p); len(got) != 1 || got[0] != "Group Data Engineers -> "+emulator.DefaultGroupID {
		t.Fatalf("principal %q; want the id from the principals file", got)
	}
	for _, r := range emu.Requests() {
		if strings.HasPrefix(r.Path, "/graph/") {
			t.Fatalf("Graph was called (%s) although the principals file answered", r.Path)
		}
	}
	if _, err := NewPrincipalResolver(nil, writeTree(t, map[string]string{"p.json": `{"x": "not-a-guid"}`})+"/p.json"); err == nil || !strings.Contains(err.Error(), "not an object id") {
		t.Fatalf("bad principals file: %v", err)
	}
	twice := `{"Team": "` + emulator.DefaultGroupID + `", "TEAM": "3c4d5e6f-0000-4000-8000-00000000a001"}`
	if _, err := NewPrincipalResolver(nil, writeTree(t, map[string]string{"p.json": twice})+"/p.json"); err == nil || !strings.Contains(err.Error(), "given twice") {
		t.Fatalf("a name given twice with different ids: %v", err)
	}
}
