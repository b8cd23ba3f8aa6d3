package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pgusers/pgusers/internal/pgtest"
	"github.com/pgusers/pgusers/pkg/diff"
	"github.com/pgusers/pgusers/pkg/report"
)

// shopFixture is a server as Azure has it, with two application databases
// billing and orders (schemas public and sales) whose tables, sequences and
// functions belong to app_owner, a role that is not the Entra administrator
// pgusers signs in as: the administrator acts as it only when lent it.
func shopFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t)
	f.c.SuperExec(t, `CREATE ROLE app_owner NOLOGIN`)
	f.c.SuperExec(t, `CREATE ROLE legacy_rw NOLOGIN`)
	f.c.SuperExec(t, `CREATE ROLE someone NOLOGIN`)
	for _, db := range []string{"billing", "orders"} {
		f.c.CreateDatabase(t, db, "app_owner")
		f.c.SuperExecIn(t, db,
			`GRANT CREATE ON SCHEMA public TO app_owner`,
			`CREATE SCHEMA sales AUTHORIZATION app_owner`,
			`CREATE SCHEMA other AUTHORIZATION app_owner`,
			`SET ROLE app_owner`,
			`CREATE TABLE public.t1 (id serial PRIMARY KEY)`,
			`CREATE TABLE public.t2 (id int)`,
			`CREATE VIEW public.v AS SELECT id FROM public.t1`,
			`CREATE TABLE sales.s1 (id serial)`,
			`CREATE TABLE sales.s2 (id int)`,
			`CREATE TABLE other.o1 (id int)`,
			`CREATE FUNCTION sales.f(int) RETURNS int LANGUAGE sql AS 'SELECT $1'`,
			`GRANT SELECT ON other.o1 TO someone`,
			`GRANT DELETE ON public.t2 TO someone`,
			`RESET ROLE`,
		)
	}
	return f
}

const shopFile = `    prune: true
    roles:
      - {name: orders_ro, comment: read-only on orders}
      - {name: orders_rw, memberOf: [orders_ro]}
      - {name: legacy_rw, absent: true}
    principals:
      - {name: app-api, type: service, objectId: %s, memberOf: [orders_rw]}
    grants:
      - to: orders_ro
        databases: [billing, orders]
        schemas: [public, sales]
        profile: readonly
        defaultsFor: [app_owner]
      - to: orders_rw
        databases: [orders]
        schemas: [sales]
        tables: [INSERT, UPDATE, DELETE]
        sequences: [USAGE, UPDATE]
        functions: [EXECUTE]
        defaultsFor: [app_owner]
      - to: PUBLIC
        databases: [billing]
        database: []
      - to: pgadmin@contoso.com    # who signs in keeps CONNECT without PUBLIC's
        databases: [billing]
        database: [CONNECT]
`

// privileges lists, per database, what the roles of the file hold, as the
// superuser reads it behind pgusers' back.
func (f *fixture) privileges(t *testing.T, db string) []string {
	t.Helper()
	return f.c.SuperStrings(t, db, `
SELECT format('%s %s %s', r.rolname, c.oid::regclass, string_agg(a.privilege_type, ',' ORDER BY a.privilege_type))
FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a JOIN pg_roles r ON r.oid = a.grantee
WHERE r.rolname IN ('orders_ro', 'orders_rw', 'someone') AND c.relnamespace::regnamespace::text IN ('public', 'sales', 'other')
GROUP BY r.rolname, c.oid
UNION ALL
SELECT format('%s schema %s %s', r.rolname, n.nspname, string_agg(a.privilege_type, ',' ORDER BY a.privilege_type))
FROM pg_namespace n CROSS JOIN LATERAL aclexplode(n.nspacl) a JOIN pg_roles r ON r.oid = a.grantee
WHERE r.rolname IN ('orders_ro', 'orders_rw') GROUP BY r.rolname, n.nspname
UNION ALL
SELECT format('%s function %s %s', r.rolname, p.oid::regprocedure, string_agg(a.privilege_type, ',' ORDER BY a.privilege_type))
FROM pg_proc p CROSS JOIN LATERAL aclexplode(p.proacl) a JOIN pg_roles r ON r.oid = a.grantee
WHERE r.rolname IN ('orders_ro', 'orders_rw') GROUP BY r.rolname, p.oid
UNION ALL
SELECT format('defaults %s %s %s %s', d.defaclrole::regrole, d.defaclnamespace::regnamespace, d.defaclobjtype,
              string_agg(a.grantee::regrole::text || '=' || a.privilege_type, ',' ORDER BY a.grantee::regrole::text, a.privilege_type))
FROM pg_default_acl d CROSS JOIN LATERAL aclexplode(d.defaclacl) a WHERE a.grantee <> d.defaclrole
GROUP BY d.defaclrole, d.defaclnamespace, d.defaclobjtype
UNION ALL
SELECT format('database %s %s', a.grantee::regrole, string_agg(a.privilege_type, ',' ORDER BY a.privilege_type))
FROM pg_database d CROSS JOIN LATERAL aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a
WHERE d.datname = current_database() AND a.grantee <> d.datdba GROUP BY a.grantee
ORDER BY 1`)
}

