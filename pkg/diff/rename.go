package diff

import (
	"slices"
	"strings"

	"github.com/pgusers/pgusers/pkg/spec"
)

// renames plans the renames the files ask for (renamedFrom), then makes
// c.observed the server as it will be once they ran: every name the old
// role had in the state read (its memberships both ways, its privileges
// and default privileges, what it owns, its facts as an owner) becomes the
// new name. ALTER ROLE ... RENAME keeps all of these, so the rest of the
// plan compares the declaration with what the role really holds, instead
// of with a new, empty role: no redundant grant, and no undeclared
// privilege left unrevoked until the next plan.
//
// It runs before the principals are planned, so that the memberships of
// every other principal and role see the new name too.
func (c *computation) renames() {
	// The old name → the new one: made at the first rename, so that a plan
	// of none allocates nothing.
	var to map[string]string
	for _, p := range c.desired.Principals {
		if p.RenamedFrom == "" || p.ObjectID == "" {
			continue
		}
		if _, isEntra := c.observed.Principal(p.Name); isEntra {
			continue // renamed already, or principal reports the conflict
		}
		holder, ok := c.principalByObjectID(p.ObjectID)
		switch {
		case !ok:
			c.renamedFromOther(p)
		case holder.Name == p.RenamedFrom && c.renamed(p, holder):
			if to == nil {
				to = map[string]string{}
			}
			to[holder.Name] = p.Name
		}
	}
	if len(to) == 0 {
		return
	}
	c.observed = c.observed.withRenames(to)
	c.byObjectID = nil // indexes the principals as they were
	c.renamedTo = to
}

// former is the name role has before the plan's renames: what the
// hand-overs in other databases, which run before the main transaction
// renames, must call it.
func (c *computation) former(role string) string {
	for old, renamed := range c.renamedTo {
		if renamed == role {
			return old
		}
	}
	return role
}

// hasSessionRoleBefore is Observed.HasSessionRole for a role named as it
// is before the plan's renames.
func (c *computation) hasSessionRoleBefore(role string) bool {
	if renamed, ok := c.renamedTo[role]; ok {
		role = renamed
	}
	return c.observed.HasSessionRole(role)
}

// renamedFromOther refuses a renamedFrom that names a role other than the
// Entra object the entry declares: renamedFrom asserts that the two names
// are one object, and planning on regardless would create a second
// principal and, with prune, drop the first with its grants and objects.
func (c *computation) renamedFromOther(p spec.Principal) {
	if old, ok := c.observed.Principal(p.RenamedFrom); ok {
		c.problem(p.Name, "renamedFrom names %s, whose objectId on the server is %s, but this entry declares objectId %s: "+
			"renamedFrom says both names are one Entra object, and these are two; fix the objectId (or renamedFrom) "+
			"if it is a rename, or remove renamedFrom if %s is another principal%s",
			p.RenamedFrom, old.ObjectID, p.ObjectID, p.RenamedFrom, where(p.Pos))
		return
	}
	if c.observed.HasRole(p.RenamedFrom) {
		c.problem(p.Name, "renamedFrom names %s, a role that is not an Entra principal (pgaadauth_list_principals does not "+
			"list it), so it cannot be objectId %s under another name: fix renamedFrom, or remove it%s",
			p.RenamedFrom, p.ObjectID, where(p.Pos))
	}
}

// withRenames is o with every role name that to maps replaced by its new
// name, its lists sorted again. It shares no list with o, which the caller
// keeps (the basis a plan is checked against at apply).
func (o Observed) withRenames(to map[string]string) Observed {
	name := func(n string) string {
		if r, ok := to[n]; ok {
			return r
		}
		return n
	}
	names := func(ns []string) []string {
		if ns == nil {
			return nil
		}
		out := make([]string, len(ns))
		for i, n := range ns {
			out[i] = name(n)
		}
		slices.Sort(out)
		return out
	}
	acl := func(ps []Privilege) []Privilege {
		out := slices.Clone(ps)
		for i := range out {
			out[i].Grantee = name(out[i].Grantee)
		}
		return out
	}
	delegated := func(ds []Delegated) []Delegated {
		out := slices.Clone(ds)
		for i := range out {
			out[i].Grantor, out[i].Grantee = name(out[i].Grantor), name(out[i].Grantee)
		}
		return out
	}
	r := o
	r.Principals = slices.Clone(o.Principals)
	for i := range r.Principals {
		r.Principals[i].Name = name(r.Principals[i].Name)
		r.Principals[i].MemberOf = names(r.Principals[i].MemberOf)
	}
	r.Roles = names(o.Roles)
	r.SessionRoles = names(o.SessionRoles)
	r.Dependencies = slices.Clone(o.Dependencies)
	for i := range r.Dependencies {
		r.Dependencies[i].Principal = name(r.Dependencies[i].Principal)
	}
	r.HeldFrom = slices.Clone(o.HeldFrom)
	for i := range r.HeldFrom {
		r.HeldFrom[i].Principal, r.HeldFrom[i].Owner = name(r.HeldFrom[i].Principal), name(r.HeldFrom[i].Owner)
	}
	r.GroupRoles = slices.Clone(o.GroupRoles)
	for i := range r.GroupRoles {
		r.GroupRoles[i].MemberOf = names(r.GroupRoles[i].MemberOf)
	}
	r.Owners = slices.Clone(o.Owners)
	for i := range r.Owners {
		r.Owners[i].Name = name(r.Owners[i].Name)
	}
	slices.SortFunc(r.Owners, func(a, b RoleFact) int { return strings.Compare(a.Name, b.Name) })
	r.Databases = slices.Clone(o.Databases)
	for i := range r.Databases {
		d := &r.Databases[i]
		d.Owner, d.ACL, d.Delegated = name(d.Owner), acl(d.ACL), delegated(d.Delegated)
		d.Schemas = slices.Clone(d.Schemas)
		for j := range d.Schemas {
			s := &d.Schemas[j]
			s.Owner, s.ACL = name(s.Owner), acl(s.ACL)
			s.Objects = slices.Clone(s.Objects)
			for k := range s.Objects {
				s.Objects[k].Owner = name(s.Objects[k].Owner)
			}
			s.Holdings = slices.Clone(s.Holdings)
			for k := range s.Holdings {
				s.Holdings[k].Grantee = name(s.Holdings[k].Grantee)
			}
			s.Delegated = delegated(s.Delegated)
			s.Columns = slices.Clone(s.Columns)
			for k := range s.Columns {
				c := &s.Columns[k]
				c.Owner, c.ACL, c.Delegated = name(c.Owner), acl(c.ACL), delegated(c.Delegated)
			}
		}
		d.Defaults = slices.Clone(d.Defaults)
		for j := range d.Defaults {
			d.Defaults[j].Owner, d.Defaults[j].Grantee = name(d.Defaults[j].Owner), name(d.Defaults[j].Grantee)
		}
	}
	r.Normalize()
	return r
}
