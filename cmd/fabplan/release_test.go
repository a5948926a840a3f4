package main

import (
	"bytes"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The release ships for Linux, macOS and Windows on amd64 and arm64: the Makefile's PLATFORMS.
func TestReleasePlatforms(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^PLATFORMS\s*\?=\s*(.+)$`).FindStringSubmatch(string(b))
	if m == nil {
		t.Fatal("the Makefile sets no PLATFORMS")
	}
	got := strings.Fields(m[1])
	slices.Sort(got)
	want := []string{"darwin/amd64", "darwin/arm64", "linux/amd64", "linux/arm64", "windows/amd64", "windows/arm64"}
	if !slices.Equal(got, want) {
		t.Errorf("PLATFORMS = %v, want %v", got, want)
	}
}

// make release builds what it says: one platform (not the host's) built the release way, static,
// -trimpath, stamped with the version, and listed with its checksum.
func TestMakeRelease(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	dist := t.TempDir()
	cmd := exec.Command("make", "release", "PLATFORMS=windows/arm64", "DIST="+dist, "VERSION=v9.8.7",
		"COMMIT=0123456789abcdef0123456789abcdef01234567", "DATE=2026-12-03T06:00:00Z", "MODIFIED=")
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make release: %v\n%s", err, out)
	}
	bin := filepath.Join(dist, "fabplan-windows-arm64.exe")
	bi, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	for k, v := range map[string]string{"GOOS": "windows", "GOARCH": "arm64", "CGO_ENABLED": "0", "-trimpath": "true"} {
		if settings[k] != v {
			t.Errorf("build setting %s = %q, want %q", k, settings[k], v)
		}
	}
	// -trimpath keeps -ldflags out of the build info: the stamped values are looked for in the binary.
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range []string{"v9.8.7", "0123456789abcdef0123456789abcdef01234567", "2026-12-03T06:00:00Z"} {
		if !bytes.Contains(b, []byte(x)) {
			t.Errorf("the binary is not stamped with %q", x)
		}
	}
	sum := sha256.Sum256(b)
	sums, err := os.ReadFile(filepath.Join(dist, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	if want := hex.EncodeToString(sum[:]) + "  fabplan-windows-arm64.exe\n"; string(sums) != want {
		t.Errorf("SHA256SUMS = %q, want %q", sums, want)
	}
}
