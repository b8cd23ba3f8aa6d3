package spec

import (
	"fmt"
	"slices"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"
)

var grantKeys = append([]string{"to", "databases", "schemas", "profile"}, append(slices.Clone(kindKeys), "columns", "defaultsFor", "cascade")...)

// defaultSchemas are the schemas of an entry that names none.
var defaultSchemas = []string{"public"}

// rawGrant is one grant entry as written: its profile is not resolved
// yet, since profiles may come from any file.
type rawGrant struct {
	// g holds what the entry says: Kinds are its own, Schemas nil when it
	// names none.
	g       Grant
	toPos   Position // of to's value; no File when to is missing or refused
	profile Position // of profile's value
	// schemas and defaults are where those keys are written, nil when
	// they are not; schemasOK is false when schemas' value was refused.
	schemas   *Position
	schemasOK bool
	defaults  *Position
	// ownerAt is where each defaultsFor role is first written.
	ownerAt map[string]Position
	// kindsBad: a kind's value was refused, so the rules that look at the
	// kinds managed would judge a guess.
	kindsBad bool
	// columns is where the key is written, nil when it is not.
	columns *Position
}

func (d *decoder) grants(n *yaml.Node, sc scope) []rawGrant {
	return decodeEach(d, n, sc, "grants", func(item *yaml.Node) (rawGrant, bool) { return d.grant(item, sc) })
}

func (d *decoder) grant(n *yaml.Node, sc scope) (rawGrant, bool) {
	n = d.resolve(n)
	if n == nil {
		return rawGrant{}, false
	}
	pairs, ok := d.mapping(n, sc, "a grant")
	if !ok {
		return rawGrant{}, false
	}
	r := rawGrant{g: Grant{Pos: d.pos(n)}}
	hasTo, hasDatabases := false, false
	for _, kv := range pairs {
		switch kv.key {
		case "to":
			hasTo = true
			if to, ok := d.grantee(kv.v, sc); ok {
				r.g.To, r.toPos = to, d.pos(kv.v)
			}
		case "databases":
			hasDatabases = true
			r.g.Databases, _ = d.objectNames(kv.v, sc, "databases", "a database",
				"databases has no value; name the databases whose privileges this entry manages",
				"databases is empty; name at least one database")
		case "schemas":
			pos := d.pos(kv.k)
			r.schemas = &pos
			r.g.Schemas, r.schemasOK = d.objectNames(kv.v, sc, "schemas", "a schema",
				"schemas has no value; name the schemas, or remove the key for [public]",
				"schemas is empty; name at least one schema, or remove the key for [public]")
		case "profile":
			if name, ok := d.str(kv.v, sc, "profile"); ok {
				r.g.Profile, r.profile = name, d.pos(kv.v)
			}
		case "cascade":
			r.g.Cascade, _ = d.boolean(kv.v, sc, "cascade")
		case "defaultsFor":
			pos := d.pos(kv.k)
			r.defaults = &pos
			r.g.DefaultsFor, r.ownerAt = d.owners(kv.v, sc)
		case "columns":
			pos := d.pos(kv.k)
			r.columns = &pos
			r.g.Columns, _ = d.columns(kv.v, sc)
		default:
			i := slices.Index(kindKeys, kv.key)
			if i < 0 {
				d.unknownKey(kv, sc, "a grant", grantKeys)
				continue
			}
			kg, ok := d.kindGrant(Kinds[i], kv.v, sc)
			if !ok {
				r.kindsBad = true
			}
			if kg.Kind != "" {
				r.g.Kinds = unionKinds(r.g.Kinds, []KindGrant{kg})
			}
		}
	}
	if !hasTo {
		d.errorf(n, sc, "to is required: the role that holds the privileges (a group role, an Entra principal, or PUBLIC)")
	}
	if !hasDatabases {
		d.errorf(n, sc, "databases is required: the databases whose privileges this entry manages")
	}
	return r, true
}

// grantee reads to: a role name, or PUBLIC in any case.
func (d *decoder) grantee(n *yaml.Node, sc scope) (string, bool) {
	s, ok := d.str(n, sc, "to")
	if !ok {
		return "", false
	}
	if strings.EqualFold(s, Public) {
		return Public, true
	}
	msg := checkRoleName("to", s)
	if msg == "" {
		msg = checkReserved("to", s)
	}
	if msg != "" {
		d.errorf(n, sc, "%s", msg)
		return "", false
	}
	return s, true
}

// objectNames reads a list of database or schema names: sorted, without
// duplicates. False means the value or an item was refused.
func (d *decoder) objectNames(n *yaml.Node, sc scope, key, what, noValue, empty string) ([]string, bool) {
	r := d.resolve(n)
	if r == nil {
		return nil, false
	}
	if isNull(r) {
		d.errorf(r, sc, "%s", noValue)
		return nil, false
	}
	items, ok := d.sequence(r, sc, key)
	if !ok {
		return nil, false
	}
	if len(items) == 0 {
		d.errorf(r, sc, "%s", empty)
		return nil, false
	}
	var out []string
	for _, item := range items {
		name, good := d.str(item, sc, what)
		if good {
			if msg := checkObjectName(what, name); msg != "" {
				d.errorf(item, sc, "%s", msg)
				good = false
			}
		}
		if !good {
			ok = false
			continue
		}
		out = append(out, name)
	}
	slices.Sort(out)
	return slices.Compact(out), ok
}

