package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// columnGrantorACL lists the column privileges in orders' public schema
// that name ro, analyst or mgr, as table.column grantee=privilege/grantor.
func (f *fixture) columnGrantorACL(t *testing.T) []string {
	t.Helper()
	return f.c.SuperStrings(t, "orders", `
SELECT format('%s.%s %s=%s%s/%s', c.relname, a.attname, x.grantee::regrole, x.privilege_type, CASE WHEN x.is_grantable THEN '*' ELSE '' END, x.grantor::regrole)
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid CROSS JOIN LATERAL aclexplode(a.attacl) x
WHERE c.relnamespace = 'public'::regnamespace AND x.grantee::regrole::text IN ('ro', 'analyst', 'mgr')
ORDER BY 1`)
}

// Column privileges have grantors too. One a third role granted from its
// own grant option is not the owner's to revoke (the owner's REVOKE
// succeeds and leaves it, so the same revoke was planned on every run):
// it is revoked as its grantor. One the grantee passed on from its grant
// option cannot be revoked without its dependents (apply failed with
// "dependent privileges exist" on every run): the plan withholds it,
// saying why, and with cascade: true revokes it WITH CASCADE, granting
// again what the dependent's own cell declares on the column.
func TestColumnPrivilegesOfOtherGrantors(t *testing.T) {
	f := shopFixture(t)
	f.c.SuperExec(t, `CREATE ROLE ro NOLOGIN`)
	f.c.SuperExec(t, `CREATE ROLE analyst NOLOGIN`)
	f.c.SuperExec(t, `CREATE ROLE mgr NOLOGIN`)
	f.c.SuperExecIn(t, "orders",
		`ALTER TABLE public.t2 ADD COLUMN v text, ADD COLUMN w text`,
		`SET ROLE app_owner`,
		`GRANT UPDATE (v) ON public.t2 TO mgr WITH GRANT OPTION`,
		`GRANT SELECT (w) ON public.t2 TO ro WITH GRANT OPTION`,
		`SET ROLE mgr`,
		`GRANT UPDATE (v) ON public.t2 TO ro`,
		`SET ROLE ro`,
		`GRANT SELECT (w) ON public.t2 TO analyst`,
		`RESET ROLE`)
	const grants = `    roles: [{name: ro}, {name: analyst}]
    grants:
      - {to: ro, databases: [orders], tables: [SELECT], defaultsFor: [app_owner]%s}
      - {to: analyst, databases: [orders], tables: [], columns: {t2: {w: [SELECT]}}}
`
	file := f.file(t, "ro.yaml", strings.Replace(grants, "%s", "", 1))
	r := pgusers(t, f.env, "plan", "-f", file)
	wantCode(t, r, exitOK)
	mustContain(t, "plan", r.stdout, "revoke UPDATE (v) on table orders.public.t2 from ro",
		"UPDATE (v) granted by mgr, revoked as mgr",
		`ro keeps SELECT on column w of table public.t2 in database orders: revoking it would fail with "dependent privileges exist", `+
			"as ro passed it on from its grant option (analyst: SELECT (w)); revoke those from their grantees first, or set cascade: true")
	applyConverged(t, f.env, []string{"-f", file})
	if d := cmp.Diff([]string{"t2.v mgr=UPDATE*/app_owner", "t2.w analyst=SELECT/ro", "t2.w ro=SELECT*/app_owner"}, f.columnGrantorACL(t)); d != "" {
		t.Errorf("column privileges after the apply (-want +got):\n%s", d)
	}

	// cascade: true takes analyst's along, and grants it again, as the
	// owner, since analyst's own cell declares it.
	file = f.file(t, "ro.yaml", strings.Replace(grants, "%s", ", cascade: true", 1))
	r = pgusers(t, f.env, "plan", "-f", file)
	wantCode(t, r, exitOK)
	mustContain(t, "plan", r.stdout, "with CASCADE, also revokes what ro passed on: analyst: SELECT (w); SELECT (w) granted again to analyst, which its grants declare")
	applyConverged(t, f.env, []string{"-f", file})
	if d := cmp.Diff([]string{"t2.v mgr=UPDATE*/app_owner", "t2.w analyst=SELECT/app_owner"}, f.columnGrantorACL(t)); d != "" {
		t.Errorf("column privileges after the cascade (-want +got):\n%s", d)
	}

	// A revoke on the whole tables, as the owner, leaves what mgr granted
	// on a column of that privilege: it is revoked as mgr in the same apply.
	f.c.SuperExecIn(t, "orders",
		`SET ROLE app_owner`,
		`GRANT UPDATE ON public.t1 TO ro`,
		`SET ROLE mgr`,
		`GRANT UPDATE (v) ON public.t2 TO ro`,
		`RESET ROLE`)
	r = pgusers(t, f.env, "plan", "-f", file)
	wantCode(t, r, exitOK)
	mustContain(t, "plan", r.stdout, "revoke UPDATE on all tables in orders.public from ro", "UPDATE (v) granted by mgr, revoked as mgr")
	applyConverged(t, f.env, []string{"-f", file})
	if d := cmp.Diff([]string{"t2.v mgr=UPDATE*/app_owner", "t2.w analyst=SELECT/app_owner"}, f.columnGrantorACL(t)); d != "" {
		t.Errorf("column privileges after the revoke on the tables (-want +got):\n%s", d)
	}
}

