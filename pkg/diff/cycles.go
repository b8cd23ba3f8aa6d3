package diff

import (
	"slices"
	"strings"

	"github.com/pgusers/pgusers/pkg/spec"
)

// checkCycles refuses grants that would make a role a member of itself,
// through the memberships the plan leaves or makes: PostgreSQL would refuse
// the GRANT mid-apply (SQLSTATE 0LP01) and roll the server back. The
// memberships known are those of every Entra principal and of the roles the
// plan asks about; a cycle through other roles is found by PostgreSQL.
func (c *computation) checkCycles() {
	grants := c.byAction[Grant]
	if len(grants) == 0 {
		return
	}
	edges := map[string][]string{} // member → the roles it is a member of, after the plan
	managed := map[string]bool{}
	for _, p := range c.desired.Principals {
		if p.ManageMemberships {
			managed[p.Name] = true
			edges[p.Name] = append(edges[p.Name], p.MemberOf...)
		}
	}
	for _, r := range c.desired.Roles {
		if r.ManageMemberships && !r.Absent {
			managed[r.Name] = true
			edges[r.Name] = append(edges[r.Name], r.MemberOf...)
		}
	}
	for _, p := range c.observed.Principals {
		if !managed[p.Name] {
			edges[p.Name] = append(edges[p.Name], nonAdmin(p.MemberOf)...)
		}
	}
	for _, r := range c.observed.GroupRoles {
		if !managed[r.Name] {
			edges[r.Name] = append(edges[r.Name], r.MemberOf...)
		}
	}
	reported := map[string]bool{}
	for _, g := range grants {
		path := pathTo(edges, g.Role, g.Principal)
		if path == nil {
			continue
		}
		cycle := append([]string{g.Principal}, path...)
		key := canonicalCycle(cycle)
		if reported[key] {
			continue
		}
		reported[key] = true
		c.problem(g.Principal, "memberOf makes a cycle of memberships, %s: a role cannot be a member of itself, "+
			"and PostgreSQL refuses the grant that closes it; remove one of these memberships", strings.Join(cycle, " → "))
	}
}

// pathTo returns the roles from from to to, both included, following
// edges breadth first, or nil when there is no path.
func pathTo(edges map[string][]string, from, to string) []string {
	prev := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		at := queue[0]
		queue = queue[1:]
		if at == to {
			var path []string
			for n := at; n != ""; n = prev[n] {
				path = append(path, n)
			}
			slices.Reverse(path)
			return path
		}
		next := slices.Clone(edges[at])
		slices.Sort(next) // the same state, the same message
		for _, n := range next {
			if _, seen := prev[n]; !seen && !spec.Reserved(n) {
				prev[n] = at
				queue = append(queue, n)
			}
		}
	}
	return nil
}

// canonicalCycle names a cycle whatever member it starts from.
func canonicalCycle(cycle []string) string {
	ring := cycle[:len(cycle)-1]
	start := 0
	for i, n := range ring {
		if n < ring[start] {
			start = i
		}
	}
	return strings.Join(append(slices.Clone(ring[start:]), ring[:start]...), "\x00")
}
