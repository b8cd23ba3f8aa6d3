package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pgusers/pgusers/pkg/report"
)

// jsonProblems decodes stdout as the Problems document, keeping which keys
// each error has.
func jsonProblems(t *testing.T, stdout string) (report.Problems, []map[string]any) {
	t.Helper()
	var doc report.Problems
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("stdout is not the errors document: %v", err)
	}
	var raw struct {
		Errors []map[string]any `json:"errors"`
	}
	if err := json.Unmarshal([]byte(stdout), &raw); err != nil {
		t.Fatal(err)
	}
	if doc.FormatVersion != "1" {
		t.Errorf("formatVersion %q, want 1", doc.FormatVersion)
	}
	return doc, raw.Errors
}

// With --output json, problems in the files are a JSON document on stdout,
// one error each with its position; stderr still says them to people.
func TestFileProblemsAsJSON(t *testing.T) {
	file := writeFile(t, t.TempDir(), "three.yaml", `version: 1
defaults: {user: admin, auth: password}
servers:
  - name: orders
    host: 127.0.0.1
    port: notanumber
    sslmode: sometimes
    principals:
      - {name: x, type: robot}
`)
	want := []report.Problem{
		{File: file, Line: 6, Column: 11, Message: `server orders: port must be a whole number, not the string "notanumber"`},
		{File: file, Line: 7, Column: 14, Message: `server orders: sslmode "sometimes" is not one of disable, allow, prefer, require, verify-ca, verify-full`},
		{File: file, Line: 9, Column: 25, Message: `server orders: principal x: type "robot" is not one of user, group, service`},
	}
	for _, args := range [][]string{
		{"plan", "-f", file, "--output", "json"},
		{"plan", "-f", file, "-o", "json", "--detailed-exitcode"},
		{"apply", "-f", file, "--output=json", "--auto-approve"},
		{"apply", "-f", file, "--output", "json", "--dry-run"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := pgusers(t, env{}, args...)
			wantCode(t, r, exitError)
			doc, _ := jsonProblems(t, r.stdout)
			if diff := cmp.Diff(want, doc.Errors); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			mustContain(t, "stderr", r.stderr, file+":6:11: server orders: port must be a whole number",
				"3 error(s) in the desired-state files; nothing was changed")
		})
	}

	// Without --output json, stdout stays empty.
	r := pgusers(t, env{}, "plan", "-f", file)
	wantCode(t, r, exitError)
	if r.stdout != "" {
		t.Errorf("text output: stdout = %q, want nothing", r.stdout)
	}
}

// A mistake on the command line is an error without a position.
func TestCommandLineErrorsAsJSON(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.yaml", strings.Replace(validFile, "PORT", "5432", 1))
	tests := map[string]struct {
		args []string
		want string
	}{
		"unknown flag before --output": {[]string{"plan", "--sever", "one", "--output", "json"}, "unknown flag: --sever; did you mean --server?"},
		"bad value":                    {[]string{"plan", "-f", good, "-o", "json", "--timeout", "5"}, `--timeout needs a unit: "5" is a number`},
		"unknown server":               {[]string{"plan", "-f", good, "-o", "json", "--server", "two"}, `--server "two" is not in the files`},
		"no terminal to confirm":       {[]string{"apply", "-f", good, "--output", "json"}, "pass --auto-approve"},
		"empty fleet": {[]string{"plan", "-o", "json", "-f", writeFile(t, dir, "empty.yaml", "version: 1\nservers: []\n")},
			"the files declare no server"},
		"missing file": {[]string{"plan", "-o", "json", "-f", filepath.Join(dir, "nope.yaml")}, "no such file or directory"},
		"bad saved plan": {[]string{"apply", "--output", "json", "--auto-approve", writeFile(t, dir, "not-a-plan.json", "{}")},
			"is not a pgusers plan file"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := pgusers(t, env{}, tc.args...)
			wantCode(t, r, exitError)
			doc, raw := jsonProblems(t, r.stdout)
			if len(doc.Errors) != 1 || !strings.Contains(doc.Errors[0].Message, tc.want) {
				t.Fatalf("errors = %+v, want one saying %q", doc.Errors, tc.want)
			}
			mustContain(t, "stderr", r.stderr, "error: ", tc.want)
			if name == "missing file" {
				// A file that cannot be read has its name, no line.
				if doc.Errors[0].File == "" || doc.Errors[0].Line != 0 {
					t.Errorf("missing file: %+v, want the file and no line", doc.Errors[0])
				}
				return
			}
			for _, key := range []string{"file", "line", "column"} {
				if _, ok := raw[0][key]; ok {
					t.Errorf("a command-line error has %q: %v", key, raw[0])
				}
			}
		})
	}
}
