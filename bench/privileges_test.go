package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pgusers/pgusers/internal/pgtest"
	"github.com/pgusers/pgusers/pkg/connect"
	"github.com/pgusers/pgusers/pkg/report"
	pgrun "github.com/pgusers/pgusers/pkg/run"
	"github.com/pgusers/pgusers/pkg/spec"
)

const (
	privDatabases = 5
	privSchemas   = 3
	privTables    = 2000
	privRoles     = 10 // × 5 databases: 50 grant entries
)

// privilegeServer is a server with 5 databases of 3 schemas of 2,000
// tables each, all owned by app_owner, and a file of 50 grant entries (10
// roles, each granted in every database on every schema, with defaultsFor).
func privilegeServer(b *testing.B, opts ...pgtest.Options) (*pgtest.Cluster, string) {
	b.Helper()
	c := pgtest.New(b, opts...)
	c.SuperExec(b, `CREATE ROLE app_owner NOLOGIN`)
	// The first database is built once, the others copied from it.
	c.CreateDatabase(b, "db1", "app_owner")
	var setup []string
	setup = append(setup, `GRANT CREATE ON SCHEMA public TO app_owner`)
	for s := 1; s <= privSchemas; s++ {
		setup = append(setup, fmt.Sprintf(`CREATE SCHEMA s%d AUTHORIZATION app_owner`, s),
			fmt.Sprintf(`DO $$ BEGIN FOR i IN 1..%d LOOP EXECUTE format('CREATE TABLE s%d.t%%s (id int)', i); END LOOP; END $$`, privTables, s),
			fmt.Sprintf(`DO $$ DECLARE t regclass; BEGIN FOR t IN SELECT c.oid FROM pg_class c WHERE c.relnamespace = 's%d'::regnamespace LOOP
			   EXECUTE format('ALTER TABLE %%s OWNER TO app_owner', t); END LOOP; END $$`, s))
	}
	c.SuperExecIn(b, "db1", setup...)
	for d := 2; d <= privDatabases; d++ {
		c.SuperExec(b, fmt.Sprintf(`CREATE DATABASE db%d TEMPLATE db1 OWNER app_owner`, d))
		b.Cleanup(func() { c.SuperExec(b, fmt.Sprintf(`DROP DATABASE IF EXISTS db%d WITH (FORCE)`, d)) })
	}
	return c, privilegeFile(b, c, c.Host, c.Port)
}

