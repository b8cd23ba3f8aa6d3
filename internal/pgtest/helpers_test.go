package pgtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// principal is a row of pgaadauth_list_principals, read by position.
type principal struct {
	Name, Type, ObjectID, TenantID string
	IsMFA, IsAdmin                 int32
}

func listPrincipals(t *testing.T, conn *pgx.Conn, adminsOnly bool) []principal {
	t.Helper()
	rows, _ := conn.Query(context.Background(), `SELECT * FROM pgaadauth_list_principals($1)`, adminsOnly)
	got, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (principal, error) {
		var p principal
		err := row.Scan(&p.Name, &p.Type, &p.ObjectID, &p.TenantID, &p.IsMFA, &p.IsAdmin)
		return p, err
	})
	if err != nil {
		t.Fatalf("list principals: %v", err)
	}
	sortPrincipals(got)
	return got
}

func sortPrincipals(ps []principal) {
	sort.Slice(ps, func(i, j int) bool { return ps[i].Name < ps[j].Name })
}

// adminPrincipal is how the administrator every cluster starts with lists.
var adminPrincipal = principal{AdminRole, "user", AdminObjectID, TenantID, 0, 1}

func connect(t *testing.T, config *pgx.ConnConfig) *pgx.Conn {
	t.Helper()
	conn, err := pgx.ConnectConfig(context.Background(), config)
	if err != nil {
		t.Fatalf("connect as %s: %v", config.User, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func adminConn(t *testing.T, c *Cluster) *pgx.Conn {
	t.Helper()
	return connect(t, c.AdminConfig(t))
}

// loginAs makes role able to sign in with password, and signs in.
func loginAs(t *testing.T, c *Cluster, role, password string) *pgx.Conn {
	t.Helper()
	if err := setPassword(context.Background(), c.SuperIn(t, "postgres"), role, password); err != nil {
		t.Fatal(err)
	}
	config := c.AdminConfig(t)
	config.User, config.Password = role, password
	return connect(t, config)
}

// pgErr renders an error as "SQLSTATE: message", or "" for nil, to compare
// in tables.
func pgErr(err error) string {
	if err == nil {
		return ""
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code + ": " + pe.Message
	}
	return fmt.Sprintf("not a PostgreSQL error: %v", err)
}

// localOnly skips a test about throwaway clusters themselves when
// PGUSERS_TEST_DSN points the tests at an existing server.
func localOnly(t testing.TB) {
	t.Helper()
	if os.Getenv(EnvTestDSN) != "" {
		t.Skipf("%s is set: this test is about throwaway clusters", EnvTestDSN)
	}
}

// createRole creates a role that is not a principal; it goes when the
// test ends, also from an existing server.
func createRole(t *testing.T, c *Cluster, name, options string) {
	t.Helper()
	id := pgx.Identifier{name}.Sanitize()
	c.SuperExec(t, "CREATE ROLE "+id+" "+options)
	t.Cleanup(func() { c.SuperExec(t, "DROP ROLE IF EXISTS "+id) })
}

func mustExec(t *testing.T, conn *pgx.Conn, sql string, args ...any) {
	t.Helper()
	if _, err := conn.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func queryBool(t *testing.T, conn *pgx.Conn, sql string, args ...any) bool {
	t.Helper()
	var b bool
	if err := conn.QueryRow(context.Background(), sql, args...).Scan(&b); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return b
}
