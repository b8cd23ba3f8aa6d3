package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/pgusers/pgusers/internal/pgtest"
	"github.com/pgusers/pgusers/pkg/report"
)

// The change-management features end to end: saved plans, the server-side
// dry run, export, drop blockers and the mass-drop guard, each on a
// throwaway cluster through the command as a user runs it.

// owner returns the owner of table name in database db.
func (f *fixture) owner(t *testing.T, db, table string) string {
	t.Helper()
	owners := f.c.SuperStrings(t, db, `SELECT tableowner::text FROM pg_tables WHERE tablename = $1`, table)
	if len(owners) == 0 {
		t.Fatalf("owner of %s in %s: %v", table, db, pgx.ErrNoRows)
	}
	return owners[0]
}

func mustContain(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s does not say %q", what, w)
		}
	}
}

const twoPrincipals = `    prune: true
    principals:
      - {name: orders-api, type: service, objectId: %s, memberOf: [orders_rw]}
      - {name: Data Team, type: group, objectId: %s, mfa: true}
`

func TestSavedPlanIsRefusedWhenStaleAndAppliedWhenFresh(t *testing.T) {
	f := newFixture(t)
	f.createPrincipal(t, "old-bot", "service", false)
	file := f.file(t, "p.yaml", fmt.Sprintf(twoPrincipals, pgtest.ObjectID("orders-api"), pgtest.ObjectID("Data Team")))
	planFile := filepath.Join(f.dir, "plan.json")

	r := pgusers(t, f.env, "plan", "-f", file, "--out", planFile, "--detailed-exitcode")
	wantCode(t, r, exitChanges)
	mustContain(t, "plan", r.stdout, "Plan: 2 to create, 0 to replace, 1 to drop, 1 to grant, 0 to revoke.")
	mustContain(t, "stderr", r.stderr, "Saved the plan to "+planFile)
	saved, err := os.ReadFile(planFile)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(saved, []byte(f.c.AdminPassword)) {
		t.Fatal("the plan file holds the password")
	}

	// Someone changes the server by hand between plan and apply.
	f.createPrincipal(t, "by-hand", "user", false)
	before := f.state(t)
	r = pgusers(t, f.env, "apply", planFile, "--auto-approve")
	wantCode(t, r, exitError)
	mustContain(t, "output", r.stdout+r.stderr, "the server changed since the plan was made", "by-hand: created since the plan")
	if diff := cmp.Diff(before, f.state(t)); diff != "" {
		t.Fatalf("a stale plan changed the server (-before +after):\n%s", diff)
	}

	// Plan again (the new principal is now a drop too), apply: done.
	wantCode(t, pgusers(t, f.env, "plan", "-f", file, "--out", planFile), exitOK)
	r = pgusers(t, f.env, "apply", planFile, "--auto-approve")
	wantCode(t, r, exitOK)
	mustPlanEmpty(t, f.env, "-f", file)
	mustContain(t, "apply", r.stdout, "Apply complete: 2 created, 0 replaced, 2 dropped, 1 granted, 0 revoked.")
	want := []string{
		"Data Team group admin=0 mfa=1 []",
		"orders-api service admin=0 mfa=0 [orders_rw]",
		"pgadmin@contoso.com user admin=1 mfa=0 []",
	}
	if diff := cmp.Diff(want, f.state(t)); diff != "" {
		t.Errorf("server after applying the saved plan (-want +got):\n%s", diff)
	}
	wantCode(t, pgusers(t, f.env, "plan", "-f", file, "--detailed-exitcode"), exitOK)
}

