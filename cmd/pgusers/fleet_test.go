package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/pgusers/pgusers/internal/pgtest"
	"github.com/pgusers/pgusers/pkg/report"
)

// fleetFile declares one principal on each cluster, servers named a, b, c...
func fleetFile(t *testing.T, dir string, clusters []*pgtest.Cluster, principal string) string {
	t.Helper()
	var y strings.Builder
	fmt.Fprintf(&y, "version: 1\ndefaults:\n  auth: password\n  passwordEnv: PGUSERS_TEST_PASSWORD\n  sslmode: disable\nservers:\n")
	for i, c := range clusters {
		fmt.Fprintf(&y, "  - name: %c\n    host: %s\n    port: %d\n    user: %q\n    principals:\n      - {name: %s, type: service, objectId: %s}\n",
			'a'+i, c.Host, c.Port, c.Admin, principal, pgtest.ObjectID(principal))
	}
	return writeFile(t, dir, "fleet.yaml", y.String())
}

// passwords gives each cluster's admin password: every throwaway cluster
// shares its template's, so one variable serves the fleet.
func passwords(c *pgtest.Cluster) env {
	return env{getenv: func(k string) string {
		if k == "PGUSERS_TEST_PASSWORD" {
			return c.AdminPassword
		}
		return ""
	}}
}

func hasRole(t *testing.T, c *pgtest.Cluster, name string) bool {
	t.Helper()
	return len(c.SuperStrings(t, "postgres", `SELECT rolname::text FROM pg_roles WHERE rolname = $1`, name)) > 0
}

// statuses reads each server's name and status from a JSON report.
func statuses(t *testing.T, stdout string) []string {
	t.Helper()
	var r report.Report
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("stdout is not the JSON report: %v", err)
	}
	var out []string
	for _, s := range r.Servers {
		out = append(out, s.Name+" "+string(s.Status))
	}
	return out
}

// holdWrites blocks every create on c (reads go on) until the returned
// function is called, as a long-running transaction would.
func holdWrites(t *testing.T, c *pgtest.Cluster) (release func()) {
	t.Helper()
	ctx := context.Background()
	conn, err := c.Super(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `LOCK TABLE pgaadauth_emul.principals IN EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	var once bool
	release = func() {
		if !once {
			once = true
			tx.Rollback(ctx)
			conn.Close(ctx)
		}
	}
	t.Cleanup(release)
	return release
}

// waitForBlockedPgusers waits until a pgusers session on c waits on a lock.
// It runs beside the command under test, so it reports by t.Error, never
// t.Fatal.
func waitForBlockedPgusers(t *testing.T, c *pgtest.Cluster) {
	ctx := context.Background()
	cfg, err := c.SuperConfig()
	if err != nil {
		t.Error(err)
		return
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Error(err)
		return
	}
	defer conn.Close(ctx)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var waiting bool
		if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_stat_activity
			WHERE application_name = 'pgusers' AND wait_event_type = 'Lock')`).Scan(&waiting); err != nil {
			t.Error(err)
			return
		}
		if waiting {
			return
		}
	}
	t.Error("no pgusers session waited on the held lock within 30s")
}

// waitForNoPgusersSessions waits until the server has no backend left from
// an abandoned pgusers connection, so that its rollback is complete.
func waitForNoPgusersSessions(t *testing.T, c *pgtest.Cluster) {
	t.Helper()
	ctx := context.Background()
	conn := c.SuperIn(t, "postgres")
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgusers'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
	t.Fatal("a pgusers session is still on the server after 10s")
}

func TestFleetOneServerDown(t *testing.T) {
	clusters := []*pgtest.Cluster{pgtest.New(t), pgtest.New(t), pgtest.New(t)}
	if err := clusters[1].StopServer(); err != nil {
		t.Fatal(err)
	}
	file := fleetFile(t, t.TempDir(), clusters, "fleet-bot")
	r := pgusers(t, passwords(clusters[0]), "apply", "-f", file, "--auto-approve", "--output", "json", "--parallel", "3")
	wantCode(t, r, exitError)
	if diff := cmp.Diff([]string{"a applied", "b error", "c applied"}, statuses(t, r.stdout)); diff != "" {
		t.Errorf("statuses in file order (-want +got):\n%s", diff)
	}
	if !strings.Contains(r.stderr, "error: server b:") {
		t.Errorf("stderr does not name the failed server")
	}
	if !hasRole(t, clusters[0], "fleet-bot") || !hasRole(t, clusters[2], "fleet-bot") {
		t.Errorf("the reachable servers were not applied")
	}
	mustPlanEmpty(t, passwords(clusters[0]), "-f", file, "--server", "a", "--server", "c")
}

