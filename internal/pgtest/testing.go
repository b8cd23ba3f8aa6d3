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
	conn := c.superIn(t, "postgres")
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("pgtest: superuser: %s: %v", sql, err)
	}
}

// CreateDatabase creates database name as the superuser, owned by owner
// ("" leaves it to the superuser), from template1: like every database of
// the cluster, its schema public is owned by azure_pg_admin, as on Azure.
// The database is dropped when t ends (WITH (FORCE): sessions left in it
// are ended), so that roles the test created can be dropped after it; on an
// existing server (PGUSERS_TEST_DSN) one of that name left by an earlier
// test is dropped first.
func (c *Cluster) CreateDatabase(t testing.TB, name, owner string) {
	t.Helper()
	switch name {
	case "postgres", "template0", "template1":
		t.Fatalf("pgtest: CreateDatabase: %s is one of the server's own databases", name)
	}
	id := pgx.Identifier{name}.Sanitize()
	stmt := "CREATE DATABASE " + id
	if owner != "" {
		stmt += " OWNER " + pgx.Identifier{owner}.Sanitize()
	}
	if c.ext != nil {
		c.SuperExec(t, "DROP DATABASE IF EXISTS "+id+" WITH (FORCE)")
	}
	c.SuperExec(t, stmt)
	t.Cleanup(func() { c.SuperExec(t, "DROP DATABASE IF EXISTS "+id+" WITH (FORCE)") })
}

// SuperIn connects as the superuser to database db, for a test that works
// on objects that live in one database (tables, their owners and grants),
// which SuperExec, always in postgres, does not reach. The connection
// closes when t ends, so a test can hold it across its steps.
func (c *Cluster) SuperIn(t testing.TB, db string) *pgx.Conn {
	t.Helper()
	conn := c.superIn(t, db)
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// SuperExecIn runs each statement in order as the superuser in database db,
// to set a database up (a table, an owner, a grant) before the code under
// test runs. Its connection closes before it returns, so that set-up keeps
// no session open while the code under test runs.
func (c *Cluster) SuperExecIn(t testing.TB, db string, sql ...string) {
	t.Helper()
	ctx := context.Background()
	conn := c.superIn(t, db)
	defer conn.Close(ctx)
	for _, s := range sql {
		if _, err := conn.Exec(ctx, s); err != nil {
			t.Fatalf("pgtest: superuser in %s: %s: %v", db, s, err)
		}
	}
}

// SuperStrings returns the first column of each row of sql, run as the
// superuser in database db: what a test compares with cmp.Diff to check
// the server's state behind the back of the code under test. Like
// SuperExecIn it closes its connection before it returns.
func (c *Cluster) SuperStrings(t testing.TB, db, sql string, args ...any) []string {
	t.Helper()
	ctx := context.Background()
	conn := c.superIn(t, db)
	defer conn.Close(ctx)
	rows, _ := conn.Query(ctx, sql, args...) // CollectRows reports its error
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("pgtest: superuser in %s: %s: %v", db, sql, err)
	}
	return out
}

// superIn connects as the superuser to database db; the caller closes it.
func (c *Cluster) superIn(t testing.TB, db string) *pgx.Conn {
	t.Helper()
	config, err := c.SuperConfig()
	if err != nil {
		t.Fatal(err)
	}
	config.Database = db
	conn, err := pgx.ConnectConfig(context.Background(), config)
	if err != nil {
		t.Fatalf("pgtest: connect as the superuser to %s: %v", db, err)
	}
	return conn
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
