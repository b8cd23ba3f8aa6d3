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
	To string `json:"to"`
	// Databases are sorted, without duplicates, and never empty.
	Databases []string `json:"databases"`
	// Schemas are those of the schema-level kinds, sorted, without
	// duplicates; [public] by default, nil when the entry manages only
	// database.
	Schemas []string `json:"schemas"`
	// Kinds are the kinds the entry manages, in Kinds order: its profile's
	// (and their includes') and its own, merged.
	Kinds []KindGrant `json:"kinds"`
	// DefaultsFor are the owners whose default privileges for future
	// tables, sequences and functions in Schemas the entry makes exact.
	DefaultsFor []string `json:"defaultsFor,omitempty"`
	// Columns are the column privileges of the entry's tables cells,
	// sorted by table and column (ColumnGrant); the entry manages tables.
	Columns []ColumnGrant `json:"columns,omitempty"`
	// Cascade lets a revoke from the grantee in the entry's cells take
	// with it what the grantee passed on from its grant option (REVOKE
	// ... CASCADE); without it, such a revoke is refused by the plan.
	Cascade bool `json:"cascade,omitempty"`
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

// Profile is a privilege profile resolved: what it grants for each kind it
// manages, its includes expanded.
type Profile struct {
	Name string `json:"name"`
	// Kinds are the kinds the profile manages, in Kinds order.
	Kinds []KindGrant `json:"kinds"`
}

// Kind returns what p grants for kind k, and whether p manages k.
func (p Profile) Kind(k Kind) (KindGrant, bool) {
	i := slices.IndexFunc(p.Kinds, func(kg KindGrant) bool { return kg.Kind == k })
	if i < 0 {
		return KindGrant{}, false
	}
	return p.Kinds[i], true
}

// BuiltinProfiles are the profiles every file may name without defining
// them, in this order:
//
//   - readonly: database CONNECT; schema USAGE; tables and sequences SELECT.
//   - readwrite: database CONNECT, TEMPORARY; schema USAGE; tables SELECT,
//     INSERT, UPDATE, DELETE; sequences USAGE, SELECT, UPDATE.
//   - serviceConnector: what Azure Service Connector grants in schema
//     public: database ALL; schema CREATE; tables and sequences ALL.
//
// Each call returns new slices, which the caller may change.
func BuiltinProfiles() []Profile {
	kg := func(k Kind, privileges ...string) KindGrant { return KindGrant{Kind: k, Privileges: privileges} }
	all := func(k Kind) KindGrant { return KindGrant{Kind: k, All: true} }
	return []Profile{
		{Name: "readonly", Kinds: []KindGrant{
			kg(KindDatabase, "CONNECT"),
			kg(KindSchema, "USAGE"),
			kg(KindTables, "SELECT"),
			kg(KindSequences, "SELECT"),
		}},
		{Name: "readwrite", Kinds: []KindGrant{
			kg(KindDatabase, "CONNECT", "TEMPORARY"),
			kg(KindSchema, "USAGE"),
			kg(KindTables, "SELECT", "INSERT", "UPDATE", "DELETE"),
			kg(KindSequences, "USAGE", "SELECT", "UPDATE"),
		}},
		{Name: "serviceConnector", Kinds: []KindGrant{
			all(KindDatabase),
			kg(KindSchema, "CREATE"),
			all(KindTables),
			all(KindSequences),
		}},
	}
}

// BuiltinProfile returns the built-in profile named name (case matters),
// or false.
func BuiltinProfile(name string) (Profile, bool) {
	for _, p := range BuiltinProfiles() {
		if p.Name == name {
			return p, true
		}
	}
	return Profile{}, false
}

// builtinNames are the built-in profiles' names, in BuiltinProfiles order,
// and builtins their kinds by name, for this package only: nothing may
// change them.
var builtinNames, builtins = func() ([]string, map[string][]KindGrant) {
	var names []string
	kinds := map[string][]KindGrant{}
	for _, p := range BuiltinProfiles() {
		names = append(names, p.Name)
		kinds[p.Name] = p.Kinds
	}
	return names, kinds
}()