// privilegeFile is the file of privilegeServer, for the server at host
// and port (the cluster c, or a proxy before it).
func privilegeFile(b *testing.B, c *pgtest.Cluster, host string, port int) string {
	b.Helper()
	var roles []string
	for i := range privRoles {
		roles = append(roles, fmt.Sprintf("role_%02d", i))
	}
	var y strings.Builder
	fmt.Fprintf(&y, "version: 1\nservers:\n  - name: bench\n    host: %s\n    port: %d\n    user: %q\n    auth: password\n    sslmode: disable\n    roles:\n",
		host, port, c.Admin)
	for _, r := range roles {
		fmt.Fprintf(&y, "      - {name: %s}\n", r)
	}
	y.WriteString("    grants:\n")
	for i, r := range roles {
		profile := "readonly"
		if i%2 == 1 {
			profile = "readwrite"
		}
		for d := 1; d <= privDatabases; d++ {
			fmt.Fprintf(&y, "      - {to: %s, databases: [db%d], schemas: [s1, s2, s3], profile: %s, defaultsFor: [app_owner]}\n", r, d, profile)
		}
	}
	p := filepath.Join(b.TempDir(), "pgusers.yaml")
	if err := os.WriteFile(p, []byte(y.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkPrivileges5x3x2000: a server of 5 databases × 3 schemas × 2,000
// tables and 50 grant entries. It reports the first apply's statements
// (they must not grow with the tables: one per cell and direction) and
// time, then the no-op plan's round trips after sign-in (the postgres
// database, then one per database, read at once), and the whole plan
// command's wall time and peak memory.
func BenchmarkPrivileges5x3x2000(b *testing.B) {
	bin := buildPgusers(b)
	c, file := privilegeServer(b)

	out := filepath.Join(b.TempDir(), "apply.json")
	start := time.Now()
	runCommandTo(b, c, bin, out, "apply", "-f", file, "--auto-approve", "--output", "json")
	applyWall := time.Since(start)
	data, err := os.ReadFile(out)
	if err != nil {
		b.Fatal(err)
	}
	var r report.Report
	if err := json.Unmarshal(data, &r); err != nil {
		b.Fatalf("apply's JSON: %v", err)
	}
	statements := 0
	for _, s := range r.Servers {
		for _, ch := range s.Changes {
			statements += len(ch.SQL)
		}
	}

	d, err := spec.Load(context.Background(), []string{file})
	if err != nil {
		b.Fatal(err)
	}
	var worst run
	var walls []float64
	for b.Loop() {
		rt, signIn := planRoundTrips(b, c, d.Servers)
		w := runCommand(b, c, bin, "plan", "-f", file, "--detailed-exitcode")
		walls = append(walls, w.wall.Seconds()*1000)
		worst.wall = max(worst.wall, w.wall)
		worst.maxRSS = max(worst.maxRSS, w.maxRSS)
		b.ReportMetric(float64(rt-signIn), "plan-roundtrips-after-sign-in")
	}
	// After the timed plans, so that none of them is warmed by it.
	mustPlanEmpty(b, c, bin, file)
	b.ReportMetric(float64(statements), "first-apply-statements")
	b.ReportMetric(float64(len(r.Servers[0].Changes)), "first-apply-changes")
	b.ReportMetric(applyWall.Seconds()*1000, "first-apply-ms")
	b.ReportMetric(worst.wall.Seconds()*1000, "plan-worst-ms")
	b.ReportMetric(median(walls), "plan-median-ms")
	b.ReportMetric(float64(worst.maxRSS)/1024, "plan-peak-MiB")
}

// planRoundTrips plans servers in-process and counts the round trips of
// every connection the plan makes, and those of signing in alone (as many
// connections, each opened and closed), to subtract.
func planRoundTrips(b *testing.B, c *pgtest.Cluster, servers []spec.Server) (total, signIn int) {
	b.Helper()
	ctx := context.Background()
	getenv := func(string) string { return c.AdminPassword }
	counter := &pgtest.RoundTripCounter{}
	opts := connect.Options{Getenv: getenv, Credentials: connect.NewCredentials(getenv), DialFunc: counter.Dial(nil)}
	cfg := pgrun.Config{Parallel: 1, Timeout: time.Minute, Connect: opts, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	targets := pgrun.Plan(ctx, servers, cfg, nil, false)
	if targets[0].Err != nil {
		b.Fatal(targets[0].Err)
	}
	if !targets[0].Plan.InSync() {
		b.Fatalf("the server is not in sync after apply: %d changes", len(targets[0].Plan.Changes))
	}
	total = counter.Count()
	connections := 1
	for _, sc := range targets[0].Asked.Scopes {
		if sc.ReadsObjects() && sc.Database != targets[0].Observed.Database {
			connections++
		}
	}
	return total, signInRoundTrips(b, ctx, servers[0], opts, counter, connections)
}

// signInRoundTrips counts the round trips of n sign-ins to server, on
// counter, which opts dials through: what a command's round trips include
// besides its reads, one sign-in per connection.
func signInRoundTrips(b *testing.B, ctx context.Context, server spec.Server, opts connect.Options, counter *pgtest.RoundTripCounter, n int) int {
	b.Helper()
	counter.Reset()
	for range n {
		conn, err := connect.Open(ctx, server, opts)
		if err != nil {
			b.Fatal(err)
		}
		conn.Close(ctx)
	}
	return counter.Count()
}