func TestSavedPlanRunsExactlyItsStatements(t *testing.T) {
	f := newFixture(t)
	file := f.file(t, "p.yaml", fmt.Sprintf(twoPrincipals, pgtest.ObjectID("orders-api"), pgtest.ObjectID("Data Team")))
	planFile := filepath.Join(f.dir, "plan.json")
	wantCode(t, pgusers(t, f.env, "plan", "-f", file, "--out", planFile), exitOK)
	// The file changes after the plan; the saved plan does not.
	os.Remove(file)
	r := pgusers(t, f.env, "apply", planFile, "--dry-run")
	wantCode(t, r, exitOK)
	mustContain(t, "dry run", r.stdout, `pgaadauth_create_principal_with_oid('Data Team', '`+pgtest.ObjectID("Data Team")+`', 'group', false, true);`,
		`GRANT "orders_rw" TO "orders-api";`)
	r = pgusers(t, f.env, "apply", planFile, "--dry-run=server", "--output", "json")
	wantCode(t, r, exitOK)
	mustContain(t, "server dry run", r.stdout, `"dryRun": "server"`, `"status": "changes"`)
	wantCode(t, pgusers(t, f.env, "apply", planFile, "--auto-approve"), exitOK)
	// The file is gone: the saved plan's own file, written again, plans empty.
	mustPlanEmpty(t, f.env, "-f", f.file(t, "p.yaml", fmt.Sprintf(twoPrincipals, pgtest.ObjectID("orders-api"), pgtest.ObjectID("Data Team"))))
	if got := len(f.state(t)); got != 3 {
		t.Errorf("%d principals after apply, want 3", got)
	}
}

// mustReplace replaces old in s once, and fails t when s has no old: a
// variant that is the original would test nothing.
func mustReplace(t *testing.T, s, old, new string) string {
	t.Helper()
	if !strings.Contains(s, old) {
		t.Fatalf("the saved plan has no %s", old)
	}
	return strings.Replace(s, old, new, 1)
}

func TestBadPlanFilesAreRefused(t *testing.T) {
	f := newFixture(t)
	file := f.file(t, "p.yaml", fmt.Sprintf(twoPrincipals, pgtest.ObjectID("orders-api"), pgtest.ObjectID("Data Team")))
	good := filepath.Join(f.dir, "plan.json")
	wantCode(t, pgusers(t, f.env, "plan", "-f", file, "--out", good), exitOK)
	saved, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	variant := func(name string, edit func(string) string) string {
		return writeFile(t, f.dir, name, edit(string(saved)))
	}
	tests := map[string]struct {
		path string
		want string
	}{
		"a statement edited": {variant("edited.json", func(s string) string {
			return mustReplace(t, s, `GRANT \"orders_rw\"`, `GRANT \"pg_write_all_data\"`)
		}), "was changed after pgusers wrote it (its checksum does not match"},
		"truncated":  {variant("truncated.json", func(s string) string { return s[:len(s)/2] }), "truncated or damaged"},
		"not a plan": {writeFile(t, f.dir, "desired.yaml", "version: 1\n"), "is not a pgusers plan file"},
		"JSON of another kind": {writeFile(t, f.dir, "other.json", `{"formatVersion": "1", "servers": []}`),
			"is not a pgusers plan file (it has no pgusersPlan version)"},
		"a newer format": {variant("newer.json", func(s string) string {
			return mustReplace(t, s, `"pgusersPlan": 2`, `"pgusersPlan": 3`)
		}), "was written by a newer pgusers (plan format 3;"},
		"an unknown format": {variant("zero.json", func(s string) string {
			return mustReplace(t, s, `"pgusersPlan": 2`, `"pgusersPlan": -1`)
		}), "has plan format -1, which this pgusers"},
		"missing": {filepath.Join(f.dir, "nope.json"), "does not exist: make one with pgusers plan --out"},
	}
	before := f.state(t)
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := pgusers(t, f.env, "apply", tc.path, "--auto-approve")
			wantCode(t, r, exitError)
			mustContain(t, "stderr", r.stderr, tc.want, "nothing was changed")
			if r.stdout != "" {
				t.Errorf("stdout = %q, want nothing", r.stdout)
			}
		})
	}
	if diff := cmp.Diff(before, f.state(t)); diff != "" {
		t.Errorf("a refused plan file changed the server (-before +after):\n%s", diff)
	}
	r := pgusers(t, f.env, "apply", good, "-f", file, "--auto-approve")
	wantCode(t, r, exitError)
	mustContain(t, "stderr", r.stderr, "runs exactly the saved plan", "drop -f")
}

