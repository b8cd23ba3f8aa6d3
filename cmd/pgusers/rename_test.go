package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pgusers/pgusers/internal/pgtest"
)

// A renamed principal keeps what its role holds: the plan compares the
// declaration with what the old name holds (its privileges, default
// privileges, the objects it owns, its memberships both ways), so it
// plans the rename and the revoke of what is not declared, and nothing
// that is already there.
func TestRenamedFromCarriesWhatTheRoleHolds(t *testing.T) {
	f := shopFixture(t)
	const old, renamed = "carol.old@contoso.com", "carol.new@contoso.com"
	f.createPrincipal(t, old, "user", false)
	f.c.SuperExec(t, `CREATE ROLE auditors NOLOGIN`)
	f.c.SuperExec(t, `GRANT reporting TO "carol.old@contoso.com"`)
	f.c.SuperExec(t, `GRANT "carol.old@contoso.com" TO auditors`)
	f.c.SuperExec(t, `GRANT CONNECT ON DATABASE orders TO "carol.old@contoso.com"`)
	f.c.SuperExecIn(t, "orders",
		`SET ROLE app_owner`,
		`GRANT SELECT ON ALL TABLES IN SCHEMA public TO "carol.old@contoso.com"`,
		`GRANT DELETE ON public.t2 TO "carol.old@contoso.com"`,
		`ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO "carol.old@contoso.com"`,
		`RESET ROLE`,
		`GRANT CREATE ON SCHEMA public TO "carol.old@contoso.com"`,
		`SET ROLE "carol.old@contoso.com"`,
		`CREATE TABLE public.mine (id int)`,
		`RESET ROLE`,
		`REVOKE CREATE ON SCHEMA public FROM "carol.old@contoso.com"`,
	)
	file := f.file(t, "renamed.yaml", fmt.Sprintf(`    prune: true
    roles:
      - {name: auditors, memberOf: ["%[2]s"]}
    principals:
      - {name: "%[2]s", type: user, objectId: %[1]s, memberOf: [reporting], renamedFrom: "%[3]s"}
    grants:
      - {to: "%[2]s", databases: [orders], database: [CONNECT], tables: [SELECT], defaultsFor: [app_owner]}
      - {to: orders_rw, databases: [orders], tables: [INSERT]}
`, pgtest.ObjectID(old), renamed, old))

	r := pgusers(t, f.env, "plan", "-f", file, "--output", "json")
	wantCode(t, r, exitOK)
	want := []string{"rename " + renamed, "grant-privileges orders_rw orders.public tables [INSERT]",
		"revoke-privileges " + renamed + " orders.public tables [DELETE]"}
	if diff := cmp.Diff(want, actions(jsonReport(t, r.stdout))); diff != "" {
		t.Errorf("the plan of a rename (-want +got):\n%s", diff)
	}
	// The rehearsal runs every step, the other database's too, where the
	// role it lends to grant on the tables it owns has its new name.
	roles := f.c.SuperStrings(t, "postgres", `SELECT rolname::text FROM pg_roles ORDER BY 1`)
	wantCode(t, pgusers(t, f.env, "apply", "-f", file, "--dry-run=server"), exitOK)
	if diff := cmp.Diff(roles, f.c.SuperStrings(t, "postgres", `SELECT rolname::text FROM pg_roles ORDER BY 1`)); diff != "" {
		t.Errorf("the rehearsal changed roles (-before +after):\n%s", diff)
	}
	applyConverged(t, f.env, []string{"-f", file})

	got := f.c.SuperStrings(t, "orders", `
SELECT format('%s %s', c.relname, string_agg(a.privilege_type, ',' ORDER BY a.privilege_type))
FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a
WHERE a.grantee = '"carol.new@contoso.com"'::regrole AND c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'v')
  AND c.relowner <> a.grantee
GROUP BY c.relname
UNION ALL
SELECT 'owns ' || relname FROM pg_class WHERE relowner = '"carol.new@contoso.com"'::regrole AND relkind = 'r'
UNION ALL
SELECT 'defaults ' || a.privilege_type FROM pg_default_acl d CROSS JOIN LATERAL aclexplode(d.defaclacl) a
WHERE a.grantee = '"carol.new@contoso.com"'::regrole
UNION ALL
SELECT 'member of ' || m.roleid::regrole::text FROM pg_auth_members m WHERE m.member = '"carol.new@contoso.com"'::regrole
UNION ALL
SELECT 'has member ' || m.member::regrole::text FROM pg_auth_members m WHERE m.roleid = '"carol.new@contoso.com"'::regrole
ORDER BY 1`)
	if diff := cmp.Diff([]string{"defaults SELECT", "has member auditors", "member of reporting", "owns mine",
		"t1 SELECT", "t2 SELECT", "v SELECT"}, got); diff != "" {
		t.Errorf("what the renamed role holds (-want +got):\n%s", diff)
	}
}

