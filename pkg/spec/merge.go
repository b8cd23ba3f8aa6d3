package spec

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// globals are what every file's servers share: the defaults, and the sets
// by name.
type globals struct {
	defaults settings
	sets     map[string]*rawSet
	roleSets map[string]*rawRoleSet
	profiles *profiles
}

// merge turns the files into one desired state: defaults from every file,
// principal and role sets and privilege profiles by name, and each server
// with its sets expanded and its grants' profiles resolved.
// merged is the files merged: the servers they list (the entries with
// discovered: true apart, waiting for their host) and their discover
// entries.
type merged struct {
	servers, refined []Server
	discover         []DiscoverSource
}

func (c *collector) merge(files []*rawFile) merged {
	defaults := settings{}
	sets := map[string]*rawSet{}
	roleSets := map[string]*rawRoleSet{}
	serverAt := map[string]Position{}
	for _, f := range files {
		for _, key := range settingKeys {
			v, ok := f.defaults[key]
			if !ok {
				continue
			}
			if first, dup := defaults[key]; dup {
				c.add(v.pos, scope{}, fmt.Sprintf("defaults.%s is set twice: here and at %s; set it in one file", key, first.pos))
				continue
			}
			defaults[key] = v
		}
		for i := range f.sets {
			s := &f.sets[i]
			if first, dup := sets[s.name]; dup {
				c.add(s.pos, scope{set: s.name}, errorMsg("principal set %q is defined twice: here and at %s; rename or merge one", s.name, first.pos))
				continue
			}
			sets[s.name] = s
		}
		for i := range f.roleSets {
			s := &f.roleSets[i]
			if first, dup := roleSets[s.name]; dup {
				c.add(s.pos, scope{set: s.name}, errorMsg("role set %q is defined twice: here and at %s; rename or merge one", s.name, first.pos))
				continue
			}
			roleSets[s.name] = s
		}
	}
	g := &globals{defaults: defaults, sets: sets, roleSets: roleSets}
	if !c.connectionsOnly {
		g.profiles = c.mergeProfiles(files)
	}
	// The defaults are checked once on their own, so that a contradiction
	// inside them is one error, not one per server.
	c.applySettings(&Server{}, defaults, nil, scope{})

	var m merged
	clusters := map[string]Position{} // host:port → the first server's position
	for _, f := range files {
		for _, raw := range f.servers {
			if raw.name != "" {
				if first, dup := serverAt[raw.name]; dup {
					c.add(raw.namePos, scope{server: raw.name}, errorMsg("server name %q is used twice: here and at %s; server names must be unique", raw.name, first))
				} else {
					serverAt[raw.name] = raw.namePos
				}
			}
			s := c.server(raw, g)
			if s.Host != "" {
				key := strings.ToLower(strings.TrimSuffix(s.Host, ".")) + ":" + strconv.Itoa(s.Port)
				if first, dup := clusters[key]; dup {
					c.add(raw.pos, scope{server: raw.name}, fmt.Sprintf("host %s port %d is also the server at %s: two entries for one "+
						"server would fight over it (with prune, each drops the other's principals) and their applies would "+
						"lock each other out; declare it once", s.Host, s.Port, first))
				} else {
					clusters[key] = raw.pos
				}
			}
			if raw.discovered {
				m.refined = append(m.refined, s)
			} else {
				m.servers = append(m.servers, s)
			}
		}
	}
	if !c.connectionsOnly {
		m.discover = c.discoverSources(files, g)
	}
	return m
}

