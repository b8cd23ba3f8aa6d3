package spec

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"
)

// mirror is the file format as plain Go types, decoded by yaml.Unmarshal:
// what yaml.v3 itself reads from a file, anchors, merge keys, quoting and
// number forms included.
type mirror struct {
	Version  int `yaml:"version"`
	Defaults struct {
		User  string `yaml:"user"`
		Prune *bool  `yaml:"prune"`
		Port  *int   `yaml:"port"`
	} `yaml:"defaults"`
	PrincipalSets     map[string][]mirrorPrincipal `yaml:"principalSets"`
	RoleSets          map[string][]mirrorRole      `yaml:"roleSets"`
	PrivilegeProfiles map[string]mirrorProfile     `yaml:"privilegeProfiles"`
	Servers           []struct {
		Name         string            `yaml:"name"`
		Host         string            `yaml:"host"`
		Port         *int              `yaml:"port"`
		User         string            `yaml:"user"`
		Prune        *bool             `yaml:"prune"`
		MaxDrops     *int              `yaml:"maxDrops"`
		Protect      []string          `yaml:"protect"`
		Include      []string          `yaml:"include"`
		Principals   []mirrorPrincipal `yaml:"principals"`
		IncludeRoles []string          `yaml:"includeRoles"`
		Roles        []mirrorRole      `yaml:"roles"`
		Grants       []mirrorGrant     `yaml:"grants"`
	} `yaml:"servers"`
}

type mirrorRole struct {
	Name     string    `yaml:"name"`
	Comment  *string   `yaml:"comment"`
	MemberOf *[]string `yaml:"memberOf"`
	Absent   *bool     `yaml:"absent"`
}

// mirrorKinds are the kinds' keys of a profile or a grant entry.
type mirrorKinds struct {
	Database  *[]string `yaml:"database"`
	Schema    *[]string `yaml:"schema"`
	Tables    *[]string `yaml:"tables"`
	Sequences *[]string `yaml:"sequences"`
	Functions *[]string `yaml:"functions"`
}

type mirrorProfile struct {
	Include     []string `yaml:"include"`
	mirrorKinds `yaml:",inline"`
}

type mirrorGrant struct {
	To          string   `yaml:"to"`
	Databases   []string `yaml:"databases"`
	Schemas     []string `yaml:"schemas"`
	Profile     string   `yaml:"profile"`
	DefaultsFor []string `yaml:"defaultsFor"`
	mirrorKinds `yaml:",inline"`
}

// kinds are the lists written under each kind's key, in Kinds order.
func (k mirrorKinds) kinds() map[Kind][]string {
	out := map[Kind][]string{}
	for kind, l := range map[Kind]*[]string{
		KindDatabase: k.Database, KindSchema: k.Schema, KindTables: k.Tables, KindSequences: k.Sequences, KindFunctions: k.Functions,
	} {
		if l != nil {
			out[kind] = append([]string{}, *l...)
		}
	}
	return out
}

// mirrorPrivileges resolves profile (built in or declared, "" for none)
// and adds own, as the format says: privileges upper case, TEMP as
// TEMPORARY, ALL as "ALL", kind by kind.
func (m mirror) mirrorPrivileges(profile string, own map[Kind][]string) map[Kind][]string {
	out := map[Kind][]string{}
	add := func(k Kind, ps []string) {
		if out[k] == nil {
			out[k] = []string{}
		}
		for _, p := range ps {
			p = strings.Join(strings.Fields(strings.ToUpper(p)), " ")
			switch p {
			case "ALL PRIVILEGES":
				p = "ALL"
			case "TEMP":
				p = "TEMPORARY"
			}
			out[k] = append(out[k], p)
		}
	}
	var resolve func(name string)
	resolve = func(name string) {
		if b, ok := BuiltinProfile(name); ok {
			for _, kg := range b.Kinds {
				add(kg.Kind, kg.Privileges)
				if kg.All {
					add(kg.Kind, []string{"ALL"})
				}
			}
			return
		}
		p := m.PrivilegeProfiles[name]
		for _, inc := range p.Include {
			resolve(inc)
		}
		for k, ps := range p.kinds() {
			add(k, ps)
		}
	}
	if profile != "" {
		resolve(profile)
	}
	for k, ps := range own {
		add(k, ps)
	}
	for k := range out {
		out[k] = sortedUnique(out[k])
	}
	return out
}

