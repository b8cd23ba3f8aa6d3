// Package pgtest gives tests throwaway PostgreSQL servers that behave, from
// the postgres database, like an Azure Database for PostgreSQL Flexible
// Server managing Microsoft Entra principals. No Azure server can be reached
// from the tests, so this is what pgusers's inspection and apply code runs
// against.
//
// # Clusters
//
// New(t) starts a cluster for one test and stops it when the test ends. A
// process runs initdb once, into a template that already holds the
// emulation, Azure's system roles (azure_pg_admin, azuresu, replication),
// schema public owned by azure_pg_admin in postgres and template1, and the
// Entra administrator; every cluster is a copy of the template started on a
// free port of 127.0.0.1 with a private unix socket directory, so a test
// that creates roles (which are cluster-wide) can have a cluster of its
// own. On a busy 2-core machine a cluster costs 0.3 to 0.6 s to start and
// stop under /tmp on ext4 (TestNewTime measures it), most of it creating the
// copy's 750 files; with TMPDIR=/dev/shm (a tmpfs) it is 0.15 to 0.2 s. The
// first cluster of a process also pays for initdb and the setup, 2 to 4 s.
//
// The server binaries are found through pg_config --bindir, then
// /usr/lib/postgresql/*/bin (newest first), then PATH. When the tests run
// as root, as in CI, the servers run as the postgres system user. Without
// PostgreSQL, New skips the test, except in CI (CI=true) where it fails.
// Use Main from TestMain to remove the template when the tests end.
//
// Tests sign in as the Entra administrator AdminRole ("pgadmin@contoso.com")
// with AdminConfig: TCP, scram-sha-256, the password standing in for an
// Entra access token (DefaultAdminPassword; SetAdminPassword rotates it).
// The superuser postgres is reachable through Super, SuperExec, SuperIn,
// SuperExecIn and SuperStrings, over the unix socket only, for setup and for
// checking what a test did. CreateDatabase makes a database from template1,
// so that its schema public, too, is azure_pg_admin's.
//
// # The pgaadauth emulation
//
// emulation.sql follows docs/pgaadauth.md, which describes the real API and
// every way the emulation differs from it: in pg_catalog of the postgres
// database only, pgaadauth_create_principal,
// pgaadauth_create_principal_with_oid, pgaadauth_list_principals and
// pgaadauth_sync_roles_for_group_members, with the same argument names,
// result columns, integer flags, errors and SQLSTATEs. Only a Microsoft
// Entra administrator may create principals; a superuser may too, for
// setup. A rollback undoes a create, DROP ROLE removes the principal, and a
// rename keeps it (the mapping is keyed by the role's oid, as Azure's
// security label is).
//
// A directory table stands in for Microsoft Graph: creating a principal by
// name fails unless AddDirectoryObject (or SeedDirectory) added the name
// first. InjectDirectoryFault makes the next creates of a name fail with the
// transient error 0LP01, for retry tests. A role that is not an Entra
// principal is made the ordinary way, with SuperExec("CREATE ROLE ...").
//
// The server parameter pgaadauth.enable_group_sync is off, or on with
// Options.GroupSync; the sync function succeeds only while it is on, and
// does nothing (the directory has no group members).
//
// # Privileges as the Entra administrator
//
// As on Azure, the administrator is no superuser: a member of
// azure_pg_admin with CREATEROLE and CREATEDB. On PostgreSQL 15 it may grant
// and create in schema public (through azure_pg_admin), but may not GRANT,
// REVOKE or ALTER DEFAULT PRIVILEGES FOR ROLE on another role's objects
// until it makes itself a member of the owner (GRANT owner TO admin), which
// CREATEROLE allows for any role but a superuser: objects a test creates as
// the superuser and does not give to another owner are out of its reach.
// The tests of privileges_test.go pin these rules. Unlike on Azure, it may
// grant pg_write_all_data and make azure_pg_admin a member of a role on 15:
// nothing short of a C module can refuse a GRANT of a role.
//
// # An existing server
//
// PGUSERS_TEST_DSN, a superuser connection string, makes New return that
// server instead of starting one. New installs the emulation (unless the
// server has a pgaadauth of its own, which it refuses to touch), gives
// schema public to azure_pg_admin in postgres and template1, sets the
// administrator's password, drops every principal but the administrator
// (DROP OWNED in the postgres database, then DROP ROLE), and empties the
// directory and the faults. What it cannot do: run tests in parallel (one
// test at a time holds the server, across processes too, through an
// advisory lock), give a test a second server (such a test is skipped), the
// options TLS, LogConnections, Port, PlainPassword and GroupSync (such a
// test is skipped), Log, StopServer and StartServer
// (errors), DataDir and SocketDir (empty), clean up roles that are not
// principals or objects in other databases. Its pg_hba.conf must let the
// administrator sign in with a password from where the tests run.
package pgtest
