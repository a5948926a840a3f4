package state_test

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/fabplan/fabplan/state"
	"github.com/fabplan/fabplan/state/statetest"
)

// azurite is the one Azurite of this test binary.
var azurite *statetest.Azurite

func TestMain(m *testing.M) {
	if os.Getenv(holdEnv) != "" {
		holdLock() // a helper process of TestKilledHolder*
		return
	}
	a, err := statetest.StartAzurite()
	switch {
	case errors.Is(err, statetest.ErrSkip):
	case err != nil:
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	default:
		azurite = a
	}
	code := m.Run()
	if azurite != nil {
		azurite.Close()
	}
	os.Exit(code)
}

// containerName is a container of its own for each test.
func containerName(t *testing.T) string {
	name := strings.ToLower(regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(t.Name(), "-"))
	if len(name) > 50 {
		name = name[:50]
	}
	return strings.Trim(name, "-") + "-c"
}

// blobStore opens a blob store on this test's container, reached through endpoint (Azurite's, or a
// proxy's).
func blobStore(t *testing.T, endpoint string) state.Store {
	t.Helper()
	if azurite == nil {
		t.Skip(statetest.ErrSkip)
	}
	loc, err := state.ParseLocation("azblob://" + statetest.Account + "/" + containerName(t) + "/estates/prod")
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"AZURE_STORAGE_CONNECTION_STRING": statetest.ConnectionString(endpoint)}
	s, err := state.Open(loc, state.Options{Getenv: func(k string) string { return env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// stores runs f against a fresh store of each kind.
func stores(t *testing.T, f func(t *testing.T, s state.Store)) {
	t.Run("local", func(t *testing.T) { t.Parallel(); f(t, state.NewLocal(t.TempDir())) })
	t.Run("blob", func(t *testing.T) {
		t.Parallel()
		if azurite == nil {
			t.Skip(statetest.ErrSkip)
		}
		f(t, blobStore(t, azurite.Endpoint))
	})
}