func jsonReport(t *testing.T, stdout string) report.Report {
	t.Helper()
	var r report.Report
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("stdout is not the JSON report: %v\n%s", err, stdout)
	}
	return r
}

// actions lists a report's changes as "action target", one each.
func actions(r report.Report) []string {
	var out []string
	for _, s := range r.Servers {
		for _, c := range s.Changes {
			target := c.Principal
			switch {
			case c.Grantee != "" && c.Owner != "":
				target = fmt.Sprintf("%s %s.%s %s of %s %v", c.Grantee, c.Database, c.Schema, c.On, c.Owner, c.Privileges)
			case c.Grantee != "":
				target = fmt.Sprintf("%s %s.%s %s %v", c.Grantee, c.Database, c.Schema, c.On, c.Privileges)
			case c.Action == diff.Grant || c.Action == diff.Revoke:
				target = c.Principal + " " + c.Role
			case c.Role != "":
				target = c.Role
			}
			out = append(out, string(c.Action)+" "+target)
		}
	}
	return out
}

func TestPrivilegesPlanApplyRepair(t *testing.T) {
	f := shopFixture(t)
	file := f.file(t, "shop.yaml", fmt.Sprintf(shopFile, pgtest.ObjectID("app-api")))
	untouched := []string{"someone other.o1 SELECT", "someone t2 DELETE"}

	r := pgusers(t, f.env, "plan", "-f", file, "--detailed-exitcode", "--output", "json")
	wantCode(t, r, exitChanges)
	planned := actions(jsonReport(t, r.stdout))
	for _, want := range []string{
		"create-role orders_ro", "drop-role legacy_rw", "create app-api",
		"grant orders_rw orders_ro", "grant app-api orders_rw",
		"grant-privileges orders_ro billing. database [CONNECT]", "grant-privileges orders_ro orders.sales tables [SELECT]",
		"grant-defaults orders_ro orders.sales tables of app_owner [SELECT]",
		"grant-privileges orders_rw orders.sales functions [EXECUTE]",
		"revoke-privileges PUBLIC billing. database [CONNECT TEMPORARY]",
	} {
		if !slices.Contains(planned, want) {
			t.Errorf("the plan lacks %q:\n%s", want, strings.Join(planned, "\n"))
		}
	}
	// One statement per cell, whatever the number of tables.
	for _, s := range jsonReport(t, r.stdout).Servers[0].Changes {
		if len(s.SQL) != 1 && s.Action != diff.CreateRole {
			t.Errorf("%s: %d statements, want 1: %v", s.Action, len(s.SQL), s.SQL)
		}
	}

	applyConverged(t, f.env, []string{"-f", file})
	billing := f.privileges(t, "billing")
	got := append(f.privileges(t, "orders"), billing...)
	for _, want := range append([]string{
		"orders_ro t1 SELECT", "orders_ro v SELECT", "orders_ro sales.s1 SELECT", "orders_ro sales.s1_id_seq SELECT",
		"orders_rw sales.s2 DELETE,INSERT,UPDATE", "orders_rw sales.s1_id_seq UPDATE,USAGE",
		"orders_rw function sales.f(integer) EXECUTE", "orders_ro schema sales USAGE",
		"defaults app_owner sales r orders_ro=SELECT,orders_rw=DELETE,orders_rw=INSERT,orders_rw=UPDATE",
		"database orders_ro CONNECT",
	}, untouched...) {
		if !slices.Contains(got, want) {
			t.Errorf("after apply the server lacks %q:\n%s", want, strings.Join(got, "\n"))
		}
	}
	for _, line := range billing {
		if strings.HasPrefix(line, "database -") { // PUBLIC
			t.Errorf("PUBLIC keeps a database privilege in billing: %s", line)
		}
	}
	if n := f.c.SuperStrings(t, "postgres", `SELECT rolname::text FROM pg_roles WHERE rolname = 'legacy_rw'`); len(n) != 0 {
		t.Error("the absent role legacy_rw is still there")
	}
	if c := f.c.SuperStrings(t, "postgres", `SELECT shobj_description('orders_ro'::regrole, 'pg_authid')`); !slices.Equal(c, []string{"read-only on orders"}) {
		t.Errorf("the comment of orders_ro is %q", c)
	}
	// Apply lent app_owner to the administrator for its transactions only.
	if m := f.c.SuperStrings(t, "postgres", `SELECT pg_has_role($1, 'app_owner', 'MEMBER')::text`, f.c.Admin); !slices.Equal(m, []string{"false"}) {
		t.Errorf("the administrator is still a member of app_owner: %v", m)
	}

	// A table the owner creates later is covered through defaultsFor.
	f.c.SuperExecIn(t, "orders", `SET ROLE app_owner`, `CREATE TABLE sales.later (id int)`, `RESET ROLE`)
	if has := f.c.SuperStrings(t, "orders", `SELECT has_table_privilege('orders_ro', 'sales.later', 'SELECT')::text`); !slices.Equal(has, []string{"true"}) {
		t.Error("orders_ro cannot read a table app_owner created after the apply")
	}
	wantCode(t, pgusers(t, f.env, "plan", "-f", file, "--detailed-exitcode"), exitOK)

	// Drift made by hand: a SELECT revoked on one table, an extra DELETE,
	// a default privilege changed.
	f.c.SuperExecIn(t, "orders",
		`REVOKE SELECT ON public.t1 FROM orders_ro`,
		`GRANT DELETE ON sales.s1 TO orders_ro`,
		`ALTER DEFAULT PRIVILEGES FOR ROLE app_owner IN SCHEMA sales REVOKE SELECT ON TABLES FROM orders_ro`)
	r = pgusers(t, f.env, "plan", "-f", file, "--detailed-exitcode", "--output", "json")
	wantCode(t, r, exitChanges)
	if diff := cmp.Diff([]string{
		"grant-privileges orders_ro orders.public tables [SELECT]",
		"revoke-privileges orders_ro orders.sales tables [DELETE]",
		"grant-defaults orders_ro orders.sales tables of app_owner [SELECT]",
	}, actions(jsonReport(t, r.stdout))); diff != "" {
		t.Errorf("drift (-want +got):\n%s", diff)
	}
	r = pgusers(t, f.env, "plan", "-f", file)
	for _, want := range []string{"SELECT missing on 1 of 3 tables", "DELETE held on 1 of 3 tables (sales.s1)",
		"privileges made exact", "orders_ro in orders: database; schema in public, sales; tables in public, sales; sequences in public, sales"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the text plan does not say %q:\n%s", want, r.stdout)
		}
	}
	applyConverged(t, f.env, []string{"-f", file})
	got = append(f.privileges(t, "orders"), f.privileges(t, "billing")...)
	for _, want := range untouched {
		if !slices.Contains(got, want) {
			t.Errorf("a cell no entry names changed: %q is gone:\n%s", want, strings.Join(got, "\n"))
		}
	}
}

