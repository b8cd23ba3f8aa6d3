package pgtest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// PGUSERS_TEST_DSN: an existing server is installed and cleaned for each
// test, one test at a time.
func TestExistingServer(t *testing.T) {
	localOnly(t)
	c := New(t)
	ctx := context.Background()
	c.SuperExec(t, `ALTER ROLE postgres PASSWORD 'super-secret'`)
	dsn := fmt.Sprintf("host=127.0.0.1 port=%d user=postgres password=super-secret dbname=postgres sslmode=disable", c.Port)

	// What an earlier test left behind.
	c.AddDirectoryObject(t, "left@contoso.com", "user", "")
	admin := adminConn(t, c)
	mustExec(t, admin, `SELECT pgaadauth_create_principal('left@contoso.com', false, false)`)
	mustExec(t, admin, `SELECT pgaadauth_create_principal_with_oid('Left Admins', 'oid-2', 'group', true, false)`)
	c.SuperExec(t, `CREATE TABLE owned_by_left (); ALTER TABLE owned_by_left OWNER TO "left@contoso.com"`)
	c.InjectDirectoryFault(t, "left@contoso.com", 3)
	if err := c.SetAdminPassword(ctx, "some other token"); err != nil {
		t.Fatal(err)
	}

	t.Run("first test", func(t *testing.T) {
		e := newExternal(t, dsn, Options{})
		if e.Host != "127.0.0.1" || e.Port != c.Port || e.DataDir != "" || e.AdminPassword != DefaultAdminPassword {
			t.Errorf("cluster: %+v", e)
		}
		if diff := cmp.Diff([]principal{adminPrincipal}, listPrincipals(t, adminConn(t, e), false)); diff != "" {
			t.Errorf("principals left (-want +got):\n%s", diff)
		}
		super := e.SuperIn(t, "postgres")
		if queryBool(t, super, `SELECT EXISTS (SELECT FROM pgaadauth_emul.faults)
			OR (SELECT count(*) FROM pgaadauth_emul.directory) <> 1`) {
			t.Error("faults or directory objects are left")
		}
		if _, err := e.Log(); !errors.Is(err, errExternal) {
			t.Errorf("Log: %v, want errExternal", err)
		}
		if err := e.StopServer(); !errors.Is(err, errExternal) {
			t.Errorf("StopServer: %v, want errExternal", err)
		}
		// What an existing server cannot stand for is refused (the test
		// asking for it is skipped), not faked.
		for _, opts := range []Options{{LogConnections: true}, {GroupSync: true}, {MaxConnections: 200}} {
			if externalFits(opts) {
				t.Errorf("an existing server stands for a cluster with %+v", opts)
			}
		}
		externalTurn.Lock()
		holder := externalTurn.holder
		externalTurn.Unlock()
		if !heldByAncestor(t.Name()+"/second server", holder) {
			t.Errorf("a test under %s, which holds the existing server (holder %q), would wait for it for ever", t.Name(), holder)
		}
	})
	t.Run("next test", func(t *testing.T) {
		e := newExternal(t, dsn, Options{})
		e.AddDirectoryObject(t, "next@contoso.com", "user", "")
		mustExec(t, adminConn(t, e), `SELECT pgaadauth_create_principal('next@contoso.com', false, false)`)
	})

	// A pgaadauth that is not the emulation is left alone.
	c.SuperExec(t, `DROP SCHEMA pgaadauth_emul CASCADE`)
	err := prepareExternal(ctx, c.SuperIn(t, "postgres"))
	if err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Errorf("prepare a server with another pgaadauth: %v, want a refusal", err)
	}
}