// A revoke on the whole tables takes the privilege from their columns
// too, and so fails with "dependent privileges exist" when the grantee
// passed it on from a column's grant option (on every apply, rolling back
// the rest of the database's changes). The plan withholds it, naming the
// column's dependent; with cascade: true it runs WITH CASCADE and grants
// again what the dependent's own cell declares on the column.
func TestTableRevokeWithColumnDependents(t *testing.T) {
	f := shopFixture(t)
	f.c.SuperExec(t, `CREATE ROLE ro NOLOGIN`)
	f.c.SuperExec(t, `CREATE ROLE analyst NOLOGIN`)
	f.c.SuperExecIn(t, "orders",
		`ALTER TABLE public.t2 ADD COLUMN v text`,
		`SET ROLE app_owner`,
		`GRANT UPDATE ON public.t1 TO ro`,
		`GRANT UPDATE (v) ON public.t2 TO ro WITH GRANT OPTION`,
		`SET ROLE ro`,
		`GRANT UPDATE (v) ON public.t2 TO analyst`,
		`RESET ROLE`)
	const grants = `    roles: [{name: ro}, {name: analyst}]
    grants:
      - {to: ro, databases: [orders], tables: [SELECT], defaultsFor: [app_owner]%s}
      - {to: analyst, databases: [orders], tables: [], columns: {t2: {v: [UPDATE]}}}
`
	file := f.file(t, "ro.yaml", strings.Replace(grants, "%s", "", 1))
	r := applyConverged(t, f.env, []string{"-f", file})
	mustContain(t, "apply", r.stdout, `ro keeps UPDATE on tables in schema public of database orders: revoking it would fail with "dependent privileges exist", `+
		"as ro passed it on from its grant option (analyst: UPDATE (v) on public.t2)")

	file = f.file(t, "ro.yaml", strings.Replace(grants, "%s", ", cascade: true", 1))
	r = applyConverged(t, f.env, []string{"-f", file})
	mustContain(t, "apply", r.stdout, "revoke UPDATE on all tables in orders.public from ro",
		"with CASCADE, also revokes what ro passed on: analyst: UPDATE (v) on public.t2; UPDATE (v) granted again to analyst, which its grants declare")
	if d := cmp.Diff([]string{"t2.v analyst=UPDATE/app_owner"}, f.columnGrantorACL(t)); d != "" {
		t.Errorf("column privileges after the cascade (-want +got):\n%s", d)
	}
}
