package spec

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// DiscoverSource is one discover entry: where Azure Resource Manager finds
// more servers, and the server entry each one gets.
type DiscoverSource struct {
	Subscription  string `json:"subscription"`
	ResourceGroup string `json:"resourceGroup,omitempty"`
	// Tags must all match, exactly.
	Tags map[string]string `json:"tags,omitempty"`
	// Names are path.Match globs of the servers' Azure names; any one
	// matches; none means every server.
	Names []string `json:"names,omitempty"`
	// Cloud is the Azure cloud: public (the default), usgovernment, china.
	Cloud string `json:"cloud,omitempty"`
	// Template is what every server found gets, as a server entry would:
	// its Name and Host are the server's, set when it is found.
	Template Server   `json:"template"`
	Pos      Position `json:"pos"`
}

// Found is a server a discover entry found in Azure.
type Found struct {
	// Source is the index of the entry in Desired.Discover.
	Source int
	// Name is the server's Azure name, Host its fully qualified domain
	// name, Cloud the cloud it was found in.
	Name, Host, Cloud string
}

var discoverKeys = []string{"subscription", "resourceGroup", "tags", "names", "cloud", "server"}

type rawDiscover struct {
	src      DiscoverSource
	template *rawServer
}

func (d *decoder) discoverEntries(n *yaml.Node) []rawDiscover {
	return decodeEach(d, n, scope{}, "discover", d.discoverEntry)
}

func (d *decoder) discoverEntry(n *yaml.Node) (rawDiscover, bool) {
	pairs, ok := d.mapping(n, scope{}, "a discover entry")
	if !ok {
		return rawDiscover{}, false
	}
	r := rawDiscover{src: DiscoverSource{Pos: d.pos(n)}}
	sc := scope{}
	for _, kv := range pairs {
		switch kv.key {
		case "subscription":
			if s, ok := d.str(kv.v, sc, "subscription"); ok {
				if msg := checkUUID("subscription", s); msg != "" {
					d.errorf(kv.v, sc, "%s", msg)
				} else {
					r.src.Subscription = strings.ToLower(s)
				}
			}
		case "resourceGroup":
			if s, ok := d.str(kv.v, sc, "resourceGroup"); ok {
				if strings.TrimSpace(s) == "" || strings.ContainsAny(s, "/") {
					d.errorf(kv.v, sc, "resourceGroup %q is not a resource group's name", s)
				} else {
					r.src.ResourceGroup = s
				}
			}
		case "tags":
			r.src.Tags = d.tags(kv.v, sc)
		case "names":
			items, _ := d.sequence(kv.v, sc, "names")
			for _, item := range items {
				g, ok := d.str(item, sc, "a name glob")
				if !ok {
					continue
				}
				if _, err := path.Match(g, ""); err != nil || g == "" {
					d.errorf(item, sc, "name glob %q is not a valid glob (see Go's path.Match: * ? [a-z] \\x)", g)
					continue
				}
				r.src.Names = append(r.src.Names, g)
			}
		case "cloud":
			r.src.Cloud, _ = d.enum(kv.v, sc, "cloud", clouds)
		case "server":
			if t, ok := d.serverEntry(kv.v, true, sc); ok {
				r.template = &t
			}
		default:
			d.unknownKey(kv, sc, "a discover entry", discoverKeys)
		}
	}
	if !hasKey(pairs, "subscription") {
		d.errorf(n, sc, "subscription is required: the id of the Azure subscription to find servers in")
	}
	if r.template == nil && !hasKey(pairs, "server") {
		r.template = &rawServer{pos: r.src.Pos, settings: settings{}}
	}
	return r, r.template != nil
}

func (d *decoder) tags(n *yaml.Node, sc scope) map[string]string {
	pairs, ok := d.mapping(n, sc, "tags")
	if !ok {
		return nil
	}
	out := map[string]string{}
	for _, kv := range pairs {
		if v, ok := d.str(kv.v, sc, "tag "+strconv.Quote(kv.key)); ok {
			out[kv.key] = v
		}
	}
	return out
}

