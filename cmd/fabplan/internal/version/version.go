// Package version implements `fabplan version` and knows which build this is.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fabplan/fabplan/cmd/fabplan/internal/cli"
)

// Set by the release build (make build, make release, the Dockerfile) with -ldflags -X, because
// those builds run with -buildvcs=false or from a git worktree, where the Go toolchain stamps no VCS
// information. A value left empty falls back to the build info.
var (
	version  string // e.g. v0.4.0 or v0.4.0-3-gabcdef1 (git describe)
	commit   string // full revision
	date     string // commit time, RFC 3339
	modified string // "true" when the work tree had uncommitted changes
)

// Info is what is known of this build.
type Info struct {
	Version  string // module version, release tag or "devel"
	Revision string // VCS revision, when stamped
	Time     string // VCS commit time, when stamped
	Dirty    bool   // built from a work tree with uncommitted changes
	Go       string // Go version
	Platform string // GOOS/GOARCH
	SDK      string // fabric-sdk-go's version
}

// Read returns this binary's Info.
func Read() Info {
	bi, _ := debug.ReadBuildInfo()
	return fromBuild(bi, stamp{version, commit, date, modified == "true"})
}

// stamp is what -ldflags -X set.
type stamp struct {
	version, commit, date string
	modified              bool
}

// fromBuild combines the build info with the -X values: a -X value wins over the build info, so
// that a release built from a tag says the tag even where the toolchain stamped nothing.
func fromBuild(bi *debug.BuildInfo, x stamp) Info {
	in := Info{Version: "devel", Go: runtime.Version(), SDK: "unknown"}
	goos, goarch := runtime.GOOS, runtime.GOARCH
	if bi != nil {
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			in.Version = v // go install module@version, or a toolchain that stamps from VCS tags
		}
		if bi.GoVersion != "" {
			in.Go = bi.GoVersion
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				in.Revision = s.Value
			case "vcs.time":
				in.Time = s.Value
			case "vcs.modified":
				in.Dirty = s.Value == "true"
			case "GOOS":
				goos = s.Value
			case "GOARCH":
				goarch = s.Value
			}
		}
		for _, d := range bi.Deps {
			if d.Path == "github.com/microsoft/fabric-sdk-go" {
				in.SDK = d.Version
			}
		}
	}
	in.Platform = goos + "/" + goarch
	if x.version != "" {
		in.Version = x.version
	}
	if x.commit != "" {
		in.Revision, in.Dirty = x.commit, x.modified
	}
	if x.date != "" {
		in.Time = x.date
	}
	// A module version of a dirty tree carries +dirty already (Go 1.24 and later).
	in.Version = strings.TrimSuffix(in.Version, "+dirty")
	return in
}

// Short is the version alone, as telemetry and the User-Agent carry it: v1.2.3, v1.2.3-dirty,
// devel+abcdef123456 or devel.
func (in Info) Short() string {
	v := in.Version
	if v == "devel" && in.Revision != "" {
		v += "+" + shortRev(in.Revision)
	}
	if in.Dirty {
		v += "-dirty"
	}
	return v
}

// String is the line `fabplan version` prints.
func (in Info) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "fabplan %s", in.Short())
	if in.Revision != "" {
		fmt.Fprintf(&b, "\ncommit %s", in.Revision)
		if in.Time != "" {
			fmt.Fprintf(&b, " (%s)", in.Time)
		}
		if in.Dirty {
			b.WriteString(", with uncommitted changes")
		}
	} else if in.Version == "devel" {
		b.WriteString("\nno version or commit recorded: build with make build, make release or go install")
	}
	fmt.Fprintf(&b, "\n%s %s, fabric-sdk-go %s\n", in.Go, in.Platform, in.SDK)
	return b.String()
}

func shortRev(r string) string {
	if len(r) > 12 {
		return r[:12]
	}
	return r
}

// NewCmd builds the command.
func NewCmd(f *cli.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print fabplan's version",
		Long: `Prints fabplan's version (the release tag, or the module version of go install), the commit it was
built from with its time and whether the work tree had uncommitted changes, the Go version and platform,
and the Fabric SDK it uses.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprint(f.IO.Out, Read())
			return nil
		},
	}
}

// Current is the version of this build, as Info.Short says it.
func Current() string {
	return Read().Short()
}
