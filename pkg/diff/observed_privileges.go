package diff

import (
	"fmt"

	"github.com/pgusers/pgusers/pkg/spec"
)

// ObservedRole is a role that is not an Entra principal, among the names a
// plan asks about: a group role the files declare, or a grantee.
type ObservedRole struct {
	Name string `json:"name"`
	// Comment is the role's comment, "" for none.
	Comment string `json:"comment,omitempty"`
	// MemberOf is every role this role is a direct member of, sorted.
	MemberOf []string `json:"memberOf,omitempty"`
}

// RoleFact is what a plan must know of a role that owns what it changes
// privileges on (a database, objects in a schema, default privileges): can
// the signed-in user act as it.
type RoleFact struct {
	Name string `json:"name"`
	// Super is a superuser, whom an Entra administrator can never act as.
	Super bool `json:"super,omitempty"`
	// Member: the signed-in user is a member of it (pg_has_role MEMBER).
	Member bool `json:"member,omitempty"`
	// Usage: the signed-in user has its privileges (pg_has_role USAGE).
	Usage bool `json:"usage,omitempty"`
}

// Privilege is one entry of an access control list: a privilege that
// Grantee holds, with or without the grant option.
type Privilege struct {
	Grantee   string `json:"grantee"` // spec.Public for PUBLIC
	Privilege string `json:"privilege"`
	Grantable bool   `json:"grantable,omitempty"`
}

// Holding counts the objects of one kind in a schema on which Grantee
// holds Privilege (with or without the grant option), leaving out the
// objects Grantee owns: an owner's own privileges are never a cell's.
type Holding struct {
	Kind      spec.Kind `json:"kind"`
	Grantee   string    `json:"grantee"`
	Privilege string    `json:"privilege"`
	Grantable bool      `json:"grantable,omitempty"`
	Count     int       `json:"count"`
	// Objects name the objects when Count is small (at most MaxNamed),
	// sorted; otherwise nil.
	Objects []string `json:"objects,omitempty"`
}

// MaxNamed is how many objects a Holding names.
const MaxNamed = 5

// ObjectCount is how many objects of one kind a schema holds, and how many
// of them each owner owns.
type ObjectCount struct {
	Kind  spec.Kind `json:"kind"`
	Owner string    `json:"owner"`
	Count int       `json:"count"`
}

// ObservedSchema is a schema of a database, as far as the cells a plan
// manages in it need.
type ObservedSchema struct {
	Name  string `json:"name"`
	Owner string `json:"owner"`
	// ACL holds the schema's privileges of the grantees asked about.
	ACL []Privilege `json:"acl,omitempty"`
	// Objects count the schema's objects per kind and owner.
	Objects []ObjectCount `json:"objects,omitempty"`
	// Holdings count who holds what on those objects, per kind, grantee
	// (among those asked about) and privilege.
	Holdings []Holding `json:"holdings,omitempty"`
	// Delegated are the entries of the schema's ACL and of its objects'
	// that a role other than their owner granted, where the grantee or
	// the grantor is among the grantees asked about.
	Delegated []Delegated `json:"delegated,omitempty"`
	// Columns are the columns of the schema's tables that hold column
	// privileges of the grantees asked about, and those the grants
	// declare that exist, sorted by table and column.
	Columns []ObservedColumn `json:"columns,omitempty"`
}

// ObservedColumn is a column of a table (or view, materialized view,
// foreign or partitioned table) and its column privileges
// (pg_attribute.attacl) of the grantees asked about, the table's owner's
// own left out.
type ObservedColumn struct {
	Table  string `json:"table"`
	Column string `json:"column"`
	// Owner owns the table.
	Owner string `json:"owner"`
	// ACL is sorted by grantee and privilege.
	ACL []Privilege `json:"acl,omitempty"`
	// Delegated are the column's entries that a role other than the
	// table's owner granted (Kind tables, Count 1, no Objects), where the
	// grantee or the grantor is among the grantees asked about: as for a
	// table, the owner's REVOKE leaves them, and they depend on their
	// grantor's grant option. Sorted.
	Delegated []Delegated `json:"delegated,omitempty"`
}