// discoverSources are the discover entries of every file, their templates
// made into servers as a server entry is (defaults, sets, profiles).
func (c *collector) discoverSources(files []*rawFile, g *globals) []DiscoverSource {
	var out []DiscoverSource
	for _, f := range files {
		for _, r := range f.discover {
			src := r.src
			src.Template = c.server(*r.template, g)
			src.Template.Pos = src.Pos
			out = append(out, src)
		}
	}
	return out
}

// AddDiscovered adds the servers discovery found to the desired state: each
// gets its discover entry's template, with its Azure name, host and cloud,
// unless a servers entry with discovered: true and the same name refines
// it (that entry then takes its place whole; only its host, and its cloud
// when the entry names none, come from Azure). It refuses, with every
// position: a server found by two discover entries, a discovered server
// that a servers entry names without discovered: true, an entry with
// discovered: true that no discovery found, and two servers with the same
// host and port. Servers found are added after the listed ones, sorted by
// name.
func (d *Desired) AddDiscovered(found []Found) error {
	var errs Errors
	add := func(pos Position, server, msg string) {
		errs = append(errs, &Error{Pos: pos, Server: server, Msg: msg})
	}
	listed := map[string]Server{}
	for _, s := range d.Servers {
		listed[s.Name] = s
	}
	refining := map[string]Server{}
	for _, s := range d.Refined {
		refining[s.Name] = s
	}
	bySource := map[string]int{}
	var added []Server
	sorted := slices.Clone(found)
	slices.SortStableFunc(sorted, func(a, b Found) int { return strings.Compare(a.Name, b.Name) })
	for _, f := range sorted {
		if f.Source < 0 || f.Source >= len(d.Discover) {
			return fmt.Errorf("spec: a found server names discover entry %d of %d", f.Source, len(d.Discover))
		}
		src := d.Discover[f.Source]
		if first, dup := bySource[f.Name]; dup {
			if first != f.Source {
				add(src.Pos, f.Name, fmt.Sprintf("server %s is found by this discover entry and by the one at %s: narrow them "+
					"(resourceGroup, tags, names) so that one finds it", f.Name, d.Discover[first].Pos))
			}
			continue
		}
		bySource[f.Name] = f.Source
		if s, ok := listed[f.Name]; ok {
			add(s.Pos, s.Name, fmt.Sprintf("server %s is also found by the discover entry at %s: add discovered: true to this "+
				"entry to refine it (the entry then takes the discovered server's place, its host from Azure), or narrow the "+
				"discovery", s.Name, src.Pos))
			continue
		}
		s, ok := refining[f.Name]
		if ok {
			delete(refining, f.Name)
		} else {
			s = src.Template
			s.Name = f.Name
		}
		s.Host = f.Host
		if s.Cloud == "" {
			s.Cloud = f.Cloud
		}
		added = append(added, s)
	}
	for _, s := range d.Refined {
		if _, left := refining[s.Name]; left {
			add(s.Pos, s.Name, fmt.Sprintf("discovered: true, and no discover entry found a server named %s in Azure: "+
				"check its name and the discover entries, or give it a host", s.Name))
		}
	}
	all := append(slices.Clone(d.Servers), added...)
	hosts := map[string]Server{}
	for _, s := range all {
		key := strings.ToLower(strings.TrimSuffix(s.Host, ".")) + ":" + strconv.Itoa(s.Port)
		if first, dup := hosts[key]; dup {
			add(s.Pos, s.Name, fmt.Sprintf("host %s port %d is also server %s's (at %s): declare each server once", s.Host, s.Port, first.Name, first.Pos))
			continue
		}
		hosts[key] = s
	}
	if len(errs) > 0 {
		return errs
	}
	d.Servers, d.Refined = all, nil
	return nil
}