func TestPlanWithAFailedServerIsNotSaved(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "p.yaml", strings.Replace(validFile, "PORT", itoa(closedPort(t)), 1))
	planFile := filepath.Join(dir, "plan.json")
	r := pgusers(t, env{}, "plan", "-f", file, "--out", planFile, "--timeout", "5s")
	wantCode(t, r, exitError)
	mustContain(t, "stderr", r.stderr, "the plan was not saved: server(s) [one] failed")
	if _, err := os.Stat(planFile); !os.IsNotExist(err) {
		t.Errorf("a plan file was written: %v", err)
	}
}

func TestServerDryRunReportsTheStatementThatFails(t *testing.T) {
	f := newFixture(t)
	// The directory knows zz-team as a group: its create, the last
	// statement, fails after two that succeed.
	f.c.AddDirectoryObject(t, "zz-team", "group", pgtest.ObjectID("zz-team"))
	file := f.file(t, "p.yaml", `    principals:
      - {name: a-user, type: user, objectId: `+pgtest.ObjectID("a-user")+`}
      - {name: b-bot, type: service, objectId: `+pgtest.ObjectID("b-bot")+`}
      - {name: zz-team, type: user, objectId: `+pgtest.ObjectID("zz-team")+`}
`)
	before := f.state(t)
	r := pgusers(t, f.env, "apply", "-f", file, "--dry-run=server")
	wantCode(t, r, exitError)
	mustContain(t, "text", r.stdout, "server local: would fail, and was rolled back",
		"create zz-team: SELECT pg_catalog.pgaadauth_create_principal_with_oid('zz-team'", "incorrect object type",
		"Dry run complete, nothing changed")
	if diff := cmp.Diff(before, f.state(t)); diff != "" {
		t.Fatalf("a server dry run changed the server (-before +after):\n%s", diff)
	}

	r = pgusers(t, f.env, "apply", "-f", file, "--dry-run=server", "--output", "json")
	wantCode(t, r, exitError)
	var got report.Report
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("stdout is not the JSON report: %v", err)
	}
	if got.DryRun != "server" || len(got.Servers) != 1 || got.Servers[0].Failed == nil {
		t.Fatalf("report = %+v, want a server dry run with a failed statement", got)
	}
	failed := *got.Servers[0].Failed
	if failed.Action != "create" || failed.Principal != "zz-team" || !strings.Contains(failed.Error, "SQLSTATE XX000") {
		t.Errorf("failed = %+v, want the create of zz-team with XX000", failed)
	}
	if diff := cmp.Diff(before, f.state(t)); diff != "" {
		t.Errorf("a server dry run changed the server (-before +after):\n%s", diff)
	}
}

