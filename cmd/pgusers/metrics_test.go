package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgusers/pgusers/internal/pgtest"
)

// metricLines are the lines of a metrics file that are not comments.
func metricLines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

func hasLine(lines []string, prefix string) bool {
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

// plan --metrics-file: a server read with changes, then one that is down,
// which keeps the last success of the run before.
func TestPlanMetricsFile(t *testing.T) {
	f := newFixture(t)
	file := f.file(t, "p.yaml", `    principals:
      - {name: metrics-bot, type: service, objectId: `+pgtest.ObjectID("metrics-bot")+`, memberOf: [reporting, orders_rw]}
`)
	metrics := filepath.Join(t.TempDir(), "pgusers.prom")
	r := pgusers(t, f.env, "plan", "-f", file, "--detailed-exitcode", "--metrics-file", metrics)
	wantCode(t, r, exitChanges)
	lines := metricLines(t, metrics)
	for _, want := range []string{
		`pgusers_server_up{server="local"} 1`,
		`pgusers_server_in_sync{server="local"} 0`,
		`pgusers_server_changes{server="local",action="create"} 1`,
		`pgusers_server_changes{server="local",action="grant"} 2`,
		`pgusers_last_success_timestamp_seconds{server="local"} `,
		`pgusers_last_run_timestamp_seconds `,
		`pgusers_run_duration_seconds `,
	} {
		if !hasLine(lines, want) {
			t.Errorf("metrics lack %q:\n%s", want, strings.Join(lines, "\n"))
		}
	}
	var lastSuccess string
	for _, l := range lines {
		if strings.HasPrefix(l, "pgusers_last_success_timestamp_seconds") {
			lastSuccess = l
		}
	}

	// The server goes down: up 0, and the last success stays.
	if err := f.c.StopServer(); err != nil {
		t.Fatal(err)
	}
	r = pgusers(t, f.env, "plan", "-f", file, "--metrics-file", metrics, "--timeout", "5s")
	wantCode(t, r, exitError)
	lines = metricLines(t, metrics)
	for _, want := range []string{`pgusers_server_up{server="local"} 0`, `pgusers_server_in_sync{server="local"} 0`, lastSuccess} {
		if !hasLine(lines, want) {
			t.Errorf("metrics after a failure lack %q:\n%s", want, strings.Join(lines, "\n"))
		}
	}
	if hasLine(lines, "pgusers_server_changes") {
		t.Errorf("a server that was not read has changes:\n%s", strings.Join(lines, "\n"))
	}
}

// A server never reached has no last success; a metrics file that cannot
// be written fails the run, after the plan.
func TestPlanMetricsFileErrors(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "p.yaml", strings.Replace(validFile, "PORT", itoa(closedPort(t)), 1))
	metrics := filepath.Join(dir, "pgusers.prom")
	r := pgusers(t, env{}, "plan", "-f", file, "--metrics-file", metrics, "--timeout", "5s")
	wantCode(t, r, exitError)
	lines := metricLines(t, metrics)
	if !hasLine(lines, `pgusers_server_up{server="one"} 0`) || hasLine(lines, "pgusers_last_success_timestamp_seconds{") {
		t.Errorf("metrics of a server never reached:\n%s", strings.Join(lines, "\n"))
	}

	r = pgusers(t, env{}, "plan", "-f", file, "--metrics-file", filepath.Join(dir, "missing", "pgusers.prom"), "--timeout", "5s")
	wantCode(t, r, exitError)
	mustContain(t, "stderr", r.stderr, "error: the metrics were not written:")

	// Bad files: no run to report, the file is left as it was.
	before, _ := os.ReadFile(metrics)
	bad := writeFile(t, dir, "bad.yaml", "version: 1\nservers: []\n")
	wantCode(t, pgusers(t, env{}, "plan", "-f", bad, "--metrics-file", metrics), exitError)
	if after, _ := os.ReadFile(metrics); string(after) != string(before) {
		t.Errorf("a run that planned nothing rewrote the metrics")
	}
}
