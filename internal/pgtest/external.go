package pgtest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
)

// EnvTestDSN names the environment variable that points the tests at an
// existing server instead of throwaway clusters: a superuser connection
// string. See the package documentation for what that cannot do.
const EnvTestDSN = "PGUSERS_TEST_DSN"

var errExternal = errors.New("pgtest: not possible on a server given by " + EnvTestDSN)

// externalLockKey is the advisory lock that lets one test at a time, across
// all test processes, use the existing server: roles are cluster-wide.
const externalLockKey = 0x70677573657273 // "pgusers"

// external is the existing server a Cluster stands for.
type external struct {
	config *pgx.ConnConfig // the superuser, database postgres
	lock   *pgx.Conn       // holds externalLockKey until release
	holder string          // the test that holds it
	once   sync.Once
}

// externalTurn lets one test of this process at a time hold the server.
var externalTurn = struct {
	sync.Mutex
	holder string        // name of the test holding it, "" if free
	free   chan struct{} // closed when the holder releases
}{}

// newExternal returns a Cluster for the existing server at dsn, installed
// and cleaned up for test t: the emulation, Azure's roles and the
// administrator are there, and no principal but the administrator is left.
func newExternal(t testing.TB, dsn string, opts Options) *Cluster {
	t.Helper()
	if !externalFits(opts) {
		t.Skipf("pgtest: %s names an existing server, which cannot be set up with %+v", EnvTestDSN, opts)
	}
	config, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatalf("pgtest: %s: %v", EnvTestDSN, err)
	}
	config.Database = "postgres" // the emulation lives there, as pgaadauth does on Azure
	waitExternalTurn(t)
	ext := &external{config: config, holder: t.Name()}
	c := &Cluster{Host: config.Host, Port: int(config.Port), Admin: AdminRole, AdminPassword: DefaultAdminPassword, ext: ext}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	ctx := context.Background()
	if ext.lock, err = pgx.ConnectConfig(ctx, config.Copy()); err != nil {
		t.Fatalf("pgtest: %s: %v", EnvTestDSN, err)
	}
	if _, err := ext.lock.Exec(ctx, `SELECT pg_advisory_lock($1)`, int64(externalLockKey)); err != nil {
		t.Fatalf("pgtest: %s: take the test lock: %v", EnvTestDSN, err)
	}
	if err := prepareExternal(ctx, ext.lock); err != nil {
		t.Fatalf("pgtest: %s: %v", EnvTestDSN, err)
	}
	return c
}

// externalFits reports whether an existing server can stand for a cluster
// set up with opts: it cannot take certificates, a port, settings or a
// way of signing in from a test.
func externalFits(opts Options) bool {
	return opts.TLSCertFile == "" && !opts.LogConnections && opts.Port == 0 && !opts.PlainPassword && !opts.GroupSync &&
		opts.MaxConnections == 0
}

// heldByAncestor reports whether the test named name, or a test it runs
// under, is holder.
func heldByAncestor(name, holder string) bool {
	return holder != "" && (name == holder || strings.HasPrefix(name, holder+"/"))
}

// waitExternalTurn waits until no other test of this process holds the
// existing server. A test that holds it already, itself or through a parent
// test, would wait for ever: it is skipped instead, since one existing
// server cannot stand for several.
func waitExternalTurn(t testing.TB) {
	t.Helper()
	for {
		externalTurn.Lock()
		holder, free := externalTurn.holder, externalTurn.free
		if holder == "" {
			externalTurn.holder, externalTurn.free = t.Name(), make(chan struct{})
			externalTurn.Unlock()
			return
		}
		externalTurn.Unlock()
		if heldByAncestor(t.Name(), holder) {
			t.Skipf("pgtest: this test needs a second server, and %s names only one", EnvTestDSN)
		}
		<-free
	}
}

func (e *external) release() error {
	var err error
	e.once.Do(func() {
		if e.lock != nil {
			err = e.lock.Close(context.Background())
		}
		externalTurn.Lock()
		if externalTurn.holder == e.holder {
			close(externalTurn.free)
			externalTurn.holder, externalTurn.free = "", nil
		}
		externalTurn.Unlock()
	})
	return err
}

func (e *external) adminConnString(c *Cluster) string {
	// The superuser's settings (TLS included) with the administrator's name.
	sslmode := "disable"
	if e.config.TLSConfig != nil {
		sslmode = "require"
	}
	return fmt.Sprintf("host=%s port=%d user=%s password=%s dbname=postgres sslmode=%s",
		quoteDSN(c.Host), c.Port, quoteDSN(c.Admin), quoteDSN(c.AdminPassword), sslmode)
}

// prepareExternal installs the emulation on an existing server if needed and
// removes what earlier tests left: every principal but the administrator,
// the directory but the administrator, every fault.
func prepareExternal(ctx context.Context, conn *pgx.Conn) error {
	var super, realAPI bool
	err := conn.QueryRow(ctx, `
		SELECT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user),
		       to_regprocedure('pg_catalog.pgaadauth_list_principals(boolean)') IS NOT NULL
		       AND to_regnamespace('pgaadauth_emul') IS NULL`).Scan(&super, &realAPI)
	if err != nil {
		return err
	}
	if !super {
		return errors.New("the connection string must name a superuser")
	}
	if realAPI {
		return errors.New("the server has a pgaadauth that is not this emulation (a real Azure server?); refusing to touch it")
	}
	if err := install(ctx, conn); err != nil {
		return err
	}
	// pgx.CollectRows reports an error of Query.
	rows, _ := conn.Query(ctx, `
		SELECT rolname::text FROM pg_catalog.pgaadauth_list_principals(false)
		WHERE rolname <> $1 ORDER BY rolname`, AdminRole)
	leftovers, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("list leftover principals: %w", err)
	}
	for _, role := range leftovers {
		id := pgx.Identifier{role}.Sanitize()
		if _, err := conn.Exec(ctx, "DROP OWNED BY "+id+"; DROP ROLE "+id); err != nil {
			return fmt.Errorf("drop the principal %s left by an earlier test: %w", role, err)
		}
	}
	if _, err := conn.Exec(ctx, `SELECT pgaadauth_emul.clear_faults()`); err != nil {
		return fmt.Errorf("clear directory faults: %w", err)
	}
	if _, err := conn.Exec(ctx, `DELETE FROM pgaadauth_emul.directory WHERE name <> $1`, AdminRole); err != nil {
		return fmt.Errorf("clear the directory: %w", err)
	}
	return nil
}
