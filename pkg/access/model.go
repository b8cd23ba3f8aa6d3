package access

import (
	"cmp"
	"slices"
	"strings"
)

// Kind is what a row of a review is about, as the CSV's kind column
// spells it.
type Kind string

const (
	KindDatabase   Kind = "database"
	KindSchema     Kind = "schema"
	KindTable      Kind = "table" // tables, views, materialized views, foreign and partitioned tables
	KindSequence   Kind = "sequence"
	KindFunction   Kind = "function" // functions and procedures
	KindColumn     Kind = "column"
	KindDefault    Kind = "default"
	KindAttribute  Kind = "attribute"
	KindMembership Kind = "membership"
)

// Server is what a review reads of one server: Read reads all but the
// databases' contents, which ReadDatabase adds to each database asked.
type Server struct {
	SessionUser string
	Version     int
	// Principals are the Entra principals (pgaadauth), sorted by name.
	Principals []EntraPrincipal
	// Roles are every role, sorted by name.
	Roles []Role
	// Edges are every direct membership, sorted by member and role.
	Edges []Edge
	// Databases are every database but the templates, sorted by name.
	Databases []Database
	// Directory is what Microsoft Graph says of the principals, when it
	// was asked (--expand-groups, directory: graph), else nil.
	Directory *Directory
}

// EntraPrincipal is a role pgaadauth knows as an Entra object.
type EntraPrincipal struct {
	Name, Type, ObjectID string
}

// Role is a role and the attributes a review reports.
type Role struct {
	Name                                        string
	Super, Inherit, CreateRole, CreateDB, Login bool
	Replication, BypassRLS                      bool
}

// Edge is a direct membership: Member is a member of Role. Inherit: Member
// has Role's privileges without SET ROLE; Set: it may SET ROLE to Role.
type Edge struct {
	Member, Role        string
	Admin, Inherit, Set bool
}

// Entry is one ACL entry, the owner's aside: Grantee ("PUBLIC" for every
// role) holds Privilege, WITH GRANT OPTION when Grantable.
type Entry struct {
	Grantee, Privilege string
	Grantable          bool
}

// Database is one database: its owner and ACL from the shared catalog,
// and, once ReadDatabase read it (Read), what it holds.
type Database struct {
	Name, Owner string
	// Connect is whether the signed-in user may connect to it.
	Connect bool
	ACL     []Entry
	Read    bool
	// Schemas are sorted by name; Groups by schema, kind, owner and first
	// name; Columns and Defaults by every field.
	Schemas  []Schema
	Groups   []Group
	Columns  []Column
	Defaults []Default
}

// Schema is a schema, its owner and its ACL.
type Schema struct {
	Name, Owner string
	ACL         []Entry
}

// Group is the objects of one kind in a schema that share an owner and an
// ACL: what the ACL gives, it gives on each of them.
type Group struct {
	Schema string
	Kind   Kind
	Owner  string
	// Names are sorted.
	Names []string
	ACL   []Entry
}

// Column is one entry of a column's own ACL.
type Column struct {
	Schema, Table, Column string
	Grantee, Privilege    string
	Grantable             bool
}

// Default is one entry of the default privileges Owner's future objects
// of kind On (tables, sequences, functions, types, schemas) get, in
// Schema ("" for every schema).
type Default struct {
	Owner, Schema, On  string
	Grantee, Privilege string
	Grantable          bool
}

func compareEntries(a, b Entry) int {
	return cmp.Or(strings.Compare(a.Grantee, b.Grantee), strings.Compare(a.Privilege, b.Privilege))
}

// sort puts s's lists in the order Server documents.
func (s *Server) sort() {
	slices.SortFunc(s.Principals, func(a, b EntraPrincipal) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(s.Roles, func(a, b Role) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(s.Edges, func(a, b Edge) int {
		return cmp.Or(strings.Compare(a.Member, b.Member), strings.Compare(a.Role, b.Role))
	})
	slices.SortFunc(s.Databases, func(a, b Database) int { return strings.Compare(a.Name, b.Name) })
	for i := range s.Databases {
		slices.SortFunc(s.Databases[i].ACL, compareEntries)
	}
}

// sort puts d's lists in the order Database documents.
func (d *Database) sort() {
	slices.SortFunc(d.Schemas, func(a, b Schema) int { return strings.Compare(a.Name, b.Name) })
	for i := range d.Schemas {
		slices.SortFunc(d.Schemas[i].ACL, compareEntries)
	}
	for i := range d.Groups {
		slices.Sort(d.Groups[i].Names)
		slices.SortFunc(d.Groups[i].ACL, compareEntries)
	}
	slices.SortFunc(d.Groups, func(a, b Group) int {
		return cmp.Or(strings.Compare(a.Schema, b.Schema), strings.Compare(string(a.Kind), string(b.Kind)),
			strings.Compare(a.Owner, b.Owner), strings.Compare(first(a.Names), first(b.Names)))
	})
	slices.SortFunc(d.Columns, func(a, b Column) int {
		return cmp.Or(strings.Compare(a.Schema, b.Schema), strings.Compare(a.Table, b.Table), strings.Compare(a.Column, b.Column),
			strings.Compare(a.Grantee, b.Grantee), strings.Compare(a.Privilege, b.Privilege))
	})
	slices.SortFunc(d.Defaults, func(a, b Default) int {
		return cmp.Or(strings.Compare(a.Owner, b.Owner), strings.Compare(a.Schema, b.Schema), strings.Compare(a.On, b.On),
			strings.Compare(a.Grantee, b.Grantee), strings.Compare(a.Privilege, b.Privilege))
	})
}

func first(names []string) string {
	if len(names) == 0 {
		return ""
	}
	return names[0]
}
