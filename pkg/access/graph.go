package access

import (
	"slices"
	"strings"
)

// reach is how a role reaches another through memberships: Path is the
// roles after it, the target last.
type reach struct {
	Path []string
	// Admin is the direct membership's ADMIN OPTION (false for a path of
	// several).
	Admin bool
}

// graph is the membership graph of a server, as a review walks it.
type graph struct {
	// up are each member's direct memberships, sorted by role.
	up map[string][]Edge
	// inherits are, per role, the roles whose privileges it has without
	// SET ROLE (a path of INHERIT memberships), with the shortest path;
	// setOnly those it may only SET ROLE to.
	inherits, setOnly map[string]map[string]reach
}

func newGraph(edges []Edge) *graph {
	g := &graph{up: map[string][]Edge{}, inherits: map[string]map[string]reach{}, setOnly: map[string]map[string]reach{}}
	for _, e := range edges {
		g.up[e.Member] = append(g.up[e.Member], e)
	}
	return g
}

// walk fills g's reaches of role: breadth first, so each path is a
// shortest one, and edges in name order, so the same state gives the same
// path.
func (g *graph) walk(role string) {
	if _, done := g.inherits[role]; done {
		return
	}
	inherits := g.bfs(role, func(e Edge) bool { return e.Inherit })
	settable := g.bfs(role, func(e Edge) bool { return e.Set })
	setOnly := map[string]reach{}
	for r, p := range settable {
		if _, ok := inherits[r]; !ok {
			setOnly[r] = p
		}
	}
	g.inherits[role], g.setOnly[role] = inherits, setOnly
}

func (g *graph) bfs(role string, follow func(Edge) bool) map[string]reach {
	out := map[string]reach{}
	type step struct {
		role string
		path []string
	}
	queue := []step{{role: role}}
	seen := map[string]bool{role: true}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for _, e := range g.up[s.role] {
			if seen[e.Role] || !follow(e) {
				continue
			}
			seen[e.Role] = true
			path := append(slices.Clip(s.path), e.Role)
			out[e.Role] = reach{Path: path, Admin: len(path) == 1 && e.Admin}
			queue = append(queue, step{role: e.Role, path: path})
		}
	}
	return out
}

// heir is a grantee that has a role's privileges, and how.
type heir struct {
	grantee string
	// path is nil for the role itself.
	path []string
}

// heirs returns, for each role, the grantees among grantees that have its
// privileges: itself, and those that inherit it, sorted by grantee.
func (g *graph) heirs(grantees []string) map[string][]heir {
	out := map[string][]heir{}
	for _, x := range grantees {
		out[x] = append(out[x], heir{grantee: x})
		g.walk(x)
		for r, p := range g.inherits[x] {
			out[r] = append(out[r], heir{grantee: x, path: p.Path})
		}
	}
	for _, hs := range out {
		slices.SortFunc(hs, func(a, b heir) int { return strings.Compare(a.grantee, b.grantee) })
	}
	return out
}

// memberSource is the source of what a path gives: "direct" for none,
// else "member of A > B".
func memberSource(path []string, self string) string {
	if len(path) == 0 {
		return self
	}
	return "member of " + strings.Join(path, " > ")
}
