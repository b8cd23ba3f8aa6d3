package diff

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pgusers/pgusers/pkg/spec"
)

// GroupRole returns the observed group role called name.
func (o Observed) GroupRole(name string) (ObservedRole, bool) {
	i, ok := slices.BinarySearchFunc(o.GroupRoles, name, func(r ObservedRole, n string) int { return strings.Compare(r.Name, n) })
	if !ok {
		return ObservedRole{}, false
	}
	return o.GroupRoles[i], true
}

// roles plans the declared group roles: creates what is missing, keeps
// comments and memberships as declared, and drops what is declared absent.
func (c *computation) roles() {
	for _, r := range c.desired.Roles {
		if _, isEntra := c.observed.Principal(r.Name); isEntra {
			c.problem("", "role %s is an Entra principal on the server (pgaadauth_list_principals lists it): "+
				"declare it under principals, or pick another name for the group role%s", r.Name, where(r.Pos))
			continue
		}
		obs, exists := c.observed.GroupRole(r.Name)
		switch {
		case r.Absent && exists:
			c.dropRole(r)
		case r.Absent:
		case !exists:
			c.createRole(r)
		default:
			if r.ManageComment && r.Comment != obs.Comment {
				c.add(Change{Action: AlterRole, Role: r.Name, Comment: r.Comment,
					Reason:     fmt.Sprintf("comment %q on the server, %q declared", obs.Comment, r.Comment),
					Statements: []Statement{commentStatement(r.Name, r.Comment)}})
			}
			c.roleMemberships(r.Name, r.ManageMemberships, r.MemberOf, obs.MemberOf)
		}
	}
}

func (c *computation) createRole(r spec.Role) {
	ch := Change{Action: CreateRole, Role: r.Name, Comment: r.Comment, Reason: "declared, not on the server",
		Statements: []Statement{createRoleStatement(r.Name)}}
	if r.ManageComment && r.Comment != "" {
		ch.Statements = append(ch.Statements, commentStatement(r.Name, r.Comment))
	}
	c.add(ch)
	if r.ManageMemberships {
		for _, m := range r.MemberOf {
			c.add(Change{Action: Grant, Principal: r.Name, Role: m, Reason: "declared in memberOf",
				Statements: []Statement{grantStatement(m, r.Name)}})
		}
	}
}

// roleMemberships brings an existing role's memberships to exactly
// memberOf, when they are managed.
func (c *computation) roleMemberships(member string, manage bool, memberOf, have []string) {
	if !manage {
		return
	}
	for _, r := range memberOf {
		if !slices.Contains(have, r) {
			c.add(Change{Action: Grant, Principal: member, Role: r, Reason: "declared in memberOf, not a member on the server",
				Statements: []Statement{grantStatement(r, member)}})
		}
	}
	for _, r := range have {
		if !slices.Contains(memberOf, r) {
			c.add(Change{Action: Revoke, Principal: member, Role: r, Reason: "a member on the server, not in memberOf",
				Statements: []Statement{revokeStatement(r, member)}})
		}
	}
}

func (c *computation) dropRole(r spec.Role) {
	switch {
	case r.Name == c.observed.SessionUser:
		c.problem("", "role %s is declared absent, but it is the signed-in user%s", r.Name, where(r.Pos))
		return
	case protectedBy(c.desired.Protect, r.Name) != "":
		c.problem("", "role %s is declared absent, but protect pattern %q keeps it: remove one or the other%s",
			r.Name, protectedBy(c.desired.Protect, r.Name), where(r.Pos))
		return
	}
	c.add(Change{Action: DropRole, Role: r.Name, Reason: "declared absent, on the server",
		Statements: []Statement{dropStatement(r.Name)}})
}

// creates reports whether the plan creates or recreates role name: a role
// that exists by the time grants run.
func (c *computation) creates(name string) bool {
	if c.creating == nil {
		c.creating = map[string]bool{}
		for _, a := range []Action{Create, Replace} {
			for _, ch := range c.byAction[a] {
				c.creating[ch.Principal] = true
			}
		}
		for _, ch := range c.byAction[CreateRole] {
			c.creating[ch.Role] = true
		}
		for _, ch := range c.byAction[Rename] {
			c.creating[ch.Principal] = true
		}
	}
	return c.creating[name]
}

// dropping reports whether the plan drops role name for good: a principal
// that prune drops, or a group role declared absent.
func (c *computation) dropping(name string) bool {
	for _, ch := range c.byAction[Drop] {
		if ch.Principal == name {
			return true
		}
	}
	for _, ch := range c.byAction[DropRole] {
		if ch.Role == name {
			return true
		}
	}
	return false
}
