package bench

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/pgusers/pgusers/internal/pgtest"
	"github.com/pgusers/pgusers/pkg/access"
	"github.com/pgusers/pgusers/pkg/connect"
	pgrun "github.com/pgusers/pgusers/pkg/run"
	"github.com/pgusers/pgusers/pkg/spec"
)

// BenchmarkAccess5x3x2000: the access review of the server of
// BenchmarkPrivileges5x3x2000 (5 databases × 3 schemas × 2,000 tables, 10
// roles granted on all of them), applied first. It reports the review's
// round trips after sign-in (one per database: the postgres database's
// with the shared catalog, then each other database, read at once), the time to compute and render the review in
// process, and the whole access command's wall time and peak memory,
// with --output json to a file.
func BenchmarkAccess5x3x2000(b *testing.B) {
	bin := buildPgusers(b)
	c, file := privilegeServer(b)
	runCommand(b, c, bin, "apply", "-f", file, "--auto-approve")
	d, err := spec.Load(context.Background(), []string{file})
	if err != nil {
		b.Fatal(err)
	}
	var worst run
	var walls, renders []float64
	for b.Loop() {
		rt, signIn, databases, render := accessRoundTrips(b, c, d.Servers)
		renders = append(renders, render.Seconds()*1000)
		w := runCommandTo(b, c, bin, filepath.Join(b.TempDir(), "review.json"), "access", "-f", file, "--output", "json")
		walls = append(walls, w.wall.Seconds()*1000)
		worst.wall = max(worst.wall, w.wall)
		worst.maxRSS = max(worst.maxRSS, w.maxRSS)
		b.ReportMetric(float64(rt-signIn), "access-roundtrips-after-sign-in")
		b.ReportMetric(float64(databases), "databases")
	}
	b.ReportMetric(median(renders), "compute-and-render-ms")
	b.ReportMetric(worst.wall.Seconds()*1000, "access-worst-ms")
	b.ReportMetric(median(walls), "access-median-ms")
	b.ReportMetric(float64(worst.maxRSS)/1024, "access-peak-MiB")
}

// accessRoundTrips reads servers for a review in-process, counting the
// round trips of every connection, and those of signing in alone (as many
// connections) to subtract; then computes and renders the review (text
// and JSON) and times that.
func accessRoundTrips(b *testing.B, c *pgtest.Cluster, servers []spec.Server) (total, signIn, databases int, render time.Duration) {
	b.Helper()
	ctx := context.Background()
	getenv := func(string) string { return c.AdminPassword }
	counter := &pgtest.RoundTripCounter{}
	opts := connect.Options{Getenv: getenv, Credentials: connect.NewCredentials(getenv), DialFunc: counter.Dial(nil)}
	cfg := pgrun.Config{Parallel: 1, Timeout: time.Minute, Connect: opts, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	reads := pgrun.ReadAccess(ctx, servers, nil, cfg)
	if reads[0].Err != nil {
		b.Fatal(reads[0].Err)
	}
	total = counter.Count()
	for _, db := range reads[0].Read.Databases {
		if db.Read {
			databases++
		}
	}
	// One connection to the postgres database, which it also reviews, and
	// one to each other database.
	signIn = signInRoundTrips(b, ctx, servers[0], opts, counter, databases)

	start := time.Now()
	doc := access.Document{Version: access.FormatVersion, Servers: []access.ServerReview{
		{Name: servers[0].Name, Review: access.Compute(servers[0], &reads[0].Read, access.Options{})}}}
	if err := access.WriteJSON(io.Discard, doc); err != nil {
		b.Fatal(err)
	}
	if err := access.Text(io.Discard, doc, false); err != nil {
		b.Fatal(err)
	}
	return total, signIn, databases, time.Since(start)
}

// BenchmarkAccessFleet200 reviews a fleet of 200 server entries (ports of
// a proxy before PgBouncer and one cluster, as BenchmarkFleet1000 sets
// them up) at --parallel 50, through the proxy adding 20 ms to every round
// trip and adding nothing, side by side: the delay should cost the review
// what it costs plan, the latency hidden by the parallel servers.
func BenchmarkAccessFleet200(b *testing.B) {
	const servers, oneWay, parallel = 200, 10 * time.Millisecond, 50
	bin := buildPgusers(b)
	c, files := delayedFleet(b, servers, oneWay, 120, 100)
	review := func(file string) run {
		return runCommandTo(b, c, bin, filepath.Join(b.TempDir(), "review.json"),
			"access", "-f", file, "--parallel", strconv.Itoa(parallel), "--output", "json")
	}
	review(files["no-delay"]) // warm PgBouncer
	var near, far, planNear, planFar []run
	for b.Loop() {
		near = append(near, review(files["no-delay"]))
		far = append(far, review(files["20ms"]))
		planNear = append(planNear, fleetPlan(b, c, bin, files["no-delay"], parallel))
		planFar = append(planFar, fleetPlan(b, c, bin, files["20ms"], parallel))
	}
	n, f := medianRun(near), medianRun(far)
	pn, pf := medianRun(planNear), medianRun(planFar)
	b.ReportMetric(float64(n.wall.Milliseconds()), "access-no-delay-ms")
	b.ReportMetric(float64(f.wall.Milliseconds()), "access-20ms-delay-ms")
	b.ReportMetric(f.wall.Seconds()/n.wall.Seconds(), "access-delayed/undelayed")
	b.ReportMetric(pf.wall.Seconds()/pn.wall.Seconds(), "plan-delayed/undelayed")
	b.ReportMetric(float64(max(n.maxRSS, f.maxRSS))/1024, "access-peak-MiB")
}