func TestExportPlansInSync(t *testing.T) {
	f := newFixture(t)
	f.createPrincipal(t, "alice@contoso.com", "user", false)
	f.createPrincipal(t, "ops-admins", "group", true)
	f.createPrincipal(t, "Data Team", "group", false)
	f.c.SuperExec(t, `SELECT pg_catalog.pgaadauth_create_principal_with_oid('orders-api', $1, 'service', false, true)`, pgtest.ObjectID("orders-api"))
	f.c.SuperExec(t, `GRANT orders_rw, reporting TO "orders-api"`)
	f.c.SuperExec(t, `GRANT "Data Team" TO "alice@contoso.com"`)
	f.c.SuperExec(t, `GRANT reporting TO "ops-admins"`)
	source := f.file(t, "source.yaml", "    prune: true\n    pruneSyncedUsers: true\n    protect: [\"breakglass-*\"]\n")

	r := pgusers(t, f.env, "export", "-f", source, "--server", "local")
	wantCode(t, r, exitOK)
	mustContain(t, "export", r.stdout,
		"# Azure manages this principal: it is a Microsoft Entra administrator of the server (isadmin = 1).",
		"- name: orders-api\n        type: service\n        objectId: "+pgtest.ObjectID("orders-api")+"\n        admin: false\n        mfa: true\n        memberOf: [orders_rw, reporting]",
		"- name: ops-admins\n        type: group",
		"memberOf: [Data Team]",
		"passwordEnv: PGUSERS_TEST_PASSWORD",
		"prune: true",
		"pruneSyncedUsers: true",
	)
	if strings.Count(r.stdout, "# Azure manages this principal") != 2 {
		t.Errorf("want the two administrators marked")
	}
	exported := writeFile(t, f.dir, "exported.yaml", r.stdout)
	before := f.state(t)
	r = pgusers(t, f.env, "plan", "-f", exported, "--detailed-exitcode")
	wantCode(t, r, exitOK)
	mustContain(t, "plan of the export", r.stdout, "in sync, 5 Entra principal(s)")
	if diff := cmp.Diff(before, f.state(t)); diff != "" {
		t.Errorf("export or plan changed the server (-before +after):\n%s", diff)
	}
}

func TestExportNeedsOneServer(t *testing.T) {
	file := writeFile(t, t.TempDir(), "p.yaml", strings.Replace(validFile, "PORT", "5432", 1))
	for _, args := range [][]string{{"export", "-f", file}, {"export", "-f", file, "--server", "one", "--server", "two"}} {
		r := pgusers(t, env{}, args...)
		wantCode(t, r, exitError)
		mustContain(t, "stderr", r.stderr, "export needs exactly one --server NAME")
	}
	r := pgusers(t, env{}, "export", "-f", file, "--server", "nope")
	wantCode(t, r, exitError)
	mustContain(t, "stderr", r.stderr, `--server "nope" is not in the files`)
}

// blockedFixture has old-bot, undeclared, owning a table in database app
// and one in postgres, and holding a privilege in app; dba receives what
// it owns when the file says so.
func blockedFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t)
	f.createPrincipal(t, "old-bot", "service", false)
	f.c.SuperExec(t, `CREATE ROLE dba NOLOGIN`)
	f.c.SuperExec(t, `CREATE DATABASE app`)
	f.c.SuperExec(t, `CREATE TABLE here (a int)`)
	f.c.SuperExec(t, `ALTER TABLE here OWNER TO "old-bot"`)
	f.c.SuperExecIn(t, "app", `CREATE TABLE orders (a int)`, `ALTER TABLE orders OWNER TO "old-bot"`,
		`CREATE TABLE lines (a int)`, `ALTER TABLE lines OWNER TO "pgadmin@contoso.com"`, `GRANT SELECT ON lines TO "old-bot"`)
	return f
}

