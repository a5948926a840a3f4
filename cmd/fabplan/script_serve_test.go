package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// freePort is the script command
//
//	free-port NAME
//
// It sets $NAME to a TCP port on 127.0.0.1 that was free a moment ago, for a background
// `fabplan serve --addr 127.0.0.1:$NAME`.
func freePort(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: free-port NAME")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	port := ln.Addr().(*net.TCPAddr).Port
	ts.Check(ln.Close())
	ts.Setenv(args[0], strconv.Itoa(port))
}

// httpGet is the script command
//
//	http-get [-status CODE] [-timeout D] URL [REGEXP]
//
// It GETs URL until the answer has status CODE (default 200) and, when given, a body matching
// REGEXP (multi-line mode), or fails after D (default 60s); the last body goes to stdout. A
// background server may not be listening yet, and what it reports changes from cycle to cycle:
// the command waits for the state a script expects rather than for a fixed time.
func httpGet(ts *testscript.TestScript, neg bool, args []string) {
	fs := flag.NewFlagSet("http-get", flag.ContinueOnError)
	status := fs.Int("status", 200, "the status to wait for")
	timeout := fs.Duration("timeout", time.Minute, "how long to wait")
	if neg || fs.Parse(args) != nil || fs.NArg() < 1 || fs.NArg() > 2 {
		ts.Fatalf("usage: http-get [-status CODE] [-timeout D] URL [REGEXP]")
	}
	url := fs.Arg(0)
	var re *regexp.Regexp
	if fs.NArg() == 2 {
		var err error
		re, err = regexp.Compile("(?m)" + fs.Arg(1))
		ts.Check(err)
	}
	hc := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(*timeout)
	var last string
	for {
		resp, err := hc.Get(url)
		if err == nil {
			b, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			last = fmt.Sprintf("HTTP %d\n%s", resp.StatusCode, b)
			if rerr == nil && resp.StatusCode == *status && (re == nil || re.Match(b)) {
				fmt.Fprintf(ts.Stdout(), "%s", b)
				return
			}
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			ts.Fatalf("GET %s: no answer with status %d matching %v within %s; the last was:\n%s", url, *status, re, *timeout, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// emulatorFaultClear is the script command
//
//	emulator-fault-clear
//
// It removes every fault rule and random fault: the outage a script made is over.
func emulatorFaultClear(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: emulator-fault-clear")
	}
	emulatorOf(ts).ClearFaults()
}

// pidFileEnv names the file a fabplan started by a script writes its process id to.
const pidFileEnv = "FABPLAN_TEST_PIDFILE"

// signalPID is the script command
//
//	signal TERM|INT|HUP PIDFILE
//
// It sends the signal to the fabplan that wrote PIDFILE: start it in the background with
// FABPLAN_TEST_PIDFILE=PIDFILE in its environment. testscript's own kill sends only INT and
// KILL, and a container runtime stops fabplan serve with TERM.
func signalPID(ts *testscript.TestScript, neg bool, args []string) {
	sigs := map[string]os.Signal{"TERM": syscall.SIGTERM, "INT": os.Interrupt, "HUP": syscall.SIGHUP}
	if neg || len(args) != 2 || sigs[args[0]] == nil {
		ts.Fatalf("usage: signal TERM|INT|HUP PIDFILE")
	}
	var pid int
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, err := os.ReadFile(ts.MkAbs(args[1]))
		if err == nil {
			if pid, err = strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				break
			}
		}
		if time.Now().After(deadline) {
			ts.Fatalf("%s: no process id: %v", args[1], err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	p, err := os.FindProcess(pid)
	ts.Check(err)
	ts.Check(p.Signal(sigs[args[0]]))
}
