package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pgusers/pgusers/internal/pgtest"
)

// fixture is a throwaway server and a desired-state file pointing at it.
type fixture struct {
	c   *pgtest.Cluster
	dir string
	env env
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	c := pgtest.New(t)
	c.SuperExec(t, `CREATE ROLE reporting NOLOGIN`)
	c.SuperExec(t, `CREATE ROLE orders_rw NOLOGIN`)
	f := &fixture{c: c, dir: t.TempDir()}
	f.env = env{getenv: func(k string) string {
		if k == "PGUSERS_TEST_PASSWORD" {
			return c.AdminPassword
		}
		return ""
	}}
	return f
}

// file writes a desired-state file for the fixture's server with the given
// server settings and principals (YAML, indented for the server entry).
func (f *fixture) file(t *testing.T, name, serverYAML string) string {
	t.Helper()
	body := fmt.Sprintf(`version: 1
defaults:
  user: %q
  auth: password
  passwordEnv: PGUSERS_TEST_PASSWORD
  sslmode: disable
servers:
  - name: local
    host: %s
    port: %d
%s`, f.c.Admin, f.c.Host, f.c.Port, serverYAML)
	return writeFile(t, f.dir, name, body)
}

// state lists the server's Entra principals with type, flags and
// memberships, one line each.
func (f *fixture) state(t *testing.T) []string {
	t.Helper()
	return f.c.SuperStrings(t, "postgres", `SELECT p.rolname::text || ' ' || p.principaltype || ' admin=' || p.isadmin || ' mfa=' || p.ismfa || ' [' ||
	  coalesce((SELECT string_agg(g.rolname, ',' ORDER BY g.rolname) FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
	            JOIN pg_roles r ON r.oid = m.member WHERE r.rolname = p.rolname AND g.rolname <> 'azure_pg_admin'), '') || ']'
	  FROM pg_catalog.pgaadauth_list_principals(false) p ORDER BY 1`)
}

func (f *fixture) createPrincipal(t *testing.T, name, typ string, admin bool) {
	t.Helper()
	f.c.SuperExec(t, `SELECT pg_catalog.pgaadauth_create_principal_with_oid($1, $2, $3, $4, false)`, name, pgtest.ObjectID(name), typ, admin)
}

func wantCode(t *testing.T, r result, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
}

func TestPlanApplyRepair(t *testing.T) {
	f := newFixture(t)
	f.c.AddDirectoryObject(t, "alice@contoso.com", "user", pgtest.ObjectID("alice@contoso.com"))
	file := f.file(t, "p.yaml", `    prune: true
    principals:
      - name: alice@contoso.com
        type: user
        memberOf: [reporting]
      - name: orders-api
        type: service
        objectId: `+pgtest.ObjectID("orders-api")+`
        memberOf: [orders_rw, reporting]
      - name: Data Team
        type: group
        objectId: `+pgtest.ObjectID("Data Team")+`
        mfa: true
`)
	r := pgusers(t, f.env, "plan", "-f", file, "--detailed-exitcode")
	wantCode(t, r, exitChanges)
	if !strings.Contains(r.stdout, "Plan: 3 to create, 0 to replace, 0 to drop, 3 to grant, 0 to revoke.") {
		t.Errorf("plan summary line missing")
	}

	applyConverged(t, f.env, []string{"-f", file})
	want := []string{
		"Data Team group admin=0 mfa=1 []",
		"alice@contoso.com user admin=0 mfa=0 [reporting]",
		"orders-api service admin=0 mfa=0 [orders_rw,reporting]",
		"pgadmin@contoso.com user admin=1 mfa=0 []",
	}
	if diff := cmp.Diff(want, f.state(t)); diff != "" {
		t.Fatalf("server after apply (-want +got):\n%s", diff)
	}
	r = pgusers(t, f.env, "plan", "-f", file, "--detailed-exitcode")
	wantCode(t, r, exitOK)
	if !strings.Contains(r.stdout, "No changes: 1 server(s) in sync.") {
		t.Errorf("in-sync line missing")
	}

	// Break it by hand: drop one, add a membership, add a stray principal.
	f.c.SuperExec(t, `DROP ROLE "orders-api"`)
	f.c.SuperExec(t, `GRANT orders_rw TO "alice@contoso.com"`)
	f.createPrincipal(t, "stray@contoso.com", "user", false)
	r = pgusers(t, f.env, "plan", "-f", file, "--detailed-exitcode", "--output", "json")
	wantCode(t, r, exitChanges)
	for _, s := range []string{`"action": "create"`, `"action": "revoke"`, `"action": "drop"`, `"status": "changes"`} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("JSON plan lacks %s", s)
		}
	}
	applyConverged(t, f.env, []string{"-f", file})
	if diff := cmp.Diff(want, f.state(t)); diff != "" {
		t.Errorf("server after repair (-want +got):\n%s", diff)
	}
	wantCode(t, pgusers(t, f.env, "plan", "-f", file, "--detailed-exitcode"), exitOK)
}

func TestFailingCreateRollsBackTheServer(t *testing.T) {
	f := newFixture(t)
	f.c.AddDirectoryObject(t, "zz-group", "group", pgtest.ObjectID("zz-group"))
	file := f.file(t, "p.yaml", `    principals:
      - {name: a-user, type: user, objectId: `+pgtest.ObjectID("a-user")+`, memberOf: [reporting]}
      - {name: zz-group, type: user, objectId: `+pgtest.ObjectID("zz-group")+`}
`)
	before := f.state(t)
	r := pgusers(t, f.env, "apply", "-f", file, "--auto-approve")
	wantCode(t, r, exitError)
	for _, s := range []string{"zz-group", "pgaadauth_create_principal_with_oid('zz-group'", "incorrect object type", "rolled back"} {
		if !strings.Contains(r.stdout+r.stderr, s) {
			t.Errorf("output does not say %q", s)
		}
	}
	if diff := cmp.Diff(before, f.state(t)); diff != "" {
		t.Errorf("server changed after a failed apply (-before +after):\n%s", diff)
	}
}