func TestABlockedDropIsShownAndReassignOwnedToDropsIt(t *testing.T) {
	f := blockedFixture(t)
	before := f.state(t)
	blocked := f.file(t, "blocked.yaml", "    prune: true\n    principals: []\n")

	r := pgusers(t, f.env, "plan", "-f", blocked)
	wantCode(t, r, exitError)
	mustContain(t, "plan", r.stdout, "principal old-bot: dropping it would fail: it owns 1 object in database \"app\"",
		"set reassignOwnedTo on server local",
		"what blocks the drops:",
		"old-bot owns table public.orders in database app",
		"old-bot holds privileges on table public.lines in database app",
		"old-bot owns table public.here in database postgres")
	r = pgusers(t, f.env, "plan", "-f", blocked, "--output", "json")
	wantCode(t, r, exitError)
	var rep report.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	wantBlockers := []report.Blocker{
		{Principal: "old-bot", Database: "app", Dependency: "owner", ObjectType: "table", Object: "public.orders", Count: 1},
		{Principal: "old-bot", Database: "app", Dependency: "privileges", ObjectType: "table", Object: "public.lines", Count: 1},
		{Principal: "old-bot", Database: "postgres", Dependency: "owner", ObjectType: "table", Object: "public.here", Count: 1},
	}
	if diff := cmp.Diff(wantBlockers, rep.Servers[0].Blockers); diff != "" {
		t.Errorf("JSON blockers (-want +got):\n%s", diff)
	}
	r = pgusers(t, f.env, "plan", "-f", blocked, "--output", "markdown")
	wantCode(t, r, exitError)
	mustContain(t, "markdown", r.stdout, "> [!CAUTION]", "> - old-bot owns table public.orders in database app")
	wantCode(t, pgusers(t, f.env, "apply", "-f", blocked, "--auto-approve"), exitError)
	if diff := cmp.Diff(before, f.state(t)); diff != "" {
		t.Fatalf("a blocked plan changed the server (-before +after):\n%s", diff)
	}

	reassign := f.file(t, "reassign.yaml", "    prune: true\n    reassignOwnedTo: dba\n    principals: []\n")
	r = pgusers(t, f.env, "plan", "-f", reassign, "--detailed-exitcode")
	wantCode(t, r, exitChanges)
	mustContain(t, "plan", r.stdout, "first, each in its own transaction (no transaction spans two databases):",
		"database app: hand over what old-bot own(s)",
		"what it owns and holds goes to dba (REASSIGN OWNED, DROP OWNED)",
		"        owns table public.orders in database app")
	r = pgusers(t, f.env, "apply", "-f", reassign, "--dry-run")
	wantCode(t, r, exitOK)
	mustContain(t, "SQL", r.stdout, "--   meanwhile, in database app", `--   REASSIGN OWNED BY "old-bot" TO "dba";`, `DROP ROLE "old-bot";`)

	wantCode(t, pgusers(t, f.env, "apply", "-f", reassign, "--dry-run=server"), exitOK)
	if got := f.owner(t, "app", "orders"); got != "old-bot" {
		t.Fatalf("the server dry run left orders owned by %s", got)
	}
	applyConverged(t, f.env, []string{"-f", reassign})
	if diff := cmp.Diff([]string{"pgadmin@contoso.com user admin=1 mfa=0 []"}, f.state(t)); diff != "" {
		t.Errorf("principals after apply (-want +got):\n%s", diff)
	}
	for db, table := range map[string]string{"app": "orders", "postgres": "here"} {
		if got := f.owner(t, db, table); got != "dba" {
			t.Errorf("%s.%s belongs to %s, want dba", db, table, got)
		}
	}
	wantCode(t, pgusers(t, f.env, "plan", "-f", reassign, "--detailed-exitcode"), exitOK)
}

func TestReassignOwnedToAMissingRoleIsAnError(t *testing.T) {
	f := newFixture(t)
	file := f.file(t, "p.yaml", "    reassignOwnedTo: nobody\n    principals: []\n")
	r := pgusers(t, f.env, "plan", "-f", file)
	wantCode(t, r, exitError)
	mustContain(t, "plan", r.stdout, `reassignOwnedTo names role "nobody", which does not exist on the server`)
}

// Applying retries a transient failure in a fresh transaction. When the
// cleanups of other databases committed in the failed try, the retry must
// neither run them again nor take their work for a stale plan.
func TestRetryAfterCleanupsCommitted(t *testing.T) {
	f := blockedFixture(t)
	f.c.AddDirectoryObject(t, "newcomer@contoso.com", "user", pgtest.ObjectID("newcomer@contoso.com"))
	f.c.InjectDirectoryFault(t, "newcomer@contoso.com", 1)
	file := f.file(t, "p.yaml", `    prune: true
    reassignOwnedTo: dba
    principals:
      - {name: newcomer@contoso.com, type: user}
`)
	applyConverged(t, f.env, []string{"-f", file})
	want := []string{"newcomer@contoso.com user admin=0 mfa=0 []", "pgadmin@contoso.com user admin=1 mfa=0 []"}
	if diff := cmp.Diff(want, f.state(t)); diff != "" {
		t.Errorf("principals after apply (-want +got):\n%s", diff)
	}
	if got := f.owner(t, "app", "orders"); got != "dba" {
		t.Errorf("app.orders belongs to %s, want dba", got)
	}
}

