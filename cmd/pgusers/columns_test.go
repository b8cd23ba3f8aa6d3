package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pgusers/pgusers/internal/pgtest"
	"github.com/pgusers/pgusers/pkg/report"
)

// columnsFile declares ro (a group role of app-api) with readonly in
// orders' schema public, and the server entry's extra grant keys.
const columnsFile = `    roles:
      - {name: ro}
    principals:
      - {name: app-api, type: service, objectId: %s, memberOf: [ro]}
    grants:
      - to: ro
        databases: [orders]
        profile: readonly
        defaultsFor: [app_owner]
%s`

// columnChanges lists a report's privilege changes, column ones with
// their table and column: "revoke-privileges ro public.t2.v [UPDATE]".
func columnChanges(r report.Report) []string {
	var out []string
	for _, s := range r.Servers {
		for _, c := range s.Changes {
			if c.Grantee == "" {
				continue
			}
			target := c.Schema + " " + string(c.On)
			if c.Column != "" {
				target = c.Schema + "." + c.Table + "." + c.Column
			}
			option := ""
			if c.GrantOption {
				option = " grant option"
			}
			out = append(out, fmt.Sprintf("%s%s %s %s %v", c.Action, option, c.Grantee, target, c.Privileges))
		}
	}
	return out
}

// columnACL lists the column privileges the superuser reads in orders.
func (f *fixture) columnACL(t *testing.T) []string {
	t.Helper()
	return f.c.SuperStrings(t, "orders", `
SELECT format('%s.%s %s=%s%s', c.relname, a.attname, x.grantee::regrole, x.privilege_type, CASE WHEN x.is_grantable THEN '*' ELSE '' END)
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid CROSS JOIN LATERAL aclexplode(a.attacl) x
WHERE c.relnamespace = 'public'::regnamespace AND x.grantee <> c.relowner
ORDER BY 1`)
}

