package pgtest

import (
	"context"
	_ "embed"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// The Entra administrator every cluster starts with, as set on Azure through
// Azure Resource Manager: a user principal with isadmin = 1.
const (
	AdminRole            = "pgadmin@contoso.com"
	AdminObjectID        = "0d6f2b8a-4c3e-4f1a-9b7d-6e5c4a3b2d10"
	DefaultAdminPassword = "pgtest-admin-token" // stands in for an Entra access token
	// TenantID is the tenant of every emulated principal, as listed by
	// pgaadauth_list_principals (the literal in emulation.sql).
	TenantID = "5e3c7a1d-2f4b-4c8e-9a6d-0b1f2e3d4c5a"
)

// emulationSQL installs the pgaadauth emulation; see the file for its design.
//
//go:embed emulation.sql
var emulationSQL string

// systemRoles are the roles of an Azure server that are not the tool's.
var systemRoles = []struct{ name, options string }{
	{"azure_pg_admin", "NOLOGIN"},
	{"azuresu", "SUPERUSER NOLOGIN"}, // Microsoft's superuser; nobody signs in as it here
	{"replication", "LOGIN REPLICATION"},
}

// install prepares a server like an Azure Flexible Server seen from its
// postgres database: the pgaadauth emulation, Azure's system roles, schema
// public owned by azure_pg_admin (in postgres and template1), and the Entra
// administrator AdminRole with DefaultAdminPassword. conn must be a
// superuser on the postgres database. Running it again changes nothing but
// the administrator's password.
func install(ctx context.Context, conn *pgx.Conn) error {
	if db := conn.Config().Database; db != "postgres" {
		return fmt.Errorf("install the pgaadauth emulation: connected to database %q, want postgres", db)
	}
	// Without arguments Exec uses the simple protocol, which runs the whole
	// script as one implicit transaction.
	if _, err := conn.Exec(ctx, emulationSQL); err != nil {
		return fmt.Errorf("install the pgaadauth emulation: %w", err)
	}
	for _, r := range systemRoles {
		if err := createRoleIfMissing(ctx, conn, r.name, r.options); err != nil {
			return err
		}
	}
	if err := ownPublicSchemas(ctx, conn); err != nil {
		return err
	}
	if err := addDirectoryObject(ctx, conn, DirectoryObject{Name: AdminRole, Type: "user", ObjectID: AdminObjectID}); err != nil {
		return err
	}
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = $1)`, AdminRole).Scan(&exists); err != nil {
		return fmt.Errorf("look up role %s: %w", AdminRole, err)
	}
	if !exists {
		if _, err := conn.Exec(ctx, `SELECT pg_catalog.pgaadauth_create_principal_with_oid($1, $2, 'user', true, false)`,
			AdminRole, AdminObjectID); err != nil {
			return fmt.Errorf("create the Entra administrator %s: %w", AdminRole, err)
		}
	}
	return setPassword(ctx, conn, AdminRole, DefaultAdminPassword)
}

// ownPublicSchemaSQL gives schema public to azure_pg_admin, as Azure does in
// every database whatever the PostgreSQL version (from 15 on, PostgreSQL
// itself gives it to pg_database_owner). The owner changes in the ACL too:
// {azure_pg_admin=UC/azure_pg_admin,=U/azure_pg_admin}. A database without
// a public schema is left alone.
const ownPublicSchemaSQL = `DO $$
BEGIN
    IF to_regnamespace('public') IS NOT NULL THEN
        ALTER SCHEMA public OWNER TO azure_pg_admin;
    END IF;
END
$$`

// ownPublicSchemas gives schema public to azure_pg_admin in the database of
// conn (postgres) and in template1, which CREATE DATABASE copies unless told
// otherwise, so that databases created later have it too. template0 cannot
// be connected to and keeps PostgreSQL's pg_database_owner.
func ownPublicSchemas(ctx context.Context, conn *pgx.Conn) error {
	if _, err := conn.Exec(ctx, ownPublicSchemaSQL); err != nil {
		return fmt.Errorf("give schema public to azure_pg_admin in %s: %w", conn.Config().Database, err)
	}
	config := conn.Config().Copy()
	config.Database = "template1"
	tmpl, err := pgx.ConnectConfig(ctx, config)
	if err != nil {
		return fmt.Errorf("connect to template1: %w", err)
	}
	defer tmpl.Close(context.WithoutCancel(ctx))
	if _, err := tmpl.Exec(ctx, ownPublicSchemaSQL); err != nil {
		return fmt.Errorf("give schema public to azure_pg_admin in template1: %w", err)
	}
	return nil
}

func createRoleIfMissing(ctx context.Context, conn *pgx.Conn, name, options string) error {
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = $1)`, name).Scan(&exists); err != nil {
		return fmt.Errorf("look up role %s: %w", name, err)
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(ctx, "CREATE ROLE "+pgx.Identifier{name}.Sanitize()+" "+options); err != nil {
		return fmt.Errorf("create role %s: %w", name, err)
	}
	return nil
}

// setPassword sets a role's password. ALTER ROLE takes no parameters, so the
// server quotes the statement itself with format().
func setPassword(ctx context.Context, conn *pgx.Conn, role, password string) error {
	var stmt string
	if err := conn.QueryRow(ctx, `SELECT pg_catalog.format('ALTER ROLE %I PASSWORD %L', $1::text, $2::text)`,
		role, password).Scan(&stmt); err != nil {
		return fmt.Errorf("set the password of %s: %w", role, err)
	}
	if _, err := conn.Exec(ctx, stmt); err != nil {
		return fmt.Errorf("set the password of %s: %w", role, err)
	}
	return nil
}
