package diff

import (
	"fmt"
	"slices"
	"strings"
)

// DependencyKind is why pg_shdepend ties an object to a role: what makes
// DROP ROLE fail until REASSIGN OWNED and DROP OWNED ran where the object
// is.
type DependencyKind string

const (
	// Owner: the role owns the object.
	Owner DependencyKind = "owner"
	// Privileges: the role holds or granted privileges on the object.
	Privileges DependencyKind = "privileges"
	// Policy: a row-level security policy names the role.
	Policy DependencyKind = "policy"
	// InitialPrivileges: an extension's initial privileges name the role.
	InitialPrivileges DependencyKind = "initial privileges"
)

// KindOf names pg_shdepend's deptype letter; an unknown letter is kept as
// it is, so that a newer server's dependencies still block a drop.
func KindOf(deptype string) DependencyKind {
	switch deptype {
	case "o":
		return Owner
	case "a":
		return Privileges
	case "r":
		return Policy
	case "i":
		return InitialPrivileges
	}
	return DependencyKind("deptype " + deptype)
}

// Dependency counts the objects of one database that a principal owns or
// holds privileges on, as pg_shdepend records them.
type Dependency struct {
	Principal string `json:"principal"`
	// Database is where the objects are; "" for objects of the whole
	// cluster (databases, tablespaces), which REASSIGN OWNED and DROP
	// OWNED handle from any database.
	Database string         `json:"database"`
	Kind     DependencyKind `json:"kind"`
	Count    int            `json:"count"`
}

// HeldFrom says that Principal holds privileges on objects that Owner owns
// in Database: DROP OWNED revokes them as Owner, so a hand-over must act as
// Owner (a superuser, it never can).
type HeldFrom struct {
	Principal string `json:"principal"`
	Database  string `json:"database"`
	Owner     string `json:"owner"`
	Super     bool   `json:"super,omitempty"`
}

// Blocker is something that makes DROP ROLE of a principal fail: one object
// when it could be named, or a count of objects when it could not (another
// database could not be read, or there are too many to list).
type Blocker struct {
	Principal  string         `json:"principal"`
	Database   string         `json:"database"` // "" for an object of the whole cluster
	Kind       DependencyKind `json:"kind"`
	ObjectType string         `json:"objectType"` // "table", "schema", "database", ...; "" when not named
	Object     string         `json:"object"`     // its qualified name; "" when not named
	Count      int            `json:"count"`      // 1 for a named object
}

// Blockers turns dependencies into blockers that count, not yet name, their
// objects.
func Blockers(deps []Dependency) []Blocker {
	out := make([]Blocker, len(deps))
	for i, d := range deps {
		out[i] = Blocker{Principal: d.Principal, Database: d.Database, Kind: d.Kind, Count: d.Count}
	}
	return out
}

func compareBlockers(a, b Blocker) int {
	for _, c := range []int{
		strings.Compare(a.Principal, b.Principal),
		strings.Compare(a.Database, b.Database),
		strings.Compare(string(a.Kind), string(b.Kind)),
		strings.Compare(a.ObjectType, b.ObjectType),
		strings.Compare(a.Object, b.Object),
	} {
		if c != 0 {
			return c
		}
	}
	return 0
}

// SortBlockers sorts blockers by principal, database, kind and object.
func SortBlockers(bs []Blocker) { slices.SortFunc(bs, compareBlockers) }

// Cleanup hands over what principals the plan drops own in one database
// other than the one pgusers is connected to: REASSIGN OWNED to the
// server's reassignOwnedTo, then DROP OWNED for the privileges left. It
// runs in its own transaction, on its own connection, before the main one:
// PostgreSQL cannot change two databases in one transaction.
type Cleanup struct {
	Database   string      `json:"database"`
	Principals []string    `json:"principals"` // sorted
	Statements []Statement `json:"statements"`
}

// DependenciesOf returns the dependencies of the named principals.
func (o Observed) DependenciesOf(names ...string) []Dependency {
	var out []Dependency
	for _, d := range o.Dependencies {
		if slices.Contains(names, d.Principal) {
			out = append(out, d)
		}
	}
	return out
}

// Dropping names the roles the plan drops or replaces, sorted.
func (p Plan) Dropping() []string {
	var out []string
	for _, c := range p.Changes {
		switch c.Action {
		case Drop, Replace:
			out = append(out, c.Principal)
		case DropRole:
			out = append(out, c.Role)
		}
	}
	slices.Sort(out)
	return out
}

// Basis is the part of o that the plan's validity rests on: everything but
// the dependencies of principals the plan keeps. Apply compares the basis
// of the plan with that of a fresh read; a grant on a table to a principal
// the plan does not drop does not make a plan stale, one to a principal it
// drops does.
func (p Plan) Basis(o Observed) Observed {
	b := o
	dropping := p.Dropping()
	b.Dependencies = o.DependenciesOf(dropping...)
	b.HeldFrom = nil
	for _, h := range o.HeldFrom {
		if slices.Contains(dropping, h.Principal) {
			b.HeldFrom = append(b.HeldFrom, h)
		}
	}
	return b
}

// describeDependencies says in words what deps count, for a message.
func describeDependencies(deps []Dependency) string {
	parts := make([]string, 0, len(deps))
	for _, d := range deps {
		where := fmt.Sprintf("in database %q", d.Database)
		if d.Database == "" {
			where = "of the whole cluster (databases, tablespaces)"
		}
		parts = append(parts, fmt.Sprintf("%s %s", countKind(d.Kind, d.Count), where))
	}
	return strings.Join(parts, "; ")
}

// countKind says "owns 2 objects", "holds privileges on 1 object", ...
func countKind(k DependencyKind, n int) string {
	objects := "objects"
	if n == 1 {
		objects = "object"
	}
	switch k {
	case Owner:
		return fmt.Sprintf("owns %d %s", n, objects)
	case Privileges:
		return fmt.Sprintf("holds privileges on %d %s", n, objects)
	case Policy:
		return fmt.Sprintf("is named by %d row security %s", n, map[bool]string{true: "policy", false: "policies"}[n == 1])
	case InitialPrivileges:
		return fmt.Sprintf("has initial privileges on %d %s", n, objects)
	}
	return fmt.Sprintf("has %d dependent %s (%s)", n, objects, k)
}
