package access

import (
	"path"
	"slices"

	"github.com/pgusers/pgusers/pkg/diff"
	"github.com/pgusers/pgusers/pkg/spec"
)

// Principal statuses: what the files say of a role.
const (
	Declared   = "declared"   // a principal or group role of the files
	Undeclared = "undeclared" // neither, nor protected
	Protected  = "protected"  // Azure's or PostgreSQL's (reserved), or matched by protect
)

type cellKey struct {
	grantee, database string
	on                spec.Kind
	schema            string
}

type defaultsKey struct {
	grantee, database, owner, schema string
	on                               spec.Kind
}

// declarations are what a server's entry in the files declares, as a
// review asks it: the privileges of each managed cell, the memberships
// and the principals.
type declarations struct {
	server      spec.Server
	cells       map[cellKey][]string
	defaults    map[defaultsKey][]string
	memberships map[[2]string]bool
	admins      map[string]bool
	roles       map[string]bool
}

func declare(s spec.Server, serverVersion int) *declarations {
	d := &declarations{server: s, cells: map[cellKey][]string{}, defaults: map[defaultsKey][]string{},
		memberships: map[[2]string]bool{}, admins: map[string]bool{}, roles: map[string]bool{}}
	cells, defaults := diff.Cells(s, serverVersion)
	for _, c := range cells {
		d.cells[cellKey{c.Grantee, c.Database, c.On, c.Schema}] = c.Privileges
	}
	for _, c := range defaults {
		d.defaults[defaultsKey{c.Grantee, c.Database, c.Owner, c.Schema, c.On}] = c.Privileges
	}
	for _, p := range s.Principals {
		d.roles[p.Name] = true
		if p.Admin {
			d.admins[p.Name] = true
			d.memberships[[2]string{p.Name, spec.AdminRole}] = true
		}
		if p.ManageMemberships {
			for _, r := range p.MemberOf {
				d.memberships[[2]string{p.Name, r}] = true
			}
		}
	}
	for _, r := range s.Roles {
		if r.Absent {
			continue
		}
		d.roles[r.Name] = true
		if r.ManageMemberships {
			for _, m := range r.MemberOf {
				d.memberships[[2]string{r.Name, m}] = true
			}
		}
	}
	return d
}

// status is what the files say of role.
func (d *declarations) status(role string) string {
	if d.roles[role] {
		return Declared
	}
	if spec.Reserved(role) {
		return Protected
	}
	for _, p := range d.server.Protect {
		if ok, _ := path.Match(p, role); ok {
			return Protected
		}
	}
	return Undeclared
}

// chain reports whether every membership from grantee along p is
// declared.
func (d *declarations) chain(grantee string, p []string) bool {
	from := grantee
	for _, r := range p {
		if !d.memberships[[2]string{from, r}] {
			return false
		}
		from = r
	}
	return true
}

// specKind is the files' kind of a review's kind, or "".
func specKind(k Kind) spec.Kind {
	switch k {
	case KindDatabase:
		return spec.KindDatabase
	case KindSchema:
		return spec.KindSchema
	case KindTable:
		return spec.KindTables
	case KindSequence:
		return spec.KindSequences
	case KindFunction:
		return spec.KindFunctions
	}
	return ""
}

// privilege reports whether holder's privilege on kind k in database and
// schema is a managed cell's.
func (d *declarations) privilege(holder, database string, k Kind, schema, privilege string) bool {
	sk := specKind(k)
	if sk == "" {
		return false
	}
	if !sk.InSchema() {
		schema = ""
	}
	return slices.Contains(d.cells[cellKey{holder, database, sk, schema}], privilege)
}

// defaultPrivilege reports whether holder's default privilege is a managed
// defaults cell's.
func (d *declarations) defaultPrivilege(holder, database string, def Default) bool {
	return slices.Contains(d.defaults[defaultsKey{holder, database, def.Owner, def.Schema, spec.Kind(def.On)}], def.Privilege)
}

// attribute reports whether the files declare role's attribute: an Entra
// principal of the files signs in (LOGIN), and an admin one has CREATEROLE
// and CREATEDB.
func (d *declarations) attribute(role, attr string, entra bool) bool {
	switch attr {
	case "LOGIN":
		return entra && d.roles[role]
	case "CREATEROLE", "CREATEDB":
		return d.admins[role]
	}
	return false
}
