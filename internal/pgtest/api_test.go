package pgtest

import (
	"context"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// The shape of the API: names, argument names and types, results, and that
// there is nothing else (no drop or update function).
func TestFunctionSignatures(t *testing.T) {
	c := New(t)
	type function struct {
		Name, Schema, Arguments, Result, Language string
		SecurityDefiner                           bool
		ArgNames                                  []string
	}
	rows, _ := c.SuperIn(t, "postgres").Query(context.Background(), `
		SELECT p.proname::text, n.nspname::text, pg_get_function_arguments(p.oid),
		       pg_get_function_result(p.oid), l.lanname::text, p.prosecdef,
		       coalesce(p.proargnames, '{}')
		FROM pg_proc p
		JOIN pg_namespace n ON n.oid = p.pronamespace
		JOIN pg_language l ON l.oid = p.prolang
		WHERE p.proname LIKE 'pgaadauth%'
		ORDER BY p.proname`)
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[function])
	if err != nil {
		t.Fatal(err)
	}
	want := []function{
		{
			"pgaadauth_create_principal", "pg_catalog",
			"rolename text, isadmin boolean, ismfa boolean", "text", "plpgsql", true,
			[]string{"rolename", "isadmin", "ismfa"},
		},
		{
			"pgaadauth_create_principal_with_oid", "pg_catalog",
			"rolename text, objectid text, objecttype text, isadmin boolean, ismfa boolean", "text", "plpgsql", true,
			[]string{"rolename", "objectid", "objecttype", "isadmin", "ismfa"},
		},
		{
			"pgaadauth_list_principals", "pg_catalog", "isadminvalue boolean",
			"TABLE(rolname name, principaltype text, objectid text, tenantid text, ismfa integer, isadmin integer)",
			"sql", true,
			[]string{"isadminvalue", "rolname", "principaltype", "objectid", "tenantid", "ismfa", "isadmin"},
		},
		{"pgaadauth_sync_roles_for_group_members", "pg_catalog", "", "void", "plpgsql", true, []string{}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pgaadauth functions (-want +got):\n%s", diff)
	}
}

// Callers may call the functions with named arguments, as Microsoft's
// examples do.
func TestNamedArguments(t *testing.T) {
	c := New(t)
	c.AddDirectoryObject(t, "alice@contoso.com", "user", "")
	conn := adminConn(t, c)
	mustExec(t, conn, `SELECT pgaadauth_create_principal(rolename => 'alice@contoso.com', isadmin => false, ismfa => true)`)
	mustExec(t, conn, `SELECT pgaadauth_create_principal_with_oid(rolename => 'app', objectid => $1,
		objecttype => 'service', isadmin => false, ismfa => false)`, ObjectID("app"))
	mustExec(t, conn, `SELECT * FROM pgaadauth_list_principals(isadminvalue => false)`)
}

// Read by position, with the types of the reference: integer flags, not
// booleans.
func TestListPrincipalsColumns(t *testing.T) {
	c := New(t)
	conn := adminConn(t, c)
	rows, err := conn.Query(context.Background(), `SELECT * FROM pgaadauth_list_principals(false)`)
	if err != nil {
		t.Fatal(err)
	}
	type column struct {
		Name string
		Type uint32
	}
	var got []column
	for _, f := range rows.FieldDescriptions() {
		got = append(got, column{f.Name, f.DataTypeOID})
	}
	rows.Close()
	want := []column{
		{"rolname", pgtype.NameOID},
		{"principaltype", pgtype.TextOID},
		{"objectid", pgtype.TextOID},
		{"tenantid", pgtype.TextOID},
		{"ismfa", pgtype.Int4OID},
		{"isadmin", pgtype.Int4OID},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("columns (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]principal{adminPrincipal}, listPrincipals(t, conn, false)); diff != "" {
		t.Errorf("a new cluster's principals (-want +got):\n%s", diff)
	}
}

// true lists the admins only, false every principal; flags are 1 or 0.
func TestListPrincipalsFlags(t *testing.T) {
	c := New(t)
	conn := adminConn(t, c)
	for _, p := range []struct {
		name, typ      string
		isAdmin, isMFA bool
	}{
		{"mfa-user@contoso.com", "user", false, true},
		{"DBA Team", "group", true, false},
		{"orders-api", "service", false, false},
	} {
		mustExec(t, conn, `SELECT pgaadauth_create_principal_with_oid($1, $2, $3, $4, $5)`,
			p.name, ObjectID(p.name), p.typ, p.isAdmin, p.isMFA)
	}
	dba := principal{"DBA Team", "group", ObjectID("DBA Team"), TenantID, 0, 1}
	all := []principal{
		dba,
		{"mfa-user@contoso.com", "user", ObjectID("mfa-user@contoso.com"), TenantID, 1, 0},
		{"orders-api", "service", ObjectID("orders-api"), TenantID, 0, 0},
		adminPrincipal,
	}
	if diff := cmp.Diff(all, listPrincipals(t, conn, false)); diff != "" {
		t.Errorf("list_principals(false) (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]principal{dba, adminPrincipal}, listPrincipals(t, conn, true)); diff != "" {
		t.Errorf("list_principals(true) (-want +got):\n%s", diff)
	}
}

// On Azure the functions exist in the postgres database only.
func TestFunctionsOnlyInPostgresDatabase(t *testing.T) {
	c := New(t)
	c.CreateDatabase(t, "other", "")
	for _, db := range []string{"other", "template1"} {
		t.Run(db, func(t *testing.T) {
			conn := c.SuperIn(t, db)
			for _, sql := range []string{
				`SELECT pgaadauth_create_principal('x', false, false)`,
				`SELECT pgaadauth_create_principal_with_oid('x', 'y', 'user', false, false)`,
				`SELECT * FROM pgaadauth_list_principals(false)`,
				`SELECT pgaadauth_sync_roles_for_group_members()`,
			} {
				_, err := conn.Exec(context.Background(), sql)
				if got := pgErr(err); len(got) < 5 || got[:5] != "42883" {
					t.Errorf("%s: got %q, want 42883 (undefined function)", sql, got)
				}
			}
			if queryBool(t, conn, `SELECT to_regnamespace('pgaadauth_emul') IS NOT NULL`) {
				t.Errorf("the emulation's schema exists in %s", db)
			}
		})
	}
}

// An administrator signs in over TCP with its password (its "token"); a
// rotated password replaces the old one.
func TestAdminSignIn(t *testing.T) {
	c := New(t)
	ctx := context.Background()
	var user string
	if err := adminConn(t, c).QueryRow(ctx, `SELECT session_user`).Scan(&user); err != nil || user != AdminRole {
		t.Fatalf("session_user = %q, %v; want %q", user, err, AdminRole)
	}
	wrong := c.AdminConfig(t)
	wrong.Password = "expired-token"
	if _, err := pgx.ConnectConfig(ctx, wrong); pgErr(err) != `28P01: password authentication failed for user "pgadmin@contoso.com"` {
		t.Errorf("wrong password: got %v", err)
	}
	old := c.AdminConfig(t)
	if err := c.SetAdminPassword(ctx, "rotated-token"); err != nil {
		t.Fatal(err)
	}
	if _, err := pgx.ConnectConfig(ctx, old); err == nil {
		t.Error("the old password still signs in")
	}
	adminConn(t, c) // with the new one
	if os.Getenv(EnvTestDSN) != "" {
		return // how the superuser signs in is the existing server's business
	}
	super := c.AdminConfig(t)
	super.User, super.Password = "postgres", ""
	if _, err := pgx.ConnectConfig(ctx, super); err == nil {
		t.Error("the superuser signs in over TCP without a password")
	}
}

func TestSystemRoles(t *testing.T) {
	c := New(t)
	type role struct {
		Name                      string
		Super, Login, CreateRole  bool
		CreateDB, AzurePGAdminMbr bool
	}
	rows, _ := c.SuperIn(t, "postgres").Query(context.Background(), `
		SELECT rolname::text, rolsuper, rolcanlogin, rolcreaterole, rolcreatedb,
		       pg_has_role(oid, 'azure_pg_admin', 'MEMBER') AND rolname <> 'azure_pg_admin'
		FROM pg_roles WHERE rolname IN ('azure_pg_admin', 'azuresu', 'replication', $1)
		ORDER BY rolname`, AdminRole)
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[role])
	if err != nil {
		t.Fatal(err)
	}
	want := []role{
		{"azure_pg_admin", false, false, false, false, false},
		{"azuresu", true, false, false, false, true},
		{AdminRole, false, true, true, true, true},
		{"replication", false, true, false, false, false},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("roles (-want +got):\n%s", diff)
	}
}
