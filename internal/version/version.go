// Package version works out which pgusers a binary is: the release it
// was built from, its commit, and the Go version and platform.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Info is what `pgusers version` reports.
type Info struct {
	Version  string `json:"version"`
	Commit   string `json:"commit"`
	Go       string `json:"go"`
	Platform string `json:"platform"`
}

// String is the one line of `pgusers version`, also recorded in saved
// plans and exports: "pgusers v0.1.0 0123456789ab (go1.26.8 linux/amd64)".
func (v Info) String() string {
	rev := ""
	// A pseudo-version (v0.0.0-20261130085311-46ea76d6c4e8, what Go 1.24+
	// stamps on a build in a git checkout) holds the commit already.
	if c := strings.TrimSuffix(v.Commit, "-dirty"); c != "" && !strings.Contains(v.Version, c) {
		rev = " " + v.Commit
	}
	return fmt.Sprintf("pgusers %s%s (%s %s)", v.Version, rev, v.Go, v.Platform)
}

// Current is this binary's version; ldVersion and ldCommit are what the
// release build set with -X (empty: the build info decides).
func Current(ldVersion, ldCommit string) Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = nil
	}
	return Build(bi, ldVersion, ldCommit)
}

// Build works out the version from the build info (nil when the
// binary has none) and the values set with -X, which win.
//
//   - version: the -X value, else the main module's version, which
//     `go install module@v0.1.0` sets and Go 1.24+ stamps from a VCS tag
//     when building in a repository; "(devel)" or none is "dev". A version
//     without its "v" (GoReleaser's {{.Version}} is 0.1.0) gets one.
//   - commit: the -X value, else vcs.revision; 12 digits, with "-dirty"
//     when the build info says the tree had changes.
func Build(bi *debug.BuildInfo, ldVersion, ldCommit string) Info {
	v := Info{Version: "dev", Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	var revision string
	var modified bool
	if bi != nil {
		if bi.GoVersion != "" {
			v.Go = bi.GoVersion
		}
		if mv := bi.Main.Version; mv != "" && mv != "(devel)" {
			v.Version = mv
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if ldVersion != "" {
		v.Version = ldVersion
	}
	if v.Version != "dev" && v.Version[0] >= '0' && v.Version[0] <= '9' {
		v.Version = "v" + v.Version
	}
	if ldCommit != "" {
		revision, modified = ldCommit, false
	}
	if revision != "" {
		v.Commit = shortRevision(revision)
		if modified {
			v.Commit += "-dirty"
		}
	}
	return v
}

func shortRevision(r string) string {
	r = strings.TrimSpace(r)
	if len(r) > 12 {
		return r[:12]
	}
	return r
}