func TestFleetServerHeldByALockTimesOutAlone(t *testing.T) {
	clusters := []*pgtest.Cluster{pgtest.New(t), pgtest.New(t), pgtest.New(t)}
	release := holdWrites(t, clusters[1])
	file := fleetFile(t, t.TempDir(), clusters, "fleet-bot")
	start := time.Now()
	r := pgusers(t, passwords(clusters[0]), "apply", "-f", file, "--auto-approve", "--output", "json", "--timeout", "2s")
	elapsed := time.Since(start)
	wantCode(t, r, exitError)
	if diff := cmp.Diff([]string{"a applied", "b error", "c applied"}, statuses(t, r.stdout)); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if !strings.Contains(r.stdout, "timed out after 2s (--timeout); its transaction rolled back, nothing changed there") {
		t.Errorf("the held server is not reported as timed out")
	}
	if elapsed > 30*time.Second {
		t.Errorf("the run took %v: the timeout did not stop the held server", elapsed)
	}
	release()
	waitForNoPgusersSessions(t, clusters[1])
	if hasRole(t, clusters[1], "fleet-bot") {
		t.Errorf("the timed-out server was changed")
	}
	mustPlanEmpty(t, passwords(clusters[0]), "-f", file, "--server", "a", "--server", "c")
	// The held server, released, converges with one apply.
	applyConverged(t, passwords(clusters[0]), []string{"-f", file})
}

func TestInterruptMidApplyLeavesNothingHalfDone(t *testing.T) {
	c := pgtest.New(t)
	other := pgtest.New(t)
	release := holdWrites(t, c)
	file := fleetFile(t, t.TempDir(), []*pgtest.Cluster{other, c}, "fleet-bot")

	// Interrupt once pgusers is waiting on the held server mid-apply, as a
	// person pressing Ctrl-C would: after its first changes were sent.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		waitForBlockedPgusers(t, c)
		cancel()
	}()
	var out, errOut strings.Builder
	e := passwords(c)
	e.stdin, e.stdout, e.stderr = strings.NewReader(""), &out, &errOut
	// One server at a time: a has committed before b starts and blocks.
	code := runCommand(ctx, []string{"apply", "-f", file, "--auto-approve", "--output", "json", "--parallel", "1"}, e)
	t.Logf("stdout:\n%s\nstderr:\n%s", out.String(), errOut.String())
	if code != exitError {
		t.Fatalf("exit %d, want 1", code)
	}
	if diff := cmp.Diff([]string{"a applied", "b error"}, statuses(t, out.String())); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if !strings.Contains(out.String(), "interrupted; its transaction rolled back, nothing changed there") {
		t.Errorf("the interrupted server is not reported as such")
	}
	release()
	waitForNoPgusersSessions(t, c)
	if hasRole(t, c, "fleet-bot") {
		t.Errorf("the interrupted server was changed")
	}
	mustPlanEmpty(t, passwords(c), "-f", file, "--server", "a")
	applyConverged(t, passwords(c), []string{"-f", file})
}

func TestTransientDirectoryFailureIsRetried(t *testing.T) {
	c := pgtest.New(t)
	c.InjectDirectoryFault(t, "flaky-bot", 2)
	file := fleetFile(t, t.TempDir(), []*pgtest.Cluster{c}, "flaky-bot")
	r := applyConverged(t, passwords(c), []string{"-f", file}, "--log-level", "info")
	if got := strings.Count(r.stderr, "transient failure, retrying"); got != 2 {
		t.Errorf("%d retries logged, want 2", got)
	}
	if !hasRole(t, c, "flaky-bot") {
		t.Errorf("the principal was not created after the retries")
	}

	// A failure that outlasts the retries is reported, and nothing applied.
	c.InjectDirectoryFault(t, "flakier-bot", 10)
	file = fleetFile(t, t.TempDir(), []*pgtest.Cluster{c}, "flakier-bot")
	r = pgusers(t, passwords(c), "apply", "-f", file, "--auto-approve")
	wantCode(t, r, exitError)
	if !strings.Contains(r.stdout, "0LP01") {
		t.Errorf("the directory failure is not reported")
	}
	if hasRole(t, c, "flakier-bot") {
		t.Errorf("a failed apply changed the server")
	}
}