type mirrorPrincipal struct {
	Name     string    `yaml:"name"`
	Type     string    `yaml:"type"`
	ObjectID string    `yaml:"objectId"`
	Admin    *bool     `yaml:"admin"`
	MFA      *bool     `yaml:"mfa"`
	MemberOf *[]string `yaml:"memberOf"`
}

// flat is what a comparison needs of a server, from either reading.
type flat struct {
	Name, Host, User string
	Port, MaxDrops   int
	Prune            bool
	Protect          []string
	Principals       []string // name type objectId admin mfa memberOf, one string each, sorted
	Roles            []string // name comment memberOf absent, one string each, sorted
	Grants           []string // to | databases | schemas | kind=privileges ... | defaultsFor, in file order
}

func roleLine(name string, manageComment bool, comment string, manage bool, memberOf []string, absent bool) string {
	c, m := "-", "-"
	if manageComment {
		c = strconv.Quote(comment)
	}
	if manage {
		m = "[" + strings.Join(memberOf, ",") + "]"
	}
	return strings.Join([]string{name, c, m, strconv.FormatBool(absent)}, " ")
}

// grantLine is a grant as text; privileges holds each managed kind's
// privileges, sorted, with "ALL" for ALL.
func grantLine(to string, databases, schemas []string, privileges map[Kind][]string, defaultsFor []string) string {
	parts := []string{to, strings.Join(databases, ","), strings.Join(schemas, ",")}
	for _, k := range Kinds {
		if ps, ok := privileges[k]; ok {
			parts = append(parts, string(k)+"="+strings.Join(ps, "+"))
		}
	}
	return strings.Join(append(parts, strings.Join(defaultsFor, ",")), " | ")
}

func principalLine(name, typ, oid string, admin, mfa bool, manage bool, memberOf []string) string {
	m := "-"
	if manage {
		m = "[" + strings.Join(memberOf, ",") + "]"
	}
	return strings.Join([]string{name, typ, strings.ToLower(oid), strconv.FormatBool(admin), strconv.FormatBool(mfa), m}, " ")
}

func fromMirror(m mirror) []flat {
	var out []flat
	for _, s := range m.Servers {
		f := flat{Name: s.Name, Host: s.Host, User: s.User, Port: 5432, MaxDrops: DefaultMaxDrops, Protect: s.Protect}
		if f.User == "" {
			f.User = m.Defaults.User
		}
		if s.Port != nil {
			f.Port = *s.Port
		} else if m.Defaults.Port != nil {
			f.Port = *m.Defaults.Port
		}
		if s.Prune != nil {
			f.Prune = *s.Prune
		} else if m.Defaults.Prune != nil {
			f.Prune = *m.Defaults.Prune
		}
		if s.MaxDrops != nil {
			f.MaxDrops = *s.MaxDrops
		}
		ps := append([]mirrorPrincipal(nil), s.Principals...)
		for _, inc := range s.Include {
			ps = append(ps, m.PrincipalSets[inc]...)
		}
		for _, p := range ps {
			var memberOf []string
			if p.MemberOf != nil {
				memberOf = append(memberOf, *p.MemberOf...)
			}
			f.Principals = append(f.Principals, principalLine(p.Name, p.Type, p.ObjectID,
				p.Admin != nil && *p.Admin, p.MFA != nil && *p.MFA, p.MemberOf != nil, sortedUnique(memberOf)))
		}
		f.Principals = sortedUnique(f.Principals)
		rs := append([]mirrorRole(nil), s.Roles...)
		for _, inc := range s.IncludeRoles {
			rs = append(rs, m.RoleSets[inc]...)
		}
		for _, r := range rs {
			var memberOf []string
			if r.MemberOf != nil {
				memberOf = append(memberOf, *r.MemberOf...)
			}
			comment := ""
			if r.Comment != nil {
				comment = *r.Comment
			}
			f.Roles = append(f.Roles, roleLine(r.Name, r.Comment != nil, comment, r.MemberOf != nil, sortedUnique(memberOf), r.Absent != nil && *r.Absent))
		}
		f.Roles = sortedUnique(f.Roles)
		for _, g := range s.Grants {
			to := g.To
			if strings.EqualFold(to, Public) {
				to = Public
			}
			privileges := m.mirrorPrivileges(g.Profile, g.kinds())
			var schemas []string
			for k := range privileges {
				if k.InSchema() {
					schemas = sortedUnique(g.Schemas)
					if schemas == nil {
						schemas = []string{"public"}
					}
				}
			}
			f.Grants = append(f.Grants, grantLine(to, sortedUnique(g.Databases), schemas, privileges, sortedUnique(g.DefaultsFor)))
		}
		out = append(out, f)
	}
	return out
}

