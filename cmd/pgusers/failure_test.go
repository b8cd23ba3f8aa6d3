package main

import (
	"strings"
	"testing"
)

// A plan that changes only another database runs an empty main
// transaction first. When the database's transaction then fails, nothing
// committed: the report says "failed, nothing changed there", not that
// the main transaction committed, which reads as if part of the plan
// went through. With the cause gone, one apply converges.
func TestFailureAfterAnEmptyMainTransactionCommittedNothing(t *testing.T) {
	f := shopFixture(t)
	f.c.SuperExec(t, `CREATE ROLE ro NOLOGIN`)
	f.c.SuperExecIn(t, "orders",
		`CREATE FUNCTION public.no_grants() RETURNS event_trigger LANGUAGE plpgsql AS $$BEGIN RAISE EXCEPTION 'grants are frozen'; END$$`,
		`CREATE EVENT TRIGGER no_grants ON ddl_command_start WHEN TAG IN ('GRANT') EXECUTE FUNCTION public.no_grants()`)
	file := f.file(t, "ro.yaml", `    roles: [{name: ro}]
    grants:
      - {to: ro, databases: [orders], tables: [SELECT], defaultsFor: [app_owner]}
`)
	r := pgusers(t, f.env, "apply", "-f", file, "--auto-approve")
	wantCode(t, r, exitError)
	mustContain(t, "apply", r.stdout, "grants are frozen", "server local: failed, nothing changed there")
	if strings.Contains(r.stdout+r.stderr, "committed") {
		t.Errorf("the report says something committed, though nothing did:\nstdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	}
	f.c.SuperExecIn(t, "orders", `DROP EVENT TRIGGER no_grants`)
	applyConverged(t, f.env, []string{"-f", file})
}
