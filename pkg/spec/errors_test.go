package spec

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// wantErr is an expected problem: Msg need only be a part of the message.
type wantErr struct {
	Pos, Server, Set, Profile, Role, Principal, Msg string
}

// writeFiles creates files (name → content) in a fresh directory and
// makes it the working directory, so positions read "a.yaml:3:5".
func writeFiles(t *testing.T, files map[string]string) {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	for name, body := range files {
		if err := os.MkdirAll(filepath.Dir(name), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// checkErrors compares Load's problems with want, in order.
func checkErrors(t *testing.T, paths []string, want []wantErr) {
	t.Helper()
	d, err := Load(context.Background(), paths)
	if err == nil {
		t.Fatalf("Load(%q) = %+v, nil; want errors", paths, d)
	}
	if d != nil {
		t.Errorf("Load(%q) returned a Desired with its errors", paths)
	}
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("Load(%q) error is %T, want Errors", paths, err)
	}
	got := make([]wantErr, len(errs))
	for i, e := range errs {
		got[i] = wantErr{e.Pos.String(), e.Server, e.Set, e.Profile, e.Role, e.Principal, e.Msg}
		if i < len(want) && strings.Contains(e.Msg, want[i].Msg) {
			got[i].Msg = want[i].Msg
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Load(%q) errors mismatch (-want +got):\n%s", paths, diff)
	}
}

// head is the start of a valid file; cases add what they test below it.
const head = "version: 1\ndefaults:\n  user: pg-admins\n"

func TestLoadFileErrors(t *testing.T) {
	tests := map[string]struct {
		files map[string]string
		paths []string
		want  []wantErr
	}{
		"no default file": {
			paths: nil,
			want:  []wantErr{{Msg: "no pgusers.yaml in the working directory"}},
		},
		"missing file": {
			paths: []string{"nope.yaml"},
			want:  []wantErr{{Pos: "nope.yaml", Msg: "no such file or directory"}},
		},
		"a directory without yaml": {
			files: map[string]string{"conf/README.md": "hi"},
			paths: []string{"conf"},
			want:  []wantErr{{Pos: "conf", Msg: "holds no *.yaml or *.yml file"}},
		},
		"a directory where a file was expected inside a directory is skipped": {
			files: map[string]string{"conf/sub.yaml/a.yaml": head},
			paths: []string{"conf"},
			want:  []wantErr{{Pos: "conf", Msg: "holds no *.yaml"}},
		},
		"empty file": {
			files: map[string]string{"a.yaml": ""},
			paths: []string{"a.yaml"},
			want:  []wantErr{{Pos: "a.yaml", Msg: "the file is empty; it needs at least version: 1"}},
		},
		"only comments": {
			files: map[string]string{"a.yaml": "# nothing yet\n"},
			paths: []string{"a.yaml"},
			want:  []wantErr{{Pos: "a.yaml", Msg: "the file is empty"}},
		},
		"broken yaml keeps its line": {
			files: map[string]string{"a.yaml": "version: 1\nservers:\n  - name: a\n   host: b\n"},
			paths: []string{"a.yaml"},
			want:  []wantErr{{Pos: "a.yaml:2", Msg: "invalid YAML: did not find expected '-' indicator"}},
		},
		"tab indentation": {
			files: map[string]string{"a.yaml": "version: 1\nservers:\n\t- name: a\n"},
			paths: []string{"a.yaml"},
			want:  []wantErr{{Pos: "a.yaml:3", Msg: "invalid YAML: found character that cannot start any token"}},
		},
		"two documents": {
			files: map[string]string{"a.yaml": "version: 1\n---\nversion: 1\n"},
			paths: []string{"a.yaml"},
			want:  []wantErr{{Pos: "a.yaml:2:1", Msg: "a second YAML document"}},
		},
		"not a mapping": {
			files: map[string]string{"a.yaml": "- version: 1\n"},
			paths: []string{"a.yaml"},
			want:  []wantErr{{Pos: "a.yaml:1:1", Msg: "the file must be a mapping (key: value lines), not a list"}},
		},
		"every bad file of a run is reported": {
			files: map[string]string{"a.yaml": "", "b.yaml": "version: 1\nservers: [\n"},
			paths: []string{"b.yaml", "missing.yaml", "a.yaml"},
			want: []wantErr{
				{Pos: "b.yaml:2", Msg: "invalid YAML: did not find expected node content"},
				{Pos: "missing.yaml", Msg: "no such file or directory"},
				{Pos: "a.yaml", Msg: "the file is empty"},
			},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			writeFiles(t, tt.files)
			checkErrors(t, tt.paths, tt.want)
		})
	}
}

func TestLoadUnreadable(t *testing.T) {
	writeFiles(t, map[string]string{"a.yaml": head})
	if err := os.Symlink("gone.yaml", "b.yaml"); err != nil {
		t.Fatal(err)
	}
	want := []wantErr{{Pos: "b.yaml", Msg: "no such file or directory"}}
	if os.Geteuid() != 0 { // root reads anything
		if err := os.Chmod("a.yaml", 0); err != nil {
			t.Fatal(err)
		}
		want = append([]wantErr{{Pos: "a.yaml", Msg: "cannot read: permission denied"}}, want...)
	}
	checkErrors(t, []string{"a.yaml", "b.yaml"}, want)
}

func TestLoadVersionErrors(t *testing.T) {
	tests := map[string]struct {
		body string
		want []wantErr
	}{
		"missing": {
			body: "servers: []\n",
			want: []wantErr{{Pos: "a.yaml:1:1", Msg: "version is missing; start the file with version: 1"}},
		},
		"a string": {
			body: "version: \"1\"\n",
			want: []wantErr{{Pos: "a.yaml:1:10", Msg: `version must be the number 1, not the string "1"; remove the quotes`}},
		},
		// Version 2 keys would be judged by version 1 rules: only the
		// version is reported.
		"another version": {
			body: "version: 2\nservers: {what: ever}\n",
			want: []wantErr{{Pos: "a.yaml:1:10", Msg: "version 2 is not supported; this pgusers reads version 1"}},
		},
		"a list": {
			body: "version: [1]\n",
			want: []wantErr{{Pos: "a.yaml:1:10", Msg: "version must be 1, not a list"}},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			writeFiles(t, map[string]string{"a.yaml": tt.body})
			checkErrors(t, []string{"a.yaml"}, tt.want)
		})
	}
}

func TestLoadContentErrors(t *testing.T) {
	tests := map[string]struct {
		files map[string]string
		paths []string // default: a.yaml
		want  []wantErr
	}{
		"unknown keys suggest the likely one": {
			files: map[string]string{"a.yaml": `version: 1
server: []
defaults:
  user: x
  host: h
  sslMode: require
servers:
  - name: a
    host: i
    principal: []
    principals:
      - name: p
        type: user
        memberof: [x]
        color: red
`},
			want: []wantErr{
				{Pos: "a.yaml:2:1", Msg: `unknown key "server"; did you mean "servers"?`},
				{Pos: "a.yaml:5:3", Msg: "host is set on each server, not in defaults"},
				{Pos: "a.yaml:6:3", Msg: `unknown key "sslMode"; did you mean "sslmode"?`},
				{Pos: "a.yaml:10:5", Server: "a", Msg: `unknown key "principal"; did you mean "principals"?`},
				{Pos: "a.yaml:14:9", Server: "a", Principal: "p", Msg: `unknown key "memberof"; did you mean "memberOf"?`},
				{Pos: "a.yaml:15:9", Server: "a", Principal: "p",
					Msg: `unknown key "color"; a principal takes name, type, objectId, admin, mfa, memberOf`},
			},
		},
		"a key twice in one mapping": {
			files: map[string]string{"a.yaml": `version: 1
servers:
  - name: a
    host: j
    user: u
    host: h2
`},
			want: []wantErr{{Pos: "a.yaml:6:5", Server: "a", Msg: `key "host" is set twice in this mapping (first at a.yaml:4:5); keep one`}},
		},
		"principal names": {
			files: map[string]string{"a.yaml": head + `servers:
  - name: a
    host: k
    principals:
      - type: user
      - {name: "", type: user}
      - {name: "` + strings.Repeat("é", 32) + `", type: user}
      - {name: "a\0b", type: user}
      - {name: azure_pg_admin, type: group}
      - {name: azuresu, type: user}
      - {name: replication, type: user}
      - {name: pg_monitor, type: user}
      - {name: true, type: user}
      - {name: "` + strings.Repeat("x", MaxNameBytes) + `", type: user}
      - {name: "line\nbreak", type: user}
`},
			want: []wantErr{
				{Pos: "a.yaml:8:9", Server: "a", Msg: "name is required"},
				{Pos: "a.yaml:9:16", Server: "a", Msg: "name is empty"},
				{Pos: "a.yaml:10:16", Server: "a", Msg: "is 64 bytes; PostgreSQL silently truncates names over 63 bytes"},
				{Pos: "a.yaml:11:16", Server: "a", Msg: "name contains a NUL byte"},
				{Pos: "a.yaml:12:16", Server: "a", Msg: `name "azure_pg_admin" is a reserved role`},
				{Pos: "a.yaml:13:16", Server: "a", Msg: `name "azuresu" is a reserved role`},
				{Pos: "a.yaml:14:16", Server: "a", Msg: `name "replication" is a reserved role`},
				{Pos: "a.yaml:15:16", Server: "a", Msg: `name "pg_monitor" is reserved: PostgreSQL keeps every pg_* role`},
				{Pos: "a.yaml:16:16", Server: "a", Msg: `name must be a string, not the boolean true; quote it ("true")`},
				{Pos: "a.yaml:18:16", Server: "a", Msg: `name "line\nbreak" contains a control character`},
			},
		},
		"principal types, ids and flags": {
			files: map[string]string{"a.yaml": head + `servers:
  - name: a
    host: m
    principals:
      - name: p1
      - name: p2
        type: User
      - name: p3
        type: user
        objectId: xyz
        admin: yes
        mfa: 1
      - name: p4
        type: group
        objectId: 00000000-0000-0000-0000-000000000000
`},
			want: []wantErr{
				{Pos: "a.yaml:8:9", Server: "a", Principal: "p1", Msg: "type is required: user, group or service"},
				{Pos: "a.yaml:10:15", Server: "a", Principal: "p2", Msg: `type "User" is not one of user, group, service; did you mean "user"?`},
				{Pos: "a.yaml:13:19", Server: "a", Principal: "p3", Msg: `objectId "xyz" is not a UUID (want 8-4-4-4-12 hex digits)`},
				{Pos: "a.yaml:14:16", Server: "a", Principal: "p3", Msg: `admin must be true or false, not the string "yes"`},
				{Pos: "a.yaml:15:14", Server: "a", Principal: "p3", Msg: "mfa must be true or false, not the number 1"},
				{Pos: "a.yaml:18:19", Server: "a", Principal: "p4", Msg: "objectId is the nil UUID"},
			},
		},
		"memberOf": {
			files: map[string]string{"a.yaml": head + `servers:
  - name: a
    host: n
    principals:
      - name: p1
        type: user
        memberOf: [azure_pg_admin, p1, "", pg_read_all_data]
      - name: p2
        type: user
        memberOf:
      - name: p3
        type: user
        memberOf: reporting
`},
			want: []wantErr{
				{Pos: "a.yaml:10:20", Server: "a", Principal: "p1", Msg: "memberOf cannot list azure_pg_admin: the admin flag owns that membership; set admin: true instead"},
				{Pos: "a.yaml:10:36", Server: "a", Principal: "p1", Msg: "a role cannot be a member of itself"},
				{Pos: "a.yaml:10:40", Server: "a", Principal: "p1", Msg: "a memberOf role is empty"},
				{Pos: "a.yaml:13:18", Server: "a", Principal: "p2", Msg: "memberOf has no value; write memberOf: [] for no memberships, or remove the key"},
				{Pos: "a.yaml:16:19", Server: "a", Principal: "p3", Msg: `memberOf must be a list, not the string "reporting"`},
			},
		},
		"the same principal twice on a server": {
			files: map[string]string{"a.yaml": head + `principalSets:
  team:
    - {name: alice, type: user}
    - {name: bob, type: user, objectId: 2b7c1d0e-5f4a-4b3c-8d2e-1f0a9b8c7d6e}
  more:
    - {name: alice, type: user}
servers:
  - name: a
    host: p
    include: [team, more, team]
    principals:
      - {name: alice, type: user}
      - {name: robert, type: user, objectId: 2B7C1D0E-5F4A-4B3C-8D2E-1F0A9B8C7D6E}
      - {name: carol, type: user}
      - {name: carol, type: group}
`},
			want: []wantErr{
				{Pos: "a.yaml:9:7", Server: "a", Principal: "alice",
					Msg: `declared twice on this server: here (set "more") and at a.yaml:6:7 (set "team"); keep one`},
				{Pos: "a.yaml:13:27", Server: "a", Msg: `set "team" is included twice (first at a.yaml:13:15); include it once`},
				{Pos: "a.yaml:15:9", Server: "a", Principal: "alice",
					Msg: `declared twice on this server: here (the server's principals) and at a.yaml:6:7 (set "team")`},
				{Pos: "a.yaml:16:9", Server: "a", Principal: "robert",
					Msg: `objectId 2b7c1d0e-5f4a-4b3c-8d2e-1f0a9b8c7d6e is also the object id of "bob" (at a.yaml:7:7 (set "team"))`},
				{Pos: "a.yaml:18:9", Server: "a", Principal: "carol",
					Msg: `declared twice on this server: here (the server's principals) and at a.yaml:17:9 (the server's principals)`},
			},
		},
		// Reported once, at the set, however many servers include it.
		"the same principal twice in a set": {
			files: map[string]string{"a.yaml": head + `principalSets:
  team:
    - {name: alice, type: user}
    - {name: alice, type: group}
servers:
  - {name: a, host: q, include: [team]}
  - {name: b, host: r, include: [team]}
`},
			want: []wantErr{{Pos: "a.yaml:7:7", Set: "team", Principal: "alice", Msg: "declared twice in this set: here and at a.yaml:6:7; keep one"}},
		},
		"unknown sets": {
			files: map[string]string{"a.yaml": head + `principalSets:
  platform-team: []
servers:
  - name: a
    host: s
    include: [platfrom-team, nope]
`},
			want: []wantErr{
				{Pos: "a.yaml:9:15", Server: "a", Msg: `unknown principal set "platfrom-team"; did you mean "platform-team"?`},
				{Pos: "a.yaml:9:30", Server: "a", Msg: `unknown principal set "nope"; define it under principalSets (defined: platform-team)`},
			},
		},
		"server keys": {
			files: map[string]string{"a.yaml": head + `servers:
  - host: u
  - name: a
  - name: b
    host: https://b.example.com/
    port: 0
    maxDrops: -1
    protect: ["[a-"]
    prune: "true"
  - name: c
    host: v
    port: "5432"
  - name: d
    host: w
    port: 65536
    cloud: azure
    database: ""
  - name: e
    host: x
    protect:
    reassignOwnedTo: dba
`},
			want: []wantErr{
				{Pos: "a.yaml:5:5", Msg: "name is required: a unique label for this server"},
				{Pos: "a.yaml:6:5", Server: "a", Msg: "host is required"},
				{Pos: "a.yaml:8:11", Server: "b", Msg: `host "https://b.example.com/" is a URL; give only the host name`},
				{Pos: "a.yaml:9:11", Server: "b", Msg: "port 0 is out of range (want 1 to 65535)"},
				{Pos: "a.yaml:10:15", Server: "b", Msg: "maxDrops -1 is negative; use 0 to refuse every drop"},
				{Pos: "a.yaml:11:15", Server: "b", Msg: `protect pattern "[a-" is not a valid glob`},
				{Pos: "a.yaml:12:12", Server: "b", Msg: `prune must be true or false, not the string "true"`},
				{Pos: "a.yaml:15:11", Server: "c", Msg: `port must be a whole number, not the string "5432"`},
				{Pos: "a.yaml:18:11", Server: "d", Msg: "port 65536 is out of range"},
				{Pos: "a.yaml:19:12", Server: "d", Msg: `cloud "azure" is not one of public, usgovernment, china`},
				{Pos: "a.yaml:20:15", Server: "d", Msg: "database is empty"},
				{Pos: "a.yaml:23:13", Server: "e", Msg: "protect has no value; write protect: [] to protect nothing"},
			},
		},
		"names, sets and defaults are unique across files": {
			files: map[string]string{
				"a.yaml": `version: 1
defaults:
  user: pg-admins
  port: 5433
principalSets:
  team: []
servers:
  - name: a
    host: y
`,
				"b.yaml": `version: 1
defaults:
  user: other
principalSets:
  team: []
servers:
  - name: a
    host: h2
`,
			},
			paths: []string{"a.yaml", "b.yaml"},
			want: []wantErr{
				{Pos: "b.yaml:3:3", Msg: "defaults.user is set twice: here and at a.yaml:3:3; set it in one file"},
				{Pos: "b.yaml:5:3", Set: "team", Msg: `principal set "team" is defined twice: here and at a.yaml:6:3`},
				{Pos: "b.yaml:7:11", Server: "a", Msg: `server name "a" is used twice: here and at a.yaml:8:11; server names must be unique`},
			},
		},
		"auth and credentials": {
			files: map[string]string{"a.yaml": `version: 1
defaults:
  user: u
  auth: password
  clientId: 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
servers:
  - name: a
    host: z
    credential: azurecli
  - name: b
    host: h
    auth: entra
    passwordEnv: PW
    sslmode: prefer
    clientId: 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
  - name: c
    host: i
    auth: kerberos
    credential: managed
  - name: d
    host: j
    auth: entra
    credential: workloadidentity
    clientId: nope
    passwordEnv: 1PW
`},
			want: []wantErr{
				{Pos: "a.yaml:5:3", Msg: "clientId applies only to auth: entra"},
				{Pos: "a.yaml:9:5", Server: "a", Msg: "credential applies only to auth: entra"},
				{Pos: "a.yaml:13:5", Server: "b", Msg: "passwordEnv applies only to auth: password"},
				{Pos: "a.yaml:14:5", Server: "b", Msg: "sslmode prefer does not verify the server's certificate, so the Entra token, a bearer credential, could be sent to whoever answers"},
				{Pos: "a.yaml:15:5", Server: "b", Msg: `clientId applies only to credential managedidentity or workloadidentity, and the credential here is "default"`},
				{Pos: "a.yaml:18:11", Server: "c", Msg: `auth "kerberos" is not one of entra, password`},
				{Pos: "a.yaml:19:17", Server: "c", Msg: `credential "managed" is not one of default, azurecli, managedidentity, workloadidentity, environment`},
				{Pos: "a.yaml:24:15", Server: "d", Msg: `clientId "nope" is not a UUID`},
				{Pos: "a.yaml:25:18", Server: "d", Msg: `passwordEnv "1PW" is not an environment variable name`},
			},
		},
		"no user": {
			files: map[string]string{"a.yaml": "version: 1\nservers:\n  - name: a\n    host: k\n"},
			want: []wantErr{{Pos: "a.yaml:3:5", Server: "a",
				Msg: "no user to sign in as; set defaults.user or this server's user"}},
		},
		"every problem of every file, in file order": {
			files: map[string]string{
				"b.yaml": `version: 1
servers:
  - name: x
    host: m
    user: u
    include: [missing]
    principals:
      - {name: p, type: robot}
`,
				"a.yaml": `servers:
  - name: y
    host: n
    user: u
    principals:
      - {name: q, type: user, objectId: nope}
`,
			},
			paths: []string{"b.yaml", "a.yaml"},
			want: []wantErr{
				{Pos: "b.yaml:6:15", Server: "x", Msg: `unknown principal set "missing"; no file defines principalSets`},
				{Pos: "b.yaml:8:25", Server: "x", Principal: "p", Msg: `type "robot" is not one of user, group, service`},
				{Pos: "a.yaml:1:1", Msg: "version is missing"},
				{Pos: "a.yaml:6:41", Server: "y", Principal: "q", Msg: `objectId "nope" is not a UUID`},
			},
		},
		"an anchor that holds itself": {
			files: map[string]string{"a.yaml": head + `principalSets:
  s: &s
    - *s
`},
			want: []wantErr{{Pos: "a.yaml:5:6", Set: "s", Msg: "a principal must be a mapping (key: value lines), not a list"}},
		},
		"a mapping that merges itself": {
			files: map[string]string{"a.yaml": head + `servers:
  - &a
    name: a
    host: p
    <<: *a
`},
			want: []wantErr{{Pos: "a.yaml:8:9", Server: "a", Msg: `"<<" merges nest more than 16 deep`}},
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

// An alias bomb must end in an error, quickly, not exhaust the machine.
func TestLoadAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("version: 1\nx0: &a0 {name: n}\n")
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&b, "x%d: &a%d {<<: [", i, i)
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*a%d", i-1)
		}
		b.WriteString("]}\n")
	}
	b.WriteString("servers:\n  - {<<: *a9, host: q, user: u}\n")
	writeFiles(t, map[string]string{"a.yaml": b.String()})
	_, err := Load(context.Background(), []string{"a.yaml"})
	if err == nil || !strings.Contains(err.Error(), "aliases expand to far more nodes than the file holds") {
		t.Errorf("Load(alias bomb) = %v; want the alias budget error", err)
	}
}