// Revoking PUBLIC's CONNECT from under the administrator pgusers signs in
// as would lock the next run out: refused, naming the way out.
func TestPrivilegesDoNotLockTheAdministratorOut(t *testing.T) {
	f := shopFixture(t)
	file := f.file(t, "shop.yaml", "    grants:\n      - {to: PUBLIC, databases: [billing], database: []}\n")
	r := pgusers(t, f.env, "plan", "-f", file)
	wantCode(t, r, exitError)
	mustContain(t, "stdout", r.stdout, "revoking CONNECT on database billing from PUBLIC would lock out pgadmin@contoso.com",
		"to: pgadmin@contoso.com, database: [CONNECT]")
}

// A rehearsal runs every database's transaction and rolls each back.
func TestPrivilegesServerDryRunLeavesNothing(t *testing.T) {
	f := shopFixture(t)
	file := f.file(t, "shop.yaml", fmt.Sprintf(shopFile, pgtest.ObjectID("app-api")))
	before := append(f.privileges(t, "orders"), f.privileges(t, "billing")...)
	roles := f.c.SuperStrings(t, "postgres", `SELECT rolname::text FROM pg_roles ORDER BY 1`)
	r := pgusers(t, f.env, "apply", "-f", file, "--dry-run=server")
	wantCode(t, r, exitOK)
	if !strings.Contains(r.stdout, "would apply") {
		t.Errorf("the rehearsal does not say it would apply:\n%s", r.stdout)
	}
	if diff := cmp.Diff(before, append(f.privileges(t, "orders"), f.privileges(t, "billing")...)); diff != "" {
		t.Errorf("the rehearsal changed privileges (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(roles, f.c.SuperStrings(t, "postgres", `SELECT rolname::text FROM pg_roles ORDER BY 1`)); diff != "" {
		t.Errorf("the rehearsal changed roles (-before +after):\n%s", diff)
	}
	r = pgusers(t, f.env, "apply", "-f", file, "--dry-run")
	wantCode(t, r, exitOK)
	for _, want := range []string{"-- in database orders, on a connection of its own:", `GRANT "app_owner" TO "pgadmin@contoso.com"; -- lend app_owner`,
		"SELECT pg_catalog.pg_try_advisory_lock(", "SELECT pg_catalog.pg_advisory_unlock("} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the dry-run SQL lacks %q:\n%s", want, r.stdout)
		}
	}
}

