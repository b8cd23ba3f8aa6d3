package spec

import (
	"context"
	"regexp"
	"testing"
)

func TestDigest(t *testing.T) {
	load := func(t *testing.T, files map[string]string, paths ...string) string {
		t.Helper()
		writeFiles(t, files)
		d, err := Load(context.Background(), paths)
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		return d.Digest()
	}
	const one = head + `principalSets:
  team: [{name: alice, type: user}]
servers:
  - {name: a, host: h, include: [team], principals: [{name: bob, type: user, memberOf: [x, y]}]}
`
	base := load(t, map[string]string{"a.yaml": one}, "a.yaml")
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(base) {
		t.Fatalf("Digest() = %q, want 64 hex digits", base)
	}

	tests := map[string]struct {
		files map[string]string
		paths []string
		same  bool
	}{
		"the same state in another file name and layout": {
			files: map[string]string{"z/b.yaml": head + `
servers:
  - name: a
    host: h
    principals:
      - {name: bob, type: user, memberOf: [y, x, y]}
      - {name: alice, type: user}
`},
			paths: []string{"z"},
			same:  true,
		},
		"spread over two files": {
			files: map[string]string{
				"a.yaml": "version: 1\nprincipalSets: {team: [{name: alice, type: user}]}\n",
				"b.yaml": head + "servers: [{name: a, host: h, include: [team], principals: [{name: bob, type: user, memberOf: [x, y]}]}]\n",
			},
			paths: []string{"a.yaml", "b.yaml"},
			same:  true,
		},
		"a default made explicit": {
			files: map[string]string{"a.yaml": head + `  port: 5432
  maxDrops: 5
  sslmode: verify-full
principalSets:
  team: [{name: alice, type: user}]
servers:
  - {name: a, host: h, include: [team], principals: [{name: bob, type: user, memberOf: [x, y]}]}
`},
			paths: []string{"a.yaml"},
			same:  true,
		},
		"memberships no longer managed": {
			files: map[string]string{"a.yaml": head + `principalSets:
  team: [{name: alice, type: user, memberOf: []}]
servers:
  - {name: a, host: h, include: [team], principals: [{name: bob, type: user, memberOf: [x, y]}]}
`},
			paths: []string{"a.yaml"},
		},
		"one flag changed": {
			files: map[string]string{"a.yaml": head + `principalSets:
  team: [{name: alice, type: user, mfa: true}]
servers:
  - {name: a, host: h, include: [team], principals: [{name: bob, type: user, memberOf: [x, y]}]}
`},
			paths: []string{"a.yaml"},
		},
		"a group role added": {
			files: map[string]string{"a.yaml": head + `principalSets:
  team: [{name: alice, type: user}]
servers:
  - {name: a, host: h, include: [team], principals: [{name: bob, type: user, memberOf: [x, y]}], roles: [{name: x}]}
`},
			paths: []string{"a.yaml"},
		},
		"a grant added": {
			files: map[string]string{"a.yaml": head + `principalSets:
  team: [{name: alice, type: user}]
servers:
  - {name: a, host: h, include: [team], principals: [{name: bob, type: user, memberOf: [x, y]}],
     grants: [{to: bob, databases: [d], database: [CONNECT]}]}
`},
			paths: []string{"a.yaml"},
		},
		"a setting changed": {
			files: map[string]string{"a.yaml": head + `  prune: true
principalSets:
  team: [{name: alice, type: user}]
servers:
  - {name: a, host: h, include: [team], principals: [{name: bob, type: user, memberOf: [x, y]}]}
`},
			paths: []string{"a.yaml"},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got := load(t, tt.files, tt.paths...)
			if same := got == base; same != tt.same {
				t.Errorf("Digest() = %s, base %s: equal = %v, want %v", got, base, same, tt.same)
			}
		})
	}
}

