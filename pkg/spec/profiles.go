package spec

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// kindKeys are the keys of the kinds, in a profile and in a grant entry.
var kindKeys = func() []string {
	keys := make([]string, len(Kinds))
	for i, k := range Kinds {
		keys[i] = string(k)
	}
	return keys
}()

var profileKeys = append([]string{"include"}, kindKeys...)

// rawProfile is one entry of privilegeProfiles, as written.
type rawProfile struct {
	name     string
	pos      Position // of the profile's name
	includes []includeRef
	kinds    []KindGrant // its own, in Kinds order
}

func (d *decoder) profiles(n *yaml.Node, f *rawFile) {
	for _, kv := range d.optionalMapping(n, scope{}, "privilegeProfiles") {
		if kv.key == "" {
			d.errorf(kv.k, scope{}, "a privilege profile needs a name")
			continue
		}
		sc := scope{profile: kv.key}
		builtin := slices.Contains(builtinNames, kv.key)
		if builtin {
			d.errorf(kv.k, sc, "the name is a built-in profile's (%s); give this profile another name", strings.Join(builtinNames, ", "))
		}
		pairs, ok := d.mapping(kv.v, sc, "a privilege profile")
		if !ok {
			continue
		}
		p := rawProfile{name: kv.key, pos: d.pos(kv.k)}
		grants := false
		for _, pv := range pairs {
			switch pv.key {
			case "include":
				p.includes = d.includes(pv.v, sc, "include", "an included profile")
				grants = grants || !isEmptyList(d.resolve(pv.v))
			default:
				i := slices.Index(kindKeys, pv.key)
				if i < 0 {
					d.unknownKey(pv, sc, "a privilege profile", profileKeys)
					continue
				}
				grants = true
				// A list with a refused item still counts its other items.
				if kg, _ := d.kindGrant(Kinds[i], pv.v, sc); kg.Kind != "" {
					p.kinds = unionKinds(p.kinds, []KindGrant{kg})
				}
			}
		}
		if !grants {
			d.errorf(kv.k, sc, "the profile grants nothing; give it at least one of %s, or include another profile", strings.Join(kindKeys, ", "))
		}
		if !builtin {
			f.profiles = append(f.profiles, p)
		}
	}
}

// isEmptyList is true for [] and for no value.
func isEmptyList(n *yaml.Node) bool {
	return n != nil && (isNull(n) || n.Kind == yaml.SequenceNode && len(n.Content) == 0)
}

// kindGrant decodes the privileges listed under kind k's key. A refused
// value is no KindGrant and false; a list with a refused item is the
// KindGrant of the other items and false, so that rules combining keys
// can leave it out of their judgement.
func (d *decoder) kindGrant(k Kind, n *yaml.Node, sc scope) (KindGrant, bool) {
	r := d.resolve(n)
	if r == nil {
		return KindGrant{}, false
	}
	if isNull(r) {
		d.errorf(r, sc, "%s has no value; write %s: [] to hold no privilege there, or remove the key", k, k)
		return KindGrant{}, false
	}
	if r.Kind == yaml.ScalarNode && r.ShortTag() == "!!str" {
		// tables: SELECT, or database: orders meant for databases.
		if _, _, msg := parsePrivilege(k, r.Value); msg == "" {
			d.errorf(r, sc, "%s must be a list, not %s; write %s: [%s]", k, describe(r), k, r.Value)
			return KindGrant{}, false
		}
		if (k == KindDatabase || k == KindSchema) && !isPrivilege(r.Value) {
			d.errorf(r, sc, "%s must be a list of privileges, not %s; to name the %s, write %ss: [%s]", k, describe(r), k, k, r.Value)
			return KindGrant{}, false
		}
	}
	items, ok := d.sequence(r, sc, string(k))
	if !ok {
		return KindGrant{}, false
	}
	kg := KindGrant{Kind: k}
	named := map[string]bool{}
	for _, item := range items {
		s, good := d.str(item, sc, fmt.Sprintf("a privilege under %s", k))
		if !good {
			ok = false
			continue
		}
		p, all, msg := parsePrivilege(k, s)
		switch {
		case msg != "":
			d.errorf(item, sc, "%s", msg)
			ok = false
		case all:
			kg.All = true
		default:
			named[p] = true
		}
	}
	for _, p := range Privileges(k) {
		if named[p] {
			kg.Privileges = append(kg.Privileges, p)
		}
	}
	return kg, ok
}