// A failure in the second database's transaction leaves the first
// committed, says so, and the next apply converges.
func TestPrivilegesFailureInTheSecondDatabaseConverges(t *testing.T) {
	f := shopFixture(t)
	file := f.file(t, "shop.yaml", fmt.Sprintf(shopFile, pgtest.ObjectID("app-api")))
	// Databases run in order (billing, then orders): a grant on a table of
	// orders left uncommitted by another session holds its catalog row, so
	// pgusers' GRANT there waits until the server's timeout.
	hold := f.c.SuperIn(t, "orders")
	ctx := context.Background()
	tx, err := hold.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `GRANT SELECT ON sales.s2 TO someone`); err != nil {
		t.Fatal(err)
	}
	r := pgusers(t, f.env, "apply", "-f", file, "--auto-approve", "--timeout", "6s", "--output", "json")
	wantCode(t, r, exitError)
	rep := jsonReport(t, r.stdout)
	if diff := cmp.Diff([]string{"the main transaction", "database billing"}, rep.Servers[0].Committed); diff != "" {
		t.Errorf("committed (-want +got):\n%s", diff)
	}
	if !strings.Contains(rep.Servers[0].Error, "database orders failed and was rolled back") {
		t.Errorf("the error does not name the database that failed: %s", rep.Servers[0].Error)
	}
	if has := f.c.SuperStrings(t, "billing", `SELECT has_table_privilege('orders_ro', 'public.t1', 'SELECT')::text`); !slices.Equal(has, []string{"true"}) {
		t.Error("billing's committed transaction did not stay")
	}
	if has := f.c.SuperStrings(t, "orders", `SELECT count(*)::text FROM pg_class c, aclexplode(c.relacl) a WHERE a.grantee = 'orders_ro'::regrole`); !slices.Equal(has, []string{"0"}) {
		t.Errorf("orders holds privileges of a rolled-back transaction: %v", has)
	}
	if _, err := tx.Exec(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	r = pgusers(t, f.env, "plan", "-f", file, "--output", "json", "--detailed-exitcode")
	wantCode(t, r, exitChanges)
	for _, a := range actions(jsonReport(t, r.stdout)) {
		if strings.Contains(a, "billing") {
			t.Errorf("billing is planned again: %s", a)
		}
	}
	applyConverged(t, f.env, []string{"-f", file})
}