// Column privileges were invisible: GRANT UPDATE (v) left a readonly cell
// in sync while ro could update that column. They belong to the tables
// cell now: undeclared ones are revoked, declared ones (columns:) granted,
// a revoke on the whole tables (which PostgreSQL applies to their columns
// too) is followed by the declared column grants, and an export of the
// result declares them and plans empty.
func TestColumnPrivilegesAreExact(t *testing.T) {
	f := shopFixture(t)
	f.c.SuperExec(t, `CREATE ROLE ro NOLOGIN`)
	f.c.SuperExecIn(t, "orders",
		`ALTER TABLE public.t2 ADD COLUMN v text, ADD COLUMN w text`,
		`GRANT UPDATE (v) ON public.t2 TO ro`,
		`GRANT SELECT (id) ON public.t1 TO ro`)
	id := pgtest.ObjectID("app-api")

	// Undeclared column privileges in a managed cell are revoked, even
	// SELECT (id), which the cell's SELECT on every table makes redundant.
	file := f.file(t, "ro.yaml", fmt.Sprintf(columnsFile, id, ""))
	r := pgusers(t, f.env, "plan", "-f", file, "--detailed-exitcode", "--output", "json")
	wantCode(t, r, exitChanges)
	if d := cmp.Diff([]string{
		"grant-privileges ro  database [CONNECT]",
		"grant-privileges ro public schema [USAGE]",
		"grant-privileges ro public tables [SELECT]",
		"grant-privileges ro public sequences [SELECT]",
		"revoke-privileges ro public.t1.id [SELECT]",
		"revoke-privileges ro public.t2.v [UPDATE]",
		"grant-defaults ro public tables [SELECT]",
		"grant-defaults ro public sequences [SELECT]",
	}, columnChanges(jsonReport(t, r.stdout))); d != "" {
		t.Errorf("plan (-want +got):\n%s", d)
	}
	r = pgusers(t, f.env, "plan", "-f", file)
	mustContain(t, "plan", r.stdout, "revoke UPDATE (v) on table orders.public.t2 from ro",
		"not declared in columns, held on column v of table public.t2 in database orders")
	applyConverged(t, f.env, []string{"-f", file})
	if got := f.columnACL(t); len(got) != 0 {
		t.Errorf("column privileges left after apply: %v", got)
	}

	// Declared: granted; a grant option taken away; and UPDATE on the
	// whole tables, revoked, takes the declared UPDATE (id) along and
	// gives it back.
	f.c.SuperExecIn(t, "orders",
		`GRANT UPDATE ON public.t1 TO ro`,
		`GRANT SELECT (w) ON public.t2 TO ro WITH GRANT OPTION`)
	file = f.file(t, "ro.yaml", fmt.Sprintf(columnsFile, id,
		"        columns: {t1: {id: [update]}, t2: {v: [UPDATE, REFERENCES], w: [SELECT]}}\n"))
	r = pgusers(t, f.env, "plan", "-f", file, "--detailed-exitcode", "--output", "json")
	wantCode(t, r, exitChanges)
	if d := cmp.Diff([]string{
		"grant-privileges ro public.t2.v [REFERENCES]",
		"revoke-privileges ro public tables [UPDATE]",
		"revoke-privileges grant option ro public.t2.w [SELECT]",
	}, columnChanges(jsonReport(t, r.stdout))); d != "" {
		t.Errorf("plan (-want +got):\n%s", d)
	}
	var sql []string
	for _, c := range jsonReport(t, r.stdout).Servers[0].Changes {
		sql = append(sql, c.SQL...)
	}
	mustContain(t, "the plan's statements", strings.Join(sql, "\n"), `REVOKE UPDATE ON ALL TABLES IN SCHEMA "public" FROM "ro"`,
		`GRANT UPDATE ("id") ON TABLE "public"."t1" TO "ro"`, `GRANT UPDATE ("v") ON TABLE "public"."t2" TO "ro"`,
		`GRANT REFERENCES ("v") ON TABLE "public"."t2" TO "ro"`, `REVOKE GRANT OPTION FOR SELECT ("w") ON TABLE "public"."t2" FROM "ro"`)
	applyConverged(t, f.env, []string{"-f", file})
	if d := cmp.Diff([]string{"t1.id ro=UPDATE", "t2.v ro=REFERENCES", "t2.v ro=UPDATE", "t2.w ro=SELECT"}, f.columnACL(t)); d != "" {
		t.Errorf("column privileges after apply (-want +got):\n%s", d)
	}

	// A column that does not exist is an error of the plan, at the entry.
	bad := f.file(t, "bad.yaml", fmt.Sprintf(columnsFile, id, "        columns: {t2: {nope: [SELECT]}}\n"))
	r = pgusers(t, f.env, "plan", "-f", bad)
	wantCode(t, r, exitError)
	mustContain(t, "plan", r.stderr, "table t2 in schema public of database orders has no column nope, or there is no such table", "bad.yaml:")

	// Export declares them, and its file plans empty.
	servers := f.file(t, "servers.yaml", "")
	r = pgusers(t, f.env, "export", "-f", servers, "--server", "local", "--database", "orders")
	wantCode(t, r, exitOK)
	mustContain(t, "export", r.stdout, "columns:", "t1: {id: [UPDATE]}", "t2: {v: [UPDATE, REFERENCES], w: [SELECT]}")
	exported := filepath.Join(f.dir, "exported.yaml")
	if err := os.WriteFile(exported, []byte(r.stdout), 0o600); err != nil {
		t.Fatal(err)
	}
	mustPlanEmpty(t, f.env, "-f", exported)
	r2 := pgusers(t, f.env, "export", "-f", exported, "--server", "local", "--database", "orders")
	wantCode(t, r2, exitOK)
	if d := cmp.Diff(r.stdout, r2.stdout); d != "" {
		t.Errorf("the export of the export differs (-first +second):\n%s", d)
	}
}