func (c *collector) server(raw rawServer, g *globals) Server {
	sc := scope{server: raw.name}
	s := Server{Name: raw.name, Connection: Connection{Host: raw.host}, Pos: raw.pos}
	c.applySettings(&s, raw.settings, g.defaults, sc)
	if s.User == "" && !wasRefused(raw.settings, g.defaults, "user") {
		c.add(raw.pos, sc, "no user to sign in as; set defaults.user or this server's user (the Entra administrator's role name)")
	}
	if c.connectionsOnly {
		return s
	}

	// raw is this merge's own: its list is extended, not copied (the
	// capped slice makes the first included set copy it).
	ps := raw.principals[:len(raw.principals):len(raw.principals)]
	included := map[string]Position{}
	for _, inc := range raw.include {
		if first, dup := included[inc.name]; dup {
			c.add(inc.pos, sc, errorMsg("set %q is included twice (first at %s); include it once", inc.name, first))
			continue
		}
		included[inc.name] = inc.pos
		set, ok := g.sets[inc.name]
		if !ok {
			c.add(inc.pos, sc, unknownSet(inc.name, g.sets))
			continue
		}
		for _, p := range set.principals {
			p.Set = set.name
			p.MemberOf = slices.Clone(p.MemberOf)
			ps = append(ps, p)
		}
	}
	// The later of two duplicates is the one reported, wherever the two
	// come from, so the error sits where a reader meets the second.
	byPos := func(a, b Principal) int { return c.comparePos(a.Pos, b.Pos) }
	byName := func(a, b Principal) int { return strings.Compare(a.Name, b.Name) }
	// A server's own list is usually in file order already, and often
	// by name too: checking first spares 10,000 principals two sorts.
	if !slices.IsSortedFunc(ps, byPos) {
		slices.SortStableFunc(ps, byPos)
	}
	ps = c.unique(ps, sc, true)
	if !slices.IsSortedFunc(ps, byName) {
		slices.SortStableFunc(ps, byName)
	}
	if len(ps) > 0 {
		s.Principals = ps
	}
	if rs := c.serverRoles(raw, g, s.Principals, sc); len(rs) > 0 {
		s.Roles = rs
	}
	if gs := c.serverGrants(raw.grants, g.profiles, s.Roles, sc); len(gs) > 0 {
		s.Grants = gs
	}
	return s
}

// serverRoles are the server's own group roles and its included role
// sets', sorted by name: each name once, and none a principal's.
func (c *collector) serverRoles(raw rawServer, g *globals, ps []Principal, sc scope) []Role {
	rs := raw.roles[:len(raw.roles):len(raw.roles)]
	included := map[string]Position{}
	for _, inc := range raw.includeRoles {
		if first, dup := included[inc.name]; dup {
			c.add(inc.pos, sc, errorMsg("role set %q is included twice (first at %s); include it once", inc.name, first))
			continue
		}
		included[inc.name] = inc.pos
		set, ok := g.roleSets[inc.name]
		if !ok {
			c.add(inc.pos, sc, unknownRoleSet(inc.name, g.roleSets))
			continue
		}
		for _, r := range set.roles {
			r.Set = set.name
			r.MemberOf = slices.Clone(r.MemberOf)
			rs = append(rs, r)
		}
	}
	slices.SortStableFunc(rs, func(a, b Role) int { return c.comparePos(a.Pos, b.Pos) })
	rs = c.uniqueRoles(rs, sc, true)
	slices.SortStableFunc(rs, func(a, b Role) int { return strings.Compare(a.Name, b.Name) })

	// A name is one role: a principal or a group role, not both. The
	// later of the two is where the error goes.
	for _, r := range rs {
		i, found := slices.BinarySearchFunc(ps, r.Name, func(p Principal, name string) int { return strings.Compare(p.Name, name) })
		if !found {
			continue
		}
		p := ps[i]
		roleAt := fmt.Sprintf("%s%s", r.Pos, roleOrigin(r, true))
		principalAt := fmt.Sprintf("%s%s", p.Pos, principalOrigin(p))
		if c.comparePos(r.Pos, p.Pos) > 0 {
			c.add(r.Pos, scope{server: sc.server, role: r.Name}, fmt.Sprintf(
				"declared as a group role here%s and as a principal at %s; a name is one role, keep one",
				roleOrigin(r, true), principalAt))
		} else {
			c.add(p.Pos, scope{server: sc.server, principal: p.Name}, fmt.Sprintf(
				"declared as a principal here%s and as a group role at %s; a name is one role, keep one",
				principalOrigin(p), roleAt))
		}
	}

	// A role the server drops cannot be one that others are members of.
	absent := map[string]Role{}
	for _, r := range rs {
		if r.Absent {
			absent[r.Name] = r
		}
	}
	if len(absent) == 0 {
		return rs
	}
	memberOfAbsent := func(memberOf []string, at Position, sc scope) {
		for _, m := range memberOf {
			if a, ok := absent[m]; ok {
				c.add(at, sc, errorMsg("memberOf lists %q, which this server declares absent: true (at %s); remove one or the other", m, a.Pos))
			}
		}
	}
	for _, p := range ps {
		memberOfAbsent(p.MemberOf, p.Pos, scope{server: sc.server, principal: p.Name})
	}
	for _, r := range rs {
		memberOfAbsent(r.MemberOf, r.Pos, scope{server: sc.server, role: r.Name})
	}
	return rs
}

