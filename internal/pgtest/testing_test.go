package pgtest

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
)

// The superuser helpers reach a database other than postgres: what
// SuperExecIn creates there, SuperStrings and SuperIn read back there, and
// postgres does not have it.
func TestSuperHelpersInAnotherDatabase(t *testing.T) {
	c := New(t)
	c.CreateDatabase(t, "elsewhere", "")
	c.SuperExecIn(t, "elsewhere", `CREATE TABLE kept (name text)`, `INSERT INTO kept VALUES ('b'), ('a'), ('c')`)
	if diff := cmp.Diff([]string{"a", "b"}, c.SuperStrings(t, "elsewhere", `SELECT name FROM kept WHERE name <> $1 ORDER BY 1`, "c")); diff != "" {
		t.Errorf("rows read back (-want +got):\n%s", diff)
	}
	if got := c.SuperStrings(t, "postgres", `SELECT tablename::text FROM pg_tables WHERE tablename = 'kept'`); len(got) != 0 {
		t.Errorf("the table is in postgres too: %q", got)
	}
	var db string
	if err := c.SuperIn(t, "elsewhere").QueryRow(context.Background(), `SELECT current_database()`).Scan(&db); err != nil || db != "elsewhere" {
		t.Errorf("SuperIn is in database %q (err %v), want elsewhere", db, err)
	}
}

// With PlainPassword the server takes the password as it is, as Azure
// takes an Entra token, and still refuses a wrong one.
func TestPlainPassword(t *testing.T) {
	c := New(t, Options{PlainPassword: true})
	ctx := context.Background()
	conn, err := pgx.ConnectConfig(ctx, c.AdminConfig(t))
	if err != nil {
		t.Fatalf("sign in with the right password: %v", err)
	}
	conn.Close(ctx)
	cfg := c.AdminConfig(t)
	cfg.Password = "wrong"
	if conn, err := pgx.ConnectConfig(ctx, cfg); err == nil {
		conn.Close(ctx)
		t.Fatal("a wrong password was accepted")
	}
	if diff := cmp.Diff([]string{"password"}, c.SuperStrings(t, "postgres",
		`SELECT auth_method FROM pg_catalog.pg_hba_file_rules WHERE type = 'host'`)); diff != "" {
		t.Errorf("pg_hba host rules (-want +got):\n%s", diff)
	}
}

// CreateDatabase refuses the server's own databases rather than drop them.
func TestCreateDatabaseRefusesServerDatabases(t *testing.T) {
	c := New(t)
	for _, name := range []string{"postgres", "template0", "template1"} {
		ft := &fatalRecorder{TB: t}
		func() {
			defer func() { _ = recover() }()
			c.CreateDatabase(ft, name, "")
		}()
		if !ft.fatal {
			t.Errorf("CreateDatabase(%q) did not fail", name)
		}
	}
	if got := c.SuperStrings(t, "postgres", `SELECT datname::text FROM pg_database WHERE datname = 'postgres'`); len(got) != 1 {
		t.Errorf("database postgres: %q", got)
	}
}

// fatalRecorder notes a Fatalf instead of ending the test, which it does by
// panicking out of the call under test.
type fatalRecorder struct {
	testing.TB
	fatal bool
}

func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.fatal = true
	panic("fatal")
}
