package main

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/fabplan/fabplan/cmd/fabplan/internal/cli"
	"github.com/fabplan/fabplan/cmd/fabplan/internal/root"
	"github.com/fabplan/fabplan/emulator"
	"github.com/fabplan/fabplan/engine/journal"
	"github.com/fabplan/fabplan/state"
)

var update = flag.Bool("update", false, "rewrite the golden sections of testdata/script/*.txtar")

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"fabplan": func() {
			// A script that signals a background fabplan (testscript's kill knows only INT and
			// KILL) learns its process id from this file; see the signal command.
			if f := os.Getenv(pidFileEnv); f != "" {
				if err := os.WriteFile(f, []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
					panic(err)
				}
			}
			os.Exit(root.Main())
		},
	})
}

// TestScripts runs the end-to-end scripts: the real fabplan binary against an in-process emulator.
func TestScripts(t *testing.T) {
	testscript.Run(t, scriptParams(filepath.Join("..", "..", "testdata", "script")))
}

// scriptParams runs the scripts of dir with the harness's environment and commands.
func scriptParams(dir string) testscript.Params {
	return testscript.Params{
		Dir:                 dir,
		UpdateScripts:       *update,
		RequireExplicitExec: true,
		Setup: func(e *testscript.Env) error {
			e.Setenv("NO_COLOR", "1")
			e.Setenv("FABPLAN_STATE", filepath.Join(e.WorkDir, ".fabplan"))
			for _, k := range []string{"AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "FABPLAN_FABRIC_URL", "FABPLAN_AUTHORITY_HOST", "CI"} {
				e.Setenv(k, "")
			}
			e.Values[emuKey] = &emuHolder{}
			e.Values[otlpKey] = &otlpHolder{}
			for _, k := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "APPLICATIONINSIGHTS_CONNECTION_STRING", "GITHUB_STEP_SUMMARY"} {
				e.Setenv(k, "")
			}
			e.Values[proxyKey] = &proxyHolder{}
			return nil
		},
		Cmds:      scriptCommands,
		Condition: scriptCondition,
	}
}

const emuKey = "emulator"

// scriptStore opens the state the script's fabplan uses (FABPLAN_STATE).
func scriptStore(ts *testscript.TestScript) state.Store {
	loc, err := state.ParseLocation(ts.Getenv("FABPLAN_STATE"))
	ts.Check(err)
	st, err := state.Open(loc, state.Options{Getenv: ts.Getenv})
	ts.Check(err)
	return st
}

// repoRoot is the repository, seen from this package's directory.
var repoRoot = filepath.Join("..", "..")

// emuHolder is the script's per-run state: its emulator and a state lock it holds.
type emuHolder struct {
	emu    *emulator.Emulator
	unlock func()
}

func emulatorOf(ts *testscript.TestScript) *emulator.Emulator {
	h := ts.Value(emuKey).(*emuHolder)
	if h.emu == nil {
		ts.Fatalf("no emulator: run the `emulator` command first")
	}
	return h.emu
}

