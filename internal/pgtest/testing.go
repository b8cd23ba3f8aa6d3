package pgtest

import (
	"context"
	"errors"
	"os"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5"
)

// New starts a fresh cluster for t and stops it when t ends. Roles are
// cluster-wide, so a test that creates principals wants a cluster of its
// own; copying the process's template makes that cheap.
//
// With PGUSERS_TEST_DSN set, New returns the existing server instead (see
// the package documentation). When no PostgreSQL is installed, New fails the
// test in CI (CI=true) and skips it elsewhere.
func New(t testing.TB, opts ...Options) *Cluster {
	t.Helper()
	var o Options
	switch len(opts) {
	case 0:
	case 1:
		o = opts[0]
	default:
		t.Fatalf("pgtest.New: at most one Options, got %d", len(opts))
	}
	if dsn := os.Getenv(EnvTestDSN); dsn != "" {
		return newExternal(t, dsn, o)
	}
	c, err := Start(context.Background(), o)
	if err != nil {
		if skipWithoutPostgres(err, os.Getenv("CI")) {
			t.Skipf("%v (install PostgreSQL server binaries to run this test; in CI this fails)", err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("pgtest: the end of the server log of %s:\n%s", c.DataDir, c.logTail(40))
		}
		if err := c.Stop(); err != nil {
			t.Errorf("pgtest: stop the cluster: %v", err)
		}
	})
	return c
}

// skipWithoutPostgres tells whether err, from Start, may skip a test: only
// when PostgreSQL is not installed at all, and never in CI, where a missing
// server is a broken build.
func skipWithoutPostgres(err error, ci string) bool {
	inCI, _ := strconv.ParseBool(ci)
	return errors.Is(err, ErrNoPostgres) && !inCI
}

// Main runs the tests of a package, then removes the process's template.
// Use it from TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// Without it the template stays in the temporary directory until another
// test process removes it.
func Main(m *testing.M) {
	m.Run()
	_ = Shutdown()
	// Returning from TestMain exits with the code of m.Run.
}

// SuperExec runs sql as the superuser on the postgres database, and fails t
// on error.
func (c *Cluster) SuperExec(t testing.TB, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	conn, err := c.Super(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("pgtest: superuser: %s: %v", sql, err)
	}
}

// AdminConfig is the connection configuration of the Entra administrator:
// TCP to Host:Port as Admin with AdminPassword, database postgres, sslmode
// require on a TLS cluster and disable otherwise. Each call returns a new
// configuration, free to change (a DialFunc, a password).
func (c *Cluster) AdminConfig(t testing.TB) *pgx.ConnConfig {
	t.Helper()
	config, err := pgx.ParseConfig(c.AdminConnString())
	if err != nil {
		t.Fatalf("pgtest: admin configuration: %v", err)
	}
	return config
}
