package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgusers/pgusers/internal/pgtest"
	"github.com/pgusers/pgusers/pkg/apply"
	"github.com/pgusers/pgusers/pkg/connect"
	"github.com/pgusers/pgusers/pkg/diff"
	"github.com/pgusers/pgusers/pkg/inspect"
	"github.com/pgusers/pgusers/pkg/spec"
)

const principals = 10000

// buildPgusers builds the command once per benchmark binary.
func buildPgusers(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "pgusers")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/pgusers/pgusers/cmd/pgusers")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		b.Fatal(err)
	}
	return bin
}

func name(i int) string { return fmt.Sprintf("svc-%05d", i) }

// desiredFile writes a file declaring n service principals by object id on
// the cluster.
func desiredFile(b *testing.B, c *pgtest.Cluster, n int) string {
	b.Helper()
	var y strings.Builder
	fmt.Fprintf(&y, "version: 1\nservers:\n  - name: bench\n    host: %s\n    port: %d\n    user: %q\n    auth: password\n    sslmode: disable\n    principals:\n",
		c.Host, c.Port, c.Admin)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&y, "      - {name: %s, type: service, objectId: %s}\n", name(i), pgtest.ObjectID(name(i)))
	}
	p := filepath.Join(b.TempDir(), "pgusers.yaml")
	if err := os.WriteFile(p, []byte(y.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	return p
}

// createSQL is what a person would replay with psql: one create a line.
func createSQL(b *testing.B, n int) string {
	b.Helper()
	var s strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&s, "SELECT pg_catalog.pgaadauth_create_principal_with_oid('%s', '%s', 'service', false, false);\n", name(i), pgtest.ObjectID(name(i)))
	}
	p := filepath.Join(b.TempDir(), "create.sql")
	if err := os.WriteFile(p, []byte(s.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	return p
}

type run struct {
	wall   time.Duration
	cpu    time.Duration // user and system, the command's own
	maxRSS int64         // KiB, the command's own
}

func runCommand(b *testing.B, c *pgtest.Cluster, bin string, args ...string) run {
	b.Helper()
	return runCommandTo(b, c, bin, filepath.Join(b.TempDir(), "out"), args...)
}

// gnuTime is GNU time, which measures a command's peak memory. The peak
// the wait status reports for a child of this process is not the child's:
// Go starts children with vfork, and Linux carries the memory high-water
// mark of the process image that calls exec (this benchmark's, shared)
// into the new one. GNU time forks a copy of itself, a few hundred KiB.
func gnuTime(b *testing.B) string {
	b.Helper()
	if _, err := os.Stat("/usr/bin/time"); err != nil {
		b.Fatal("GNU time (/usr/bin/time) measures the peak memory of a command: install it (Debian: apt-get install time)")
	}
	return "/usr/bin/time"
}

// mustPlanEmpty plans file on c with --detailed-exitcode after an apply,
// outside the timed part: runCommand fails b unless every server is in
// sync, so that no benchmark measures an apply that does not converge.
func mustPlanEmpty(b *testing.B, c *pgtest.Cluster, bin, file string) {
	b.Helper()
	runCommand(b, c, bin, "plan", "-f", file, "--detailed-exitcode")
}

// runCommandTo is runCommand with the command's output in file out.
func runCommandTo(b *testing.B, c *pgtest.Cluster, bin, outPath string, args ...string) run {
	b.Helper()
	rssPath := outPath + ".maxrss"
	cmd := exec.Command(gnuTime(b), append([]string{"-f", "%M", "-o", rssPath, bin}, args...)...)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+c.AdminPassword)
	// Output goes to a file, as in a CI job that keeps the JSON
	// (pgusers apply --output json > apply.json), and as psql's goes to
	// /dev/null: not into this process's memory, whose growth would be
	// timed too.
	out, err := os.Create(outPath)
	if err != nil {
		b.Fatal(err)
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	start := time.Now()
	err = cmd.Run()
	wall := time.Since(start)
	if err != nil {
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 0 {
			text, _ := os.ReadFile(out.Name())
			b.Fatalf("%s %v: %v\n%s", bin, args, err, lastLines(string(text), 20))
		}
	}
	rss, err := os.ReadFile(rssPath)
	if err != nil {
		b.Fatal(err)
	}
	// The last word: a failing command's status comes first.
	fields := strings.Fields(string(rss))
	if len(fields) == 0 {
		b.Fatalf("GNU time wrote nothing to %s", rssPath)
	}
	kib, err := strconv.ParseInt(fields[len(fields)-1], 10, 64)
	if err != nil {
		b.Fatalf("GNU time wrote %q: %v", rss, err)
	}
	// The wait status counts the children time waited for: the command's
	// CPU, and time's own, a fraction of a millisecond.
	ps := cmd.ProcessState
	return run{wall: wall, cpu: ps.UserTime() + ps.SystemTime(), maxRSS: kib}
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func psqlPath(b *testing.B) string {
	b.Helper()
	for _, p := range []string{"/usr/lib/postgresql/15/bin/psql", "/usr/bin/psql"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	p, err := exec.LookPath("psql")
	if err != nil {
		b.Fatal("psql not found")
	}
	return p
}

// BenchmarkCreate10k: pgusers apply creating 10,000 principals against
// psql -1 -f replaying the same creates, each on a fresh cluster.
// Target: pgusers at most half psql's time.
func BenchmarkCreate10k(b *testing.B) {
	bin := buildPgusers(b)
	psql := psqlPath(b)
	sqlFile := createSQL(b, principals)
	for b.Loop() {
		// One cluster at a time: a cluster left running after 10,000
		// creates runs autovacuum, which would take a core from the next
		// measurement on a small machine.
		c1 := pgtest.New(b)
		file := desiredFile(b, c1, principals)
		pg := runCommand(b, c1, bin, "apply", "-f", file, "--auto-approve", "--output", "json")
		mustPlanEmpty(b, c1, bin, file)
		c1.Stop()

		c2 := pgtest.New(b)
		ps := runCommand(b, c2, psql, "-X", "-q", "-1", "-v", "ON_ERROR_STOP=1", "-o", "/dev/null",
			"-h", c2.Host, "-p", fmt.Sprint(c2.Port), "-U", c2.Admin, "-d", "postgres", "-f", sqlFile)
		c2.Stop()

		// The apply step alone, in-process: what replaces psql's replay once
		// the plan is made (begin, lock and re-read, the pipeline, commit).
		c3 := pgtest.New(b)
		file3 := desiredFile(b, c3, principals)
		applyOnly := timeApply(b, c3, file3)
		mustPlanEmpty(b, c3, bin, file3)
		c3.Stop()

		b.ReportMetric(pg.wall.Seconds()*1000, "pgusers-ms")
		b.ReportMetric(float64(pg.maxRSS)/1024, "pgusers-peak-MiB")
		b.ReportMetric(applyOnly.Seconds()*1000, "apply-step-ms")
		b.ReportMetric(applyOnly.Seconds()/ps.wall.Seconds(), "apply-step/psql")
		b.ReportMetric(ps.wall.Seconds()*1000, "psql-ms")
		b.ReportMetric(pg.wall.Seconds()/ps.wall.Seconds(), "pgusers/psql")
	}
}

// seed creates n principals on c directly (superuser, one statement).
func seed(b *testing.B, c *pgtest.Cluster, n int) {
	b.Helper()
	names := make([]string, n)
	oids := make([]string, n)
	for i := range names {
		names[i], oids[i] = name(i), pgtest.ObjectID(name(i))
	}
	c.SuperExec(b, `SELECT pg_catalog.pgaadauth_create_principal_with_oid(n, o, 'service', false, false)
		FROM unnest($1::text[], $2::text[]) AS u(n, o)`, names, oids)
}

// BenchmarkPlanInSync10k: the whole pgusers plan command (process start,
// sign-in, read, diff, render) on a server of 10,000 principals that is in
// sync. Targets: under 150 ms and 64 MiB peak memory.
func BenchmarkPlanInSync10k(b *testing.B) {
	bin := buildPgusers(b)
	c := pgtest.New(b)
	seed(b, c, principals)
	file := desiredFile(b, c, principals)
	runCommand(b, c, bin, "plan", "-f", file) // warm the server's caches
	var worst run
	for b.Loop() {
		r := runCommand(b, c, bin, "plan", "-f", file, "--detailed-exitcode")
		worst.wall = max(worst.wall, r.wall)
		worst.maxRSS = max(worst.maxRSS, r.maxRSS)
	}
	b.ReportMetric(worst.wall.Seconds()*1000, "worst-ms")
	b.ReportMetric(float64(worst.maxRSS)/1024, "peak-MiB")
}

// BenchmarkRoundTrips counts the client round trips after sign-in of a
// plan of an in-sync server and of an apply, whatever their size.
func BenchmarkRoundTrips(b *testing.B) {
	for _, n := range []int{10, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for b.Loop() {
				c := pgtest.New(b)
				ctx := context.Background()
				s := spec.Server{Name: "bench",
					Connection: spec.Connection{Host: c.Host, Port: c.Port, Database: "postgres", User: c.Admin, Auth: spec.AuthPassword, SSLMode: "disable"}, MaxDrops: 5}
				for i := 0; i < n; i++ {
					s.Principals = append(s.Principals, spec.Principal{Name: name(i), Type: spec.Service, ObjectID: pgtest.ObjectID(name(i))})
				}
				rt := &pgtest.RoundTripCounter{}
				conn, err := connect.Open(ctx, s, connect.Options{
					Getenv:   func(string) string { return c.AdminPassword },
					DialFunc: rt.Dial(nil),
				})
				if err != nil {
					b.Fatal(err)
				}
				rt.Reset()
				job := planJob(b, conn, s)
				planRT := rt.Count()
				rt.Reset()
				if err := apply.Apply(ctx, conn, job); err != nil {
					b.Fatal(err)
				}
				applyRT := rt.Count()
				rt.Reset()
				if _, err := inspect.Inspect(ctx, conn, job.Asked); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(planRT), "plan-roundtrips")
				b.ReportMetric(float64(applyRT), "apply-roundtrips")
				b.ReportMetric(float64(rt.Count()), "insync-plan-roundtrips")
				conn.Close(ctx)
				c.Stop()
			}
		})
	}
}