func fromDesired(d *Desired) []flat {
	var out []flat
	for _, s := range d.Servers {
		f := flat{Name: s.Name, Host: s.Host, User: s.User, Port: s.Port, MaxDrops: s.MaxDrops, Prune: s.Prune, Protect: s.Protect}
		for _, p := range s.Principals {
			f.Principals = append(f.Principals, principalLine(p.Name, string(p.Type), p.ObjectID, p.Admin, p.MFA, p.ManageMemberships, p.MemberOf))
		}
		f.Principals = sortedUnique(f.Principals)
		for _, r := range s.Roles {
			f.Roles = append(f.Roles, roleLine(r.Name, r.ManageComment, r.Comment, r.ManageMemberships, r.MemberOf, r.Absent))
		}
		f.Roles = sortedUnique(f.Roles)
		for _, g := range s.Grants {
			privileges := map[Kind][]string{}
			for _, kg := range g.Kinds {
				ps := append([]string{}, kg.Privileges...)
				if kg.All {
					ps = append(ps, "ALL")
				}
				privileges[kg.Kind] = sortedUnique(ps)
				if privileges[kg.Kind] == nil {
					privileges[kg.Kind] = []string{}
				}
			}
			f.Grants = append(f.Grants, grantLine(g.To, g.Databases, g.Schemas, privileges, g.DefaultsFor))
		}
		out = append(out, f)
	}
	return out
}