// checkObjectName says what is wrong with a database or schema name, or
// "" when nothing is.
func checkObjectName(what, name string) string {
	switch {
	case name == "":
		return what + " is empty"
	case strings.ContainsRune(name, 0):
		return what + " contains a NUL byte, which PostgreSQL does not allow in a name"
	case strings.ContainsFunc(name, unicode.IsControl):
		return errorMsg("%s %q contains a control character (a line break, a tab, ...); pgusers refuses those in names", what, name)
	case len(name) > MaxNameBytes:
		return fmt.Sprintf("%s %s is %d bytes; PostgreSQL silently truncates names over %d bytes, so no such name exists",
			what, quotePrefix(name), len(name), MaxNameBytes)
	}
	return ""
}

// owners reads defaultsFor: role names, sorted, without duplicates, and
// where each is first written.
func (d *decoder) owners(n *yaml.Node, sc scope) ([]string, map[string]Position) {
	if r := d.resolve(n); r != nil && isNull(r) {
		d.errorf(r, sc, "defaultsFor has no value; name the roles that create the objects, or remove the key")
		return nil, nil
	}
	items, _ := d.sequence(n, sc, "defaultsFor")
	var out []string
	at := map[string]Position{}
	for _, item := range items {
		role, ok := d.str(item, sc, "a defaultsFor role")
		if !ok {
			continue
		}
		if msg := checkRoleName("a defaultsFor role", role); msg != "" {
			d.errorf(item, sc, "%s", msg)
			continue
		}
		if strings.EqualFold(role, Public) {
			d.errorf(item, sc, "defaultsFor cannot name PUBLIC: default privileges belong to a role that creates objects, and PUBLIC creates none")
			continue
		}
		if _, seen := at[role]; !seen {
			at[role] = d.pos(item)
		}
		out = append(out, role)
	}
	slices.Sort(out)
	return slices.Compact(out), at
}

// serverGrants resolves each entry's profile and checks the rules that
// depend on it, and on the server's roles; in file order.
func (c *collector) serverGrants(raws []rawGrant, ps *profiles, roles []Role, sc scope) []Grant {
	absent := map[string]Position{}
	for _, r := range roles {
		if r.Absent {
			absent[r.Name] = r.Pos
		}
	}
	var out []Grant
	for _, r := range raws {
		g := r.g
		judge := !r.kindsBad
		if g.Profile != "" {
			if kinds, ok := ps.lookup(g.Profile); ok {
				g.Kinds = unionKinds(kinds, g.Kinds)
			} else {
				c.add(r.profile, sc, ps.unknown(g.Profile))
				judge = false
			}
		}
		inSchema := slices.ContainsFunc(g.Kinds, func(kg KindGrant) bool { return kg.Kind.InSchema() })
		defaults := slices.ContainsFunc(g.Kinds, func(kg KindGrant) bool { return kg.Kind.HasDefaults() })
		switch {
		case !judge:
		case len(g.Kinds) == 0:
			c.add(g.Pos, sc, fmt.Sprintf("the entry manages no privileges; name a profile or list at least one of %s",
				strings.Join(kindKeys, ", ")))
		default:
			if r.schemas != nil && r.schemasOK && !inSchema {
				c.add(*r.schemas, sc, "schemas applies to schema, tables, sequences and functions, and this entry manages only database; remove schemas")
			}
			if _, tables := g.Kind(KindTables); r.columns != nil && !tables {
				c.add(*r.columns, sc, "columns belong to the tables cell, and this entry manages no tables; add tables "+
					"(tables: [] for column privileges alone) or a profile that manages tables")
			}
			if len(g.DefaultsFor) > 0 && !defaults {
				c.add(*r.defaults, sc, "defaultsFor applies to tables, sequences and functions, and this entry manages none of them; add one or remove defaultsFor")
			}
			if _, tables := g.Kind(KindTables); tables && len(g.DefaultsFor) == 0 {
				c.warn(g.Pos, sc, fmt.Sprintf("the entry grants on the tables of %s as they are now: tables created later will not be "+
					"covered; add defaultsFor with the roles that create them", strings.Join(g.Databases, ", ")))
			}
		}
		switch {
		case !inSchema:
			g.Schemas = nil
		case r.schemas == nil:
			g.Schemas = slices.Clone(defaultSchemas)
		}
		if at, ok := absent[g.To]; ok && r.toPos.File != "" {
			c.add(r.toPos, sc, errorMsg("to names %q, which this server declares absent: true (at %s); remove one or the other", g.To, at))
		}
		for _, owner := range g.DefaultsFor {
			if at, ok := absent[owner]; ok {
				c.add(r.ownerAt[owner], sc, errorMsg("defaultsFor names %q, which this server declares absent: true (at %s); remove one or the other", owner, at))
			}
		}
		out = append(out, g)
	}
	return out
}
