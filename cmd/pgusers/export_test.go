package main

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pgusers/pgusers/pkg/spec"
)

// Export follows memberships through group roles (app1 → orders_rw →
// orders_ro): every role a declared principal or role names is declared,
// with its grants. Planning the export shows no change, and exporting the
// export (its connection settings are what the second export reads) gives
// the same file, byte for byte.
func TestExportFollowsGroupRolesAndIsAFixedPoint(t *testing.T) {
	f := shopFixture(t)
	f.createPrincipal(t, "app1", "service", false)
	f.c.SuperExec(t, `CREATE ROLE orders_ro NOLOGIN`)
	f.c.SuperExec(t, `CREATE ROLE orders_base NOLOGIN`)
	f.c.SuperExec(t, `COMMENT ON ROLE orders_ro IS 'read-only on orders'`)
	f.c.SuperExec(t, `GRANT orders_base TO orders_ro`)
	f.c.SuperExec(t, `GRANT orders_ro TO orders_rw`)
	f.c.SuperExec(t, `GRANT orders_rw TO app1`)
	f.c.SuperExec(t, `GRANT CONNECT ON DATABASE orders TO orders_base`)
	f.c.SuperExecIn(t, "orders",
		`SET ROLE app_owner`,
		`GRANT USAGE ON SCHEMA sales TO orders_ro`,
		`GRANT SELECT ON ALL TABLES IN SCHEMA sales TO orders_ro`,
		`GRANT INSERT ON ALL TABLES IN SCHEMA sales TO orders_rw`,
		`GRANT TRUNCATE ON public.t1 TO orders_rw`,
		`RESET ROLE`,
	)
	source := f.file(t, "source.yaml", "    prune: true\n    protect: [\"breakglass-*\"]\n    maxDrops: 3\n"+
		"    reassignOwnedTo: app_owner\n    pruneSyncedUsers: true\n")

	r := pgusers(t, f.env, "export", "-f", source, "--server", "local", "--database", "orders")
	wantCode(t, r, exitOK)
	first := r.stdout
	mustContain(t, "export", first,
		"- name: orders_base\n        memberOf: []",
		"- name: orders_ro\n        comment: read-only on orders\n        memberOf: [orders_base]",
		"- name: orders_rw\n        memberOf: [orders_ro]",
		"- to: orders_base\n        databases: [orders]\n        database: [CONNECT]",
		"- to: orders_ro\n        databases: [orders]\n        schemas: [sales]\n        schema: [USAGE]\n        tables: [SELECT]",
		"- to: orders_rw\n        databases: [orders]\n        schemas: [sales]\n        tables: [INSERT]",
		"# - orders_rw holds TRUNCATE on 1 of 3 tables in orders.public",
		"reassignOwnedTo: app_owner",
	)
	exported := writeFile(t, f.dir, "exported.yaml", first)
	mustDeclareWhatItNames(t, exported)
	mustPlanEmpty(t, f.env, "-f", exported)

	r = pgusers(t, f.env, "export", "-f", exported, "--server", "local", "--database", "orders")
	wantCode(t, r, exitOK)
	if diff := cmp.Diff(first, r.stdout); diff != "" {
		t.Errorf("the export of the export differs (-first +second):\n%s", diff)
	}
}

// mustDeclareWhatItNames fails unless every role the file's principals and
// roles name in memberOf is declared in it (PostgreSQL's and Azure's own
// roles aside).
func mustDeclareWhatItNames(t *testing.T, file string) {
	t.Helper()
	d, err := spec.Load(context.Background(), []string{file})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range d.Servers {
		var declared, named []string
		for _, p := range s.Principals {
			declared = append(declared, p.Name)
			named = append(named, p.MemberOf...)
		}
		for _, r := range s.Roles {
			declared = append(declared, r.Name)
			named = append(named, r.MemberOf...)
		}
		for _, n := range named {
			if !slices.Contains(declared, n) && !spec.Reserved(n) {
				t.Errorf("server %s: %s is named in a memberOf but not declared", s.Name, n)
			}
		}
	}
}

// A grant entry cannot declare a grant option, and a plan takes away the
// one held on a declared privilege: a cell where a grantee holds one (on
// the database, a schema, the tables or their columns) is left out of the
// export and noted, so that the export plans empty and is a fixed point,
// instead of planning to take the grant options away.
func TestExportLeavesOutCellsWithAGrantOption(t *testing.T) {
	f := shopFixture(t)
	for _, p := range []string{"app1", "app2"} {
		f.createPrincipal(t, p, "service", false)
	}
	f.c.SuperExec(t, `GRANT CONNECT ON DATABASE orders TO app1 WITH GRANT OPTION`)
	f.c.SuperExec(t, `GRANT CONNECT ON DATABASE orders TO app2`)
	f.c.SuperExecIn(t, "orders",
		`ALTER TABLE public.t2 ADD COLUMN v text`,
		`SET ROLE app_owner`,
		`GRANT USAGE ON SCHEMA sales TO app1 WITH GRANT OPTION`,
		`GRANT USAGE ON SCHEMA sales TO app2`,
		`GRANT SELECT ON ALL TABLES IN SCHEMA sales TO app1 WITH GRANT OPTION`,
		`GRANT SELECT ON ALL TABLES IN SCHEMA sales TO app2`,
		`ALTER DEFAULT PRIVILEGES IN SCHEMA sales GRANT SELECT ON TABLES TO app2 WITH GRANT OPTION`,
		`GRANT UPDATE (v) ON public.t2 TO app1 WITH GRANT OPTION`,
		`GRANT UPDATE (v) ON public.t2 TO app2`,
		`RESET ROLE`)
	source := f.file(t, "source.yaml", "")
	r := pgusers(t, f.env, "export", "-f", source, "--server", "local", "--database", "orders")
	wantCode(t, r, exitOK)
	first := r.stdout
	mustContain(t, "export", first,
		"# - app1 holds CONNECT with the grant option on database orders: a grant entry cannot declare a grant option, so what it holds there is not exported",
		"# - app1 holds USAGE with the grant option on schema orders.sales",
		"# - app1 holds SELECT with the grant option on tables in orders.sales",
		"# - app1 holds UPDATE with the grant option on tables in orders.public",
		"# - the default privileges of app_owner for app2 in database orders give the grant option, which a grant entry cannot declare, so they are not exported",
		"- to: app2\n        databases: [orders]\n        database: [CONNECT]\n        tables: []\n        columns:\n          t2: {v: [UPDATE]}",
		"- to: app2\n        databases: [orders]\n        schemas: [sales]\n        schema: [USAGE]\n        tables: [SELECT]",
	)
	if strings.Contains(first, "- to: app1") {
		t.Errorf("the export declares app1's grants, held with the grant option:\n%s", first)
	}
	exported := writeFile(t, f.dir, "exported.yaml", first)
	mustPlanEmpty(t, f.env, "-f", exported)
	r = pgusers(t, f.env, "export", "-f", exported, "--server", "local", "--database", "orders")
	wantCode(t, r, exitOK)
	if diff := cmp.Diff(first, r.stdout); diff != "" {
		t.Errorf("the export of the export differs (-first +second):\n%s", diff)
	}
}