func TestMassDropGuardCoversPlanAndEmptiedSets(t *testing.T) {
	f := newFixture(t)
	var set strings.Builder
	for i := 1; i <= 6; i++ {
		name := fmt.Sprintf("member-%d", i)
		f.createPrincipal(t, name, "user", false)
		fmt.Fprintf(&set, "    - {name: %s, type: user, objectId: %s}\n", name, pgtest.ObjectID(name))
	}
	sets := writeFile(t, f.dir, "sets.yaml", "version: 1\nprincipalSets:\n  team:\n"+set.String())
	server := f.file(t, "server.yaml", "    prune: true\n    include: [team]\n")
	wantCode(t, pgusers(t, f.env, "plan", "-f", sets, "-f", server, "--detailed-exitcode"), exitOK)
	before := f.state(t)

	// The set is emptied by mistake.
	emptied := writeFile(t, f.dir, "sets.yaml", "version: 1\nprincipalSets:\n  team: []\n")
	r := pgusers(t, f.env, "plan", "-f", emptied, "-f", server, "--detailed-exitcode")
	wantCode(t, r, exitError)
	mustContain(t, "plan", r.stdout, "would drop or replace 6 principals, more than maxDrops allows (5)")
	wantCode(t, pgusers(t, f.env, "apply", "-f", emptied, "-f", server, "--auto-approve"), exitError)

	// The include names a set that no file defines any more.
	broken := f.file(t, "broken.yaml", "    prune: true\n    include: [teem]\n")
	r = pgusers(t, f.env, "apply", "-f", sets, "-f", broken, "--auto-approve")
	wantCode(t, r, exitError)
	mustContain(t, "stderr", r.stderr, `unknown principal set "teem"`)

	// The set's file is left out of the command line.
	r = pgusers(t, f.env, "apply", "-f", server, "--auto-approve")
	wantCode(t, r, exitError)
	mustContain(t, "stderr", r.stderr, `unknown principal set "team"`)

	if diff := cmp.Diff(before, f.state(t)); diff != "" {
		t.Errorf("the guard let a server be wiped (-before +after):\n%s", diff)
	}
}

// An in-sync plan costs the same round trips whether or not its
// principals own objects: what they own is counted in the inspect batch,
// and named only for a principal the plan drops.
func TestInSyncPlanRoundTripsDoNotGrowWithWhatPrincipalsOwn(t *testing.T) {
	count := func(f *fixture, file string) int {
		rt := &pgtest.RoundTripCounter{}
		e := f.env
		e.connect.DialFunc = rt.Dial(nil)
		wantCode(t, pgusers(t, e, "plan", "-f", file, "--detailed-exitcode"), exitOK)
		return rt.Count()
	}
	plain := newFixture(t)
	plain.createPrincipal(t, "bot", "service", false)
	owning := newFixture(t)
	owning.createPrincipal(t, "bot", "service", false)
	owning.c.SuperExec(t, `CREATE DATABASE app`)
	owning.c.SuperExecIn(t, "app", `CREATE TABLE t (a int)`, `ALTER TABLE t OWNER TO bot`, `CREATE TABLE u (a int)`, `GRANT SELECT ON u TO bot`)
	decl := "    prune: true\n    principals:\n      - {name: bot, type: service, objectId: " + pgtest.ObjectID("bot") + "}\n"
	a, b := count(plain, plain.file(t, "p.yaml", decl)), count(owning, owning.file(t, "p.yaml", decl))
	t.Logf("round trips of a whole in-sync plan (connect included): %d without objects, %d with", a, b)
	if a != b {
		t.Errorf("an in-sync plan took %d round trips with owned objects, %d without", b, a)
	}
}
