package main

import (
	"encoding/json"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestVersionCommand(t *testing.T) {
	text := pgusers(t, env{}, "version")
	wantCode(t, text, exitOK)
	if text.stdout != versionString()+"\n" {
		t.Errorf("version printed %q, want %q", text.stdout, versionString())
	}
	flag := pgusers(t, env{}, "--version")
	wantCode(t, flag, exitOK)
	if flag.stdout != text.stdout {
		t.Errorf("--version printed %q, version %q", flag.stdout, text.stdout)
	}

	r := pgusers(t, env{}, "version", "--output", "json")
	wantCode(t, r, exitOK)
	var got map[string]string
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("version --output json: %v", err)
	}
	v := currentVersion()
	want := map[string]string{"version": v.Version, "commit": v.Commit, "go": runtime.Version(), "platform": runtime.GOOS + "/" + runtime.GOARCH}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("version JSON (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(got["version"], "v") && got["version"] != "dev" {
		t.Errorf("version %q has no v", got["version"])
	}
}