// parsePrivilege reads a privilege written under kind k, in any case:
// its name as Privileges(k) spells it, or all for ALL (ALL PRIVILEGES);
// otherwise a message saying what is wrong.
func parsePrivilege(k Kind, written string) (privilege string, all bool, msg string) {
	p := strings.Join(strings.Fields(asciiUpper(written)), " ")
	switch {
	case p == "ALL" || p == "ALL PRIVILEGES":
		return "", true, ""
	case p == "TEMP" && k == KindDatabase:
		return "TEMPORARY", false, ""
	case slices.Contains(Privileges(k), p):
		return p, false, ""
	}
	var others []string
	for _, o := range Kinds {
		if o != k && (slices.Contains(Privileges(o), p) || p == "TEMP" && o == KindDatabase) {
			others = append(others, string(o))
		}
	}
	if len(others) > 0 {
		return "", false, errorMsg("privilege %q does not apply to %s, only to %s; %s takes %s",
			written, k, strings.Join(others, " and "), k, privilegeList(k))
	}
	options := append(slices.Clone(Privileges(k)), "ALL")
	if k == KindDatabase {
		options = append(options, "TEMP")
	}
	return "", false, errorMsg("unknown privilege %q under %s; %s takes %s%s",
		written, k, k, privilegeList(k), didYouMean(written, options))
}

// isPrivilege reports whether s names a privilege of any kind.
func isPrivilege(s string) bool {
	for _, k := range Kinds {
		if _, _, msg := parsePrivilege(k, s); msg == "" {
			return true
		}
	}
	return false
}

// privilegeList names the privileges kind k takes, for messages.
func privilegeList(k Kind) string {
	ps := slices.Clone(Privileges(k))
	if k == KindDatabase {
		ps[slices.Index(ps, "TEMPORARY")] = "TEMPORARY (or TEMP)"
	}
	return strings.Join(append(ps, "ALL"), ", ")
}

// asciiUpper upper-cases ASCII letters only: privileges are ASCII, and
// Unicode case mapping would turn some other letters into theirs.
func asciiUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// unionKinds merges b into a, kind by kind: the privileges of both, and
// All when either has it. The result is in Kinds order and shares no slice
// with a or b.
func unionKinds(a, b []KindGrant) []KindGrant {
	var out []KindGrant
	for _, k := range Kinds {
		var merged KindGrant
		managed := false
		named := map[string]bool{}
		for _, kg := range slices.Concat(a, b) {
			if kg.Kind != k {
				continue
			}
			managed = true
			merged.All = merged.All || kg.All
			for _, p := range kg.Privileges {
				named[p] = true
			}
		}
		if !managed {
			continue
		}
		merged.Kind = k
		for _, p := range Privileges(k) {
			if named[p] {
				merged.Privileges = append(merged.Privileges, p)
			}
		}
		out = append(out, merged)
	}
	return out
}

// profiles are the privilege profiles of every file, resolved on demand:
// each once, its problems reported once.
type profiles struct {
	c        *collector
	declared map[string]*rawProfile
	resolved map[string][]KindGrant
	// names are the declared names, sorted, and unknowns the message of
	// each unknown name, once: both are built when first needed.
	names    []string
	unknowns map[string]string
}

// mergeProfiles gathers the files' profiles by name and resolves every
// one, so that a profile no grant names still has its problems reported.
func (c *collector) mergeProfiles(files []*rawFile) *profiles {
	ps := &profiles{c: c, declared: map[string]*rawProfile{}, resolved: map[string][]KindGrant{}}
	var order []*rawProfile
	for _, f := range files {
		for i := range f.profiles {
			p := &f.profiles[i]
			if first, dup := ps.declared[p.name]; dup {
				c.add(p.pos, scope{profile: p.name}, errorMsg(
					"privilege profile %q is defined twice: here and at %s; rename or merge one", p.name, first.pos))
				continue
			}
			ps.declared[p.name] = p
			order = append(order, p)
		}
	}
	for _, p := range order {
		ps.lookup(p.name)
	}
	return ps
}

// lookup returns what the profile named name grants, or false when no
// such profile exists.
func (ps *profiles) lookup(name string) ([]KindGrant, bool) {
	if kinds, ok := builtins[name]; ok {
		return kinds, true
	}
	if kinds, ok := ps.resolved[name]; ok {
		return kinds, true
	}
	p, ok := ps.declared[name]
	if !ok {
		return nil, false
	}
	ps.resolve(p)
	return ps.resolved[name], true
}