// Objects whose owner the administrator cannot act as (a superuser) block
// the plan before anything runs, naming them.
func TestPrivilegesOwnerTheAdministratorCannotActAs(t *testing.T) {
	f := shopFixture(t)
	f.c.SuperExecIn(t, "orders", `CREATE TABLE sales.by_super (id int)`)
	file := f.file(t, "shop.yaml", fmt.Sprintf(shopFile, pgtest.ObjectID("app-api")))
	before := f.privileges(t, "orders")
	r := pgusers(t, f.env, "apply", "-f", file, "--auto-approve")
	wantCode(t, r, exitError)
	mustContain(t, "stdout", r.stdout, "tables in schema sales of database orders (1 owned by postgres): postgres is a superuser")
	if diff := cmp.Diff(before, f.privileges(t, "orders")); diff != "" {
		t.Errorf("a blocked plan changed the server (-before +after):\n%s", diff)
	}
}

// A server set up by Service Connector (its four statements, run by the
// Entra administrator) exports as a serviceConnector grant and plans in
// sync.
func TestServiceConnectorFootprintExportsAndPlansInSync(t *testing.T) {
	f := newFixture(t)
	f.createPrincipal(t, "aad_orders_conn", "service", false)
	// Service Connector's database is the administrator's: it created it.
	f.c.CreateDatabase(t, "orders", f.c.Admin)
	conn, _ := f.c.AdminConnIn(t, "orders")
	ctx := context.Background()
	for _, sql := range []string{
		`CREATE TABLE public.items (id serial PRIMARY KEY)`, // the administrator's own tables, as the app's are
		`CREATE TABLE public.lines (id int)`,
		`GRANT ALL PRIVILEGES ON DATABASE "orders" TO "aad_orders_conn"`,
		`GRANT ALL PRIVILEGES ON ALL TABLES IN SCHEMA public TO "aad_orders_conn"`,
		`GRANT ALL PRIVILEGES ON ALL SEQUENCES IN SCHEMA public TO "aad_orders_conn"`,
		`GRANT CREATE ON SCHEMA public TO "aad_orders_conn"`,
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	servers := f.file(t, "servers.yaml", "")
	r := pgusers(t, f.env, "export", "-f", servers, "--server", "local", "--database", "orders")
	wantCode(t, r, exitOK)
	mustContain(t, "export", r.stdout, "profile: serviceConnector", "to: aad_orders_conn")
	exported := filepath.Join(f.dir, "exported.yaml")
	if err := os.WriteFile(exported, []byte(r.stdout), 0o600); err != nil {
		t.Fatal(err)
	}
	r = pgusers(t, f.env, "plan", "-f", exported, "--detailed-exitcode")
	wantCode(t, r, exitOK)
	mustContain(t, "plan", r.stdout, "aad_orders_conn in orders: database; schema in public; tables in public; sequences in public")
}

// Every kind is granted, then revoked by an entry that declares it empty.
func TestPrivilegesEveryKindGrantedAndRevoked(t *testing.T) {
	f := shopFixture(t)
	const entry = `    roles: [{name: orders_ro}]
    grants:
      - to: orders_ro
        databases: [orders]
        schemas: [sales]
        database: %[1]s
        schema: %[1]s
        tables: %[1]s
        sequences: %[1]s
        functions: %[1]s
        defaultsFor: [app_owner]
`
	all := f.file(t, "all.yaml", fmt.Sprintf(entry, "[ALL]"))
	applyConverged(t, f.env, []string{"-f", all})
	got := f.privileges(t, "orders")
	for _, want := range []string{
		"database orders_ro CONNECT,CREATE,TEMPORARY", "orders_ro schema sales CREATE,USAGE",
		"orders_ro sales.s2 DELETE,INSERT,REFERENCES,SELECT,TRIGGER,TRUNCATE,UPDATE", "orders_ro sales.s1_id_seq SELECT,UPDATE,USAGE",
		"orders_ro function sales.f(integer) EXECUTE",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("after granting ALL the server lacks %q:\n%s", want, strings.Join(got, "\n"))
		}
	}
	none := f.file(t, "none.yaml", fmt.Sprintf(entry, "[]"))
	r := pgusers(t, f.env, "plan", "-f", none, "--output", "json")
	wantCode(t, r, exitOK)
	var revokes []string
	for _, a := range actions(jsonReport(t, r.stdout)) {
		revokes = append(revokes, strings.Fields(a)[0]+" "+strings.Fields(a)[3])
	}
	// Objects first, then the schema, then the database: see revokeObjectsFirst.
	if diff := cmp.Diff([]string{"revoke-privileges tables", "revoke-privileges sequences", "revoke-privileges functions",
		"revoke-privileges schema", "revoke-privileges database", "revoke-defaults tables", "revoke-defaults sequences",
		"revoke-defaults functions"}, revokes); diff != "" {
		t.Errorf("revokes (-want +got):\n%s", diff)
	}
	applyConverged(t, f.env, []string{"-f", none})
	for _, line := range f.privileges(t, "orders") {
		if strings.Contains(line, "orders_ro") {
			t.Errorf("orders_ro still holds %s", line)
		}
	}
	wantCode(t, pgusers(t, f.env, "plan", "-f", none, "--detailed-exitcode"), exitOK)
}

