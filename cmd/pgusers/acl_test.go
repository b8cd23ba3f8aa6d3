package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The owner of a database, a schema and its objects holds every privilege
// on them without an ACL entry: a grant to it (the application identity
// that owns its database, given readwrite) converges in one apply, and
// defaultsFor the owner itself writes nothing into pg_default_acl.
func TestPrivilegesGrantToTheOwnerConverges(t *testing.T) {
	f := shopFixture(t)
	file := f.file(t, "owner.yaml", `    grants:
      - to: app_owner
        databases: [orders]
        schemas: [sales]
        profile: readwrite
        defaultsFor: [app_owner]
`)
	r := applyConverged(t, f.env, []string{"-f", file})
	if strings.Contains(r.stdout, "app_owner") && strings.Contains(r.stdout, "grant") {
		t.Errorf("apply granted the owner what it owns:\n%s", r.stdout)
	}
	if got := f.c.SuperStrings(t, "orders", `SELECT d.defaclacl::text FROM pg_default_acl d`); len(got) != 0 {
		t.Errorf("pg_default_acl holds entries of the owner for itself: %v", got)
	}
}

// A schema a grant names that does not exist is one problem, however many
// kinds the entry manages there.
func TestPrivilegesMissingSchemaSaidOnce(t *testing.T) {
	f := shopFixture(t)
	file := f.file(t, "missing.yaml", `    roles: [{name: orders_ro}]
    grants:
      - {to: orders_ro, databases: [orders], schemas: [nowhere], profile: readonly}
`)
	r := pgusers(t, f.env, "plan", "-f", file)
	wantCode(t, r, exitError)
	const msg = `schema "nowhere" does not exist in database "orders"`
	if n := strings.Count(r.stdout, msg); n != 1 {
		t.Errorf("the missing schema is reported %d times, want once:\nstdout:\n%s\nstderr:\n%s", n, r.stdout, r.stderr)
	}
}

// aclLines lists, in database orders, every ACL entry of the tables of
// public and sales that names ro, analyst or mgr, as grantee=privileges/grantor.
func (f *fixture) aclLines(t *testing.T) []string {
	t.Helper()
	return f.c.SuperStrings(t, "orders", `
SELECT format('%s.%s %s=%s/%s', c.relnamespace::regnamespace, c.relname, a.grantee::regrole, string_agg(a.privilege_type || CASE WHEN a.is_grantable THEN '*' ELSE '' END, ',' ORDER BY a.privilege_type), a.grantor::regrole)
FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a
WHERE c.relnamespace::regnamespace::text IN ('public', 'sales') AND c.relkind = 'r' AND a.grantee <> 0
  AND a.grantee::regrole::text IN ('ro', 'analyst', 'mgr', 'mgr2')
GROUP BY c.oid, a.grantee, a.grantor ORDER BY 1`)
}

