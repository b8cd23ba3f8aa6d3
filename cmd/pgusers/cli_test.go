package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// result is what one in-process run of pgusers produced.
type result struct {
	code           int
	stdout, stderr string
}

// pgusers runs the command in-process, as a user would from a shell with no
// terminal, and with getenv as its environment.
func pgusers(t *testing.T, e env, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	e.stdout, e.stderr = &out, &errOut
	if e.stdin == nil {
		e.stdin = strings.NewReader("")
	}
	if e.getenv == nil {
		e.getenv = func(string) string { return "" }
	}
	code := runCommand(context.Background(), args, e)
	r := result{code: code, stdout: out.String(), stderr: errOut.String()}
	t.Logf("pgusers %s → exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	return r
}

func writeFile(t testing.TB, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// closedPort returns a port on 127.0.0.1 where nothing listens.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

const validFile = `version: 1
defaults:
  user: admin
  auth: password
  sslmode: disable
servers:
  - name: one
    host: 127.0.0.1
    port: PORT
    principals:
      - name: alice@contoso.com
        type: user
`

// TestBadInput: each is a clear message on stderr, exit 1, nothing on
// stdout, and (no server listens) nothing touched.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.yaml", strings.Replace(validFile, "PORT", "5432", 1))
	tests := map[string]struct {
		args []string
		want string
	}{
		"no command":             {nil, "Usage:"},
		"unknown command":        {[]string{"frobnicate"}, `unknown command "frobnicate"`},
		"unknown flag":           {[]string{"plan", "--nope"}, "unknown flag: --nope"},
		"bad output":             {[]string{"plan", "-f", good, "--output", "yaml"}, `--output must be one of text, json, markdown, not "yaml"`},
		"bad dry-run":            {[]string{"apply", "-f", good, "--dry-run=maybe"}, `--dry-run must be client or server, not "maybe"`},
		"missing file":           {[]string{"plan", "-f", filepath.Join(dir, "nope.yaml")}, "nope.yaml"},
		"broken yaml":            {[]string{"validate", "-f", writeFile(t, dir, "broken.yaml", "version: 1\nservers: [\n")}, "broken.yaml:"},
		"unknown key":            {[]string{"plan", "-f", writeFile(t, dir, "key.yaml", "version: 1\nserverz: []\n")}, `key.yaml:2:1`},
		"wrong version":          {[]string{"plan", "-f", writeFile(t, dir, "v.yaml", "version: 2\n")}, "v.yaml:1:10"},
		"unknown server":         {[]string{"plan", "-f", good, "--server", "two"}, `--server "two" is not in the files`},
		"apply with no terminal": {[]string{"apply", "-f", good}, "pass --auto-approve"},
		"positional argument":    {[]string{"plan", "extra"}, `plan takes no arguments`},
		"bad parallel":           {[]string{"plan", "-f", good, "--parallel", "0"}, "--parallel must be at least 1"},

		"misspelt command":          {[]string{"plna"}, `unknown command "plna" for "pgusers"; did you mean plan?`},
		"misspelt flag":             {[]string{"plan", "-f", good, "--sever", "one"}, "unknown flag: --sever; did you mean --server?"},
		"flag of another command":   {[]string{"plan", "-f", good, "--auto-approve"}, "--auto-approve is a flag of apply, not of plan"},
		"validate takes only -f":    {[]string{"validate", "-f", good, "--server", "one"}, "unknown flag: --server"},
		"misspelt server":           {[]string{"plan", "-f", good, "--server", "onee"}, `--server "onee" is not in the files; did you mean "one"? (servers: [one])`},
		"timeout without a unit":    {[]string{"plan", "-f", good, "--timeout", "5"}, `--timeout needs a unit: "5" is a number, not a duration; write it as 5s, 2m`},
		"timeout not positive":      {[]string{"plan", "-f", good, "--timeout", "0s"}, `--timeout must be positive, not "0s"`},
		"parallel not a number":     {[]string{"plan", "-f", good, "--parallel", "many"}, `--parallel must be a whole number, not "many"`},
		"negative max-drops":        {[]string{"plan", "-f", good, "--max-drops", "-1"}, "--max-drops must be 0 or more, not -1"},
		"flag without its value":    {[]string{"plan", "-f", good, "--output"}, "--output needs a value"},
		"dry-run server with space": {[]string{"apply", "-f", good, "--dry-run", "server"}, `--dry-run takes its value after "=": write --dry-run=server (or --dry-run=client)`},
		"dry-run client with space": {[]string{"apply", "--dry-run", "client"}, `write --dry-run=server (or --dry-run=client)`},
		"unknown shell":             {[]string{"completion", "bsh"}, `no completion for shell "bsh"; did you mean bash?`},
		"two saved plans":           {[]string{"apply", "a.json", "b.json"}, "apply takes at most one argument"},
		"bad shard":                 {[]string{"plan", "-f", good, "--shard", "4/4"}, `--shard "4/4": K must be from 0 to 3`},
		"a saved plan sharded":      {[]string{"apply", "plan.json", "--shard", "0/2"}, "drop -f, --server, --shard and --max-drops"},
		"export sharded":            {[]string{"export", "-f", good, "--server", "one", "--shard", "0/2"}, "unknown flag: --shard"},
		"servers in parallel":       {[]string{"servers", "-f", good, "--parallel", "2"}, "unknown flag: --parallel; --parallel is a flag of access and apply and plan"},
		"empty fleet":               {[]string{"plan", "-f", writeFile(t, dir, "empty.yaml", "version: 1\nservers: []\n")}, "the files declare no server"},
		"no server in any file": {[]string{"apply", "--auto-approve", "-f", writeFile(t, dir, "sets.yaml", "version: 1\nprincipalSets:\n  team: []\n")},
			"the files declare no server (files: " + filepath.Join(dir, "sets.yaml") + ")"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := pgusers(t, env{}, tc.args...)
			if r.code != exitError {
				t.Errorf("exit %d, want %d", r.code, exitError)
			}
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr does not say %q", tc.want)
			}
			if r.stdout != "" {
				t.Errorf("stdout = %q, want nothing", r.stdout)
			}
		})
	}
}