// A UPN changed in Entra: renamedFrom renames the role, which keeps its
// object id, memberships and privileges; without it the plan refuses to
// make a second role for one object.
func TestRenamedFromKeepsTheRole(t *testing.T) {
	f := newFixture(t)
	f.createPrincipal(t, "carol.old@contoso.com", "user", false)
	f.c.SuperExec(t, `GRANT reporting TO "carol.old@contoso.com"`)
	f.c.SuperExec(t, `GRANT SELECT ON pg_catalog.pg_class TO "carol.old@contoso.com"`)
	oid := pgtest.ObjectID("carol.old@contoso.com")
	without := f.file(t, "without.yaml", fmt.Sprintf("    prune: true\n    principals:\n      - {name: carol.new@contoso.com, type: user, objectId: %s, memberOf: [reporting]}\n", oid))
	r := pgusers(t, f.env, "plan", "-f", without)
	wantCode(t, r, exitError)
	mustContain(t, "stdout", r.stdout, "is held on the server by principal carol.old@contoso.com", "add renamedFrom: carol.old@contoso.com")

	with := f.file(t, "with.yaml", fmt.Sprintf("    prune: true\n    principals:\n      - {name: carol.new@contoso.com, type: user, objectId: %s, memberOf: [reporting], renamedFrom: carol.old@contoso.com}\n", oid))
	r = applyConverged(t, f.env, []string{"-f", with})
	mustContain(t, "stdout", r.stdout, "rename carol.old@contoso.com to carol.new@contoso.com")
	if diff := cmp.Diff([]string{"carol.new@contoso.com user admin=0 mfa=0 [reporting]", "pgadmin@contoso.com user admin=1 mfa=0 []"}, f.state(t)); diff != "" {
		t.Errorf("principals (-want +got):\n%s", diff)
	}
	if got := f.c.SuperStrings(t, "postgres", `SELECT objectid FROM pg_catalog.pgaadauth_list_principals(false) WHERE rolname = 'carol.new@contoso.com'`); !slices.Equal(got, []string{oid}) {
		t.Errorf("the renamed principal's object id is %v, want %s", got, oid)
	}
	if got := f.c.SuperStrings(t, "postgres", `SELECT has_table_privilege('carol.new@contoso.com', 'pg_catalog.pg_class', 'SELECT')::text`); !slices.Equal(got, []string{"true"}) {
		t.Error("the renamed role lost its privileges")
	}
	wantCode(t, pgusers(t, f.env, "plan", "-f", with, "--detailed-exitcode"), exitOK)
}