// A grantee that passed a privilege on from its grant option: revoking
// that option (or the privilege) would fail with "dependent privileges
// exist" at apply, on every run, rolling back the unrelated changes too.
// While the dependent's cell is not the files', the plan withholds that
// revoke, naming the dependent grants, applies the rest, and is then in
// sync; once the files manage the dependent's cell, the revoke cascades and
// grants the dependent again what it declares, and one apply converges.
func TestPrivilegesGrantOptionPassedOn(t *testing.T) {
	f := shopFixture(t)
	f.c.SuperExec(t, `CREATE ROLE ro NOLOGIN`)
	f.c.SuperExec(t, `CREATE ROLE analyst NOLOGIN`)
	f.c.SuperExecIn(t, "orders",
		`SET ROLE app_owner`,
		`GRANT USAGE ON SCHEMA sales TO ro`,
		`GRANT SELECT ON sales.s1, sales.s2 TO ro WITH GRANT OPTION`,
		`GRANT DELETE ON public.t1 TO ro`, // a stray privilege elsewhere
		`GRANT USAGE ON SCHEMA sales TO analyst`,
		`SET ROLE ro`,
		`GRANT SELECT ON sales.s1, sales.s2 TO analyst`,
		`RESET ROLE`)
	// While analyst's privileges are none of the files' business, revoking
	// ro's grant option would take them along: withheld.
	const entry = `    roles: [{name: ro}]
    grants:
      - to: ro
        databases: [orders]
        schemas: [public, sales]
        tables: [SELECT]
        defaultsFor: [app_owner]
%s`
	withheld := f.file(t, "withheld.yaml", fmt.Sprintf(entry, ""))
	const why = `ro keeps the grant option for SELECT on tables in schema sales of database orders: revoking it would fail with ` +
		`"dependent privileges exist", as ro passed it on from its grant option (analyst: SELECT on sales.s1, sales.s2); ` +
		`revoke those from their grantees first, or set cascade: true on the grant entry to revoke them with it`
	r := pgusers(t, f.env, "plan", "-f", withheld, "--output", "json")
	wantCode(t, r, exitOK)
	rep := jsonReport(t, r.stdout)
	if diff := cmp.Diff([]string{"grant-privileges ro orders.public tables [SELECT]", "revoke-privileges ro orders.public tables [DELETE]",
		"grant-defaults ro orders.public tables of app_owner [SELECT]", "grant-defaults ro orders.sales tables of app_owner [SELECT]",
	}, actions(rep)); diff != "" {
		t.Errorf("the unrelated changes (-want +got):\n%s", diff)
	}
	if len(rep.Servers[0].Withheld) != 1 || !strings.HasPrefix(rep.Servers[0].Withheld[0].Why, why) {
		t.Errorf("withheld = %+v, want one saying %q", rep.Servers[0].Withheld, why)
	}
	r = applyConverged(t, f.env, []string{"-f", withheld})
	mustContain(t, "stdout", r.stdout, "left as it is, needs you", why)
	if diff := cmp.Diff([]string{"public.t1 ro=SELECT/app_owner", "public.t2 ro=SELECT/app_owner",
		"sales.s1 analyst=SELECT/ro", "sales.s1 ro=SELECT*/app_owner",
		"sales.s2 analyst=SELECT/ro", "sales.s2 ro=SELECT*/app_owner"}, f.aclLines(t)); diff != "" {
		t.Errorf("after the apply that withheld the revoke (-want +got):\n%s", diff)
	}
	r = pgusers(t, f.env, "plan", "-f", withheld, "--output", "markdown")
	wantCode(t, r, exitOK)
	mustContain(t, "markdown", r.stdout, "[!WARNING]", "left as it is, needs you")

	// Once the files manage analyst's cell too, the cascade takes only
	// what the files manage: the revoke runs WITH CASCADE, and the same
	// change grants analyst again what its own cell declares.
	managed := f.file(t, "managed.yaml", fmt.Sprintf(entry, "      - {to: analyst, databases: [orders], schemas: [sales], tables: [SELECT]}\n"))
	r = pgusers(t, f.env, "plan", "-f", managed)
	wantCode(t, r, exitOK)
	mustContain(t, "stdout", r.stdout, "with CASCADE, also revokes what ro passed on: analyst: SELECT on sales.s1, sales.s2",
		"SELECT granted again to analyst, which its grants declare")
	applyConverged(t, f.env, []string{"-f", managed})
	if diff := cmp.Diff([]string{"public.t1 ro=SELECT/app_owner", "public.t2 ro=SELECT/app_owner",
		"sales.s1 analyst=SELECT/app_owner", "sales.s1 ro=SELECT/app_owner",
		"sales.s2 analyst=SELECT/app_owner", "sales.s2 ro=SELECT/app_owner"}, f.aclLines(t)); diff != "" {
		t.Errorf("after the apply (-want +got):\n%s", diff)
	}
}