func TestAwkwardNamesAreCreatedExactly(t *testing.T) {
	f := newFixture(t)
	names := []string{`O'Brien`, `say "hi"`, `semi; DROP ROLE pgadmin; --`, `Ünïcødé 名前`, `with  two spaces`}
	var y strings.Builder
	y.WriteString("    principals:\n")
	for _, n := range names {
		fmt.Fprintf(&y, "      - {name: %q, type: user, objectId: %s}\n", n, pgtest.ObjectID(n))
	}
	file := f.file(t, "p.yaml", y.String())
	applyConverged(t, f.env, []string{"-f", file})
	ctx := context.Background()
	conn := f.c.SuperIn(t, "postgres")
	for _, n := range names {
		var ok bool
		if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = $1)`, n).Scan(&ok); err != nil || !ok {
			t.Errorf("role %q not created exactly (err %v)", n, err)
		}
	}
	wantCode(t, pgusers(t, f.env, "plan", "-f", file, "--detailed-exitcode"), exitOK)
}

func TestNonEntraRoleOfADeclaredNameIsRefused(t *testing.T) {
	f := newFixture(t)
	f.c.SuperExec(t, `CREATE ROLE bob LOGIN`)
	file := f.file(t, "p.yaml", `    principals:
      - {name: bob, type: user}
      - {name: carol, type: user, objectId: `+pgtest.ObjectID("carol")+`}
`)
	before := f.state(t)
	r := pgusers(t, f.env, "apply", "-f", file, "--auto-approve")
	wantCode(t, r, exitError)
	if !strings.Contains(r.stdout, "principal bob: a role of this name exists but is not an Entra principal") {
		t.Errorf("refusal not explained")
	}
	if diff := cmp.Diff(before, f.state(t)); diff != "" {
		t.Errorf("server changed (-before +after):\n%s", diff)
	}
}

func TestPruneSparesWhatItMust(t *testing.T) {
	f := newFixture(t)
	f.createPrincipal(t, "breakglass-1", "user", false)
	f.createPrincipal(t, "second-admin", "group", true)
	f.createPrincipal(t, "goner-1", "user", false)
	f.createPrincipal(t, "goner-2", "service", false)
	f.c.SuperExec(t, `CREATE ROLE not_entra LOGIN`)
	file := f.file(t, "p.yaml", `    prune: true
    protect: ["breakglass-*"]
    principals: []
`)
	applyConverged(t, f.env, []string{"-f", file})
	want := []string{
		"breakglass-1 user admin=0 mfa=0 []",
		"pgadmin@contoso.com user admin=1 mfa=0 []",
		"second-admin group admin=1 mfa=0 []",
	}
	if diff := cmp.Diff(want, f.state(t)); diff != "" {
		t.Errorf("server after prune (-want +got):\n%s", diff)
	}
	ctx := context.Background()
	conn := f.c.SuperIn(t, "postgres")
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_roles WHERE rolname IN ('not_entra', 'azure_pg_admin', 'azuresu', 'replication', 'pg_monitor')`).Scan(&n); err != nil || n != 5 {
		t.Errorf("non-Entra and reserved roles: %d of 5 left (err %v)", n, err)
	}
}

func TestDryRunTouchesNothing(t *testing.T) {
	f := newFixture(t)
	file := f.file(t, "p.yaml", `    principals:
      - {name: x, type: user, objectId: `+pgtest.ObjectID("x")+`, memberOf: [reporting]}
`)
	before := f.state(t)
	r := pgusers(t, f.env, "apply", "-f", file, "--dry-run")
	wantCode(t, r, exitOK)
	for _, s := range []string{"BEGIN;", "pgaadauth_create_principal_with_oid('x'", `GRANT "reporting" TO "x";`, "COMMIT;"} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("dry run does not print %q", s)
		}
	}
	r = pgusers(t, f.env, "apply", "-f", file, "--dry-run=server")
	wantCode(t, r, exitOK)
	if !strings.Contains(r.stdout, "would apply 2 change(s)") {
		t.Errorf("server dry run does not say it would apply")
	}
	if diff := cmp.Diff(before, f.state(t)); diff != "" {
		t.Errorf("a dry run changed the server (-before +after):\n%s", diff)
	}
}

func TestMaxDropsGuard(t *testing.T) {
	f := newFixture(t)
	for i := 1; i <= 6; i++ {
		f.createPrincipal(t, fmt.Sprintf("user-%d", i), "user", false)
	}
	file := f.file(t, "p.yaml", "    prune: true\n    principals: []\n")
	before := f.state(t)
	r := pgusers(t, f.env, "apply", "-f", file, "--auto-approve")
	wantCode(t, r, exitError)
	if !strings.Contains(r.stdout, "would drop or replace 6 principals, more than maxDrops allows (5)") {
		t.Errorf("guard not explained")
	}
	if diff := cmp.Diff(before, f.state(t)); diff != "" {
		t.Errorf("server changed (-before +after):\n%s", diff)
	}
	applyConverged(t, f.env, []string{"-f", file}, "--max-drops", "6")
	if got := len(f.state(t)); got != 1 {
		t.Errorf("after --max-drops 6: %d principals, want only the admin", got)
	}
}
