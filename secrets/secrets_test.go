package secrets_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fabplan/fabplan/emulator"
	"github.com/fabplan/fabplan/fabric"
	"github.com/fabplan/fabplan/fabric/fabrictest"
	"github.com/fabplan/fabplan/secrets"
)

const sentinel = "SENTINEL-7f3a9c-do-not-leak"

// vault starts an emulator holding db-password = sentinel and returns a Key Vault reader acting
// as the service principal clientID ("" = the deployer, who may read secrets).
func vault(t *testing.T, clientID, secret string) *fabric.KeyVault {
	t.Helper()
	emu := fabrictest.Start(t, nil)
	if err := emu.SetSecret("db-password", sentinel); err != nil {
		t.Fatal(err)
	}
	c := fabrictest.Client(t, emu, clientID, secret)
	kv, err := c.KeyVault(fabric.KeyVaultConfig{URL: emu.KeyVaultURL()})
	if err != nil {
		t.Fatal(err)
	}
	return kv
}

func downVault(t *testing.T) *fabric.KeyVault {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := offlineClient(t)
	down, err := c.KeyVault(fabric.KeyVaultConfig{URL: "https://" + addr + "/keyvault", Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return down
}

// offlineClient builds a client whose credential is never asked for a token: the vault is down
// before any challenge.
func offlineClient(t *testing.T) *fabric.Client {
	cred, err := fabric.NewCredential(fabric.AuthConfig{TenantID: emulator.DefaultTenantID, ClientID: emulator.DefaultClientID,
		ClientSecret: "unused", AuthorityHost: "https://127.0.0.1:1/"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := fabric.New(fabric.Config{BaseURL: "https://127.0.0.1:1", Credential: cred, BackoffInitial: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// envFile writes text to a .env file and parses it.
func envFile(t *testing.T, text string) *secrets.EnvFile {
	t.Helper()
	p := filepath.Join(t.TempDir(), ".env")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	ef, err := secrets.ReadEnvFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return ef
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestResolveOrder(t *testing.T) {
	ctx := context.Background()
	kv := vault(t, "", "")
	ef := envFile(t, "# comment\nexport API_KEY='from-dotenv-file'\nDB_PASSWORD=\"dotenv-db\"\n")
	envPath := ef.Path
	getenv := env(map[string]string{"DB_PASSWORD": "env-db", "TOKEN": "env-token"})

	r := secrets.New(secrets.Options{Vault: kv, Getenv: getenv, EnvFile: ef})
	if v, src, err := r.Resolve(ctx, "db-password"); err != nil || v != sentinel || src != secrets.FromKeyVault {
		t.Fatalf("with a vault: %q %s %v; want the vault's value", v, src, err)
	}

	r = secrets.New(secrets.Options{Getenv: getenv, EnvFile: ef})
	for name, want := range map[string][2]string{
		"db-password": {"env-db", string(secrets.FromEnv)},
		"api-key":     {"from-dotenv-file", string(secrets.FromEnvFile)},
		"token":       {"env-token", string(secrets.FromEnv)},
	} {
		v, src, err := r.Resolve(ctx, name)
		if err != nil || v != want[0] || string(src) != want[1] {
			t.Errorf("%s: %q %s %v; want %q from %s", name, v, src, err, want[0], want[1])
		}
	}
	_, _, err := r.Resolve(ctx, "missing")
	var se *secrets.Error
	if !errors.As(err, &se) || se.Cause != secrets.CauseNotFound || !strings.Contains(err.Error(), "MISSING") || !strings.Contains(err.Error(), envPath) {
		t.Fatalf("missing: %v; want not found naming MISSING and the .env file", err)
	}
	if _, _, err := r.Resolve(ctx, "bad name"); err == nil {
		t.Fatal("a name with a space resolved")
	}
}

// TestReservedEnvNeverRead: a plan cannot read the deployer's credentials or a CI token through the
// environment or a .env file, even when the vault fails; a vault may hold a secret of that name.
func TestReservedEnvNeverRead(t *testing.T) {
	ctx := context.Background()
	getenv := env(map[string]string{"AZURE_CLIENT_SECRET": "SENTINEL-deployer-secret", "GITHUB_TOKEN": "SENTINEL-gh-token"})
	r := secrets.New(secrets.Options{Getenv: getenv, EnvFile: envFile(t, "SYSTEM_ACCESSTOKEN=SENTINEL-ado-token\n")})
	for _, name := range []string{"azure-client-secret", "github-token", "system-accesstoken"} {
		v, _, err := r.Resolve(ctx, name)
		var se *secrets.Error
		if !errors.As(err, &se) || se.Cause != secrets.CauseReserved || v != "" || strings.Contains(err.Error(), "SENTINEL") {
			t.Fatalf("%s: %q, %v; want a reserved-name error without the value", name, v, err)
		}
	}
	r = secrets.New(secrets.Options{Vault: downVault(t), Getenv: getenv, Fallback: secrets.FallbackAllow})
	if v, _, err := r.Resolve(ctx, "azure-client-secret"); err == nil || v != "" {
		t.Fatalf("vault down: %q, %v; want the vault's error, not the environment's credential", v, err)
	}
}

func TestVaultFailures(t *testing.T) {
	ctx := context.Background()
	forbidden := vault(t, fabrictest.ReaderID, fabrictest.ReaderSecret)
	good := vault(t, "", "")
	down := downVault(t)
	badLogin := vault(t, emulator.DefaultClientID, "wrong-client-secret")
	withEnv := env(map[string]string{"DB_PASSWORD": "fallback-value", "NOPE": "fallback-nope"})
	cases := []struct {
		name     string
		kv       secrets.Vault
		secret   string
		getenv   func(string) string
		fallback secrets.Fallback
		ci       bool
		cause    secrets.Cause
		want     string // value when the fallback is used
	}{
		{"403 without fallback", forbidden, "db-password", nil, secrets.FallbackAuto, false, secrets.CauseForbidden, ""},
		{"403 with fallback", forbidden, "db-password", withEnv, secrets.FallbackAuto, false, "", "fallback-value"},
		{"403 with fallback under CI", forbidden, "db-password", withEnv, secrets.FallbackAuto, true, secrets.CauseForbidden, ""},
		{"403 with fallback allowed under CI", forbidden, "db-password", withEnv, secrets.FallbackAllow, true, "", "fallback-value"},
		{"403 with fallback refused", forbidden, "db-password", withEnv, secrets.FallbackRefuse, false, secrets.CauseForbidden, ""},
		{"404 without fallback", good, "nope", nil, secrets.FallbackAuto, false, secrets.CauseNotFound, ""},
		{"404 with fallback", good, "nope", withEnv, secrets.FallbackAuto, false, "", "fallback-nope"},
		{"down without fallback", down, "db-password", nil, secrets.FallbackAuto, false, secrets.CauseNetwork, ""},
		{"down with fallback", down, "db-password", withEnv, secrets.FallbackAuto, false, "", "fallback-value"},
		{"no token without fallback", badLogin, "db-password", nil, secrets.FallbackAuto, false, secrets.CauseNoToken, ""},
		{"no token with fallback", badLogin, "db-password", withEnv, secrets.FallbackAuto, false, "", "fallback-value"},
		{"no token with fallback refused", badLogin, "db-password", withEnv, secrets.FallbackRefuse, false, secrets.CauseNoToken, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var warnings []string
			r := secrets.New(secrets.Options{Vault: tc.kv, Getenv: tc.getenv, Fallback: tc.fallback, CI: tc.ci,
				Warn: func(m string) { warnings = append(warnings, m) }})
			v, _, err := r.Resolve(ctx, tc.secret)
			if tc.cause == "" {
				if err != nil || v != tc.want || len(warnings) != 1 {
					t.Fatalf("got %q, %v, warnings %q; want %q with one warning", v, err, warnings, tc.want)
				}
				return
			}
			var se *secrets.Error
			if !errors.As(err, &se) || se.Cause != tc.cause {
				t.Fatalf("got %q, %v; want cause %s", v, err, tc.cause)
			}
			msg := err.Error()
			for _, want := range []string{tc.kv.URL(), tc.secret, string(tc.cause), "hint: "} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not name %q", msg, want)
				}
			}
			if tc.getenv != nil && !strings.Contains(msg, "refuses it") {
				t.Errorf("error %q does not say the fallback was refused", msg)
			}
			if strings.Contains(msg, "fallback-value") || strings.Contains(msg, sentinel) || strings.Contains(msg, "wrong-client-secret") {
				t.Errorf("error %q carries a secret value", msg)
			}
		})
	}
}

type countingVault struct {
	secrets.Vault
	n atomic.Int32
}

func (c *countingVault) GetSecret(ctx context.Context, name string) (string, error) {
	c.n.Add(1)
	return c.Vault.GetSecret(ctx, name)
}

func TestCacheTTL(t *testing.T) {
	cv := &countingVault{Vault: vault(t, "", "")}
	now := time.Unix(1_800_000_000, 0)
	r := secrets.New(secrets.Options{Vault: cv, TTL: time.Minute, Now: func() time.Time { return now }})
	done := make(chan struct{})
	for range 8 {
		go func() {
			r.Resolve(context.Background(), "db-password")
			done <- struct{}{}
		}()
	}
	for range 8 {
		<-done
	}
	if n := cv.n.Load(); n != 1 {
		t.Fatalf("8 concurrent resolutions read the vault %d times; want 1", n)
	}
	now = now.Add(2 * time.Minute)
	r.Resolve(context.Background(), "db-password")
	if n := cv.n.Load(); n != 2 {
		t.Fatalf("after the TTL the vault was read %d times in all; want 2", n)
	}
}

func TestRedactedOnceResolved(t *testing.T) {
	r := secrets.New(secrets.Options{Getenv: env(map[string]string{"SHORT": "abc", "QUOTED": `a"b\c-long`})})
	var se *secrets.Error
	if _, _, err := r.Resolve(context.Background(), "short"); !errors.As(err, &se) || se.Cause != secrets.CauseTooShort || strings.Contains(err.Error(), "abc") {
		t.Fatalf("short value: %v; want a too-short error without the value", err)
	}
	if _, _, err := r.Resolve(context.Background(), "quoted"); err != nil {
		t.Fatal(err)
	}
	got := r.Redactor().Redact(`plain a"b\c-long, json "a\"b\\c-long"`)
	if strings.Contains(got, "long") {
		t.Fatalf("Redact left a value: %s", got)
	}
}

// TestRedactedForms: a value with quotes, a backslash, HTML characters, a non-ASCII letter and a
// control character is scrubbed in each form fabplan's outputs give it.
func TestRedactedForms(t *testing.T) {
	const value = "p\"w\\<&>ö\x01-SENTINEL"
	red := secrets.NewRedactor()
	red.Add("db-password", value)
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("request", "error", "got "+value)
	var journal bytes.Buffer
	json.NewEncoder(&journal).Encode(map[string]string{"error": fmt.Sprintf("bad value %q", value)})
	var noHTML bytes.Buffer
	enc := json.NewEncoder(&noHTML)
	enc.SetEscapeHTML(false)
	enc.Encode(value)
	for name, text := range map[string]string{
		"raw":               value,
		"json":              mustJSON(t, value),
		"json without html": noHTML.String(),
		"%q":                fmt.Sprintf("%q", value),
		"%q inside json":    journal.String(),
		"slog text":         logged.String(),
	} {
		if got := red.Redact(text); strings.Contains(got, "SENTINEL") || !strings.Contains(got, "<secret:db-password>") {
			t.Errorf("%s: %q redacted to %q", name, text, got)
		}
	}
}

// TestRedactedLines: a value of several lines is scrubbed also when each line is re-indented.
func TestRedactedLines(t *testing.T) {
	red := secrets.NewRedactor()
	red.Add("tls-key", "-----BEGIN KEY-----\nSENTINELline1\r\nSENTINELline2\n-----END KEY-----\n")
	got := red.Redact("detail:\n    -----BEGIN KEY-----\n    SENTINELline1\n    SENTINELline2\n    -----END KEY-----")
	if strings.Contains(got, "SENTINEL") {
		t.Fatalf("re-indented lines left in %q", got)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRedactingWriter(t *testing.T) {
	red := secrets.NewRedactor()
	red.Add("db-password", sentinel)
	var buf bytes.Buffer
	w := red.Writer(&buf)
	// Split the value across writes at every position.
	msg := "before " + sentinel + " after\n"
	for i := 0; i <= len(msg); i++ {
		buf.Reset()
		w.Write([]byte(msg[:i]))
		w.Write([]byte(msg[i:]))
		w.Flush()
		if got, want := buf.String(), "before <secret:db-password> after\n"; got != want {
			t.Fatalf("split at %d: %q; want %q", i, got, want)
		}
	}
	buf.Reset()
	w.Write([]byte("SENT"))
	w.Write([]byte("ence ends early"))
	w.Flush()
	if got := buf.String(); got != "SENTence ends early" {
		t.Fatalf("a false start: %q; want it written unchanged", got)
	}
}

// TestEnvFileLink: a .env that is a symbolic link out of its folder is refused, naming the link
// and the target; one to a file in the same folder is read.
func TestEnvFileLink(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(outside, "secrets"), []byte("A=SENTINEL-outside\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "real.env"), []byte("A=inside\n"), 0o600)
	link := filepath.Join(dir, ".env")
	if err := os.Symlink(filepath.Join(outside, "secrets"), link); err != nil {
		t.Skip("no symbolic links here:", err)
	}
	_, err := secrets.ReadEnvFile(link)
	var ee *secrets.EnvFileError
	if !errors.As(err, &ee) || ee.Kind != secrets.EnvFileLink || !strings.Contains(err.Error(), link) ||
		!strings.Contains(err.Error(), filepath.Join(outside, "secrets")) || strings.Contains(err.Error(), "SENTINEL") {
		t.Fatalf("got %v; want a link error naming %s and its target", err, link)
	}
	os.Remove(link)
	os.Symlink("real.env", link)
	if ef, err := secrets.ReadEnvFile(link); err != nil || ef.Values["A"] != "inside" {
		t.Fatalf("a link inside the folder: %v, %v", ef, err)
	}
}

func TestEnvFileErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ text, want string }{
		{"NO_EQUALS\n", ":1: want KEY=VALUE"},
		{"\n\nA='open\n", ":3: A: unterminated single quote"},
		{"B=\"bad\\q\"\n", ":1: B: bad double-quoted value"},
		{"A=1\nC=x\x00y\n", ":2: holds a NUL byte"},
		{"D=\xff\xfe\n", ":1: not valid UTF-8"},
		{"E=\"a\\x00b\"\n", ":1: E: the value's escapes make a NUL"},
	} {
		p := filepath.Join(dir, ".env")
		os.WriteFile(p, []byte(tc.text), 0o600)
		_, err := secrets.ReadEnvFile(p)
		if err == nil || !strings.Contains(err.Error(), p+tc.want) {
			t.Errorf("%q: %v; want %q", tc.text, err, tc.want)
		}
	}
}

type misconfigured struct{}

func (misconfigured) URL() string { return "https://example.vault.azure.net/" }
func (misconfigured) GetSecret(context.Context, string) (string, error) {
	return "", &secrets.ConfigError{Err: errors.New("--kv-auth: unknown auth mode")}
}

func TestMisconfiguredVaultHasNoFallback(t *testing.T) {
	r := secrets.New(secrets.Options{Vault: misconfigured{}, Fallback: secrets.FallbackAllow,
		Getenv: env(map[string]string{"DB_PASSWORD": "fallback-value"})})
	_, _, err := r.Resolve(context.Background(), "db-password")
	var se *secrets.Error
	if !errors.As(err, &se) || se.Cause != secrets.CauseConfig || !strings.Contains(err.Error(), "unknown auth mode") {
		t.Fatalf("got %v; want a misconfiguration error despite the fallback", err)
	}
}

// BenchmarkRedactingWriter measures what redaction costs plan output: a 120-byte line written
// through a writer that knows 20 secrets.
func BenchmarkRedactingWriter(b *testing.B) {
	red := secrets.NewRedactor()
	for i := range 20 {
		red.Add(fmt.Sprintf("s%d", i), fmt.Sprintf("value-%02d-%s", i, sentinel))
	}
	w := red.Writer(io.Discard)
	line := []byte(strings.Repeat("+   workspace.sales/item.Notebook.load_sales (item create) ", 2) + "\n")
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		w.Write(line)
	}
}
