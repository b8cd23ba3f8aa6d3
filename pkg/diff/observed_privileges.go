package diff

import "github.com/pgusers/pgusers/pkg/spec"

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
}

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
	// ACL holds the database's privileges of the grantees asked about,
	// from the shared catalog.
	ACL []Privilege `json:"acl,omitempty"`
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
