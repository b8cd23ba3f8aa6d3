package spec

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLoadRoles(t *testing.T) {
	writeFiles(t, map[string]string{"a.yaml": head + `roleSets:
  app-roles:
    - name: orders_ro
      comment: read-only on orders
    - name: orders_rw
      memberOf: [orders_ro, reporting, orders_ro]
  empty: []
servers:
  - name: a
    host: h
    includeRoles: [app-roles, empty]
    principals:
      - {name: alice, type: user, memberOf: [orders_rw]}
    roles:
      - {name: auditors, comment: "", memberOf: []}
      - {name: legacy_rw, absent: true}
      - {name: 2024, absent: false}
  - name: b
    host: i
    includeRoles: [app-roles]
`})
	d, err := Load(context.Background(), []string{"a.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	ro := Role{Name: "orders_ro", Comment: "read-only on orders", ManageComment: true, Set: "app-roles", Pos: at("a.yaml", 6, 7)}
	rw := Role{Name: "orders_rw", ManageMemberships: true, MemberOf: []string{"orders_ro", "reporting"}, Set: "app-roles", Pos: at("a.yaml", 8, 7)}
	want := [][]Role{
		{
			{Name: "2024", Pos: at("a.yaml", 20, 9)},
			{Name: "auditors", ManageComment: true, ManageMemberships: true, Pos: at("a.yaml", 18, 9)},
			{Name: "legacy_rw", Absent: true, Pos: at("a.yaml", 19, 9)},
			ro, rw,
		},
		{ro, rw},
	}
	for i, s := range d.Servers {
		if diff := cmp.Diff(want[i], s.Roles); diff != "" {
			t.Errorf("server %s: Roles mismatch (-want +got):\n%s", s.Name, diff)
		}
	}
	// Each server has its own copy of a set's roles.
	d.Servers[0].Roles[4].MemberOf[0] = "changed"
	if got := d.Servers[1].Roles[1].MemberOf[0]; got != "orders_ro" {
		t.Errorf("server b's orders_rw.MemberOf[0] = %q after changing server a's", got)
	}
}

func TestLoadRoleErrors(t *testing.T) {
	tests := map[string]struct {
		files map[string]string
		paths []string // default: a.yaml
		want  []wantErr
	}{
		"role keys": {
			files: map[string]string{"a.yaml": head + `roleSets:
  app:
    - comment: no name
    - {name: "", memberOf: [x]}
    - {name: azure_pg_admin}
    - {name: pg_read_all_data}
    - {name: Public}
    - {name: "` + strings.Repeat("x", MaxNameBytes+1) + `"}
    - {name: "a\tb"}
    - {name: r1, comment: "two\nlines", color: red, absent: "yes"}
    - {name: r2, comment: [x], memberof: []}
    - {name: r3, comment: ~}
    - [r4]
`},
			want: []wantErr{
				{Pos: "a.yaml:6:7", Set: "app", Msg: "name is required: the name of the group role"},
				{Pos: "a.yaml:7:14", Set: "app", Msg: "name is empty"},
				{Pos: "a.yaml:8:14", Set: "app", Msg: `name "azure_pg_admin" is a reserved role that Azure manages; pgusers never creates or drops it`},
				{Pos: "a.yaml:9:14", Set: "app", Msg: `name "pg_read_all_data" is reserved: PostgreSQL keeps every pg_* role for itself`},
				{Pos: "a.yaml:10:14", Set: "app", Msg: `name "Public" is reserved: PUBLIC stands for every role, and PostgreSQL refuses a role of that name`},
				{Pos: "a.yaml:11:14", Set: "app", Msg: "is 64 bytes; PostgreSQL silently truncates names over 63 bytes"},
				{Pos: "a.yaml:12:14", Set: "app", Msg: `name "a\tb" contains a control character`},
				{Pos: "a.yaml:13:27", Set: "app", Role: "r1", Msg: `comment "two\nlines" contains a control character (a line break, a tab, ...); a comment is one line of text`},
				{Pos: "a.yaml:13:41", Set: "app", Role: "r1", Msg: `unknown key "color"; a role takes name, comment, memberOf, absent`},
				{Pos: "a.yaml:13:61", Set: "app", Role: "r1", Msg: `absent must be true or false, not the string "yes"`},
				{Pos: "a.yaml:14:27", Set: "app", Role: "r2", Msg: "comment must be a string, not a list"},
				{Pos: "a.yaml:14:32", Set: "app", Role: "r2", Msg: `unknown key "memberof"; did you mean "memberOf"?`},
				{Pos: "a.yaml:15:27", Set: "app", Role: "r3", Msg: "comment has no value; set one or remove the key"},
				{Pos: "a.yaml:16:7", Set: "app", Msg: "a role must be a mapping (key: value lines), not a list"},
			},
		},
		"memberOf of a role": {
			files: map[string]string{"a.yaml": head + `servers:
  - name: a
    host: j
    roles:
      - {name: r1, memberOf: [azure_pg_admin, r1, "", b]}
      - {name: r2, memberOf: }
      - {name: r3, memberOf: x}
`},
			want: []wantErr{
				{Pos: "a.yaml:8:31", Server: "a", Role: "r1", Msg: "memberOf cannot list azure_pg_admin: only Entra administrators belong to it, through a principal's admin: true"},
				{Pos: "a.yaml:8:47", Server: "a", Role: "r1", Msg: "memberOf lists the role itself; a role cannot be a member of itself"},
				{Pos: "a.yaml:8:51", Server: "a", Role: "r1", Msg: "a memberOf role is empty"},
				{Pos: "a.yaml:9:30", Server: "a", Role: "r2", Msg: "memberOf has no value; write memberOf: [] for no memberships, or remove the key"},
				{Pos: "a.yaml:10:30", Server: "a", Role: "r3", Msg: `memberOf must be a list, not the string "x"`},
			},
		},
		"an absent role takes nothing else": {
			files: map[string]string{"a.yaml": head + `servers:
  - name: a
    host: k
    roles:
      - name: old
        comment: gone
        absent: true
        memberOf: []
`},
			want: []wantErr{
				{Pos: "a.yaml:9:9", Server: "a", Role: "old", Msg: "comment does not apply to a role that is absent: true (it is dropped); remove one or the other"},
				{Pos: "a.yaml:11:9", Server: "a", Role: "old", Msg: "memberOf does not apply to a role that is absent: true (it is dropped); remove one or the other"},
			},
		},
		"the same role twice": {
			files: map[string]string{"a.yaml": head + `roleSets:
  app:
    - {name: ro}
    - {name: rw}
    - {name: ro, absent: true}
  more:
    - {name: rw}
servers:
  - name: a
    host: m
    includeRoles: [app, more, app]
    roles:
      - {name: ro}
      - {name: audit}
      - {name: audit}
  - {name: b, host: n, includeRoles: [app]}
`},
			want: []wantErr{
				{Pos: "a.yaml:8:7", Set: "app", Role: "ro", Msg: "declared twice in this set: here and at a.yaml:6:7; keep one"},
				{Pos: "a.yaml:10:7", Server: "a", Role: "rw",
					Msg: `declared twice on this server: here (role set "more") and at a.yaml:7:7 (role set "app"); keep one`},
				{Pos: "a.yaml:14:31", Server: "a", Msg: `role set "app" is included twice (first at a.yaml:14:20); include it once`},
				{Pos: "a.yaml:16:9", Server: "a", Role: "ro",
					Msg: `declared twice on this server: here (the server's roles) and at a.yaml:6:7 (role set "app"); keep one`},
				{Pos: "a.yaml:18:9", Server: "a", Role: "audit",
					Msg: `declared twice on this server: here (the server's roles) and at a.yaml:17:9 (the server's roles); keep one`},
			},
		},
		"a name is a principal or a role": {
			files: map[string]string{"a.yaml": head + `principalSets:
  team: [{name: alice, type: user}]
roleSets:
  app: [{name: bob}]
servers:
  - name: a
    host: p
    include: [team]
    includeRoles: [app]
    principals: [{name: bob, type: user}]
    roles: [{name: alice}]
`},
			want: []wantErr{
				{Pos: "a.yaml:13:18", Server: "a", Principal: "bob",
					Msg: `declared as a principal here (the server's principals) and as a group role at a.yaml:7:9 (role set "app"); a name is one role, keep one`},
				{Pos: "a.yaml:14:13", Server: "a", Role: "alice",
					Msg: `declared as a group role here (the server's roles) and as a principal at a.yaml:5:10 (principal set "team"); a name is one role, keep one`},
			},
		},
		"a member of an absent role": {
			files: map[string]string{"a.yaml": head + `servers:
  - name: a
    host: q
    principals: [{name: alice, type: user, memberOf: [old, ro]}]
    roles:
      - {name: old, absent: true}
      - {name: ro, memberOf: [old]}
`},
			want: []wantErr{
				{Pos: "a.yaml:7:18", Server: "a", Principal: "alice", Msg: `memberOf lists "old", which this server declares absent: true (at a.yaml:9:9); remove one or the other`},
				{Pos: "a.yaml:10:9", Server: "a", Role: "ro", Msg: `memberOf lists "old", which this server declares absent: true (at a.yaml:9:9); remove one or the other`},
			},
		},
		"unknown role sets": {
			files: map[string]string{"a.yaml": head + `roleSets:
  app-roles: []
servers:
  - {name: a, host: r, includeRoles: [app-role, nope, app-roles]}
  - {name: b, host: s, includeRoles: ~, roles: ~}
  - {name: c, host: u, includeRoles: app-roles, roles: {name: x}}
`},
			want: []wantErr{
				{Pos: "a.yaml:7:39", Server: "a", Msg: `unknown role set "app-role"; did you mean "app-roles"?`},
				{Pos: "a.yaml:7:49", Server: "a", Msg: `unknown role set "nope"; define it under roleSets (defined: app-roles)`},
				{Pos: "a.yaml:9:38", Server: "c", Msg: `includeRoles must be a list, not the string "app-roles"`},
				{Pos: "a.yaml:9:56", Server: "c", Msg: "roles must be a list, not a mapping"},
			},
		},
		"no role sets at all": {
			files: map[string]string{"a.yaml": head + "servers:\n  - {name: a, host: v, includeRoles: [app]}\n"},
			want:  []wantErr{{Pos: "a.yaml:5:39", Server: "a", Msg: `unknown role set "app"; no file defines roleSets`}},
		},
		"role sets are unique across files, and server-only keys stay out of defaults": {
			files: map[string]string{
				"a.yaml": head + "  includeRoles: [app]\n  roles: []\nroleSets:\n  app: []\n  '': []\n",
				"b.yaml": "version: 1\nroleSets:\n  app: []\n  app: [{name: x}]\n",
			},
			paths: []string{"a.yaml", "b.yaml"},
			want: []wantErr{
				{Pos: "a.yaml:4:3", Msg: "includeRoles is set on each server, not in defaults"},
				{Pos: "a.yaml:5:3", Msg: "roles is set on each server, not in defaults"},
				{Pos: "a.yaml:8:3", Msg: "a role set needs a name"},
				{Pos: "b.yaml:3:3", Set: "app", Msg: `role set "app" is defined twice: here and at a.yaml:7:3; rename or merge one`},
				{Pos: "b.yaml:4:3", Msg: `key "app" is set twice in this mapping (first at b.yaml:3:3); keep one`},
			},
		},
		"roleSets must be a mapping": {
			files: map[string]string{"a.yaml": head + "roleSets: [app]\nrolesets: {}\n"},
			want: []wantErr{
				{Pos: "a.yaml:4:11", Msg: "roleSets must be a mapping (key: value lines), not a list"},
				{Pos: "a.yaml:5:1", Msg: `unknown key "rolesets"; did you mean "roleSets"?`},
			},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			writeFiles(t, tt.files)
			paths := tt.paths
			if paths == nil {
				paths = []string{"a.yaml"}
			}
			checkErrors(t, paths, tt.want)
		})
	}
}

func TestErrorNamesRoleAndProfile(t *testing.T) {
	for _, tt := range []struct {
		e    Error
		want string
	}{
		{Error{Pos: at("a.yaml", 3, 7), Server: "s", Role: "r", Msg: "m"}, "a.yaml:3:7: server s: role r: m"},
		{Error{Pos: at("a.yaml", 3, 7), Set: "app", Role: "r", Msg: "m"}, "a.yaml:3:7: set app: role r: m"},
		{Error{Pos: at("a.yaml", 3, 7), Profile: "write", Msg: "m"}, "a.yaml:3:7: profile write: m"},
	} {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}
