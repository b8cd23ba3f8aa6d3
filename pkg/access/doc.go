// Package access makes access reviews: who can do what on a server, and
// how, as an auditor asks it (pgusers access, docs/access-reviews.md).
//
// # Reading: one round trip per database reviewed
//
// Read sends one batch to the postgres database: inspect's principals
// and session statements (not its pg_shdepend counts, which only a plan
// needs and which take most of its time on a server of many objects), every role with
// its attributes, every membership with its INHERIT and SET options, and
// every database with its owner and ACL, and, when it is reviewed, the
// connected database's contents. ReadDatabase sends one more per other
// database reviewed, on a connection to it: its schemas, its tables, sequences and functions
// grouped by schema, kind, owner and ACL (each distinct ACL is exploded
// once: a schema of 2,000 tables granted alike is one row), its column
// privileges and its default privileges. It reads every grantee's
// entries, not only those the files manage: plan's reads are not made to
// carry what only a review needs.
//
// # Computing
//
// Compute turns a read into rows, one per grantee, object (or "*", every
// object of a kind in a schema) and privilege, each with its source:
// direct; "member of A > B", the shortest path of INHERIT memberships
// (roles reached only through a NOINHERIT one are memberships with
// privilege SET, their privileges not the grantee's); PUBLIC; owner;
// "predefined R" for pg_read_all_data, pg_write_all_data and
// azure_pg_admin. Each row says whether the files declare it: the
// holder's managed cell holds the privilege, and every membership of the
// path is declared. Findings are computed from the rows. Compute does no
// I/O; its tests are tables.
package access