// Delegated counts the objects of one kind in a schema (Kind schema: the
// schema itself; Kind database: the database) on which Grantor, a role that does not own them, granted
// Grantee Privilege from a grant option of its own. PostgreSQL records
// what the owner, a member of it or a superuser grants as the owner's, so
// these are the entries the owner's REVOKE leaves in place: only Grantor
// revokes them. And while Grantor holds such an entry's privilege, a
// REVOKE of it (or of its grant option) from Grantor fails with
// "dependent privileges exist", unless with CASCADE.
type Delegated struct {
	Kind      spec.Kind `json:"kind"`
	Grantor   string    `json:"grantor"`
	Grantee   string    `json:"grantee"` // spec.Public for PUBLIC
	Privilege string    `json:"privilege"`
	Grantable bool      `json:"grantable,omitempty"`
	Count     int       `json:"count"`
	// Objects name the objects, as pg_identify_object quotes them for
	// SQL, sorted, when Count is at most MaxDelegatedNamed; otherwise nil.
	Objects []string `json:"objects,omitempty"`
	// GrantorLacksUsage: Grantor has no USAGE on the schema (any more), so
	// that, acting as it, a REVOKE cannot name the objects.
	GrantorLacksUsage bool `json:"grantorLacksUsage,omitempty"`
}

// MaxDelegatedNamed is how many objects a Delegated names: a revoke as
// the grantor names each object, since a REVOKE ... ON ALL TABLES IN
// SCHEMA run as a role that holds nothing on one of them fails.
const MaxDelegatedNamed = 100

// DefaultPrivilege is one entry of the default privileges that Owner's
// future objects of Kind in Schema get.
type DefaultPrivilege struct {
	Owner  string    `json:"owner"`
	Schema string    `json:"schema"`
	Kind   spec.Kind `json:"kind"`
	Privilege
}

// ObservedDatabase is a database whose privileges a plan manages.
type ObservedDatabase struct {
	Name   string `json:"name"`
	Exists bool   `json:"exists"`
	Owner  string `json:"owner,omitempty"`
	// SelfConnect: the signed-in user may connect to the database without
	// PUBLIC's CONNECT (it owns it, or a role it has the privileges of
	// holds CONNECT).
	SelfConnect bool `json:"selfConnect,omitempty"`
	// ACL holds the database's privileges of the grantees asked about,
	// from the shared catalog.
	ACL []Privilege `json:"acl,omitempty"`
	// Delegated are the entries of the database's ACL that a role other
	// than its owner granted, where the grantee or the grantor is among
	// the grantees asked about; from the shared catalog.
	Delegated []Delegated `json:"delegated,omitempty"`
	// Read is true when the database itself was read (it has cells of
	// schema-level kinds or default privileges): Schemas and Defaults
	// are then what it holds.
	Read bool `json:"read,omitempty"`
	// Schemas are those asked about that exist, sorted by name.
	Schemas []ObservedSchema `json:"schemas,omitempty"`
	// Defaults are the default privileges of the owners and grantees asked
	// about in the schemas asked about, sorted.
	Defaults []DefaultPrivilege `json:"defaults,omitempty"`
}

// MainPart is o without what only a read of another database tells: the
// schemas and default privileges of the databases, and the owners' facts.
// What a read of the postgres database gives again under the lock.
func (o Observed) MainPart() Observed {
	m := o
	m.Owners = nil
	m.Databases = make([]ObservedDatabase, len(o.Databases))
	for i, d := range o.Databases {
		d.Read, d.Schemas, d.Defaults = false, nil, nil
		m.Databases[i] = d
	}
	return m
}

// DatabaseChanges says, one line each, how the objects read in a database
// differ from those a plan was made from: what a user needs to read when
// the plan went stale there.
func DatabaseChanges(before, after ObservedDatabase) []string {
	var out []string
	fp := func(v any) string { return fingerprintOf(v) }
	for _, a := range after.Schemas {
		b, ok := before.SchemaNamed(a.Name)
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("database %s: schema %s created since the plan", after.Name, a.Name))
		case fp(a) != fp(b):
			out = append(out, fmt.Sprintf("database %s: the privileges, objects or owners in schema %s changed since the plan", after.Name, a.Name))
		}
	}
	for _, b := range before.Schemas {
		if _, ok := after.SchemaNamed(b.Name); !ok {
			out = append(out, fmt.Sprintf("database %s: schema %s dropped since the plan", after.Name, b.Name))
		}
	}
	if fp(before.Defaults) != fp(after.Defaults) {
		out = append(out, fmt.Sprintf("database %s: default privileges changed since the plan", after.Name))
	}
	return out
}
