package main

import (
	"strings"
	"testing"
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
