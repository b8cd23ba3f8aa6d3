package spec

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// grantsOf loads a.yaml holding body below head and returns the grants of
// its one server.
func grantsOf(t *testing.T, body string) []Grant {
	t.Helper()
	writeFiles(t, map[string]string{"a.yaml": head + body})
	d, err := Load(context.Background(), []string{"a.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	return d.Servers[0].Grants
}

func TestLoadProfiles(t *testing.T) {
	kg := func(k Kind, privileges ...string) KindGrant { return KindGrant{Kind: k, Privileges: privileges} }
	got := grantsOf(t, `privilegeProfiles:
  # Includes resolve transitively, whatever the order of definition.
  top:
    include: [middle, readonly]
    functions: [execute]
  middle:
    include: [bottom]
    tables: [insert, Select]
  bottom:
    tables: [ALL]
    sequences: []
  connect-only:
    database: [connect]
  # A profile may mix a built-in with its own kinds.
  sc-plus:
    include: [serviceConnector]
    schema: [USAGE]
servers:
  - name: a
    host: h
    grants:
      - {to: app, databases: [d], profile: top}
      - {to: app, databases: [d], profile: connect-only, schema: [usage]}
      - {to: app, databases: [d], profile: sc-plus, database: [CONNECT]}
`)
	want := []Grant{
		{To: "app", Databases: []string{"d"}, Schemas: []string{"public"}, Profile: "top", Pos: at("a.yaml", 25, 9),
			Kinds: []KindGrant{
				kg(KindDatabase, "CONNECT"), kg(KindSchema, "USAGE"),
				{Kind: KindTables, All: true, Privileges: []string{"SELECT", "INSERT"}},
				kg(KindSequences, "SELECT"), kg(KindFunctions, "EXECUTE"),
			}},
		{To: "app", Databases: []string{"d"}, Schemas: []string{"public"}, Profile: "connect-only", Pos: at("a.yaml", 26, 9),
			Kinds: []KindGrant{kg(KindDatabase, "CONNECT"), kg(KindSchema, "USAGE")}},
		{To: "app", Databases: []string{"d"}, Schemas: []string{"public"}, Profile: "sc-plus", Pos: at("a.yaml", 27, 9),
			Kinds: []KindGrant{
				{Kind: KindDatabase, All: true, Privileges: []string{"CONNECT"}}, kg(KindSchema, "USAGE", "CREATE"),
				{Kind: KindTables, All: true}, {Kind: KindSequences, All: true},
			}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Grants mismatch (-want +got):\n%s", diff)
	}
}

// Two entries naming one profile share none of its slices.
func TestLoadGrantsDoNotShareSlices(t *testing.T) {
	got := grantsOf(t, `privilegeProfiles:
  p: {tables: [SELECT]}
servers:
  - name: a
    host: i
    grants:
      - {to: x, databases: [d], profile: p}
      - {to: y, databases: [d], profile: p}
      - {to: z, databases: [d], profile: readonly}
`)
	got[0].Kinds[0].Privileges[0] = "changed"
	got[2].Kinds[0].Privileges[0] = "changed"
	if p := got[1].Kinds[0].Privileges[0]; p != "SELECT" {
		t.Errorf("the second entry's privilege is %q after changing the first's", p)
	}
	if ro, _ := BuiltinProfile("readonly"); ro.Kinds[0].Privileges[0] != "CONNECT" {
		t.Error("changing a grant changed the built-in profile")
	}
}

func TestLoadGrantPrivileges(t *testing.T) {
	got := grantsOf(t, `servers:
  - name: a
    host: j
    grants:
      - to: Public
        databases: [b, a, b]
        schemas: [s2, s1, s2]
        database: [Temp, temporary, connect, "all  privileges"]
        schema: []
        tables: [maintain, SELECT, select]
        sequences: [ALL, all]
        functions: [ExEcUtE]
        defaultsFor: [o2, o1, o2]
      - {to: "2024", databases: [d], tables: [ALL, MAINTAIN, TRIGGER, REFERENCES, TRUNCATE, DELETE, UPDATE, INSERT, SELECT]}
`)
	want := []Grant{
		{To: Public, Databases: []string{"a", "b"}, Schemas: []string{"s1", "s2"}, Pos: at("a.yaml", 8, 9),
			Kinds: []KindGrant{
				{Kind: KindDatabase, All: true, Privileges: []string{"CONNECT", "TEMPORARY"}},
				{Kind: KindSchema},
				{Kind: KindTables, Privileges: []string{"SELECT", Maintain}},
				{Kind: KindSequences, All: true},
				{Kind: KindFunctions, Privileges: []string{"EXECUTE"}},
			},
			DefaultsFor: []string{"o1", "o2"}},
		{To: "2024", Databases: []string{"d"}, Schemas: []string{"public"}, Pos: at("a.yaml", 17, 9),
			Kinds: []KindGrant{{Kind: KindTables, All: true, Privileges: Privileges(KindTables)}}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Grants mismatch (-want +got):\n%s", diff)
	}
}

func TestLoadProfileErrors(t *testing.T) {
	tests := map[string]struct {
		files map[string]string
		paths []string // default: a.yaml
		want  []wantErr
	}{
		"include cycles": {
			files: map[string]string{"a.yaml": head + `privilegeProfiles:
  a: {include: [b], tables: [SELECT]}
  b: {include: [c]}
  c: {include: [readonly, a]}
  self: {include: [self]}
  fine: {include: [b]}
`},
			want: []wantErr{
				{Pos: "a.yaml:7:27", Profile: "c", Msg: "include closes a cycle: a → b → c → a; a profile cannot include itself, directly or through others"},
				{Pos: "a.yaml:8:20", Profile: "self", Msg: "include closes a cycle: self → self; a profile cannot include itself, directly or through others"},
			},
		},
		"profile keys": {
			files: map[string]string{"a.yaml": head + `privilegeProfiles:
  readonly: {tables: [SELECT]}
  empty: {}
  empty-include: {include: []}
  typo: {include: [redonly, read-write, zzz, readonly, readonly], Tables: []}
  notamap: [SELECT]
  '': {tables: [SELECT]}
  blank:
`},
			want: []wantErr{
				{Pos: "a.yaml:5:3", Profile: "readonly", Msg: "the name is a built-in profile's (readonly, readwrite, serviceConnector); give this profile another name"},
				{Pos: "a.yaml:6:3", Profile: "empty", Msg: "the profile grants nothing; give it at least one of database, schema, tables, sequences, functions, or include another profile"},
				{Pos: "a.yaml:7:3", Profile: "empty-include", Msg: "the profile grants nothing"},
				{Pos: "a.yaml:8:20", Profile: "typo", Msg: `unknown privilege profile "redonly"; did you mean "readonly"?`},
				{Pos: "a.yaml:8:29", Profile: "typo", Msg: `unknown privilege profile "read-write"; did you mean "readwrite"?`},
				{Pos: "a.yaml:8:41", Profile: "typo",
					Msg: `unknown privilege profile "zzz"; the built-in ones are readonly, readwrite, serviceConnector, and privilegeProfiles defines empty, empty-include, typo`},
				{Pos: "a.yaml:8:56", Profile: "typo", Msg: `profile "readonly" is included twice (first at a.yaml:8:46); include it once`},
				{Pos: "a.yaml:8:67", Profile: "typo", Msg: `unknown key "Tables"; did you mean "tables"?`},
				{Pos: "a.yaml:9:12", Profile: "notamap", Msg: "a privilege profile must be a mapping (key: value lines), not a list"},
				{Pos: "a.yaml:10:3", Msg: "a privilege profile needs a name"},
				{Pos: "a.yaml:11:9", Profile: "blank", Msg: "a privilege profile must be a mapping (key: value lines), not an empty value"},
			},
		},
		"privileges": {
			files: map[string]string{"a.yaml": head + `privilegeProfiles:
  p:
    database: [CONECT, tmp, USAGE]
    schema: [INSERT, usage]
    tables: [SELCT, TEMP, EXECUTE, 1, true, [SELECT]]
    sequences: ~
    functions: [select, "ALL PRIVILEGE"]
  q:
    tables: SELECT
    sequences: all
    database: orders
    schema: sales
    functions: {EXECUTE: true}
  r: {tables: [ſelect]}
`},
			want: []wantErr{
				{Pos: "a.yaml:6:16", Profile: "p", Msg: `unknown privilege "CONECT" under database; database takes CONNECT, CREATE, TEMPORARY (or TEMP), ALL; did you mean "CONNECT"?`},
				{Pos: "a.yaml:6:24", Profile: "p", Msg: `unknown privilege "tmp" under database; database takes CONNECT, CREATE, TEMPORARY (or TEMP), ALL; did you mean "TEMP"?`},
				{Pos: "a.yaml:6:29", Profile: "p", Msg: `privilege "USAGE" does not apply to database, only to schema and sequences; database takes CONNECT, CREATE, TEMPORARY (or TEMP), ALL`},
				{Pos: "a.yaml:7:14", Profile: "p", Msg: `privilege "INSERT" does not apply to schema, only to tables; schema takes USAGE, CREATE, ALL`},
				{Pos: "a.yaml:8:14", Profile: "p", Msg: `unknown privilege "SELCT" under tables; tables takes SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER, MAINTAIN, ALL; did you mean "SELECT"?`},
				{Pos: "a.yaml:8:21", Profile: "p", Msg: `privilege "TEMP" does not apply to tables, only to database; tables takes SELECT`},
				{Pos: "a.yaml:8:27", Profile: "p", Msg: `privilege "EXECUTE" does not apply to tables, only to functions`},
				{Pos: "a.yaml:8:36", Profile: "p", Msg: `unknown privilege "1" under tables`},
				{Pos: "a.yaml:8:39", Profile: "p", Msg: `a privilege under tables must be a string, not the boolean true`},
				{Pos: "a.yaml:8:45", Profile: "p", Msg: "a privilege under tables must be a string, not a list"},
				{Pos: "a.yaml:9:16", Profile: "p", Msg: "sequences has no value; write sequences: [] to hold no privilege there, or remove the key"},
				{Pos: "a.yaml:10:17", Profile: "p", Msg: `privilege "select" does not apply to functions, only to tables and sequences; functions takes EXECUTE, ALL`},
				{Pos: "a.yaml:10:25", Profile: "p", Msg: `unknown privilege "ALL PRIVILEGE" under functions; functions takes EXECUTE, ALL`},
				{Pos: "a.yaml:12:13", Profile: "q", Msg: `tables must be a list, not the string "SELECT"; write tables: [SELECT]`},
				{Pos: "a.yaml:13:16", Profile: "q", Msg: `sequences must be a list, not the string "all"; write sequences: [all]`},
				{Pos: "a.yaml:14:15", Profile: "q", Msg: `database must be a list of privileges, not the string "orders"; to name the database, write databases: [orders]`},
				{Pos: "a.yaml:15:13", Profile: "q", Msg: `schema must be a list of privileges, not the string "sales"; to name the schema, write schemas: [sales]`},
				{Pos: "a.yaml:16:16", Profile: "q", Msg: "functions must be a list, not a mapping"},
				// Only ASCII letters fold: Unicode maps ſ to S.
				{Pos: "a.yaml:17:16", Profile: "r", Msg: `unknown privilege "ſelect" under tables; tables takes SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER, MAINTAIN, ALL; did you mean "SELECT"?`},
			},
		},
		"profiles are unique across files": {
			files: map[string]string{
				"a.yaml": head + "privilegeProfiles:\n  p: {tables: [SELECT]}\n",
				"b.yaml": "version: 1\nprivilegeProfiles:\n  p: {tables: [INSERT]}\n  p: {tables: [UPDATE]}\n",
			},
			paths: []string{"a.yaml", "b.yaml"},
			want: []wantErr{
				{Pos: "b.yaml:3:3", Profile: "p", Msg: `privilege profile "p" is defined twice: here and at a.yaml:5:3; rename or merge one`},
				{Pos: "b.yaml:4:3", Msg: `key "p" is set twice in this mapping (first at b.yaml:3:3); keep one`},
			},
		},
		"privilegeProfiles must be a mapping": {
			files: map[string]string{"a.yaml": head + "privilegeProfiles: [readonly]\nprofiles: {}\n"},
			want: []wantErr{
				{Pos: "a.yaml:4:20", Msg: "privilegeProfiles must be a mapping (key: value lines), not a list"},
				{Pos: "a.yaml:5:1", Msg: `unknown key "profiles"; the file takes version, defaults, principalSets, roleSets, privilegeProfiles, servers`},
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

func TestLoadGrantErrors(t *testing.T) {
	tests := map[string]struct {
		body string
		want []wantErr
	}{
		"required keys and the kinds managed": {
			body: `servers:
  - name: a
    host: k
    grants:
      - {}
      - {to: x, databases: [d]}
      - {to: x, databases: [d], profile: nope}
      - {to: x, databases: [d], profile: readonly, tables: [SELCT], colour: red}
      - [x]
      - ~
`,
			want: []wantErr{
				{Pos: "a.yaml:8:9", Server: "a", Msg: "to is required: the role that holds the privileges (a group role, an Entra principal, or PUBLIC)"},
				{Pos: "a.yaml:8:9", Server: "a", Msg: "databases is required: the databases whose privileges this entry manages"},
				{Pos: "a.yaml:8:9", Server: "a", Msg: "the entry manages no privileges; name a profile or list at least one of database, schema, tables, sequences, functions"},
				{Pos: "a.yaml:9:9", Server: "a", Msg: "the entry manages no privileges"},
				{Pos: "a.yaml:10:42", Server: "a", Msg: `unknown privilege profile "nope"; the built-in ones are readonly, readwrite, serviceConnector, and no file defines privilegeProfiles`},
				{Pos: "a.yaml:11:61", Server: "a", Msg: `unknown privilege "SELCT" under tables`},
				{Pos: "a.yaml:11:69", Server: "a", Msg: `unknown key "colour"; a grant takes to, databases, schemas, profile, database, schema, tables, sequences, functions, columns, defaultsFor, cascade`},
				{Pos: "a.yaml:12:9", Server: "a", Msg: "a grant must be a mapping (key: value lines), not a list"},
				{Pos: "a.yaml:13:9", Server: "a", Msg: "a grant must be a mapping (key: value lines), not an empty value"},
			},
		},
		"to": {
			body: `servers:
  - name: a
    host: m
    grants:
      - {to: "", databases: [d], tables: []}
      - {to: azure_pg_admin, databases: [d], tables: []}
      - {to: pg_write_all_data, databases: [d], tables: []}
      - {to: "` + strings.Repeat("x", MaxNameBytes+1) + `", databases: [d], tables: []}
      - {to: ~, databases: [d], tables: []}
      - {to: [x], databases: [d], tables: []}
      - {to: "a\nb", databases: [d], tables: []}
`,
			want: []wantErr{
				{Pos: "a.yaml:8:14", Server: "a", Msg: "to is empty"},
				{Pos: "a.yaml:9:14", Server: "a", Msg: `to "azure_pg_admin" is a reserved role that Azure manages; pgusers never changes its privileges`},
				{Pos: "a.yaml:10:14", Server: "a", Msg: `to "pg_write_all_data" is reserved: PostgreSQL keeps every pg_* role for itself`},
				{Pos: "a.yaml:11:14", Server: "a", Msg: "is 64 bytes; PostgreSQL silently truncates names over 63 bytes"},
				{Pos: "a.yaml:12:14", Server: "a", Msg: "to has no value; set one or remove the key"},
				{Pos: "a.yaml:13:14", Server: "a", Msg: "to must be a string, not a list"},
				{Pos: "a.yaml:14:14", Server: "a", Msg: `to "a\nb" contains a control character`},
			},
		},
		"databases and schemas": {
			body: `servers:
  - name: a
    host: n
    grants:
      - {to: x, databases: [], schemas: [], tables: []}
      - {to: x, databases: ~, schemas: ~, tables: []}
      - {to: x, databases: orders, schemas: public, tables: []}
      - {to: x, databases: ["", "a\tb"], schemas: ["` + strings.Repeat("s", MaxNameBytes+1) + `", "a\0b"], tables: []}
      - {to: x, databases: [d], schemas: [s], database: [CONNECT]}
      - {to: x, databases: [d], schemas: [s], profile: connect}
      - {to: x, databases: [d], schemas: [], database: [CONNECT]}
privilegeProfiles:
  connect: {database: [CONNECT]}
`,
			want: []wantErr{
				{Pos: "a.yaml:8:28", Server: "a", Msg: "databases is empty; name at least one database"},
				{Pos: "a.yaml:8:41", Server: "a", Msg: "schemas is empty; name at least one schema, or remove the key for [public]"},
				{Pos: "a.yaml:9:28", Server: "a", Msg: "databases has no value; name the databases whose privileges this entry manages"},
				{Pos: "a.yaml:9:40", Server: "a", Msg: "schemas has no value; name the schemas, or remove the key for [public]"},
				{Pos: "a.yaml:10:28", Server: "a", Msg: `databases must be a list, not the string "orders"`},
				{Pos: "a.yaml:10:45", Server: "a", Msg: `schemas must be a list, not the string "public"`},
				{Pos: "a.yaml:11:29", Server: "a", Msg: "a database is empty"},
				{Pos: "a.yaml:11:33", Server: "a", Msg: `a database "a\tb" contains a control character (a line break, a tab, ...); pgusers refuses those in names`},
				{Pos: "a.yaml:11:52", Server: "a", Msg: "a schema \"" + strings.Repeat("s", MaxNameBytes+1) + "\" is 64 bytes; PostgreSQL silently truncates names over 63 bytes, so no such name exists"},
				{Pos: "a.yaml:11:120", Server: "a", Msg: "a schema contains a NUL byte, which PostgreSQL does not allow in a name"},
				{Pos: "a.yaml:12:33", Server: "a", Msg: "schemas applies to schema, tables, sequences and functions, and this entry manages only database; remove schemas"},
				{Pos: "a.yaml:13:33", Server: "a", Msg: "schemas applies to schema, tables, sequences and functions, and this entry manages only database"},
				{Pos: "a.yaml:14:42", Server: "a", Msg: "schemas is empty"},
			},
		},
		"defaultsFor": {
			body: `servers:
  - name: a
    host: p
    grants:
      - {to: x, databases: [d], schema: [USAGE], defaultsFor: [o]}
      - {to: x, databases: [d], profile: connect, defaultsFor: [o]}
      - {to: x, databases: [d], tables: [], defaultsFor: [public, "", PUBLIC, "a\nb"]}
      - {to: x, databases: [d], tables: [], defaultsFor: ~}
      - {to: x, databases: [d], tables: [], defaultsFor: o}
      - {to: x, databases: [d], database: [], defaultsFor: []}
privilegeProfiles:
  connect: {database: [CONNECT], schema: [USAGE]}
`,
			want: []wantErr{
				{Pos: "a.yaml:8:50", Server: "a", Msg: "defaultsFor applies to tables, sequences and functions, and this entry manages none of them; add one or remove defaultsFor"},
				{Pos: "a.yaml:9:51", Server: "a", Msg: "defaultsFor applies to tables, sequences and functions"},
				{Pos: "a.yaml:10:59", Server: "a", Msg: "defaultsFor cannot name PUBLIC: default privileges belong to a role that creates objects, and PUBLIC creates none"},
				{Pos: "a.yaml:10:67", Server: "a", Msg: "a defaultsFor role is empty"},
				{Pos: "a.yaml:10:71", Server: "a", Msg: "defaultsFor cannot name PUBLIC"},
				{Pos: "a.yaml:10:79", Server: "a", Msg: `a defaultsFor role "a\nb" contains a control character`},
				{Pos: "a.yaml:11:58", Server: "a", Msg: "defaultsFor has no value; name the roles that create the objects, or remove the key"},
				{Pos: "a.yaml:12:58", Server: "a", Msg: `defaultsFor must be a list, not the string "o"`},
			},
		},
		"absent roles": {
			body: `roleSets:
  old: [{name: legacy_rw, absent: true}]
servers:
  - name: a
    host: q
    includeRoles: [old]
    grants:
      - {to: legacy_rw, databases: [d], tables: [], defaultsFor: [legacy_rw, owner]}
  - name: b
    host: r
    grants:
      - {to: legacy_rw, databases: [d], tables: []}
`,
			want: []wantErr{
				{Pos: "a.yaml:11:14", Server: "a", Msg: "to names \"legacy_rw\", which this server declares absent: true (at a.yaml:5:9); remove one or the other"},
				{Pos: "a.yaml:11:67", Server: "a", Msg: "defaultsFor names \"legacy_rw\", which this server declares absent: true (at a.yaml:5:9); remove one or the other"},
			},
		},
		"grants must be a list, and stay out of defaults": {
			body: `  grants: []
servers:
  - {name: a, host: s, grants: {to: x}}
`,
			want: []wantErr{
				{Pos: "a.yaml:4:3", Msg: "grants is set on each server, not in defaults"},
				{Pos: "a.yaml:6:32", Server: "a", Msg: "grants must be a list, not a mapping"},
			},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			writeFiles(t, map[string]string{"a.yaml": head + tt.body})
			checkErrors(t, []string{"a.yaml"}, tt.want)
		})
	}
}

// A long cycle's message names its ends, not every profile in it.
func TestLoadProfileLongCycle(t *testing.T) {
	var b strings.Builder
	b.WriteString(head + "privilegeProfiles:\n")
	for i := range 10 {
		fmt.Fprintf(&b, "  p%d: {include: [p%d]}\n", i, (i+1)%10)
	}
	writeFiles(t, map[string]string{"a.yaml": b.String()})
	checkErrors(t, []string{"a.yaml"}, []wantErr{{Pos: "a.yaml:14:18", Profile: "p9",
		Msg: "include closes a cycle: p0 → p1 → p2 → p3 → … (2 more) → p6 → p7 → p8 → p9 → p0; a profile cannot include itself"}})
}

// Profiles resolve without recursion and in time linear in their number,
// and an unknown name costs a did-you-mean only so many times: a file of
// many thousands of profiles loads quickly, whatever they include.
func TestLoadManyProfiles(t *testing.T) {
	const n = 10_000
	var b strings.Builder
	b.WriteString(head + "privilegeProfiles:\n")
	for i := range n {
		// A chain, each also closing a cycle back to the start and naming
		// a profile of its own that does not exist.
		fmt.Fprintf(&b, "  p%d: {include: [p%d, p0, q%d]}\n", i, i+1, i)
	}
	fmt.Fprintf(&b, "  p%d: {tables: [SELECT]}\n", n)
	writeFiles(t, map[string]string{"a.yaml": b.String()})
	start := time.Now()
	_, err := Load(context.Background(), []string{"a.yaml"})
	took := time.Since(start)
	var errs Errors
	if !errors.As(err, &errs) || len(errs) != 2*n {
		t.Fatalf("Load: %d errors, want %d (a cycle and an unknown profile each)", len(errs), 2*n)
	}
	if took > 30*time.Second {
		t.Errorf("Load took %v for %d profiles", took, n)
	}
	suggested, listed := 0, 0
	for _, e := range errs {
		suggested += strings.Count(e.Msg, "did you mean")
		listed += strings.Count(e.Msg, "and 9981 more") // 10,001 profiles, 20 named
	}
	if suggested != maxSuggested || suggested+listed != n {
		t.Errorf("%d unknown profiles got a did-you-mean and %d a bounded list; want %d and the other %d",
			suggested, listed, maxSuggested, n-maxSuggested)
	}
}
