// Package inspect reads what a server has, as far as a plan needs it, into
// a diff.Observed. Its Go API is not yet stable: it changes with the
// plans that use it.
//
// # The postgres database: one round trip
//
// Read (and Inspect, which narrows at once) sends one batch, in exec mode
// one round trip however many principals there are, to a connection to the
// postgres database, where the pgaadauth functions live. Queue and
// ReadQueued split it, so that apply can put the same statements in the
// batch that takes its lock. The batch reads:
//
//   - the signed-in user, the database and server_version_num;
//   - every Entra principal (pgaadauth_list_principals(false));
//   - every role's name, and the direct memberships of every role: the
//     principals' and the other roles' (group roles);
//   - the roles whose privileges the signed-in user has;
//   - what each role owns or holds in every database, counted, and whose
//     objects it holds privileges on (pg_shdepend, read once and only
//     aggregated, so that no plan of it is quadratic however stale its
//     statistics);
//   - the comments of the roles that have one;
//   - every database but the templates, with its owner, what the signed-in
//     user may do as that owner (a diff.RoleFact) and its ACL.
//
// Its cost does not grow with the roles beyond the lists themselves: no
// function is called once per role, and the comments and databases are a
// few rows (0.5 to 0.8 ms of a 25 to 35 ms read of 10,000 principals,
// BenchmarkPostgresRead). Snapshot.Observed narrows the read to what a plan
// asks (Asked, from Ask): the roles among Asked.Names, the group roles among
// them with their comments and memberships, one diff.ObservedDatabase per
// Asked.Scopes entry with its owner and the ACL entries of the scope's
// grantees (Exists false for a database that is missing or a template),
// and the database owners' facts.
//
// # Each database: one round trip more
//
// Schemas and the objects in them are only visible from their own
// database. ReadDatabase, on a connection to the database of a Scope
// (Scope.ReadsObjects: its grants name schema-level kinds or default
// privileges, or it asks for every schema), sends one batch: the schemas
// asked about that exist (Scope.Schemas, or with Scope.AllSchemas every
// one but pg_catalog, information_schema, pg_toast* and pg_temp*), with
// their owners and ACLs; their tables (tables, partitioned tables, views,
// materialized views, foreign tables), sequences and functions (functions
// and procedures) counted per kind and owner; the grantees' holdings on
// them; the entries of those ACLs that a role other than the owner
// granted (diff.Delegated: what only that grantor revokes, and what a
// grantee passed on from its grant option), with the grantors' facts; the
// default privileges of Scope.Owners in those schemas for
// tables, sequences and functions (not the global ones, which are no
// schema's); the column privileges (pg_attribute.attacl) of the grantees
// on those tables, and the columns the grants declare (Scope.Columns),
// with their table's owner; and the facts of every owner met. Merge puts
// the result into the Observed of the postgres read.
//
// Column privileges are found through pg_shdepend, which records every
// role a column's ACL names but its table's owner, by an index on the
// role: a read that no column privilege concerns costs an index probe per
// grantee, not a scan of every column. PUBLIC is no role and has no such
// record: its column privileges are read, by a scan of the database's
// columns, only where PUBLIC has a tables cell (Scope.PublicColumns).
//
// Objects are aggregated on the server. Objects of the same schema, kind,
// owner and ACL are grouped and each distinct ACL is exploded once, then
// summed per schema, kind, grantee, privilege and grant option: a schema
// of 10,000 tables costs a row per privilege a grantee holds on some of
// them, not a row per table, and only a holding of at most diff.MaxNamed
// objects carries their names. A database of 3 schemas of 2,000 tables,
// 200 sequences and 200 functions reads in about 17 ms
// (BenchmarkReadDatabases: 5 of them, one after the other, 85 ms; 135 ms
// signing in to each).
//
// # What the privileges mean
//
// An ACL entry, a holding and a default privilege are the grantee's own
// entries, not what it has through PUBLIC or a membership. A NULL ACL is
// the default it stands for (acldefault), so PUBLIC's built-in CONNECT and
// TEMPORARY on databases and EXECUTE on functions are PUBLIC's entries;
// PUBLIC is spec.Public. A privilege that several grantors gave is one
// entry, grantable if any gave it WITH GRANT OPTION; the grantors other
// than the owner are told apart in Delegated only. An owner's entries on
// its own objects are never reported: diff.ObjectCount says what each
// owner owns. Only the grantees a Scope names are reported; one that is no
// role is absent, as is an owner named by defaultsFor that is no role.
// Objects are named as pg_identify_object does, whatever the search_path:
// public.orders, "Odd ""Name""", public.f(integer),
// public.p(pg_catalog.text). Every list is sorted by name in byte order,
// and empty lists are nil, so that two reads of the same state are equal
// and fingerprint alike.
//
// # Naming what blocks a drop
//
// Describe names the objects behind the dependency counts of the principals
// a plan drops: one query on the connection at hand, and one on a
// connection to each other database that has some.
package inspect