func principalOrigin(p Principal) string {
	if p.Set != "" {
		return errorMsg(" (principal set %q)", p.Set)
	}
	return " (the server's principals)"
}

// wasRefused says whether key was written but refused, which has its error.
func wasRefused(own, def settings, key string) bool {
	if v, ok := own[key]; ok {
		return v.bad
	}
	v, ok := def[key]
	return ok && v.bad
}

func unknownSet(name string, sets map[string]*rawSet) string {
	names := make([]string, 0, len(sets))
	for n := range sets {
		names = append(names, n)
	}
	slices.Sort(names)
	if s := suggest(name, names); s != "" {
		return errorMsg("unknown principal set %q; did you mean %q?", name, s)
	}
	if len(names) == 0 {
		return errorMsg("unknown principal set %q; no file defines principalSets", name)
	}
	return errorMsg("unknown principal set %q; define it under principalSets (defined: %s)", name, strings.Join(names, ", "))
}

func unknownRoleSet(name string, sets map[string]*rawRoleSet) string {
	names := slices.Sorted(maps.Keys(sets))
	if s := suggest(name, names); s != "" {
		return errorMsg("unknown role set %q; did you mean %q?", name, s)
	}
	if len(names) == 0 {
		return errorMsg("unknown role set %q; no file defines roleSets", name)
	}
	return errorMsg("unknown role set %q; define it under roleSets (defined: %s)", name, strings.Join(names, ", "))
}

// unique reports every principal whose name or object id an earlier one
// already has, and returns the list without them: a server's whole list
// (onServer), or one set's.
func (c *collector) unique(ps []Principal, sc scope, onServer bool) []Principal {
	where := "in this set"
	if onServer {
		where = "on this server"
	}
	origin := func(p Principal) string {
		switch {
		case !onServer:
			return ""
		case p.Set != "":
			return errorMsg(" (set %q)", p.Set)
		default:
			return " (the server's principals)"
		}
	}
	byName := make(map[string]int, len(ps)) // index into out
	byOID := make(map[string]int, len(ps))
	out := ps[:0] // filtered in place: out never overtakes the loop
	for _, p := range ps {
		psc := sc
		psc.principal = p.Name
		if i, dup := byName[p.Name]; dup {
			first := out[i]
			c.add(p.Pos, psc, fmt.Sprintf("declared twice %s: here%s and at %s%s; keep one",
				where, origin(p), first.Pos, origin(first)))
			continue
		}
		if i, dup := byOID[p.ObjectID]; dup && p.ObjectID != "" {
			first := out[i]
			c.add(p.Pos, psc, errorMsg("objectId %s is also the object id of %q (at %s%s); one Entra object backs one role",
				p.ObjectID, first.Name, first.Pos, origin(first)))
			continue
		}
		byName[p.Name] = len(out)
		if p.ObjectID != "" {
			byOID[p.ObjectID] = len(out)
		}
		out = append(out, p)
	}
	return out
}
