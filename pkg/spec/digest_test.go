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

// Empty and nil slices mean the same; a hand-built Desired must hash like
// a loaded one.
func TestDigestEmptyEqualsNil(t *testing.T) {
	a := &Desired{Servers: []Server{{Name: "a", Protect: []string{}, Principals: []Principal{{Name: "p", MemberOf: []string{}, ManageMemberships: true}}}}}
	b := &Desired{Servers: []Server{{Name: "a", Principals: []Principal{{Name: "p", ManageMemberships: true, Pos: Position{File: "x", Line: 1}}}}}}
	if a.Digest() != b.Digest() {
		t.Errorf("Digest differs between empty and nil slices or positions")
	}
}
