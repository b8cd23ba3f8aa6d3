// Package spec reads, merges and validates pgusers desired-state files.
//
// Load takes files and directories, decodes them strictly (unknown keys are
// errors), merges defaults, principal sets, role sets, privilege profiles
// and servers into one Desired state, expands each server's included sets
// and checks every rule of the file format. Every problem carries the
// file:line:column it comes from, and Load reports all of them at once.
//
// A server holds Entra principals (principals, and principalSets through
// include), plain group roles (roles, and roleSets through includeRoles)
// and grants: entries that make what a grantee (a group role, an Entra
// principal, or PUBLIC) holds in some databases and schemas exact, kind by
// kind (database, schema, tables, sequences, functions), optionally for
// the future objects of some owners (defaultsFor). A grant names its
// privileges itself or through a profile: one of BuiltinProfiles, or one
// defined under privilegeProfiles, which may include others. Load resolves
// the profiles, so a Server's Grants hold the privileges themselves.
//
// The Go API of this package is not yet stable: it changes as the file
// format grows, and other packages of this module are its only callers.
package spec
