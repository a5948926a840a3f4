package statetest

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/lockedfile"
)

// AzuriteVersion is the Azurite release the tests install.
const AzuriteVersion = "3.37.0"

// Azurite's well-known development account.
const (
	Account    = "devstoreaccount1"
	AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// ErrSkip is returned by StartAzurite when FABPLAN_AZURITE=skip: the caller skips its blob tests.
var ErrSkip = errors.New("FABPLAN_AZURITE=skip: blob state tests skipped")

// Azurite is a running Azurite blob service on a loopback port.
type Azurite struct {
	Endpoint string // http://127.0.0.1:PORT/devstoreaccount1
	cmd      *exec.Cmd
	dir      string
	exited   chan struct{}
}

// ConnectionString reaches Azurite through endpoint (Endpoint, or a proxy in front of it).
func ConnectionString(endpoint string) string {
	return "DefaultEndpointsProtocol=http;AccountName=" + Account + ";AccountKey=" + AccountKey +
		";BlobEndpoint=" + endpoint + ";"
}

// ConnectionString reaches this Azurite directly.
func (a *Azurite) ConnectionString() string { return ConnectionString(a.Endpoint) }

// StartAzurite installs Azurite if needed and starts it in memory on a free loopback port.
func StartAzurite() (*Azurite, error) {
	bin, err := InstallAzurite()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "fabplan-azurite-")
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		a, err := startOn(bin, dir)
		if err == nil || attempt == 2 {
			if err != nil {
				os.RemoveAll(dir)
			}
			return a, err
		}
	}
}

func startOn(bin, dir string) (*Azurite, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--blobHost", "127.0.0.1", "--blobPort", fmt.Sprint(port),
		"--inMemoryPersistence", "--skipApiVersionCheck", "--loose", "--silent", "--disableTelemetry")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Dir = dir // Azurite writes nothing with in-memory persistence; a working directory of its own anyway
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting Azurite (%s): %w", bin, err)
	}
	a := &Azurite{Endpoint: fmt.Sprintf("http://127.0.0.1:%d/%s", port, Account), cmd: cmd, dir: dir,
		exited: make(chan struct{})}
	go func() { cmd.Wait(); close(a.exited) }()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-a.exited:
			return nil, fmt.Errorf("Azurite exited at start: %s", out.String())
		default:
		}
		if resp, err := http.Get(a.Endpoint + "?comp=list"); err == nil {
			resp.Body.Close()
			return a, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Kill()
	return nil, fmt.Errorf("Azurite did not answer on port %d within 30 s: %s", port, out.String())
}

// Close stops Azurite; its data was only in memory.
func (a *Azurite) Close() error {
	a.cmd.Process.Kill()
	<-a.exited
	return os.RemoveAll(a.dir)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// InstallAzurite finds azurite-blob: FABPLAN_AZURITE, else the repository's .tools/azurite, installed
// there with npm when missing.
func InstallAzurite() (string, error) {
	switch v := os.Getenv("FABPLAN_AZURITE"); v {
	case "skip":
		return "", ErrSkip
	case "":
	default:
		return v, nil
	}
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	tools := filepath.Join(root, ".tools", "azurite")
	bin := filepath.Join(tools, "node_modules", ".bin", "azurite-blob")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(tools, 0o755); err != nil {
		return "", err
	}
	// Test binaries of several packages start at once: one installs, the others wait for it.
	unlock, err := lockedfile.MutexAt(filepath.Join(tools, ".install.lock")).Lock()
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", fmt.Errorf("the blob state tests need Azurite, installed with npm, which is not on PATH: install " +
			"Node.js (https://nodejs.org), or set FABPLAN_AZURITE to an azurite-blob binary, or FABPLAN_AZURITE=skip " +
			"to skip these tests")
	}
	cmd := exec.Command(npm, "install", "--prefix", tools, "--no-audit", "--no-fund", "--no-save",
		"--loglevel=error", "azurite@"+AzuriteVersion)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("npm install azurite@%s into %s: %v\n%s", AzuriteVersion, tools, err, out)
	}
	return bin, nil
}

// repoRoot is the nearest directory above the working directory that holds fabplan's go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil &&
			strings.Contains(string(b), "module github.com/fabplan/fabplan\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("statetest: not inside the fabplan repository (set FABPLAN_AZURITE)")
		}
		dir = parent
	}
}
