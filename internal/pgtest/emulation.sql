-- An emulation of the pgaadauth API of Azure Database for PostgreSQL Flexible Server,
-- following docs/pgaadauth.md, which also says where it differs from Azure and why.
-- Installed by a superuser into the
-- postgres database only (never template1), so that the functions do not exist in
-- any other database, as on Azure. Every statement is idempotent: the script is run
-- again on an existing server named by PGUSERS_TEST_DSN.
--
-- Everything that is not the public API lives in the private schema pgaadauth_emul,
-- which only superusers can use. The public functions are SECURITY DEFINER, owned by
-- the superuser that installs them, with a locked search_path, so an Entra
-- administrator needs no right beyond EXECUTE to call them.
--
-- A create must cost O(log n) in the number of principals: tests create ten
-- thousand of them. PL/pgSQL caches a generic plan after a few calls, planned while
-- the tables were tiny, when a sequential scan is cheapest; that plan would then
-- scan ever growing tables. So the create functions run with enable_seqscan off,
-- and every look-up they make has an index to use.

CREATE SCHEMA IF NOT EXISTS pgaadauth_emul;
REVOKE ALL ON SCHEMA pgaadauth_emul FROM PUBLIC;

-- The stand-in for Microsoft Graph: what the tenant knows. name is what
-- pgaadauth_create_principal resolves: a user's UPN or the tenant-unique display
-- name of a group or service principal. Case-sensitive, like role names.
CREATE TABLE IF NOT EXISTS pgaadauth_emul.directory (
    name     text PRIMARY KEY,
    objectid text NOT NULL UNIQUE,
    type     text NOT NULL CHECK (type IN ('user', 'group', 'service'))
);

-- The mapping of a role to its Entra identity. Azure keeps it as a security label
-- (pg_shseclabel, provider pgaadauth), which needs a label provider module that a
-- stock PostgreSQL does not have. Alternatives that die with DROP ROLE by themselves
-- were rejected because they are visible and writable through ordinary role
-- management, unlike a label: COMMENT ON ROLE (a tool that manages role comments
-- would erase the mapping) and ALTER ROLE ... SET (it shows in rolconfig and is
-- erased by ALTER ROLE ... RESET ALL). Anything that makes DROP ROLE fail (an owned
-- object, a policy) is wrong too: dropping a principal is a plain DROP ROLE.
--
-- So the mapping is keyed by the role's oid, like a label, and read only through a
-- join with pg_authid: a dropped role vanishes from pgaadauth_list_principals
-- whatever is left here, and a rename keeps the mapping, as a label would. Role oids
-- come from the cluster-wide oid counter, which a new role can only reuse after it
-- wraps around 2^32; even then a role created by these functions overwrites any row
-- left for its oid (ON CONFLICT below). Rows of dropped roles are never read again,
-- so they are not cleaned up: doing so would need a scan per create.
CREATE TABLE IF NOT EXISTS pgaadauth_emul.principals (
    roleoid       oid PRIMARY KEY,
    objectid      text NOT NULL,
    principaltype text NOT NULL,
    ismfa         boolean NOT NULL,
    isadmin       boolean NOT NULL
);

-- Transient directory faults for retry tests: the next `times` create calls for
-- `name` fail with 0LP01. A failing call raises, which rolls back its own writes,
-- so the calls are counted by a sequence per fault: nextval is not transactional.
CREATE TABLE IF NOT EXISTS pgaadauth_emul.faults (
    name  text PRIMARY KEY,
    times integer NOT NULL CHECK (times >= 0),
    calls text NOT NULL -- the qualified name of the counting sequence
);
CREATE SEQUENCE IF NOT EXISTS pgaadauth_emul.fault_ids;

CREATE OR REPLACE FUNCTION pgaadauth_emul.inject_fault(p_name text, p_times integer) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    old_calls text;
    new_calls text := 'pgaadauth_emul.fault_' || nextval('pgaadauth_emul.fault_ids');
BEGIN
    SELECT f.calls INTO old_calls FROM pgaadauth_emul.faults f WHERE f.name = p_name;
    IF old_calls IS NOT NULL THEN
        EXECUTE 'DROP SEQUENCE IF EXISTS ' || old_calls;
    END IF;
    EXECUTE 'CREATE SEQUENCE ' || new_calls;
    INSERT INTO pgaadauth_emul.faults (name, times, calls) VALUES (p_name, p_times, new_calls)
    ON CONFLICT (name) DO UPDATE SET times = excluded.times, calls = excluded.calls;
END
$$;