// following is a profile whose includes are being followed.
type following struct {
	p        *rawProfile
	next     int         // the include to follow next
	kinds    []KindGrant // its own and those of the includes followed
	included map[string]Position
}

// resolve follows p's includes depth first and records what p and every
// profile it reaches grant. It walks with a stack of its own, not by
// recursion: a file may chain millions of profiles.
func (ps *profiles) resolve(p *rawProfile) {
	stack := []*following{{p: p, kinds: p.kinds, included: map[string]Position{}}}
	onStack := map[string]int{p.name: 0} // an include of one of them closes a cycle
	for len(stack) > 0 {
		f := stack[len(stack)-1]
		if f.next == len(f.p.includes) {
			ps.resolved[f.p.name] = f.kinds
			delete(onStack, f.p.name)
			stack = stack[:len(stack)-1]
			if len(stack) > 0 {
				parent := stack[len(stack)-1]
				parent.kinds = unionKinds(parent.kinds, f.kinds)
			}
			continue
		}
		inc := f.p.includes[f.next]
		f.next++
		sc := scope{profile: f.p.name}
		if first, dup := f.included[inc.name]; dup {
			ps.c.add(inc.pos, sc, errorMsg("profile %q is included twice (first at %s); include it once", inc.name, first))
			continue
		}
		f.included[inc.name] = inc.pos
		if i, ok := onStack[inc.name]; ok {
			ps.c.add(inc.pos, sc, fmt.Sprintf("include closes a cycle: %s; a profile cannot include itself, directly or through others",
				cycle(stack[i:], inc.name)))
			continue
		}
		if kinds, ok := builtins[inc.name]; ok {
			f.kinds = unionKinds(f.kinds, kinds)
			continue
		}
		if kinds, ok := ps.resolved[inc.name]; ok {
			f.kinds = unionKinds(f.kinds, kinds)
			continue
		}
		next, ok := ps.declared[inc.name]
		if !ok {
			ps.c.add(inc.pos, sc, ps.unknown(inc.name))
			continue
		}
		onStack[next.name] = len(stack)
		stack = append(stack, &following{p: next, kinds: next.kinds, included: map[string]Position{}})
	}
}

// maxCycleNames bounds how many names a cycle's message spells out.
const maxCycleNames = 8

// cycle writes the profiles of a cycle in include order, back to the first.
func cycle(path []*following, back string) string {
	var names []string
	add := func(fs []*following) {
		for _, f := range fs {
			names = append(names, f.p.name)
		}
	}
	if len(path) <= maxCycleNames {
		add(path)
	} else {
		add(path[:maxCycleNames/2])
		names = append(names, fmt.Sprintf("… (%d more)", len(path)-maxCycleNames))
		add(path[len(path)-maxCycleNames/2:])
	}
	return strings.Join(append(names, back), " → ")
}

// maxListed bounds how many profile names a message lists, and
// maxSuggested how many unknown names get a did-you-mean: each costs an
// edit distance to every profile, and a file may hold many thousands.
const (
	maxListed    = 20
	maxSuggested = 100
)

// unknown says that no profile is named name, and which are.
func (ps *profiles) unknown(name string) string {
	if msg, ok := ps.unknowns[name]; ok {
		return msg
	}
	if ps.unknowns == nil {
		ps.unknowns = map[string]string{}
		ps.names = slices.Sorted(maps.Keys(ps.declared))
	}
	msg := ps.describeUnknown(name)
	ps.unknowns[name] = msg
	return msg
}

func (ps *profiles) describeUnknown(name string) string {
	if len(ps.unknowns) < maxSuggested {
		if s := suggest(name, append(slices.Clone(builtinNames), ps.names...)); s != "" {
			return errorMsg("unknown privilege profile %q; did you mean %q?", name, s)
		}
	}
	builtin := strings.Join(builtinNames, ", ")
	if len(ps.names) == 0 {
		return errorMsg("unknown privilege profile %q; the built-in ones are %s, and no file defines privilegeProfiles", name, builtin)
	}
	declared := strings.Join(ps.names[:min(len(ps.names), maxListed)], ", ")
	if len(ps.names) > maxListed {
		declared += fmt.Sprintf(" and %d more", len(ps.names)-maxListed)
	}
	return errorMsg("unknown privilege profile %q; the built-in ones are %s, and privilegeProfiles defines %s",
		name, builtin, declared)
}
