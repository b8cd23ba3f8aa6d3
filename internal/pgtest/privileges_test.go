package pgtest

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// publicSchema is how schema public looks in a database: its owner and ACL.
type publicSchema struct{ Owner, ACL string }

// azurePublic is schema public on Azure, in every database and version: owned
// by azure_pg_admin (not PostgreSQL 15's pg_database_owner), with PUBLIC's
// USAGE and nothing more.
var azurePublic = publicSchema{"azure_pg_admin", "{azure_pg_admin=UC/azure_pg_admin,=U/azure_pg_admin}"}

func readPublicSchema(t *testing.T, c *Cluster, db string) publicSchema {
	t.Helper()
	got := c.SuperStrings(t, db, `SELECT r.rolname || ' ' || n.nspacl::text
		FROM pg_namespace n JOIN pg_roles r ON r.oid = n.nspowner WHERE n.nspname = 'public'`)
	if len(got) != 1 {
		t.Fatalf("schema public in %s: %q", db, got)
	}
	var s publicSchema
	s.Owner, s.ACL, _ = strings.Cut(got[0], " ")
	return s
}

// Schema public is azure_pg_admin's in postgres, in template1, and so in
// every database CREATE DATABASE makes without naming a template, whoever
// creates it and whoever owns it.
func TestPublicSchemaOwnedByAzurePGAdmin(t *testing.T) {
	c := New(t)
	c.CreateDatabase(t, "by_helper", "")
	createRole(t, c, "app_owner", "NOLOGIN")
	c.CreateDatabase(t, "owned_by_app", "app_owner")
	// The administrator has CREATEDB; its database is its own.
	admin := adminConn(t, c)
	mustExec(t, admin, `CREATE DATABASE by_admin`)
	t.Cleanup(func() { c.SuperExec(t, `DROP DATABASE IF EXISTS by_admin WITH (FORCE)`) })
	for _, db := range []string{"postgres", "template1", "by_helper", "owned_by_app", "by_admin"} {
		if diff := cmp.Diff(azurePublic, readPublicSchema(t, c, db)); diff != "" {
			t.Errorf("schema public in %s (-want +got):\n%s", db, diff)
		}
	}
	owners := c.SuperStrings(t, "postgres", `
		SELECT d.datname || ' ' || r.rolname FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba
		WHERE d.datname IN ('by_helper', 'owned_by_app', 'by_admin') ORDER BY d.datname`)
	want := []string{"by_admin " + AdminRole, "by_helper postgres", "owned_by_app app_owner"}
	if diff := cmp.Diff(want, owners); diff != "" {
		t.Errorf("database owners (-want +got):\n%s", diff)
	}
	// template0 cannot be connected to, so it keeps PostgreSQL's owner: only
	// a database created WITH TEMPLATE template0 differs from Azure (where
	// what it gets is not documented).
	c.SuperExec(t, `CREATE DATABASE from_template0 TEMPLATE template0`)
	t.Cleanup(func() { c.SuperExec(t, `DROP DATABASE IF EXISTS from_template0 WITH (FORCE)`) })
	want0 := publicSchema{"pg_database_owner", "{pg_database_owner=UC/pg_database_owner,=U/pg_database_owner}"}
	if diff := cmp.Diff(want0, readPublicSchema(t, c, "from_template0")); diff != "" {
		t.Errorf("schema public in a copy of template0 (-want +got):\n%s", diff)
	}
}
