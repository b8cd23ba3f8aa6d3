package main

import (
	"context"
	"slices"
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