func TestTheSameServerTwiceIsRefused(t *testing.T) {
	writeFiles(t, map[string]string{
		"a.yaml": "version: 1\ndefaults: {user: u}\nservers:\n  - {name: a, host: Orders.postgres.database.azure.com}\n",
		"b.yaml": "version: 1\nservers:\n  - {name: b, host: orders.postgres.database.azure.com., port: 5432}\n  - {name: c, host: orders.postgres.database.azure.com, port: 6432}\n",
	})
	checkErrors(t, []string{"a.yaml", "b.yaml"}, []wantErr{
		{Pos: "b.yaml:3:5", Server: "b", Msg: "host orders.postgres.database.azure.com. port 5432 is also the server at a.yaml:4:5: " +
			"two entries for one server would fight over it (with prune, each drops the other's principals) and their applies " +
			"would lock each other out; declare it once"},
	})
}

func TestEntraTokensGoOnlyToVerifiedServers(t *testing.T) {
	writeFiles(t, map[string]string{"a.yaml": `version: 1
defaults: {user: u}
servers:
  - {name: a, host: a.example, sslmode: require}
  - {name: b, host: b.example, sslmode: disable}
  - {name: c, host: c.example, sslmode: prefer}
  - {name: d, host: d.example, sslmode: require, insecureSkipTLSVerify: true}
  - {name: e, host: e.example, sslmode: verify-ca}
  - {name: f, host: f.example, auth: password, sslmode: disable, insecureSkipTLSVerify: true}
`})
	unverified := func(mode string) string {
		return "sslmode " + mode + " does not verify the server's certificate, so the Entra token, a bearer credential, could be sent " +
			"to whoever answers: use verify-full (the default) or verify-ca, or, accepting that risk, set insecureSkipTLSVerify: true"
	}
	checkErrors(t, []string{"a.yaml"}, []wantErr{
		{Pos: "a.yaml:4:32", Server: "a", Msg: unverified("require")},
		{Pos: "a.yaml:5:32", Server: "b", Msg: unverified("disable")},
		{Pos: "a.yaml:6:32", Server: "c", Msg: unverified("prefer")},
		{Pos: "a.yaml:9:66", Server: "f", Msg: "insecureSkipTLSVerify applies only to auth: entra"},
	})
}