// On a server whose group sync is on, the server makes roles for the
// members of synced groups: prune keeps undeclared users and says why,
// unless the server entry opts in with pruneSyncedUsers.
func TestGroupSyncKeepsUsersFromPrune(t *testing.T) {
	c := pgtest.New(t, pgtest.Options{GroupSync: true})
	f := &fixture{c: c, dir: t.TempDir(), env: env{getenv: func(k string) string {
		if k == "PGUSERS_TEST_PASSWORD" {
			return c.AdminPassword
		}
		return ""
	}}}
	f.createPrincipal(t, "member@contoso.com", "user", false)
	f.createPrincipal(t, "old-bot", "service", false)
	file := f.file(t, "p.yaml", "    prune: true\n")
	r := pgusers(t, f.env, "plan", "-f", file, "--output", "json")
	wantCode(t, r, exitOK)
	rep := jsonReport(t, r.stdout)
	if diff := cmp.Diff([]string{"drop old-bot"}, actions(rep)); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	var kept []string
	for _, k := range rep.Servers[0].Kept {
		kept = append(kept, k.Principal)
	}
	if !slices.Contains(kept, "member@contoso.com") || !strings.Contains(r.stdout, "pgaadauth.enable_group_sync") {
		t.Errorf("prune does not keep the synced user, saying why: %v\n%s", kept, r.stdout)
	}
	optIn := f.file(t, "opt-in.yaml", "    prune: true\n    pruneSyncedUsers: true\n")
	r = pgusers(t, f.env, "plan", "-f", optIn, "--output", "json")
	wantCode(t, r, exitOK)
	if diff := cmp.Diff([]string{"drop member@contoso.com", "drop old-bot"}, actions(jsonReport(t, r.stdout))); diff != "" {
		t.Errorf("with pruneSyncedUsers, changes (-want +got):\n%s", diff)
	}
}

// Dropping a principal or a role that holds privileges pgusers granted
// (with the objects' owner lent, so the owner is their grantor): the
// hand-over lends the owner too, so DROP OWNED can revoke them.
func TestDropsOfGranteesHandOverTheirPrivileges(t *testing.T) {
	f := shopFixture(t)
	f.c.SuperExec(t, `CREATE ROLE dba NOLOGIN`)
	oid := pgtest.ObjectID("app-bot")
	v1 := f.file(t, "v1.yaml", fmt.Sprintf(`    prune: true
    reassignOwnedTo: dba
    roles: [{name: legacy_rw}]
    principals: [{name: app-bot, type: service, objectId: %s}]
    grants:
      - {to: app-bot, databases: [orders], schemas: [sales], tables: [SELECT], defaultsFor: [app_owner]}
      - {to: legacy_rw, databases: [orders, billing], schemas: [public], tables: [SELECT, UPDATE], defaultsFor: [app_owner]}
`, oid))
	applyConverged(t, f.env, []string{"-f", v1})
	v2 := f.file(t, "v2.yaml", "    prune: true\n    reassignOwnedTo: dba\n    roles: [{name: legacy_rw, absent: true}]\n")
	applyConverged(t, f.env, []string{"-f", v2})
	if got := f.c.SuperStrings(t, "postgres", `SELECT rolname::text FROM pg_roles WHERE rolname IN ('app-bot', 'legacy_rw')`); len(got) != 0 {
		t.Errorf("still there after the apply: %v", got)
	}
	wantCode(t, pgusers(t, f.env, "plan", "-f", v2, "--detailed-exitcode"), exitOK)
}