CREATE OR REPLACE FUNCTION pgaadauth_emul.clear_faults() RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    f record;
BEGIN
    FOR f IN SELECT calls FROM pgaadauth_emul.faults LOOP
        EXECUTE 'DROP SEQUENCE IF EXISTS ' || f.calls;
    END LOOP;
    DELETE FROM pgaadauth_emul.faults;
END
$$;

-- take_fault, check_caller and create_role run only inside the public functions,
-- whose search_path and enable_seqscan they inherit. They set none of their own: a
-- SET clause makes every call save and restore settings, which cost a third of a
-- create.

-- Called before a directory look-up when a fault is armed for the name.
CREATE OR REPLACE FUNCTION pgaadauth_emul.take_fault(p_name text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    f pgaadauth_emul.faults%ROWTYPE;
BEGIN
    SELECT * INTO f FROM pgaadauth_emul.faults WHERE name = p_name;
    IF FOUND AND nextval(f.calls::regclass) <= f.times THEN
        RAISE EXCEPTION 'An unexpected error occurred while trying to validate user.'
            USING ERRCODE = '0LP01';
    END IF;
END
$$;

-- Only a Microsoft Entra administrator may create (or sync) principals: the signed-in role
-- (session_user, not the SECURITY DEFINER owner) must be a mapped admin principal.
-- A superuser passes, to set the server up. The create functions make the same
-- test within their one look-up query and call this only to raise.
CREATE OR REPLACE FUNCTION pgaadauth_emul.check_caller() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    caller name := session_user;
BEGIN
    IF EXISTS (SELECT FROM pg_authid a WHERE a.rolname = caller AND a.rolsuper) THEN
        RETURN;
    END IF;
    IF NOT EXISTS (
        SELECT FROM pg_authid a JOIN pgaadauth_emul.principals p ON p.roleoid = a.oid
        WHERE a.rolname = caller AND p.isadmin
    ) THEN
        RAISE EXCEPTION 'permission denied to manage Microsoft Entra principals'
            USING ERRCODE = '42501',
                  DETAIL = format('Role %I is not a Microsoft Entra administrator of this server.', caller),
                  HINT = 'Sign in as a Microsoft Entra administrator.';
    END IF;
END
$$;

-- CREATE ROLE, then store the mapping. Both are undone by a rollback.
CREATE OR REPLACE FUNCTION pgaadauth_emul.create_role(
    p_name text, p_objectid text, p_type text, p_isadmin boolean, p_ismfa boolean
) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    new_oid oid;
BEGIN
    IF coalesce(p_isadmin, false) THEN
        EXECUTE format('CREATE ROLE %I LOGIN CREATEROLE CREATEDB IN ROLE azure_pg_admin', p_name);
    ELSE
        EXECUTE format('CREATE ROLE %I LOGIN', p_name);
    END IF;
    -- A cast to regrole is a catalog-cache look-up, without a query; it
    -- truncates like the parser did, should the name exceed 63 bytes.
    new_oid := quote_ident(p_name)::regrole;
    INSERT INTO pgaadauth_emul.principals (roleoid, objectid, principaltype, ismfa, isadmin)
    VALUES (new_oid, p_objectid, p_type, coalesce(p_ismfa, false), coalesce(p_isadmin, false))
    ON CONFLICT (roleoid) DO UPDATE SET objectid = excluded.objectid,
        principaltype = excluded.principaltype, ismfa = excluded.ismfa, isadmin = excluded.isadmin;
    -- From PostgreSQL 16 on, a CREATEROLE role may only drop or grant roles it has
    -- ADMIN OPTION on, which it gets when it creates them itself. The role here is
    -- created by the function's owner, so hand that grant to the administrator who
    -- called, or it could not DROP ROLE its own principals.
    -- Two IFs, not one AND: the first is a simple expression, which
    -- PL/pgSQL evaluates without running a query; with the sub-select in
    -- the same expression, every create on 15 paid for a query.
    IF current_setting('server_version_num')::integer >= 160000 THEN
        IF NOT (SELECT a.rolsuper FROM pg_authid a WHERE a.rolname = session_user) THEN
            EXECUTE format('GRANT %I TO %I WITH ADMIN OPTION, INHERIT FALSE, SET FALSE', p_name, session_user);
        END IF;
    END IF;
    RETURN 'Created role for ' || quote_ident(p_name);
END
$$;

-- What a create must know before it acts, in one query rather than one per
-- check (each query of a PL/pgSQL function, and each nested call, costs a
-- few microseconds, and a create made three): whether the caller may
-- create, whether a fault is armed for the name, and what the directory
-- knows of the object. The checks still act in the order of the reference:
-- the caller, the arguments, the directory.

CREATE OR REPLACE FUNCTION pg_catalog.pgaadauth_create_principal(rolename text, isadmin boolean, ismfa boolean)
RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET enable_seqscan = off AS $$
DECLARE
    allowed boolean;
    faulty boolean;
    entry pgaadauth_emul.directory%ROWTYPE;
BEGIN
    SELECT EXISTS (SELECT FROM pg_authid a LEFT JOIN pgaadauth_emul.principals p ON p.roleoid = a.oid
                   WHERE a.rolname = session_user AND (a.rolsuper OR p.isadmin)),
           EXISTS (SELECT FROM pgaadauth_emul.faults f WHERE f.name = $1),
           d.name, d.objectid, d.type
      INTO allowed, faulty, entry.name, entry.objectid, entry.type
      FROM (SELECT) AS one LEFT JOIN pgaadauth_emul.directory d ON d.name = $1;
    IF NOT allowed THEN
        PERFORM pgaadauth_emul.check_caller(); -- raises
    END IF;
    IF faulty THEN
        PERFORM pgaadauth_emul.take_fault($1);
    END IF;
    IF entry.name IS NULL THEN
        RAISE EXCEPTION 'Could not validate AAD user % because its name is not found in the tenant.', $1
            USING ERRCODE = 'XX000';
    END IF;
    RETURN pgaadauth_emul.create_role($1, entry.objectid, entry.type, $2, $3);
END
$$;

CREATE OR REPLACE FUNCTION pg_catalog.pgaadauth_create_principal_with_oid(
    rolename text, objectid text, objecttype text, isadmin boolean, ismfa boolean
) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET enable_seqscan = off AS $$
DECLARE
    allowed boolean;
    faulty boolean;
    known_type text;
BEGIN
    SELECT EXISTS (SELECT FROM pg_authid a LEFT JOIN pgaadauth_emul.principals p ON p.roleoid = a.oid
                   WHERE a.rolname = session_user AND (a.rolsuper OR p.isadmin)),
           EXISTS (SELECT FROM pgaadauth_emul.faults f WHERE f.name = $1),
           d.type
      INTO allowed, faulty, known_type
      FROM (SELECT) AS one LEFT JOIN pgaadauth_emul.directory d ON d.objectid = $2;
    IF NOT allowed THEN
        PERFORM pgaadauth_emul.check_caller(); -- raises
    END IF;
    IF $3 IS NULL OR $3 NOT IN ('user', 'group', 'service') THEN
        RAISE EXCEPTION 'invalid object type % provided for principal %', quote_nullable($3), $1
            USING ERRCODE = '22023', HINT = 'The object type is one of user, group or service.';
    END IF;
    IF coalesce($2, '') = '' THEN
        RAISE EXCEPTION 'no object id provided for principal %', $1 USING ERRCODE = '22023';
    END IF;
    IF faulty THEN
        PERFORM pgaadauth_emul.take_fault($1);
    END IF;
    -- An object id the directory does not know is accepted as it is.
    IF known_type IS NOT NULL AND known_type <> $3 THEN
        RAISE EXCEPTION 'incorrect object type provided for principal %', $1 USING ERRCODE = 'XX000';
    END IF;
    RETURN pgaadauth_emul.create_role($1, $2, $3, $4, $5);
END
$$;

-- One join, no per-row function call: fast over tens of thousands of principals.
-- Every principal belongs to one tenant, whose id is pgtest.TenantID.
CREATE OR REPLACE FUNCTION pg_catalog.pgaadauth_list_principals(isadminvalue boolean)
RETURNS TABLE(rolname name, principaltype text, objectid text, tenantid text, ismfa integer, isadmin integer)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT a.rolname, p.principaltype, p.objectid, '5e3c7a1d-2f4b-4c8e-9a6d-0b1f2e3d4c5a'::text,
           p.ismfa::integer, p.isadmin::integer
    FROM pgaadauth_emul.principals p
    JOIN pg_catalog.pg_authid a ON a.oid = p.roleoid
    WHERE p.isadmin OR NOT $1
$$;

-- The emulated directory has no group memberships, so a sync has nothing to do;
-- what matters to a client is that it fails unless group sync is on.
CREATE OR REPLACE FUNCTION pg_catalog.pgaadauth_sync_roles_for_group_members() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET enable_seqscan = off AS $$
BEGIN
    PERFORM pgaadauth_emul.check_caller();
    IF lower(coalesce(current_setting('pgaadauth.enable_group_sync', true), '')) NOT IN ('on', 'true', 'yes', '1') THEN
        RAISE EXCEPTION 'group sync is not enabled on this server'
            USING ERRCODE = '55000', HINT = 'Turn the server parameter pgaadauth.enable_group_sync on.';
    END IF;
END
$$;