// scriptCommands are the custom script commands; testdata/script/README lists them with their
// usage, and TestScriptREADME keeps that list true.
var scriptCommands = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	// emulator-call METHOD PATH [BODY]: an authenticated Fabric call (see emulatorCall).
	"emulator-call": emulatorCall,
	// free-port NAME, http-get [-status CODE] [-timeout D] URL [REGEXP], emulator-fault-clear: for
	// scripts of fabplan serve (script_serve_test.go).
	"free-port":            freePort,
	"http-get":             httpGet,
	"emulator-fault-clear": emulatorFaultClear,
	// signal SIGNAL PIDFILE: send TERM, INT or HUP to the fabplan that wrote PIDFILE.
	"signal": signalPID,
	// emulator-devicecode approve|decline [UPN]: answer the pending device-code sign-in.
	"emulator-devicecode": emulatorDeviceCode,
	// emulator [-latency D] [-lro-delay D] [FIXTURES.json]: start an emulator for this script and
	// point fabplan at it.
	"emulator": func(ts *testscript.TestScript, neg bool, args []string) {
		opts := emulator.Options{Dir: ts.MkAbs(".emulator")}
		fs := flag.NewFlagSet("emulator", flag.ContinueOnError)
		fs.DurationVar(&opts.Faults.Latency, "latency", 0, "latency added to every call")
		fs.DurationVar(&opts.LRODelay, "lro-delay", 0, "how long operations stay Running")
		if neg || fs.Parse(args) != nil || fs.NArg() > 1 {
			ts.Fatalf("usage: emulator [-latency D] [-lro-delay D] [fixtures.json]")
		}
		if fs.NArg() == 1 {
			fx, err := emulator.LoadFixtures(ts.MkAbs(fs.Arg(0)))
			ts.Check(err)
			opts.Fixtures = fx
		}
		emu, err := emulator.Start(opts)
		ts.Check(err)
		ts.Defer(func() { emu.Close() })
		ts.Value(emuKey).(*emuHolder).emu = emu
		id, secret := emu.ServicePrincipal()
		ts.Setenv("FABPLAN_FABRIC_URL", emu.FabricURL())
		ts.Setenv("FABPLAN_AUTHORITY_HOST", emu.AuthorityHost())
		ts.Setenv("FABPLAN_GRAPH_URL", emu.GraphURL())
		ts.Setenv("SSL_CERT_FILE", emu.CAFile())
		ts.Setenv("AZURE_TENANT_ID", emu.TenantID())
		ts.Setenv("AZURE_CLIENT_ID", id)
		ts.Setenv("AZURE_CLIENT_SECRET", secret)
		ts.Setenv("EMULATOR_URL", emu.URL())
	},
	// emulator-fault METHOD PATH NTH STATUS ERRORCODE [ACTION [TIMES]]: the NTH matching call fails.
	"emulator-fault": func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) < 5 || len(args) > 7 {
			ts.Fatalf("usage: emulator-fault METHOD PATH NTH STATUS ERRORCODE [ACTION [TIMES]]")
		}
		nth, err := strconv.Atoi(args[2])
		ts.Check(err)
		status, err := strconv.Atoi(args[3])
		ts.Check(err)
		rule := emulator.FaultRule{Method: args[0], Path: args[1], Nth: nth, Status: status, ErrorCode: args[4]}
		if len(args) > 5 {
			rule.Action = args[5]
		}
		if len(args) > 6 {
			rule.Times, err = strconv.Atoi(args[6])
			ts.Check(err)
		}
		ts.Check(emulatorOf(ts).AddFault(rule))
	},
	// wait-journal N: wait until the newest run's journal holds N done records, so a script can
	// interrupt a run mid-apply.
	"wait-journal": func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 1 {
			ts.Fatalf("usage: wait-journal N")
		}
		n, err := strconv.Atoi(args[0])
		ts.Check(err)
		st := scriptStore(ts)
		deadline := time.Now().Add(2 * time.Minute)
		for time.Now().Before(deadline) {
			if runs, _ := journal.List(context.Background(), st); len(runs) > 0 {
				if runs[len(runs)-1].Changes >= n {
					return
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
		ts.Fatalf("no run reached %d done record(s)", n)
	},
	// wait-runs N: wait until the state directory holds N runs (a run has begun its journal).
	"wait-runs": func(ts *testscript.TestScript, neg bool, args []string) {
		n, err := strconv.Atoi(strings.Join(args, " "))
		if neg || err != nil {
			ts.Fatalf("usage: wait-runs N")
		}
		deadline := time.Now().Add(time.Minute)
		for time.Now().Before(deadline) {
			begun := 0
			runs, _ := journal.List(context.Background(), scriptStore(ts))
			for _, r := range runs {
				if !r.Started.IsZero() {
					begun++
				}
			}
			if begun >= n {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		ts.Fatalf("the state directory never held %d run(s)", n)
	},
	// sleep D: pause for the duration D, to keep two signals to one process apart.
	"sleep": func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 1 {
			ts.Fatalf("usage: sleep DURATION")
		}
		d, err := time.ParseDuration(args[0])
		ts.Check(err)
		time.Sleep(d)
	},
	// state-lock: take the state directory's lock in this process, as another fabplan run would
	// hold it; state-unlock releases it (so does the end of the script).
	"state-lock": func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 1 {
			ts.Fatalf("usage: state-lock PLAN")
		}
		target := journal.Target{Endpoint: ts.Getenv("FABPLAN_FABRIC_URL"), Tenant: ts.Getenv("AZURE_TENANT_ID")}
		key := cli.EstateKey(args[0], "", target)
		l, err := scriptStore(ts).TryLock(context.Background(), key, state.NewHolder(key, "script", "script-run",
			ts.Getenv))
		ts.Check(err)
		var once sync.Once
		release := func() { once.Do(func() { l.Unlock(context.Background()) }) }
		ts.Value(emuKey).(*emuHolder).unlock = release
		ts.Defer(release)
	},
	"state-unlock": func(ts *testscript.TestScript, neg bool, args []string) {
		h := ts.Value(emuKey).(*emuHolder)
		if neg || len(args) != 0 || h.unlock == nil {
			ts.Fatalf("usage: state-unlock, after state-lock")
		}
		h.unlock()
	},
	// emulator-hold N: the N-th mutating Fabric call from now on is applied and its answer held
	// back until the caller goes away: a deterministic point to kill or interrupt a run at.
	"emulator-hold": func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 1 {
			ts.Fatalf("usage: emulator-hold N")
		}
		n, err := strconv.Atoi(args[0])
		ts.Check(err)
		ts.Check(emulatorOf(ts).AddFault(emulator.FaultRule{Path: "/v1/**", Nth: n, Mutating: true,
			Action: emulator.ActionHoldAfter}))
	},
	// wait-held: wait until the emulator holds the answer to a call it applied (emulator-hold).
	"wait-held": func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 0 {
			ts.Fatalf("usage: wait-held")
		}
		emu := emulatorOf(ts)
		deadline := time.Now().Add(2 * time.Minute)
		for time.Now().Before(deadline) {
			for _, r := range emu.Requests() {
				if strings.HasSuffix(r.Fault, emulator.ActionHoldAfter) {
					ts.Logf("holding the answer to %s %s", r.Method, r.Path)
					return
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
		ts.Fatalf("no call was held")
	},
	// repo-copy DIR: copy DIR of the repository (e.g. plans) into the script's work directory, so
	// that scripts exercise the example plans as they are.
	"repo-copy": func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 1 || filepath.IsAbs(args[0]) || strings.Contains(args[0], "..") {
			ts.Fatalf("usage: repo-copy DIR (relative to the repository root)")
		}
		src := filepath.Join(repoRoot, args[0])
		ts.Check(os.CopyFS(ts.MkAbs(args[0]), os.DirFS(src)))
	},
	// wait-file FILE: wait until FILE exists (a background command is ready).
	"wait-file": func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 1 {
			ts.Fatalf("usage: wait-file FILE")
		}
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			if _, err := os.Stat(ts.MkAbs(args[0])); err == nil {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		ts.Fatalf("%s did not appear", args[0])
	},
	// emulator-state FILE: write the emulator's normalized state to FILE (for cmp).
	"emulator-state": func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 1 {
			ts.Fatalf("usage: emulator-state FILE")
		}
		b, err := emulatorOf(ts).State()
		ts.Check(err)
		ts.Check(os.WriteFile(ts.MkAbs(args[0]), append(b, '\n'), 0o644))
	},
	// emulator-requests [-mutating] FILE: write the request log (method and path per line).
	"emulator-requests": func(ts *testscript.TestScript, neg bool, args []string) {
		mutating := len(args) > 0 && args[0] == "-mutating"
		if mutating {
			args = args[1:]
		}
		if neg || len(args) != 1 {
			ts.Fatalf("usage: emulator-requests [-mutating] FILE")
		}
		var lines []byte
		for _, r := range emulatorOf(ts).Requests() {
			if mutating && !isMutating(r.Method, r.Path) {
				continue
			}
			lines = append(lines, r.Method+" "+r.Path+"\n"...)
		}
		ts.Check(os.WriteFile(ts.MkAbs(args[0]), lines, 0o644))
	},
}

// isMutating tells Fabric calls that change something from reads (getDefinition is a POST that
// reads).
func isMutating(method, path string) bool {
	return method != "GET" && strings.HasPrefix(path, "/v1/") && !strings.HasSuffix(path, "/getDefinition")
}