func TestPrivilegesThirdGrantorRevokedAsIt(t *testing.T) {
	f := shopFixture(t)
	f.c.SuperExec(t, `CREATE ROLE ro NOLOGIN`)
	f.c.SuperExec(t, `CREATE ROLE mgr NOLOGIN`)
	f.c.SuperExecIn(t, "orders",
		`SET ROLE app_owner`,
		`GRANT USAGE ON SCHEMA sales TO ro, mgr`,
		`GRANT DELETE ON public.t1 TO mgr WITH GRANT OPTION`,
		`GRANT SELECT, UPDATE ON sales.s2 TO mgr WITH GRANT OPTION`,
		`GRANT TEMPORARY ON DATABASE orders TO mgr WITH GRANT OPTION`,
		`GRANT CREATE ON SCHEMA sales TO mgr WITH GRANT OPTION`,
		`SET ROLE mgr`,
		`GRANT DELETE ON public.t1 TO ro`,
		`GRANT SELECT, UPDATE ON sales.s2 TO ro`,
		`GRANT TEMPORARY ON DATABASE orders TO ro`,
		`GRANT CREATE ON SCHEMA sales TO ro`,
		`RESET ROLE`)
	file := f.file(t, "ro.yaml", `    roles: [{name: ro}]
    grants:
      - {to: ro, databases: [orders], schemas: [sales], database: [CONNECT], schema: [USAGE]}
      - {to: ro, databases: [orders], schemas: [public, sales], tables: [SELECT], defaultsFor: [app_owner]}
`)
	r := pgusers(t, f.env, "plan", "-f", file)
	wantCode(t, r, exitOK)
	mustContain(t, "stdout", r.stdout, "DELETE on public.t1 granted by mgr, revoked as mgr", "UPDATE on sales.s2 granted by mgr, revoked as mgr",
		"TEMPORARY on the database granted by mgr, revoked as mgr", "CREATE on the schema granted by mgr, revoked as mgr")
	applyConverged(t, f.env, []string{"-f", file})
	if diff := cmp.Diff([]string{
		"public.t1 mgr=DELETE*/app_owner", "public.t1 ro=SELECT/app_owner", "public.t2 ro=SELECT/app_owner",
		"sales.s1 ro=SELECT/app_owner", "sales.s2 mgr=SELECT*,UPDATE*/app_owner", "sales.s2 ro=SELECT/app_owner", "sales.s2 ro=SELECT/mgr",
	}, f.aclLines(t)); diff != "" {
		t.Errorf("after the apply (-want +got):\n%s", diff)
	}
	if got := f.c.SuperStrings(t, "orders", `SELECT format('%s=%s/%s', a.grantee::regrole, a.privilege_type, a.grantor::regrole)
FROM pg_database d, aclexplode(d.datacl) a WHERE d.datname = 'orders' AND a.grantee = 'ro'::regrole`); !slices.Equal(got, []string{"ro=CONNECT/app_owner"}) {
		t.Errorf("ro holds on orders %v, want CONNECT only (TEMPORARY granted by mgr revoked)", got)
	}
	if got := f.c.SuperStrings(t, "orders", `SELECT has_schema_privilege('ro', 'sales', 'CREATE')::text`); !slices.Equal(got, []string{"false"}) {
		t.Errorf("ro still holds CREATE on schema sales, granted by mgr: %v", got)
	}
	// mgr was lent for the transaction only.
	if m := f.c.SuperStrings(t, "postgres", `SELECT pg_has_role($1, 'mgr', 'MEMBER')::text`, f.c.Admin); !slices.Equal(m, []string{"false"}) {
		t.Errorf("the administrator is still a member of mgr: %v", m)
	}
}

// A third grantor the administrator cannot act as (a superuser: on Azure
// the Entra administrator never is one, nor can be made a member of one),
// or that can no longer name the objects (no USAGE on their schema any
// more): the plan says once why it leaves that revoke, applies the rest,
// and is then in sync, instead of revoking as the owner, reporting it
// done, and planning it again on every run, or failing every apply.
func TestPrivilegesThirdGrantorOutOfReachWithheld(t *testing.T) {
	f := shopFixture(t)
	f.c.SuperExec(t, `CREATE ROLE ro NOLOGIN`)
	f.c.SuperExec(t, `CREATE ROLE mgr NOLOGIN`)
	f.c.SuperExec(t, `CREATE ROLE mgr2 NOLOGIN`)
	f.c.SuperExecIn(t, "orders",
		`SET ROLE app_owner`,
		`GRANT DELETE ON public.t1 TO mgr WITH GRANT OPTION`,
		`GRANT UPDATE ON public.t2 TO ro`,
		`GRANT USAGE ON SCHEMA sales TO mgr2`,
		`GRANT UPDATE ON sales.s2 TO mgr2 WITH GRANT OPTION`,
		`SET ROLE mgr`,
		`GRANT DELETE ON public.t1 TO ro`,
		`SET ROLE mgr2`,
		`GRANT UPDATE ON sales.s2 TO ro`,
		`SET ROLE app_owner`,
		`REVOKE USAGE ON SCHEMA sales FROM mgr2`,
		`RESET ROLE`)
	f.c.SuperExec(t, `ALTER ROLE mgr SUPERUSER`)
	file := f.file(t, "ro.yaml", `    roles: [{name: ro}]
    grants:
      - {to: ro, databases: [orders], schemas: [public, sales], tables: [SELECT], defaultsFor: [app_owner]}
`)
	r := applyConverged(t, f.env, []string{"-f", file})
	mustContain(t, "stdout", r.stdout, "ro keeps DELETE on tables in schema public of database orders, granted by mgr (DELETE on public.t1): "+
		"mgr is a superuser, which the signed-in administrator pgadmin@contoso.com cannot act as; revoke them as mgr by hand",
		"ro keeps UPDATE on tables in schema sales of database orders, granted by mgr2 (UPDATE on sales.s2): mgr2 has no USAGE on the schema any more")
	if n := strings.Count(r.stdout, "granted by mgr "); n != 1 {
		t.Errorf("the withheld revoke is said %d times, want once:\n%s", n, r.stdout)
	}
	if diff := cmp.Diff([]string{"public.t1 mgr=DELETE*/app_owner", "public.t1 ro=DELETE/mgr", "public.t1 ro=SELECT/app_owner",
		"public.t2 ro=SELECT/app_owner", "sales.s1 ro=SELECT/app_owner", "sales.s2 mgr2=UPDATE*/app_owner", "sales.s2 ro=SELECT/app_owner",
		"sales.s2 ro=UPDATE/mgr2"},
		f.aclLines(t)); diff != "" {
		t.Errorf("after the apply (-want +got):\n%s", diff)
	}
}

