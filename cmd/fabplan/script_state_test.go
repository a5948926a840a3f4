package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/fabplan/fabplan/state/statetest"
)

// One Azurite serves every script of the run that asks for it; it is started by the first one and
// dies with the test binary.
var (
	azuriteOnce sync.Once
	azurite     *statetest.Azurite
	azuriteErr  error
)

const proxyKey = "storage-proxy"

type proxyHolder struct{ p *statetest.Proxy }

func init() {
	scriptCommands["azurite"] = azuriteCmd
	scriptCommands["storage-fault"] = storageFault
}

// scriptCondition is [azurite]: false when FABPLAN_AZURITE=skip says the blob state tests may be
// skipped (scripts start with `[!azurite] skip`).
func scriptCondition(cond string) (bool, error) {
	if cond == "azurite" {
		return os.Getenv("FABPLAN_AZURITE") != "skip", nil
	}
	return false, fmt.Errorf("unknown condition %q", cond)
}

// azuriteCmd points fabplan's state at a container of its own in Azurite, through a
// fault-injecting proxy (storage-fault): sets FABPLAN_STATE and AZURE_STORAGE_CONNECTION_STRING.
func azuriteCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: azurite")
	}
	azuriteOnce.Do(func() { azurite, azuriteErr = statetest.StartAzurite() })
	if errors.Is(azuriteErr, statetest.ErrSkip) {
		ts.Fatalf("%v: start the script with [!azurite] skip", azuriteErr)
	}
	ts.Check(azuriteErr)
	p, err := statetest.NewProxy(azurite.Endpoint)
	ts.Check(err)
	ts.Defer(p.Close)
	ts.Value(proxyKey).(*proxyHolder).p = p
	b := make([]byte, 6)
	rand.Read(b)
	ts.Setenv("FABPLAN_STATE", "azblob://"+statetest.Account+"/s"+hex.EncodeToString(b)+"/estates/prod")
	ts.Setenv("AZURE_STORAGE_CONNECTION_STRING", statetest.ConnectionString(p.URL))
	ts.Setenv("AZURITE_ACCOUNT_KEY", statetest.AccountKey)
}

// storageFault COMP NTH ACTION [TIMES] | storage-fault down|up: make the NTH storage request with
// comp=COMP (appendblock, lease, ...; "any" for all) fail with ACTION (503, lost), TIMES times;
// or make every request fail until up.
func storageFault(ts *testscript.TestScript, neg bool, args []string) {
	p := ts.Value(proxyKey).(*proxyHolder).p
	if neg || p == nil {
		ts.Fatalf("usage: storage-fault COMP NTH ACTION [TIMES] | storage-fault down|up (after azurite)")
	}
	if len(args) == 1 && (args[0] == "down" || args[0] == "up") {
		p.SetDown(args[0] == "down")
		return
	}
	if len(args) < 3 || len(args) > 4 {
		ts.Fatalf("usage: storage-fault COMP NTH ACTION [TIMES] | storage-fault down|up")
	}
	nth, err := strconv.Atoi(args[1])
	ts.Check(err)
	f := statetest.Fault{Comp: args[0], Nth: nth, Action: args[2]}
	if f.Comp == "any" {
		f.Comp = ""
	}
	if len(args) == 4 {
		f.Times, err = strconv.Atoi(args[3])
		ts.Check(err)
	}
	p.Add(f)
}
