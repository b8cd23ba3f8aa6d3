package spec

import (
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// rawFile is one file as written, before the files are merged.
type rawFile struct {
	defaults settings
	sets     []rawSet
	roleSets []rawRoleSet
	profiles []rawProfile
	servers  []rawServer
	discover []rawDiscover
}

type rawSet struct {
	name       string
	pos        Position // of the set's name
	principals []Principal
}

type rawServer struct {
	name       string // "" when missing or refused; an error says why
	namePos    Position
	host       string
	settings   settings
	include    []includeRef
	principals []Principal
	// includeRoles and roles are the role sets included and the
	// server's own group roles.
	includeRoles []includeRef
	roles        []Role
	grants       []rawGrant
	pos          Position
	// discovered: Azure gives the host (a discover entry finds it).
	discovered    bool
	discoveredPos Position
}

type includeRef struct {
	name string
	pos  Position
}

var (
	topKeys    = []string{"version", "defaults", "principalSets", "roleSets", "privilegeProfiles", "servers", "discover"}
	serverOnly = []string{"name", "host", "discovered", "include", "principals", "includeRoles", "roles", "grants"}
	serverKeys = append(slices.Clone(serverOnly), settingKeys...)
)

// decodeFile decodes a file's top-level mapping.
func (d *decoder) decodeFile(root *yaml.Node) *rawFile {
	pairs, ok := d.mapping(root, scope{}, "the file")
	if !ok {
		return nil
	}
	f := &rawFile{defaults: settings{}}
	if !d.version(root, pairs) {
		return f
	}
	for _, kv := range pairs {
		switch kv.key {
		case "version":
		case "defaults":
			d.defaults(kv.v, f)
		case "principalSets":
			if !d.errs.connectionsOnly {
				d.sets(kv.v, f)
			}
		case "roleSets":
			if !d.errs.connectionsOnly {
				d.roleSets(kv.v, f)
			}
		case "privilegeProfiles":
			if !d.errs.connectionsOnly {
				d.profiles(kv.v, f)
			}
		case "discover":
			f.discover = d.discoverEntries(kv.v)
		case "servers":
			f.servers = decodeEach(d, kv.v, scope{}, "servers", d.server)
		default:
			d.unknownKey(kv, scope{}, "the file", topKeys)
		}
	}
	return f
}

// version reports a missing or wrong version. It returns false when the
// file declares another version: its keys would then mean something else,
// and judging them by version 1 would only add noise.
func (d *decoder) version(root *yaml.Node, pairs []pair) bool {
	i := slices.IndexFunc(pairs, func(p pair) bool { return p.key == "version" })
	if i < 0 {
		d.errorf(root, scope{}, "version is missing; start the file with version: 1")
		return true
	}
	n := d.resolve(pairs[i].v)
	if n == nil {
		return true
	}
	switch {
	case n.Kind == yaml.ScalarNode && n.ShortTag() == "!!int":
		if v, err := intValue(n); err == nil && v == 1 {
			return true
		}
		d.errorf(n, scope{}, "version %s is not supported; this pgusers reads version 1", n.Value)
		return false
	case n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" && strings.TrimSpace(n.Value) == "1":
		d.errorf(n, scope{}, "version must be the number 1, not the string %q; remove the quotes", n.Value)
	default:
		d.errorf(n, scope{}, "version must be 1, not %s", describe(n))
	}
	return true
}

// optionalMapping is mapping, with an empty value counting as an empty
// mapping: a section left blank while a file is being written.
func (d *decoder) optionalMapping(n *yaml.Node, sc scope, what string) []pair {
	if r := d.resolve(n); r == nil || isNull(r) {
		return nil
	}
	pairs, _ := d.mapping(n, sc, what)
	return pairs
}

func (d *decoder) defaults(n *yaml.Node, f *rawFile) {
	for _, kv := range d.optionalMapping(n, scope{}, "defaults") {
		if d.setting(f.defaults, kv, scope{}) {
			continue
		}
		if slices.Contains(serverOnly, kv.key) {
			d.errorf(kv.k, scope{}, "%s is set on each server, not in defaults", kv.key)
			continue
		}
		d.unknownKey(kv, scope{}, "defaults", settingKeys)
	}
}

func (d *decoder) sets(n *yaml.Node, f *rawFile) {
	for _, kv := range d.optionalMapping(n, scope{}, "principalSets") {
		if kv.key == "" {
			d.errorf(kv.k, scope{}, "a principal set needs a name")
			continue
		}
		sc := scope{set: kv.key}
		ps := d.principals(kv.v, sc, "a principal set")
		f.sets = append(f.sets, rawSet{
			name:       kv.key,
			pos:        d.pos(kv.k),
			principals: d.errs.unique(ps, sc, false),
		})
	}
}

func (d *decoder) server(n *yaml.Node) (rawServer, bool) {
	return d.serverEntry(n, false, scope{})
}

// serverEntry decodes a server entry, or (template) the server: mapping of
// a discover entry, which takes every key of a server's but its name and
// host: Azure gives those.
func (d *decoder) serverEntry(n *yaml.Node, template bool, sc scope) (rawServer, bool) {
	n = d.resolve(n)
	if n == nil {
		return rawServer{}, false
	}
	what := "a server"
	if template {
		what = "a discover entry's server"
	} else {
		sc = scope{server: peekName(n)}
	}
	pairs, ok := d.mapping(n, sc, what)
	if !ok {
		return rawServer{}, false
	}
	s := rawServer{pos: d.pos(n), settings: settings{}}
	if !template {
		sc = scope{}
		if i := slices.IndexFunc(pairs, func(p pair) bool { return p.key == "name" }); i >= 0 {
			if name, ok := d.str(pairs[i].v, sc, "name"); ok {
				if strings.TrimSpace(name) == "" {
					d.errorf(pairs[i].v, sc, "name is empty; give the server a unique label")
				} else {
					s.name, s.namePos, sc.server = name, d.pos(pairs[i].v), name
				}
			}
		} else {
			d.errorf(n, sc, "name is required: a unique label for this server (what --server selects)")
		}
	}

	hasHost := false
	for _, kv := range pairs {
		switch kv.key {
		case "name", "host", "discovered":
			if template {
				d.errorf(kv.k, sc, "%s is not set here: every server discovery finds has its Azure name and host", kv.key)
				continue
			}
			switch kv.key {
			case "host":
				hasHost = true
				s.host, _ = d.host(kv.v, sc)
			case "discovered":
				s.discovered, _ = d.boolean(kv.v, sc, "discovered")
				s.discoveredPos = d.pos(kv.k)
			}
		case "include":
			s.include = d.includes(kv.v, sc, "include", "an included set")
		case "principals":
			if !d.errs.connectionsOnly {
				s.principals = d.principals(kv.v, sc, "principals")
			}
		case "includeRoles":
			if !d.errs.connectionsOnly {
				s.includeRoles = d.includes(kv.v, sc, "includeRoles", "an included role set")
			}
		case "roles":
			if !d.errs.connectionsOnly {
				s.roles = d.roles(kv.v, sc, "roles")
			}
		case "grants":
			if !d.errs.connectionsOnly {
				s.grants = d.grants(kv.v, sc)
			}
		default:
			if !d.setting(s.settings, kv, sc) {
				keys := serverKeys
				if template {
					keys = slices.DeleteFunc(slices.Clone(serverKeys), func(k string) bool {
						return k == "name" || k == "host" || k == "discovered"
					})
				}
				d.unknownKey(kv, sc, what, keys)
			}
		}
	}
	switch {
	case template:
	case s.discovered && hasHost:
		d.errorf(n, sc, "host is set, and discovered: true says Azure gives it; remove one or the other")
	case !hasHost && !s.discovered:
		d.errorf(n, sc, "host is required: the server's DNS name, such as orders.postgres.database.azure.com "+
			"(or discovered: true, when a discover entry finds this server in Azure)")
	}
	return s, true
}

// includes reads a list of names of sets or profiles, with where each is
// written.
func (d *decoder) includes(n *yaml.Node, sc scope, key, what string) []includeRef {
	items, _ := d.sequence(n, sc, key)
	var out []includeRef
	for _, item := range items {
		if name, ok := d.str(item, sc, what); ok {
			out = append(out, includeRef{name, d.pos(item)})
		}
	}
	return out
}

func (d *decoder) host(n *yaml.Node, sc scope) (string, bool) {
	h, ok := d.str(n, sc, "host")
	switch {
	case !ok:
	case h == "":
		d.errorf(n, sc, "host is empty")
	case strings.Contains(h, "/"):
		d.errorf(n, sc, "host %q is a URL; give only the host name (and port: separately)", h)
	case strings.ContainsFunc(h, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		d.errorf(n, sc, "host %q contains a space or a control character", h)
	default:
		return h, true
	}
	return "", false
}