// CASCADE takes the whole chain a privilege was passed on along (ro →
// analyst → intern), not only ro's direct dependents: the plan names
// every grant that goes, and grants again, as the owner, what a managed
// dependent down the chain declares, so that one apply converges.
func TestPrivilegesCascadeTakesTheWholeChain(t *testing.T) {
	f := shopFixture(t)
	for _, r := range []string{"ro", "analyst", "intern"} {
		f.c.SuperExec(t, `CREATE ROLE `+r+` NOLOGIN`)
	}
	f.c.SuperExecIn(t, "orders",
		`SET ROLE app_owner`,
		`GRANT USAGE ON SCHEMA sales TO ro, analyst, intern`,
		`GRANT SELECT ON sales.s1, sales.s2 TO ro WITH GRANT OPTION`,
		`SET ROLE ro`,
		`GRANT SELECT ON sales.s1, sales.s2 TO analyst WITH GRANT OPTION`,
		`SET ROLE analyst`,
		`GRANT SELECT ON sales.s1, sales.s2 TO intern`,
		`RESET ROLE`)
	file := f.file(t, "chain.yaml", `    roles: [{name: ro}, {name: intern}]
    grants:
      - {to: ro, databases: [orders], schemas: [sales], tables: [], cascade: true, defaultsFor: [app_owner]}
      - {to: intern, databases: [orders], schemas: [sales], tables: [SELECT], defaultsFor: [app_owner]}
`)
	r := applyConverged(t, f.env, []string{"-f", file})
	mustContain(t, "apply", r.stdout, "with CASCADE, also revokes what ro passed on: analyst: SELECT on sales.s1, sales.s2; "+
		"intern: SELECT on sales.s1, sales.s2; SELECT granted again to intern, which its grants declare")
	if diff := cmp.Diff([]string{"sales.s1 intern=SELECT/app_owner", "sales.s2 intern=SELECT/app_owner"}, f.chainACL(t)); diff != "" {
		t.Errorf("after the apply (-want +got):\n%s", diff)
	}
}

// chainACL lists the ACL entries of sales' tables in orders that name ro,
// analyst or intern.
func (f *fixture) chainACL(t *testing.T) []string {
	t.Helper()
	return f.c.SuperStrings(t, "orders", `
SELECT format('%s.%s %s=%s/%s', c.relnamespace::regnamespace, c.relname, a.grantee::regrole, a.privilege_type, a.grantor::regrole)
FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a
WHERE c.relnamespace = 'sales'::regnamespace AND c.relkind = 'r' AND a.grantee::regrole::text IN ('ro', 'analyst', 'intern')
ORDER BY 1`)
}

// A server that cannot be planned makes no privilege exact: its text says
// why, and does not list the cells as "privileges made exact" as if the
// plan went on.
func TestPlanErrorListsNoCellAsMadeExact(t *testing.T) {
	f := shopFixture(t)
	file := f.file(t, "missing.yaml", `    roles: [{name: orders_ro}]
    grants:
      - {to: orders_ro, databases: [orders], schemas: [public], tables: [SELECT], columns: {t2: {nope: [UPDATE]}}}
`)
	r := pgusers(t, f.env, "plan", "-f", file)
	wantCode(t, r, exitError)
	mustContain(t, "plan", r.stdout, "table t2 in schema public of database orders has no column nope")
	if strings.Contains(r.stdout, "privileges made exact") {
		t.Errorf("a plan that failed lists cells as made exact:\n%s", r.stdout)
	}
	file = f.file(t, "missing.yaml", `    roles: [{name: orders_ro}]
    grants:
      - {to: orders_ro, databases: [orders], schemas: [public], tables: [SELECT], defaultsFor: [app_owner]}
`)
	applyConverged(t, f.env, []string{"-f", file})
}
