package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pgusers/pgusers/internal/pgtest"
)

// binDir holds the pgusers binary; TestMain makes and removes it.
var binDir string

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// pgusersBin builds the command once per test binary, as
// bench/bench_test.go's buildPgusers does.
func pgusersBin(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		p := filepath.Join(binDir, "pgusers")
		cmd := exec.Command("go", "build", "-o", p, "github.com/pgusers/pgusers/cmd/pgusers")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out.String())
			return
		}
		binPath = p
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// result is how one run of the command ended.
type result struct {
	args   []string
	code   int
	stdout string
	stderr string
	took   time.Duration
}

func (r result) String() string {
	return fmt.Sprintf("pgusers %s → exit %d after %v\nstdout:\n%s\nstderr:\n%s",
		strings.Join(r.args, " "), r.code, r.took.Round(time.Millisecond), indentText(r.stdout), indentText(r.stderr))
}

func indentText(s string) string {
	if s == "" {
		return "  (empty)"
	}
	return "  " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n  ")
}

// runner runs the command with an environment of its own: PATH, and HOME
// and TMPDIR in a directory of the test's, plus vars. Nothing else of the
// test process's environment (AZURE_*, PG*) reaches it.
type runner struct {
	home string
	vars []string
	dir  string // working directory; "" is home
}

func newRunner(t testing.TB, vars ...string) *runner {
	t.Helper()
	return &runner{home: t.TempDir(), vars: vars}
}

func (r *runner) env() []string {
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + r.home,
		"TMPDIR=" + r.home,
		"XDG_CONFIG_HOME=" + filepath.Join(r.home, ".config"),
		"XDG_CACHE_HOME=" + filepath.Join(r.home, ".cache"),
	}
	return append(env, r.vars...)
}

// run runs pgusers with args and a bound of 2 minutes, never failing t for
// the exit code: the caller judges it.
func (r *runner) run(t testing.TB, args ...string) result {
	t.Helper()
	return r.start(t, args...).wait(t)
}

// process is a run in progress.
type process struct {
	cmd    *exec.Cmd
	args   []string
	out    bytes.Buffer
	errOut bytes.Buffer
	start  time.Time
	done   chan struct{}
	err    error
}

func (r *runner) start(t testing.TB, args ...string) *process {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	p := &process{args: args, done: make(chan struct{})}
	p.cmd = exec.CommandContext(ctx, pgusersBin(t), args...)
	p.cmd.Env = r.env()
	p.cmd.Dir = r.dir
	if p.cmd.Dir == "" {
		p.cmd.Dir = r.home
	}
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.errOut
	p.start = time.Now()
	if err := p.cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() {
		defer cancel()
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	return p
}

func (p *process) wait(t testing.TB) result {
	t.Helper()
	<-p.done
	res := result{args: p.args, stdout: p.out.String(), stderr: p.errOut.String(), took: time.Since(p.start)}
	var ee *exec.ExitError
	switch {
	case p.err == nil:
	case errors.As(p.err, &ee) && ee.Exited():
		res.code = ee.ExitCode()
	default:
		t.Fatalf("pgusers %s: %v (killed after 2 minutes?)\n%s", strings.Join(p.args, " "), p.err, res)
	}
	return res
}

func wantExit(t testing.TB, r result, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("want exit %d:\n%s", code, r)
	}
}

// report is the part of the JSON report (docs/json.md) the tests judge.
type report struct {
	FormatVersion string         `json:"formatVersion"`
	Servers       []serverReport `json:"servers"`
	Summary       map[string]int `json:"summary"`
}

type serverReport struct {
	Name      string            `json:"name"`
	Status    string            `json:"status"`
	Error     string            `json:"error"`
	ErrorKind string            `json:"errorKind"`
	Changes   []json.RawMessage `json:"changes"`
	Committed []string          `json:"committed"`
	Failed    *struct {
		Action    string `json:"action"`
		Principal string `json:"principal"`
		SQL       string `json:"sql"`
		Error     string `json:"error"`
	} `json:"failed"`
}

// oneServer decodes the JSON report of a run of one server.
func oneServer(r result) (serverReport, error) {
	var rep report
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	if err := dec.Decode(&rep); err != nil {
		return serverReport{}, fmt.Errorf("stdout is not a JSON report: %v", err)
	}
	if len(rep.Servers) != 1 {
		return serverReport{}, fmt.Errorf("the JSON report has %d servers, want 1", len(rep.Servers))
	}
	return rep.Servers[0], nil
}

// server is a throwaway cluster with the group roles the files name.
type server struct {
	c   *pgtest.Cluster
	dir string
}

func newServer(t testing.TB, opts ...pgtest.Options) *server {
	t.Helper()
	c := pgtest.New(t, opts...)
	c.SuperExec(t, `CREATE ROLE reporting NOLOGIN`)
	c.SuperExec(t, `CREATE ROLE orders_rw NOLOGIN`)
	return &server{c: c, dir: t.TempDir()}
}

