package version

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestFromBuild(t *testing.T) {
	vcs := func(rev, time, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "GOOS", Value: "windows"}, {Key: "GOARCH", Value: "arm64"},
			{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.time", Value: time},
			{Key: "vcs.modified", Value: modified}}
	}
	sdk := []*debug.Module{{Path: "github.com/microsoft/fabric-sdk-go", Version: "v0.20.0"}}
	for _, tc := range []struct {
		name  string
		bi    *debug.BuildInfo
		x     stamp
		short string
		lines []string
	}{{
		name:  "go install module@version",
		bi:    &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.4.0"}, Deps: sdk},
		short: "v1.4.0",
		lines: []string{"fabplan v1.4.0", "go1.26.8 "},
	}, {
		name: "go build in a clean checkout",
		bi: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"},
			Settings: vcs("0123456789abcdef0123456789abcdef01234567", "2026-12-01T10:00:00Z", "false"), Deps: sdk},
		short: "devel+0123456789ab",
		lines: []string{"fabplan devel+0123456789ab",
			"commit 0123456789abcdef0123456789abcdef01234567 (2026-12-01T10:00:00Z)",
			"go1.26.8 windows/arm64, fabric-sdk-go v0.20.0"},
	}, {
		name: "go build with uncommitted changes",
		bi: &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261201100000-0123456789ab+dirty"},
			Settings: vcs("0123456789abcdef0123456789abcdef01234567", "2026-12-01T10:00:00Z", "true")},
		short: "v0.0.0-20261201100000-0123456789ab-dirty",
		lines: []string{"commit 0123456789abcdef0123456789abcdef01234567 (2026-12-01T10:00:00Z), with uncommitted changes"},
	}, {
		name:  "release build stamped by -ldflags -X",
		bi:    &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}},
		x:     stamp{"v1.5.0", "fedcba9876543210fedcba9876543210fedcba98", "2026-12-02T09:00:00Z", false},
		short: "v1.5.0",
		lines: []string{"fabplan v1.5.0", "commit fedcba9876543210fedcba9876543210fedcba98 (2026-12-02T09:00:00Z)"},
	}, {
		name:  "make build from a work tree with changes",
		bi:    &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}},
		x:     stamp{"v1.5.0-3-gfedcba9", "fedcba9876543210fedcba9876543210fedcba98", "", true},
		short: "v1.5.0-3-gfedcba9-dirty",
		lines: []string{"commit fedcba9876543210fedcba9876543210fedcba98, with uncommitted changes"},
	}, {
		name:  "nothing recorded",
		bi:    &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}},
		short: "devel",
		lines: []string{"fabplan devel", "no version or commit recorded"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			in := fromBuild(tc.bi, tc.x)
			if got := in.Short(); got != tc.short {
				t.Errorf("Short() = %q, want %q", got, tc.short)
			}
			out := in.String()
			for _, l := range tc.lines {
				if !strings.Contains(out, l) {
					t.Errorf("version output lacks %q:\n%s", l, out)
				}
			}
		})
	}
}