func sortedUnique(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	out := append([]string(nil), s...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	k := 1
	for i := 1; i < len(out); i++ {
		if out[i] != out[k-1] {
			out[k] = out[i]
			k++
		}
	}
	return out[:k]
}

// TestReadsWhatYAMLReads holds pgusers to yaml.v3 on a corpus of tricky
// YAML: every file pgusers accepts yields exactly the values yaml.v3
// decodes from it, and every file it refuses is refused with a position.
// accept marks the cases that must be accepted, so that the corpus cannot
// pass by refusing everything.
func TestReadsWhatYAMLReads(t *testing.T) {
	const head = "version: 1\ndefaults: {user: pg-admins}\n"
	corpus := []struct {
		name   string
		yaml   string
		accept bool
	}{
		{"block style", head + "servers:\n  - name: a\n    host: a.example\n    principals:\n      - name: alice@contoso.com\n        type: user\n        memberOf: [r1, r2]\n", true},
		{"flow style", head + "servers: [{name: a, host: a.example, principals: [{name: 'x y', type: group, memberOf: []}]}]\n", true},
		{"flow mapping over lines", head + "servers:\n  - {name: a,\n     host: a.example,\n     principals: [{name: b, type: service}]}\n", true},
		{"question mark inside a flow name", head + "servers: [{name: a, host: h, principals: [{name: app?, type: user}]}]\n", false},
		{"question mark inside a block name", head + "servers:\n  - name: a\n    host: i\n    principals:\n      - {name: 'app?', type: user}\n      - name: why?\n        type: user\n", true},
		{"single quotes with an escaped quote", head + "servers:\n  - name: 'o''brien'\n    host: j\n    principals: [{name: 'it''s', type: user}]\n", true},
		{"double quotes with escapes", head + "servers:\n  - name: \"caf\\u00e9\"\n    host: \"h\\x2eexample\"\n    principals: [{name: \"\\x41\\u00e9\", type: user}]\n", true},
		{"a tab escape in a name", head + "servers:\n  - name: a\n    host: k\n    principals: [{name: \"a\\tb\", type: user}]\n", false},
		{"anchors and aliases", head + "principalSets:\n  s: &team\n    - {name: bob, type: user}\nservers:\n  - name: a\n    host: m\n    principals: *team\n  - name: b\n    host: h2\n    principals: *team\n", true},
		{"merge keys", head + "x-base: &base\n  host: base.example\n  prune: true\nservers:\n  - <<: *base\n    name: a\n  - <<: *base\n    name: b\n    host: own.example\n", false},
		{"merge keys in servers", head + "servers:\n  - &a {name: a, host: base.example, prune: true, port: 6432}\n  - <<: *a\n    name: b\n    port: 6433\n", true},
		{"merge of a list of mappings", head + "servers:\n  - &x {name: a, host: h1}\n  - &y {name: b, host: h2, port: 7000}\n  - <<: [*y, *x]\n    name: c\n    host: h3\n", true},
		{"YAML 1.1 booleans are strings", head + "servers:\n  - name: a\n    host: n\n    prune: yes\n", false},
		{"on and off are strings", head + "servers:\n  - {name: a, host: p, principals: [{name: b, type: user, admin: on}]}\n", false},
		{"booleans in other cases", head + "servers:\n  - {name: a, host: q, prune: True, principals: [{name: b, type: user, mfa: FALSE}]}\n", true},
		{"numbers with prefixes", head + "servers:\n  - {name: a, host: r, port: 0x1538, maxDrops: 0o7}\n  - {name: b, host: h2, port: 5_432, maxDrops: 0b11}\n", true},
		{"names that look like numbers", head + "servers:\n  - name: 2024\n    host: s\n    principals: [{name: 0o-0, type: user}, {name: 1e_-5, type: user}, {name: 0b-1, type: user}, {name: 1_000, type: user}, {name: .5, type: user}, {name: 0x_1F, type: user}]\n", true},
		{"names that are dates", head + "servers:\n  - name: 2001-12-14\n    host: u\n", true},
		{"explicit tags", head + "servers:\n  - name: !!str 123\n    host: v\n    port: !!int \"6000\"\n", true},
		{"a tab in the indentation", head + "servers:\n\t- name: a\n\t  host: w\n", false},
		{"a tab inside a value", head + "servers:\n  - name: a\tb\n    host: x\n", true},
		{"CRLF line endings", strings.ReplaceAll(head+"servers:\n  - name: a\n    host: y\n    principals:\n      - {name: b, type: user}\n", "\n", "\r\n"), true},
		{"a byte order mark", "\ufeff" + head + "servers:\n  - name: a\n    host: z\n", true},
		{"folded block scalar", head + "servers:\n  - name: >-\n      folded\n      name\n    host: h\n", true},
		{"literal block scalar with a line break", head + "servers:\n  - name: a\n    host: i\n    principals:\n      - name: |-\n          two\n          lines\n        type: user\n", false},
		{"multi-line plain scalar", head + "servers:\n  - name: a\n    host: j\n    principals:\n      - name: a\n          b\n        type: user\n", true},
		{"document markers", "---\n" + head + "servers:\n  - name: a\n    host: k\n...\n", true},
		{"comments everywhere", "# top\nversion: 1 # v\ndefaults: {user: u} # d\nservers: # s\n  # between\n  - name: a # n\n    host: m #h\n", true},
		{"null memberOf", head + "servers:\n  - {name: a, host: n, principals: [{name: b, type: user, memberOf: ~}]}\n", false},
		{"uppercase object id", head + "servers:\n  - {name: a, host: p, principals: [{name: b, type: user, objectId: 2B7C1D0E-5F4A-4B3C-8D2E-1F0A9B8C7D6E}]}\n", true},
		{"duplicate keys", head + "servers:\n  - {name: a, host: q, host: i}\n", false},
		{"an alias to a scalar", head + "x: &h shared.example\nservers:\n  - {name: a, host: *h}\n", false},
		{"an alias to a scalar inside servers", head + "servers:\n  - {name: &n a, host: r}\n  - {name: b, host: h2, principals: [{name: *n, type: user}]}\n", true},
		{"roles and grants, block style", head + `roleSets:
  app:
    - name: orders_ro
      comment: read-only on orders
    - name: orders_rw
      memberOf: [orders_ro]
privilegeProfiles:
  write:
    include: [readonly]
    tables: [INSERT, UPDATE, DELETE]
    sequences: [USAGE, UPDATE]
servers:
  - name: a
    host: s
    includeRoles: [app]
    roles:
      - name: auditors
      - name: legacy
        absent: true
    grants:
      - to: orders_rw
        databases: [orders]
        schemas: [sales, public]
        profile: write
        defaultsFor: [owner]
      - to: PUBLIC
        databases: [orders]
        database: []
`, true},
		{"roles and grants, flow style", head + "servers: [{name: a, host: u, roles: [{name: r, comment: 'it''s', memberOf: []}], grants: [{to: public, databases: [b, a], database: [temp, Connect], tables: [all privileges, maintain]}]}]\n", true},
		{"anchored privileges and grants", head + `privilegeProfiles:
  rw: {tables: &rw [SELECT, INSERT]}
servers:
  - name: a
    host: v
    grants:
      - &g {to: app, databases: [d], tables: *rw, defaultsFor: [o]}
      - <<: *g
        to: other
        sequences: [USAGE]
  - name: b
    host: h2
    grants: [*g, {to: x, databases: [d], profile: rw}]
`, true},
		{"merge keys in grant entries", head + `servers:
  - name: a
    host: w
    grants:
      - &g {to: app, databases: [d], profile: readwrite, schemas: [s]}
      - <<: *g
        to: "2024"
        functions: [EXECUTE]
      - <<: [*g]
        profile: serviceConnector
        schemas: [public]
`, true},
		{"a folded comment is one line", head + "servers:\n  - name: a\n    host: x\n    roles:\n      - name: r\n        comment: >-\n          one\n          line\n", true},
		{"a literal comment keeps its line break", head + "servers:\n  - name: a\n    host: y\n    roles:\n      - name: r\n        comment: |-\n          two\n          lines\n", false},
		{"YAML 1.1 booleans are strings in absent", head + "servers:\n  - {name: a, host: z, roles: [{name: r, absent: yes}]}\n", false},
		{"a null privilege list", head + "servers:\n  - {name: a, host: h, grants: [{to: x, databases: [d], database: ~}]}\n", false},
		{"a privilege that is a tagged string", head + "servers:\n  - {name: a, host: i, grants: [{to: x, databases: [!!str 2024], tables: [!!str SELECT]}]}\n", true},
	}
	for _, tt := range corpus {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Chdir(dir)
			if err := os.WriteFile("f.yaml", []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := Load(context.Background(), []string{"f.yaml"})
			var m mirror
			yerr := yaml.Unmarshal([]byte(tt.yaml), &m)
			switch {
			case err == nil && yerr != nil:
				t.Fatalf("pgusers read a file yaml.v3 refuses (%v)", yerr)
			case err == nil:
				if diff := cmp.Diff(fromMirror(m), fromDesired(got)); diff != "" {
					t.Errorf("pgusers read other values than yaml.v3 (-yaml.v3 +pgusers):\n%s", diff)
				}
			default:
				if tt.accept {
					t.Fatalf("refused a file it must read: %v", err)
				}
				var errs Errors
				if !errors.As(err, &errs) {
					t.Fatalf("error %T, want Errors: %v", err, err)
				}
				for _, e := range errs {
					if e.Pos.File != "f.yaml" || e.Pos.Line == 0 {
						t.Errorf("a problem without a line: %v", e)
					}
				}
			}
		})
	}
}
