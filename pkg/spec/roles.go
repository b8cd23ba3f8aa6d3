package spec

import (
	"fmt"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"
)

var roleKeys = []string{"name", "comment", "memberOf", "absent"}

// rawRoleSet is one entry of roleSets, as written.
type rawRoleSet struct {
	name  string
	pos   Position // of the set's name
	roles []Role
}

func (d *decoder) roleSets(n *yaml.Node, f *rawFile) {
	for _, kv := range d.optionalMapping(n, scope{}, "roleSets") {
		if kv.key == "" {
			d.errorf(kv.k, scope{}, "a role set needs a name")
			continue
		}
		sc := scope{set: kv.key}
		rs := d.roles(kv.v, sc, "a role set")
		f.roleSets = append(f.roleSets, rawRoleSet{
			name:  kv.key,
			pos:   d.pos(kv.k),
			roles: d.errs.uniqueRoles(rs, sc, false),
		})
	}
}

// roles decodes a list of group roles (decodeEach).
func (d *decoder) roles(n *yaml.Node, sc scope, what string) []Role {
	return decodeEach(d, n, sc, what, func(item *yaml.Node) (Role, bool) { return d.role(item, sc) })
}

func (d *decoder) role(n *yaml.Node, sc scope) (Role, bool) {
	n = d.resolve(n)
	if n == nil {
		return Role{}, false
	}
	pairs, ok := d.mapping(n, scope{server: sc.server, set: sc.set, role: peekName(n)}, "a role")
	if !ok {
		return Role{}, false
	}
	r := Role{Set: sc.set, Pos: d.pos(n)}

	// The name goes first, so that every other message can say whose it is.
	named := false
	for _, kv := range pairs {
		if kv.key == "name" {
			r.Name, named = d.roleName(kv.v, sc)
			if named {
				sc.role = r.Name
			}
		}
	}
	// Keys that an absent role must not have, by where they are written.
	var takes []pair
	for _, kv := range pairs {
		switch kv.key {
		case "name":
		case "comment":
			takes = append(takes, kv)
			if c, ok := d.str(kv.v, sc, "comment"); ok {
				if strings.ContainsFunc(c, unicode.IsControl) {
					d.errorf(kv.v, sc, "comment %q contains a control character (a line break, a tab, ...); a comment is one line of text", c)
				} else {
					r.Comment, r.ManageComment = c, true
				}
			}
		case "memberOf":
			takes = append(takes, kv)
			r.ManageMemberships = true
			r.MemberOf = d.memberOf(kv.v, sc, r.Name, "role")
		case "absent":
			r.Absent, _ = d.boolean(kv.v, sc, "absent")
		default:
			d.unknownKey(kv, sc, "a role", roleKeys)
		}
	}
	if r.Absent {
		for _, kv := range takes {
			d.errorf(kv.k, sc, "%s does not apply to a role that is absent: true (it is dropped); remove one or the other", kv.key)
		}
	}
	if !named && !hasKey(pairs, "name") {
		d.errorf(n, sc, "name is required: the name of the group role")
	}
	return r, named
}

func (d *decoder) roleName(n *yaml.Node, sc scope) (string, bool) {
	s, ok := d.str(n, sc, "name")
	if !ok {
		return "", false
	}
	msg := checkRoleName("name", s)
	if msg == "" {
		msg = checkReserved("name", s)
	}
	if msg == "" && strings.EqualFold(s, Public) {
		msg = errorMsg("name %q is reserved: PUBLIC stands for every role, and PostgreSQL refuses a role of that name", s)
	}
	if msg != "" {
		d.errorf(n, sc, "%s", msg)
		return "", false
	}
	return s, true
}

// uniqueRoles reports every role whose name an earlier one already has,
// and returns the list without them: a server's whole list (onServer), or
// one set's.
func (c *collector) uniqueRoles(rs []Role, sc scope, onServer bool) []Role {
	where := "in this set"
	if onServer {
		where = "on this server"
	}
	byName := make(map[string]int, len(rs)) // index into out
	out := rs[:0]                           // filtered in place: out never overtakes the loop
	for _, r := range rs {
		if i, dup := byName[r.Name]; dup {
			first := out[i]
			rsc := sc
			rsc.role = r.Name
			c.add(r.Pos, rsc, fmt.Sprintf("declared twice %s: here%s and at %s%s; keep one",
				where, roleOrigin(r, onServer), first.Pos, roleOrigin(first, onServer)))
			continue
		}
		byName[r.Name] = len(out)
		out = append(out, r)
	}
	return out
}

func roleOrigin(r Role, onServer bool) string {
	switch {
	case !onServer:
		return ""
	case r.Set != "":
		return errorMsg(" (role set %q)", r.Set)
	}
	return " (the server's roles)"
}
