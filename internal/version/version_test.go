package version

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestBuildVersion(t *testing.T) {
	const sha = "0123456789abcdef0123456789abcdef01234567"
	platform := runtime.GOOS + "/" + runtime.GOARCH
	info := func(version string, settings ...string) *debug.BuildInfo {
		bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/pgusers/pgusers", Version: version}}
		for i := 0; i+1 < len(settings); i += 2 {
			bi.Settings = append(bi.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
		}
		return bi
	}
	tests := map[string]struct {
		bi                  *debug.BuildInfo
		ldVersion, ldCommit string
		want                string
	}{
		"no build info": {nil, "", "", "pgusers dev (" + runtime.Version() + " " + platform + ")"},
		"go build in a tree": {info("(devel)", "vcs.revision", sha, "vcs.modified", "false"), "", "",
			"pgusers dev 0123456789ab (go1.26.8 " + platform + ")"},
		"a tree with changes": {info("(devel)", "vcs.revision", sha, "vcs.modified", "true"), "", "",
			"pgusers dev 0123456789ab-dirty (go1.26.8 " + platform + ")"},
		"go install @v0.1.0": {info("v0.1.0"), "", "", "pgusers v0.1.0 (go1.26.8 " + platform + ")"},
		"go build at a tag (Go 1.24+)": {info("v0.0.1-test", "vcs.revision", sha, "vcs.modified", "false"), "", "",
			"pgusers v0.0.1-test 0123456789ab (go1.26.8 " + platform + ")"},
		"GoReleaser release": {info("(devel)", "vcs.revision", "ffffffffffffffff", "vcs.modified", "true"), "0.1.0", sha,
			"pgusers v0.1.0 0123456789ab (go1.26.8 " + platform + ")"},
		"GoReleaser snapshot": {info("(devel)"), "0.1.1-snapshot+0123456", sha,
			"pgusers v0.1.1-snapshot+0123456 0123456789ab (go1.26.8 " + platform + ")"},
		"-X with its v":         {info("v9.9.9"), "v1.2.3", "", "pgusers v1.2.3 (go1.26.8 " + platform + ")"},
		"-X commit alone":       {info("v0.1.0", "vcs.revision", sha), "", "abc", "pgusers v0.1.0 abc (go1.26.8 " + platform + ")"},
		"an empty main version": {info(""), "", "", "pgusers dev (go1.26.8 " + platform + ")"},
		"go build in a checkout (Go 1.24+ pseudo-version)": {info("v0.0.0-20261130085311-0123456789ab", "vcs.revision", sha, "vcs.modified", "false"), "", "",
			"pgusers v0.0.0-20261130085311-0123456789ab (go1.26.8 " + platform + ")"},
		"a pseudo-version with changes": {info("v0.0.0-20261130085311-0123456789ab+dirty", "vcs.revision", sha, "vcs.modified", "true"), "", "",
			"pgusers v0.0.0-20261130085311-0123456789ab+dirty (go1.26.8 " + platform + ")"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := Build(tc.bi, tc.ldVersion, tc.ldCommit).String(); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}
