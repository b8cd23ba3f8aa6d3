package inspect_test

import (
	"context"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/pgusers/pgusers/internal/pgtest"
	"github.com/pgusers/pgusers/pkg/diff"
	"github.com/pgusers/pgusers/pkg/inspect"
)

// rolesCluster has Entra principals and plain roles, asked about or not,
// usable by the administrator or not, owning something or not.
func rolesCluster(t *testing.T) *pgtest.Cluster {
	t.Helper()
	c := pgtest.New(t)
	for _, p := range []string{"ent-asked", "ent-with-deps", "ent-no-deps"} {
		c.SuperExec(t, `SELECT pg_catalog.pgaadauth_create_principal_with_oid($1, $2, 'service', false, false)`, p, pgtest.ObjectID(p))
	}
	c.SuperExec(t, `CREATE ROLE "plain-asked" NOLOGIN`)
	c.SuperExec(t, `CREATE ROLE "plain-unasked" NOLOGIN`)
	c.SuperExec(t, `CREATE ROLE "reporting" NOLOGIN`)
	for _, odd := range oddNames {
		c.SuperExec(t, `CREATE ROLE `+pgx.Identifier{odd}.Sanitize()+` NOLOGIN`)
	}
	c.SuperExec(t, `GRANT "reporting", "plain-asked" TO "ent-asked"`)
	c.SuperExec(t, `GRANT "reporting" TO "ent-with-deps"`)
	c.SuperExec(t, `GRANT "plain-asked", "plain-unasked", "ent-with-deps", "ent-no-deps" TO "pgadmin@contoso.com"`)
	c.SuperExec(t, `CREATE TABLE owned_by_entra (a int)`)
	c.SuperExec(t, `ALTER TABLE owned_by_entra OWNER TO "ent-with-deps"`)
	c.SuperExec(t, `CREATE TABLE owned_by_plain (a int)`)
	c.SuperExec(t, `ALTER TABLE owned_by_plain OWNER TO "plain-unasked"`)
	return c
}

// oddNames are roles whose names SQL must quote, or that sort differently
// by bytes than in a locale: readInspect compares names byte by byte.
var oddNames = []string{`NULL`, `a "quoted", {braced} \ name`, `ünïcödé`}

func TestInspectRolesAreTheAskedNamesThatExist(t *testing.T) {
	c := rolesCluster(t)
	conn, _ := c.AdminConn(t)
	// Not sorted, with a repeat: Inspect sorts what it is asked.
	asked := append([]string{"plain-asked", "missing", "ent-asked", c.Admin, "azure_pg_admin", "ent-asked"}, oddNames...)
	o, err := inspect.Inspect(context.Background(), conn, inspect.Asked{Names: asked})
	if err != nil {
		t.Fatal(err)
	}
	want := append([]string{"azure_pg_admin", "ent-asked", c.Admin, "plain-asked"}, oddNames...)
	slices.Sort(want)
	if diff := cmp.Diff(want, o.Roles); diff != "" {
		t.Errorf("roles (-want +got):\n%s", diff)
	}
	// Usable and asked (Entra or not), or an Entra principal that owns
	// something; not plain-unasked (usable, owns something, neither asked
	// nor Entra), ent-no-deps (usable, owns nothing) or ent-asked (asked,
	// not usable).
	want = []string{"azure_pg_admin", "ent-with-deps", c.Admin, "plain-asked"}
	if diff := cmp.Diff(want, o.SessionRoles); diff != "" {
		t.Errorf("session roles (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]diff.Dependency{{Principal: "ent-with-deps", Database: "postgres", Kind: diff.Owner, Count: 1}},
		o.DependenciesOf("ent-with-deps", "plain-unasked")); diff != "" {
		t.Errorf("dependencies (-want +got):\n%s", diff)
	}
	for name, wantOf := range map[string][]string{
		"ent-asked":     {"plain-asked", "reporting"},
		"ent-with-deps": {"reporting"},
		"ent-no-deps":   nil,
		c.Admin:         {"azure_pg_admin", "ent-no-deps", "ent-with-deps", "plain-asked", "plain-unasked"},
	} {
		p, ok := o.Principal(name)
		if !ok {
			t.Errorf("principal %s not observed", name)
			continue
		}
		if diff := cmp.Diff(wantOf, p.MemberOf); diff != "" {
			t.Errorf("%s member of (-want +got):\n%s", name, diff)
		}
	}
}

func TestInspectAskedAboutNothing(t *testing.T) {
	c := rolesCluster(t)
	conn, _ := c.AdminConn(t)
	o, err := inspect.Inspect(context.Background(), conn, inspect.Asked{})
	if err != nil {
		t.Fatal(err)
	}
	if o.Roles != nil {
		t.Errorf("roles = %q, want none", o.Roles)
	}
	if diff := cmp.Diff([]string{"ent-with-deps"}, o.SessionRoles); diff != "" {
		t.Errorf("session roles (-want +got):\n%s", diff)
	}
	if got := len(o.Principals); got != 4 {
		t.Errorf("%d principals, want 4 (3 and the admin)", got)
	}
}
