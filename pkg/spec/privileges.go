package spec

import "slices"

// Role is a plain PostgreSQL group role a server must have (NOLOGIN when
// pgusers creates it) or, Absent, must not have.
type Role struct {
	Name string `json:"name"`
	// Comment is the role's comment; it is managed only when
	// ManageComment (the file says comment:).
	Comment       string `json:"comment,omitempty"`
	ManageComment bool   `json:"manageComment,omitempty"`
	// ManageMemberships and MemberOf are a principal's: memberOf omitted
	// leaves memberships alone; given, the role is a member of exactly
	// MemberOf (sorted, without duplicates).
	ManageMemberships bool     `json:"manageMemberships,omitempty"`
	MemberOf          []string `json:"memberOf,omitempty"`
	// Absent means the role must not exist: it is dropped when present.
	Absent bool `json:"absent,omitempty"`
	// Set is the role set this came from, "" for a server's own list.
	Set string   `json:"set,omitempty"`
	Pos Position `json:"pos"`
}

// Kind is what a privilege applies to.
type Kind string

const (
	KindDatabase  Kind = "database"
	KindSchema    Kind = "schema"
	KindTables    Kind = "tables"    // tables, views, materialized views, foreign and partitioned tables
	KindSequences Kind = "sequences" // sequences
	KindFunctions Kind = "functions" // functions and procedures
)

// Kinds are every kind, in the order plans and files list them.
var Kinds = []Kind{KindDatabase, KindSchema, KindTables, KindSequences, KindFunctions}

// InSchema reports whether the kind's objects live in a schema.
func (k Kind) InSchema() bool { return k != KindDatabase }

// HasDefaults reports whether ALTER DEFAULT PRIVILEGES applies to the kind.
func (k Kind) HasDefaults() bool {
	return k == KindTables || k == KindSequences || k == KindFunctions
}

// Maintain is the table privilege of PostgreSQL 17 and later.
const Maintain = "MAINTAIN"

// Privileges are the privileges of kind k, in the order PostgreSQL's GRANT
// documentation lists them. MAINTAIN is among the tables' only from
// PostgreSQL 17 on; a server without it gets ALL without it.
func Privileges(k Kind) []string {
	switch k {
	case KindDatabase:
		return []string{"CONNECT", "CREATE", "TEMPORARY"}
	case KindSchema:
		return []string{"USAGE", "CREATE"}
	case KindTables:
		return []string{"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER", Maintain}
	case KindSequences:
		return []string{"USAGE", "SELECT", "UPDATE"}
	case KindFunctions:
		return []string{"EXECUTE"}
	}
	return nil
}

// Public is the grantee that stands for every role.
const Public = "PUBLIC"

// KindGrant is what a grant entry declares for one kind.
type KindGrant struct {
	Kind Kind `json:"kind"`
	// Privileges are the privileges named, upper case, in Privileges(Kind)
	// order, without duplicates; empty with All false means none (the
	// cell must hold nothing).
	Privileges []string `json:"privileges"`
	// All means every privilege of the kind the server has (ALL).
	All bool `json:"all,omitempty"`
}

// Grant is one entry of a server's grants, its profile expanded.
type Grant struct {
	// To is the grantee: a group role, an Entra principal, or Public.
	To        string   `json:"to"`
	Databases []string `json:"databases"`
	// Schemas are those of the schema-level kinds; [public] by default.
	Schemas []string `json:"schemas"`
	// Kinds are the kinds the entry manages, in Kinds order: its profile's
	// (and their includes') and its own, merged.
	Kinds []KindGrant `json:"kinds"`
	// DefaultsFor are the owners whose default privileges for future
	// tables, sequences and functions in Schemas the entry makes exact.
	DefaultsFor []string `json:"defaultsFor,omitempty"`
	// Profile is the profile the entry names, "" for none; for messages.
	Profile string   `json:"profile,omitempty"`
	Pos     Position `json:"pos"`
}

// Kind returns what g declares for kind k, and whether g manages k.
func (g Grant) Kind(k Kind) (KindGrant, bool) {
	i := slices.IndexFunc(g.Kinds, func(kg KindGrant) bool { return kg.Kind == k })
	if i < 0 {
		return KindGrant{}, false
	}
	return g.Kinds[i], true
}