func TestUnreachableServerFailsThatServer(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "p.yaml", strings.Replace(validFile, "PORT", itoa(closedPort(t)), 1))
	r := pgusers(t, env{}, "plan", "-f", file, "--output", "json", "--timeout", "5s")
	if r.code != exitError {
		t.Fatalf("exit %d, want 1", r.code)
	}
	if !strings.Contains(r.stdout, `"status": "error"`) || !strings.Contains(r.stdout, `"failed": 1`) {
		t.Errorf("stdout JSON does not report the server as failed")
	}
	if !strings.Contains(r.stderr, "error: server one:") {
		t.Errorf("stderr does not name the server")
	}
}

func TestValidate(t *testing.T) {
	file := writeFile(t, t.TempDir(), "p.yaml", strings.Replace(validFile, "PORT", "5432", 1))
	r := pgusers(t, env{}, "validate", "-f", file)
	if r.code != exitOK || !strings.Contains(r.stdout, "1 server(s), 1 principal declaration(s)") {
		t.Errorf("validate: exit %d, stdout %q", r.code, r.stdout)
	}
}

func TestVersion(t *testing.T) {
	r := pgusers(t, env{}, "version")
	if r.code != exitOK || !strings.HasPrefix(r.stdout, "pgusers ") {
		t.Errorf("version: exit %d, stdout %q", r.code, r.stdout)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// The examples are what users copy first: they must stay valid.
func TestExamplesAreValid(t *testing.T) {
	for _, dir := range []string{"../../examples", "../../examples/local"} {
		r := pgusers(t, env{}, "validate", "-f", dir)
		if r.code != exitOK {
			t.Errorf("%s: exit %d\n%s", dir, r.code, r.stderr)
		}
	}
}
