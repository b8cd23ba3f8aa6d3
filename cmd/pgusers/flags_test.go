package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pgusers/pgusers/internal/cli"
)

// Command lines written for the flag package pgusers used before cobra
// still parse the same, with a note to write two dashes.
func TestOldFlagSpellingsStillWork(t *testing.T) {
	file := writeFile(t, t.TempDir(), "p.yaml", strings.Replace(validFile, "PORT", "5432", 1))
	for _, args := range [][]string{
		{"validate", "-file", file},
		{"validate", "-file=" + file},
		{"validate", "--f", file},
		{"validate", "--f=" + file},
		{"validate", "-f=" + file},
		{"validate", "-f" + file},
	} {
		r := pgusers(t, env{}, args...)
		wantCode(t, r, exitOK)
		mustContain(t, "stdout", r.stdout, "1 server(s), 1 principal declaration(s)")
		if strings.HasPrefix(args[1], "-file") {
			mustContain(t, "stderr", r.stderr, "warning: -file is read as --file; write two dashes")
		}
	}
	// -server with one dash is --server: this one names no server.
	r := pgusers(t, env{}, "plan", "-f", file, "-server", "two", "-output", "json")
	wantCode(t, r, exitError)
	mustContain(t, "stderr", r.stderr, "warning: -server is read as --server", `--server "two" is not in the files`)
	mustContain(t, "stdout", r.stdout, `"errors"`)
}

func TestNormalizeArgs(t *testing.T) {
	root := newRootCommand(&app{env: env{}})
	tests := []struct{ in, want []string }{
		{[]string{"plan", "-server", "a", "-f", "x"}, []string{"plan", "--server", "a", "-f", "x"}},
		{[]string{"plan", "-detailed-exitcode", "-out=p.json"}, []string{"plan", "--detailed-exitcode", "--out=p.json"}},
		{[]string{"apply", "--v", "-auto-approve", "p.json"}, []string{"apply", "-v", "--auto-approve", "p.json"}},
		// A value is never rewritten, nor anything after "--".
		{[]string{"plan", "--out", "-parallel"}, []string{"plan", "--out", "-parallel"}},
		{[]string{"apply", "--", "-server"}, []string{"apply", "--", "-server"}},
		// Shorthands, attached values and unknown flags are cobra's.
		{[]string{"plan", "-vf", "x", "-fy", "-nope"}, []string{"plan", "-vf", "x", "-fy", "-nope"}},
		{[]string{"validate", "-server", "a"}, []string{"validate", "-server", "a"}},
		{[]string{"frobnicate", "-x"}, []string{"frobnicate", "-x"}},
	}
	for _, tc := range tests {
		got := cli.NormalizeArgs(root, tc.in, func(string, ...any) {})
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("cli.NormalizeArgs(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}
