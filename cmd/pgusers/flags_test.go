package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
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
		got := normalizeArgs(root, tc.in, func(string, ...any) {})
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("normalizeArgs(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}

func TestJSONRequested(t *testing.T) {
	for args, want := range map[string]bool{
		"plan --output json":         true,
		"plan --output=json":         true,
		"plan -o json":               true,
		"plan -ojson":                true,
		"plan -o=json":               true,
		"plan --output text":         false,
		"plan --out json":            false,
		"apply -- --output json":     false,
		"plan -f json --output yaml": false,
	} {
		if got := jsonRequested(strings.Fields(args)); got != want {
			t.Errorf("jsonRequested(%s) = %v, want %v", args, got, want)
		}
	}
}

func TestWantColor(t *testing.T) {
	lookup := func(vars map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	}
	for _, tc := range []struct {
		terminal bool
		vars     map[string]string
		want     bool
	}{
		{true, nil, true},
		{true, map[string]string{"TERM": "xterm-256color"}, true},
		{false, nil, false},
		{true, map[string]string{"NO_COLOR": "1"}, false},
		{true, map[string]string{"NO_COLOR": ""}, false}, // set, whatever its value
		{true, map[string]string{"TERM": "dumb"}, false},
	} {
		if got := wantColor(tc.terminal, lookup(tc.vars)); got != tc.want {
			t.Errorf("wantColor(%v, %v) = %v, want %v", tc.terminal, tc.vars, got, tc.want)
		}
	}
}
