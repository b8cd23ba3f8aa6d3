package main

import buildinfo "github.com/pgusers/pgusers/internal/version"

// version and commit are set at build time by GoReleaser:
// -ldflags "-X main.version={{.Version}} -X main.commit={{.Commit}}".
// Empty, the module's build info decides (go install ...@v0.1.0).
var (
	version string
	commit  string
)

// currentVersion is this binary's version.
func currentVersion() buildinfo.Info { return buildinfo.Current(version, commit) }

func versionString() string { return currentVersion().String() }