// planJob reads the server on conn and plans s for it, as plan does.
func planJob(b *testing.B, conn *pgx.Conn, s spec.Server) apply.Job {
	b.Helper()
	asked := inspect.Ask(s)
	o, err := inspect.Inspect(context.Background(), conn, asked)
	if err != nil {
		b.Fatal(err)
	}
	p, err := diff.Compute(s, o)
	if err != nil {
		b.Fatal(err)
	}
	return apply.Job{Plan: p, Observed: o, Asked: asked}
}

// timeApply plans file against c in-process and times apply.Apply alone.
func timeApply(b *testing.B, c *pgtest.Cluster, file string) time.Duration {
	b.Helper()
	ctx := context.Background()
	d, err := spec.Load(context.Background(), []string{file})
	if err != nil {
		b.Fatal(err)
	}
	conn, err := connect.Open(ctx, d.Servers[0], connect.Options{Getenv: func(string) string { return c.AdminPassword }})
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	job := planJob(b, conn, d.Servers[0])
	start := time.Now()
	if err := apply.Apply(ctx, conn, job); err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}

// BenchmarkVersusBaseline times this pgusers against another build of it,
// side by side on the same machine and clusters, alternating run by run
// so that a noisy host weighs on both alike: the no-op plan of a server of
// 10,000 principals, and the apply that creates them on a fresh cluster.
// PGUSERS_BENCH_BASELINE names the other binary (build one from an older
// commit with go build -o); without it, the build is compared with itself,
// which shows the noise alone. PGUSERS_BENCH_CURRENT, when set, is used
// instead of this checkout's build: two experiments side by side.
func BenchmarkVersusBaseline(b *testing.B) {
	bins := builds(b)
	current := bins["current"]
	if _, ok := bins["baseline"]; !ok {
		bins["baseline"] = current
	}
	order := []string{"baseline", "current"}

	c := pgtest.New(b)
	seed(b, c, principals)
	file := desiredFile(b, c, principals)
	runCommand(b, c, current, "plan", "-f", file) // warm the server's caches
	plan := map[string][]float64{}
	create := map[string][]float64{}
	for b.Loop() {
		for _, who := range order {
			r := runCommand(b, c, bins[who], "plan", "-f", file, "--detailed-exitcode")
			plan[who] = append(plan[who], r.wall.Seconds()*1000)
		}
		for _, who := range order {
			fresh := pgtest.New(b)
			freshFile := desiredFile(b, fresh, principals)
			r := runCommand(b, fresh, bins[who], "apply", "-f", freshFile, "--auto-approve", "--output", "json")
			mustPlanEmpty(b, fresh, bins[who], freshFile)
			fresh.Stop()
			create[who] = append(create[who], r.wall.Seconds()*1000)
		}
		order[0], order[1] = order[1], order[0]
	}
	for _, who := range []string{"baseline", "current"} {
		b.ReportMetric(median(plan[who]), who+"-plan-ms")
		b.ReportMetric(median(create[who]), who+"-create-ms")
	}
	b.ReportMetric(median(plan["current"])/median(plan["baseline"]), "plan-current/baseline")
	b.ReportMetric(median(create["current"])/median(create["baseline"]), "create-current/baseline")
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