// renamedFrom asserts that two names are one Entra object: naming a
// principal of another object id is an error naming both, and nothing is
// planned for the server (with prune, the old principal would otherwise be
// dropped with what it holds).
func TestRenamedFromAnotherObjectIsAnError(t *testing.T) {
	f := newFixture(t)
	f.createPrincipal(t, "carol.old@contoso.com", "user", false)
	f.c.SuperExec(t, `GRANT reporting TO "carol.old@contoso.com"`)
	before := f.state(t)
	declared := pgtest.ObjectID("carol.new@contoso.com")
	file := f.file(t, "other.yaml", fmt.Sprintf("    prune: true\n    principals:\n"+
		"      - {name: carol.new@contoso.com, type: user, objectId: %s, renamedFrom: carol.old@contoso.com}\n", declared))
	for _, args := range [][]string{{"plan"}, {"apply", "--auto-approve"}} {
		cmd := args[0]
		r := pgusers(t, f.env, append(args, "-f", file)...)
		wantCode(t, r, exitError)
		mustContain(t, cmd, r.stdout, "renamedFrom names carol.old@contoso.com, whose objectId on the server is "+
			pgtest.ObjectID("carol.old@contoso.com")+", but this entry declares objectId "+declared, "(declared at "+file+":13:9)")
		for _, bad := range []string{"drop carol.old", "create carol.new"} {
			if strings.Contains(r.stdout, bad) {
				t.Errorf("%s plans %q:\n%s", cmd, bad, r.stdout)
			}
		}
	}
	if diff := cmp.Diff(before, f.state(t)); diff != "" {
		t.Errorf("the server changed (-before +after):\n%s", diff)
	}
	if !slices.Contains(before, "carol.old@contoso.com user admin=0 mfa=0 [reporting]") {
		t.Errorf("the fixture is not what the test means: %v", before)
	}
}

// A renamed role can receive what a dropped principal owns
// (reassignOwnedTo names its new name), in a plan that also changes
// another database: the rehearsal and the apply both converge.
func TestRenamedRoleReceivesWhatADropOwns(t *testing.T) {
	f := shopFixture(t)
	const old, renamed = "carol.old@contoso.com", "carol.new@contoso.com"
	f.createPrincipal(t, old, "user", false)
	f.createPrincipal(t, "old-bot", "service", false)
	f.c.SuperExec(t, `GRANT CREATE ON SCHEMA public TO "old-bot"`)
	f.c.SuperExec(t, `SET ROLE "old-bot"; CREATE TABLE public.bot_table (id int); RESET ROLE`)
	file := f.file(t, "renamed.yaml", fmt.Sprintf(`    prune: true
    reassignOwnedTo: "%[2]s"
    principals:
      - {name: "%[2]s", type: user, objectId: %[1]s, renamedFrom: "%[3]s"}
    grants:
      - {to: "%[2]s", databases: [orders], tables: [SELECT]}
`, pgtest.ObjectID(old), renamed, old))
	roles := f.c.SuperStrings(t, "postgres", `SELECT rolname::text FROM pg_roles ORDER BY 1`)
	wantCode(t, pgusers(t, f.env, "apply", "-f", file, "--dry-run=server"), exitOK)
	if diff := cmp.Diff(roles, f.c.SuperStrings(t, "postgres", `SELECT rolname::text FROM pg_roles ORDER BY 1`)); diff != "" {
		t.Errorf("the rehearsal changed roles (-before +after):\n%s", diff)
	}
	applyConverged(t, f.env, []string{"-f", file})
	if got := f.c.SuperStrings(t, "postgres", `SELECT tableowner::text FROM pg_tables WHERE tablename = 'bot_table'`); !slices.Equal(got, []string{renamed}) {
		t.Errorf("bot_table is owned by %v, want %s", got, renamed)
	}
}