// passwordVar names the variable the files read the password from.
const passwordVar = "PGUSERS_E2E_PASSWORD"

// file writes a desired-state file for one server named local at
// host:port (the cluster's, or a proxy's) signing in with the password of
// passwordVar, with serverYAML (indented for the server entry) after the
// port. It returns the file's path.
func (s *server) file(t testing.TB, name string, port int, serverYAML string) string {
	t.Helper()
	body := fmt.Sprintf(`version: 1
defaults:
  user: %q
  auth: password
  passwordEnv: %s
  sslmode: disable
servers:
  - name: local
    host: 127.0.0.1
    port: %d
%s`, s.c.Admin, passwordVar, port, serverYAML)
	p := filepath.Join(s.dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// runner is a runner that signs in as the administrator.
func (s *server) runner(t testing.TB) *runner {
	return newRunner(t, passwordVar+"="+s.c.AdminPassword)
}

// createPrincipal makes an Entra principal as the superuser.
func (s *server) createPrincipal(t testing.TB, name, typ string) {
	t.Helper()
	s.c.SuperExec(t, `SELECT pg_catalog.pgaadauth_create_principal_with_oid($1, $2, $3, false, false)`, name, pgtest.ObjectID(name), typ)
}

// state is the server's Entra principals with their object ids, flags and
// memberships (azure_pg_admin aside), one line each, as the superuser
// reads them.
func (s *server) state(t testing.TB) []string {
	t.Helper()
	return s.c.SuperStrings(t, "postgres", `SELECT p.rolname::text || ' ' || p.principaltype || ' ' || p.objectid || ' admin=' || p.isadmin || ' mfa=' || p.ismfa || ' [' ||
	  coalesce((SELECT string_agg(g.rolname, ',' ORDER BY g.rolname) FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
	            JOIN pg_roles r ON r.oid = m.member WHERE r.rolname = p.rolname AND g.rolname <> 'azure_pg_admin'), '') || ']'
	  FROM pg_catalog.pgaadauth_list_principals(false) p ORDER BY 1`)
}

// settle waits until no session of the administrator is left on the
// server: a backend whose client went away may still be finishing what it
// was sent (a COMMIT) or holding the apply lock. Reading the server before
// that would race with it.
func (s *server) settle(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := s.c.SuperStrings(t, "postgres", `SELECT count(*)::text FROM pg_stat_activity WHERE usename = $1`, s.c.Admin)
		if n[0] == "0" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s sessions of the administrator still open after 10 s", n[0])
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func sameLines(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// lineDiff shows what b has that a lacks (+) and the reverse (-), briefly.
func lineDiff(a, b []string) string {
	in := func(xs []string) map[string]bool {
		m := map[string]bool{}
		for _, x := range xs {
			m[x] = true
		}
		return m
	}
	ma, mb := in(a), in(b)
	var out []string
	for _, x := range a {
		if !mb[x] {
			out = append(out, "- "+x)
		}
	}
	for _, x := range b {
		if !ma[x] {
			out = append(out, "+ "+x)
		}
	}
	if len(out) > 12 {
		out = append(out[:12], fmt.Sprintf("... and %d more", len(out)-12))
	}
	return strings.Join(out, "\n")
}

// applyConverged runs `pgusers apply SELECTION... APPLYFLAGS... --auto-approve`
// with r, wants exit 0, then plans selection again: that plan must be empty.
// It is the one way a test here applies and expects success, as
// cmd/pgusers' applyConverged is there: after one apply, the next plan is
// empty.
func (r *runner) applyConverged(t testing.TB, selection []string, applyFlags ...string) result {
	t.Helper()
	args := append(append([]string{"apply"}, selection...), applyFlags...)
	res := r.run(t, append(args, "--auto-approve")...)
	wantExit(t, res, 0)
	r.mustPlanEmpty(t, selection...)
	return res
}

// mustPlanEmpty fails t unless a plan of selection with --detailed-exitcode
// finds every server in sync (exit 0).
func (r *runner) mustPlanEmpty(t testing.TB, selection ...string) {
	t.Helper()
	if p, ok := r.planEmpty(t, selection...); !ok {
		t.Fatalf("the plan after apply is not empty: after one apply, the next plan must be empty\n%s", p)
	}
}

// planEmpty plans selection with --detailed-exitcode and tells whether it
// is empty, for a test that reports a non-empty plan among other problems
// instead of stopping.
func (r *runner) planEmpty(t testing.TB, selection ...string) (result, bool) {
	t.Helper()
	p := r.run(t, append(append([]string{"plan"}, selection...), "--detailed-exitcode")...)
	return p, p.code == 0
}
