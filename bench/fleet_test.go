package bench

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pgusers/pgusers/internal/pgtest"
)

// BenchmarkFleet1000 plans a fleet of 1,000 server entries at --parallel
// 50 and 200, each entry on a port of its own of a proxy before one
// cluster, side by side in one run: through a proxy that adds 20 ms to
// every round trip, and through the same proxy adding nothing. PgBouncer
// (session pooling, connections kept warm by a first run) sits between the
// proxy and the cluster, so that a sign-in does not wait for this machine's
// slow backend start-up (~26 ms, one at a time), which no client can hide.
//
// Every server includes the same 20 principals, in sync, and signs in with
// a password from the environment, as an Entra token is taken (auth_type
// plain). Targets: the delay adds at most 20% to the wall time; the
// client's CPU per server at most 1 ms; peak memory reported.
func BenchmarkFleet1000(b *testing.B) {
	const servers, oneWay = 1000, 10 * time.Millisecond
	bin := buildPgusers(b)
	c, files := delayedFleet(b, servers, oneWay, 260, 220)
	// Warm PgBouncer: open the server connections the widest run uses.
	fleetPlan(b, c, bin, files["no-delay"], 200)
	for _, parallel := range []int{50, 200} {
		b.Run(fmt.Sprintf("parallel=%d", parallel), func(b *testing.B) {
			var near, far []run
			for b.Loop() {
				near = append(near, fleetPlan(b, c, bin, files["no-delay"], parallel))
				far = append(far, fleetPlan(b, c, bin, files["20ms"], parallel))
			}
			n, f := medianRun(near), medianRun(far)
			b.ReportMetric(float64(n.wall.Milliseconds()), "no-delay-ms")
			b.ReportMetric(float64(f.wall.Milliseconds()), "20ms-delay-ms")
			b.ReportMetric(f.wall.Seconds()/n.wall.Seconds(), "delayed/undelayed")
			b.ReportMetric(float64(f.cpu.Microseconds())/servers/1000, "client-cpu-ms/server")
			b.ReportMetric(float64(max(n.maxRSS, f.maxRSS))/1024, "peak-MiB")
		})
	}
}

// fleetFile declares servers entries, the i-th on the proxy's i-th port,
// each including the 20 principals seed made.
func fleetFile(b *testing.B, c *pgtest.Cluster, servers int, proxy *pgtest.DelayProxy) string {
	b.Helper()
	var y strings.Builder
	fmt.Fprintf(&y, "version: 1\ndefaults:\n  user: %q\n  auth: password\n  sslmode: disable\n", c.Admin)
	y.WriteString("principalSets:\n  platform:\n")
	for i := range 20 {
		fmt.Fprintf(&y, "    - {name: %s, type: service, objectId: %s}\n", name(i), pgtest.ObjectID(name(i)))
	}
	y.WriteString("servers:\n")
	for i := range servers {
		fmt.Fprintf(&y, "  - {name: pg-%04d, host: 127.0.0.1, port: %d, include: [platform]}\n", i, proxy.Port(i))
	}
	p := filepath.Join(b.TempDir(), "fleet.yaml")
	if err := os.WriteFile(p, []byte(y.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	return p
}

// fleetPlan runs pgusers plan of the fleet in file, which must be in sync.
func fleetPlan(b *testing.B, c *pgtest.Cluster, bin, file string, parallel int) run {
	b.Helper()
	return runCommandTo(b, c, bin, filepath.Join(b.TempDir(), "plan.json"),
		"plan", "-f", file, "--parallel", strconv.Itoa(parallel), "--detailed-exitcode", "--output", "json")
}

// medianRun is the run of median wall time (its CPU and memory with it).
func medianRun(runs []run) run {
	sorted := slices.Clone(runs)
	slices.SortFunc(sorted, func(a, b run) int { return int(a.wall - b.wall) })
	return sorted[len(sorted)/2]
}

// delayedFleet is one cluster seeded with 20 principals behind PgBouncer
// (pool of pool connections, the cluster taking maxConnections), and two
// files of servers entries for it: "no-delay" through a proxy that adds
// nothing, "20ms" through one that adds oneWay each way.
func delayedFleet(b *testing.B, servers int, oneWay time.Duration, maxConnections, pool int) (*pgtest.Cluster, map[string]string) {
	b.Helper()
	c := pgtest.New(b, pgtest.Options{PlainPassword: true, MaxConnections: maxConnections})
	seed(b, c, 20)
	bouncer := c.StartPgBouncer(b, pool)
	target := net.JoinHostPort("127.0.0.1", strconv.Itoa(bouncer.Port))
	files := map[string]string{}
	for name, delay := range map[string]time.Duration{"no-delay": 0, "20ms": oneWay} {
		proxy := pgtest.StartDelayProxy(b, target, delay, servers)
		files[name] = fleetFile(b, c, servers, proxy)
	}
	return c, files
}