// Roles and grants written otherwise, from a set or through a profile,
// keep the digest; what they ask changes it.
func TestDigestRolesAndGrants(t *testing.T) {
	load := func(t *testing.T, body string) string {
		t.Helper()
		writeFiles(t, map[string]string{"a.yaml": head + body})
		d, err := Load(context.Background(), []string{"a.yaml"})
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		return d.Digest()
	}
	base := load(t, `servers:
  - name: a
    host: h
    roles: [{name: ro, comment: reads}, {name: rw, memberOf: [ro]}]
    grants:
      - {to: ro, databases: [d], profile: readonly}
      - {to: PUBLIC, databases: [d], database: []}
`)
	tests := map[string]struct {
		body string
		same bool
	}{
		"from a role set, through a profile of the same privileges": {
			body: `roleSets:
  app: [{name: rw, memberOf: [ro, ro]}, {name: ro, comment: reads}]
privilegeProfiles:
  mine: {database: [connect], schema: [usage], tables: [select], sequences: [select]}
servers:
  - name: a
    host: h
    includeRoles: [app]
    grants:
      - {to: ro, databases: [d], schemas: [public], profile: mine}
      - {to: public, databases: [d, d], database: []}
`,
			same: true,
		},
		"a comment changed": {
			body: `servers:
  - name: a
    host: h
    roles: [{name: ro, comment: writes}, {name: rw, memberOf: [ro]}]
    grants:
      - {to: ro, databases: [d], profile: readonly}
      - {to: PUBLIC, databases: [d], database: []}
`,
		},
		"a role made absent": {
			body: `servers:
  - name: a
    host: h
    roles: [{name: ro, comment: reads}, {name: rw, absent: true}]
    grants:
      - {to: ro, databases: [d], profile: readonly}
      - {to: PUBLIC, databases: [d], database: []}
`,
		},
		"ALL instead of the privileges": {
			body: `servers:
  - name: a
    host: h
    roles: [{name: ro, comment: reads}, {name: rw, memberOf: [ro]}]
    grants:
      - {to: ro, databases: [d], profile: readonly}
      - {to: PUBLIC, databases: [d], database: [ALL]}
`,
		},
		"another schema": {
			body: `servers:
  - name: a
    host: h
    roles: [{name: ro, comment: reads}, {name: rw, memberOf: [ro]}]
    grants:
      - {to: ro, databases: [d], schemas: [sales], profile: readonly}
      - {to: PUBLIC, databases: [d], database: []}
`,
		},
		"default privileges": {
			body: `servers:
  - name: a
    host: h
    roles: [{name: ro, comment: reads}, {name: rw, memberOf: [ro]}]
    grants:
      - {to: ro, databases: [d], profile: readonly, defaultsFor: [owner]}
      - {to: PUBLIC, databases: [d], database: []}
`,
		},
		"a kind no longer managed": {
			body: `servers:
  - name: a
    host: h
    roles: [{name: ro, comment: reads}, {name: rw, memberOf: [ro]}]
    grants:
      - {to: ro, databases: [d], profile: readonly}
      - {to: PUBLIC, databases: [d], tables: []}
`,
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got := load(t, tt.body)
			if same := got == base; same != tt.same {
				t.Errorf("Digest() = %s, base %s: equal = %v, want %v", got, base, same, tt.same)
			}
		})
	}
}

// Empty and nil slices mean the same; a hand-built Desired must hash like
// a loaded one.
func TestDigestEmptyEqualsNil(t *testing.T) {
	a := &Desired{Servers: []Server{{Name: "a", Protect: []string{}, Principals: []Principal{{Name: "p", MemberOf: []string{}, ManageMemberships: true}},
		Roles:  []Role{{Name: "r", MemberOf: []string{}, ManageMemberships: true}},
		Grants: []Grant{{To: "r", Databases: []string{"d"}, Schemas: []string{}, DefaultsFor: []string{}, Kinds: []KindGrant{{Kind: KindTables, Privileges: []string{}}}}}}}}
	b := &Desired{Servers: []Server{{Name: "a", Principals: []Principal{{Name: "p", ManageMemberships: true, Pos: Position{File: "x", Line: 1}}},
		Roles:  []Role{{Name: "r", ManageMemberships: true, Set: "s", Pos: Position{File: "x", Line: 2}}},
		Grants: []Grant{{To: "r", Databases: []string{"d"}, Kinds: []KindGrant{{Kind: KindTables}}, Profile: "p", Pos: Position{File: "x", Line: 3}}}}}}
	if a.Digest() != b.Digest() {
		t.Errorf("Digest differs between empty and nil slices, positions, sets or profile names")
	}
}
