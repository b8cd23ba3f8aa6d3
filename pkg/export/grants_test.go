package export

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/pgusers/pgusers/pkg/diff"
	"github.com/pgusers/pgusers/pkg/spec"
)

const pg15 = 150004

// schema is a schema of app_owner's objects: tables tables and seqs
// sequences, with holdings hs.
func schema(name string, tables, seqs int, hs ...diff.Holding) diff.ObservedSchema {
	s := diff.ObservedSchema{Name: name, Owner: "app_owner", Holdings: hs}
	if tables > 0 {
		s.Objects = append(s.Objects, diff.ObjectCount{Kind: spec.KindTables, Owner: "app_owner", Count: tables})
	}
	if seqs > 0 {
		s.Objects = append(s.Objects, diff.ObjectCount{Kind: spec.KindSequences, Owner: "app_owner", Count: seqs})
	}
	return s
}

func holds(grantee string, k spec.Kind, privilege string, n int) diff.Holding {
	return diff.Holding{Kind: k, Grantee: grantee, Privilege: privilege, Count: n}
}

func usage(grantees ...string) []diff.Privilege {
	var out []diff.Privilege
	for _, g := range grantees {
		out = append(out, diff.Privilege{Grantee: g, Privilege: "USAGE"})
	}
	return out
}

func defaultOf(owner, schema string, k spec.Kind, grantee, privilege string) diff.DefaultPrivilege {
	return diff.DefaultPrivilege{Owner: owner, Schema: schema, Kind: k, Privilege: diff.Privilege{Grantee: grantee, Privilege: privilege}}
}

// The folding of what each grantee holds into grant entries: one entry per
// set of schemas that hold the same, the database's own privileges on the
// first, defaultsFor where the defaults are exactly the entry's, and a note
// for what a grant entry cannot say.
func TestGrantsFold(t *testing.T) {
	tests := map[string]struct {
		grantees []string
		db       diff.ObservedDatabase
		want     []entry
		notes    []string
	}{
		"schemas that hold the same are one entry, the database's privileges join the first": {
			grantees: []string{"ro"},
			db: diff.ObservedDatabase{Name: "orders", ACL: []diff.Privilege{{Grantee: "ro", Privilege: "CONNECT"}, {Grantee: "other", Privilege: "CREATE"}},
				Schemas: []diff.ObservedSchema{
					withACL(schema("public", 3, 0, holds("ro", spec.KindTables, "SELECT", 3)), usage("ro")),
					withACL(schema("sales", 2, 0, holds("ro", spec.KindTables, "SELECT", 2)), usage("ro")),
					withACL(schema("other", 1, 0, holds("ro", spec.KindTables, "INSERT", 1)), usage("ro")),
				}},
			want: []entry{
				{to: "ro", db: "orders", schemas: []string{"public", "sales"}, kinds: map[spec.Kind][]string{
					spec.KindDatabase: {"CONNECT"}, spec.KindSchema: {"USAGE"}, spec.KindTables: {"SELECT"}}},
				{to: "ro", db: "orders", schemas: []string{"other"}, kinds: map[spec.Kind][]string{
					spec.KindSchema: {"USAGE"}, spec.KindTables: {"INSERT"}}},
			},
		},
		"a privilege on some objects of a kind is a note, not a grant": {
			grantees: []string{"rw"},
			db: diff.ObservedDatabase{Name: "orders", Schemas: []diff.ObservedSchema{
				schema("public", 3, 2, holds("rw", spec.KindTables, "SELECT", 3), holds("rw", spec.KindTables, "TRUNCATE", 1),
					holds("rw", spec.KindSequences, "USAGE", 2))}},
			// An entry with tables: [SELECT] would revoke the TRUNCATE it
			// leaves alone: the tables are left out whole.
			want: []entry{{to: "rw", db: "orders", schemas: []string{"public"}, kinds: map[spec.Kind][]string{
				spec.KindSequences: {"USAGE"}}}},
			notes: []string{"rw holds TRUNCATE on 1 of 3 tables in orders.public: a grant covers all of them or none, so it is not exported"},
		},
		"objects the grantee owns are not counted": {
			grantees: []string{"app_owner", "ro"},
			db: diff.ObservedDatabase{Name: "orders", Schemas: []diff.ObservedSchema{func() diff.ObservedSchema {
				s := schema("public", 2, 0, holds("ro", spec.KindTables, "SELECT", 2), holds("app_owner", spec.KindTables, "SELECT", 1))
				s.Objects = append(s.Objects, diff.ObjectCount{Kind: spec.KindTables, Owner: "ro", Count: 4})
				return s
			}()}},
			want: []entry{{to: "ro", db: "orders", schemas: []string{"public"}, kinds: map[spec.Kind][]string{spec.KindTables: {"SELECT"}}}},
			notes: []string{"app_owner holds SELECT on 1 of 4 tables in orders.public: a grant covers all of them or none, " +
				"so it is not exported"},
		},
		"defaults exactly the entry's are defaultsFor; others are a note": {
			grantees: []string{"ro"},
			db: diff.ObservedDatabase{Name: "orders", Schemas: []diff.ObservedSchema{
				schema("public", 1, 1, holds("ro", spec.KindTables, "SELECT", 1), holds("ro", spec.KindSequences, "SELECT", 1))},
				Defaults: []diff.DefaultPrivilege{
					defaultOf("app_owner", "public", spec.KindTables, "ro", "SELECT"),
					defaultOf("app_owner", "public", spec.KindSequences, "ro", "SELECT"),
					defaultOf("etl", "public", spec.KindTables, "ro", "SELECT"),
				}},
			want: []entry{{to: "ro", db: "orders", schemas: []string{"public"}, defaultsFor: []string{"app_owner"},
				kinds: map[spec.Kind][]string{spec.KindTables: {"SELECT"}, spec.KindSequences: {"SELECT"}}}},
			notes: []string{"the default privileges of etl for ro in database orders differ from what ro holds on the objects there, " +
				"so they are not exported"},
		},
		"the database's privileges alone are an entry without schemas": {
			grantees: []string{"ro", "nobody"},
			db:       diff.ObservedDatabase{Name: "orders", ACL: []diff.Privilege{{Grantee: "ro", Privilege: "TEMPORARY"}, {Grantee: "ro", Privilege: "CONNECT"}}},
			want:     []entry{{to: "ro", db: "orders", kinds: map[spec.Kind][]string{spec.KindDatabase: {"CONNECT", "TEMPORARY"}}}},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got, notes := grants(tt.grantees, Databases{tt.db}, pg15)
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(entry{})); diff != "" {
				t.Errorf("entries (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.notes, notes); diff != "" {
				t.Errorf("notes (-want +got):\n%s", diff)
			}
		})
	}
}

func withACL(s diff.ObservedSchema, acl []diff.Privilege) diff.ObservedSchema {
	s.ACL = acl
	return s
}

// An entry is written with a built-in profile's name where its kinds are
// exactly the profile's, ALL where a kind holds every privilege the server
// has, and no schemas when they are [public].
func TestGrantNode(t *testing.T) {
	tests := map[string]struct {
		e       entry
		version int
		want    string
	}{
		"a built-in profile": {
			e: entry{to: "ro", db: "orders", schemas: []string{"public", "sales"}, defaultsFor: []string{"app_owner"},
				kinds: map[spec.Kind][]string{spec.KindDatabase: {"CONNECT"}, spec.KindSchema: {"USAGE"},
					spec.KindTables: {"SELECT"}, spec.KindSequences: {"SELECT"}}},
			version: pg15,
			want:    "to: ro\ndatabases: [orders]\nschemas: [public, sales]\nprofile: readonly\ndefaultsFor: [app_owner]\n",
		},
		"ALL on PostgreSQL 15, and no schemas for [public]": {
			e: entry{to: "rw", db: "orders", schemas: []string{"public"},
				kinds: map[spec.Kind][]string{spec.KindTables: {"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"},
					spec.KindFunctions: {"EXECUTE"}}},
			version: pg15,
			want:    "to: rw\ndatabases: [orders]\ntables: [ALL]\nfunctions: [EXECUTE]\n",
		},
		"the same tables on PostgreSQL 17 lack MAINTAIN: not ALL": {
			e: entry{to: "rw", db: "orders", schemas: []string{"public"},
				kinds: map[spec.Kind][]string{spec.KindTables: {"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"}}},
			version: 170002,
			want:    "to: rw\ndatabases: [orders]\ntables: [SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER]\n",
		},
		"database privileges alone name no schemas": {
			e:       entry{to: "ro", db: "billing", schemas: []string{"sales"}, kinds: map[spec.Kind][]string{spec.KindDatabase: {"CONNECT"}}},
			version: pg15,
			want:    "to: ro\ndatabases: [billing]\ndatabase: [CONNECT]\n",
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			enc := yaml.NewEncoder(&b)
			if err := enc.Encode(grantNode(tt.e, tt.version)); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, b.String()); diff != "" {
				t.Errorf("grant entry (-want +got):\n%s", diff)
			}
		})
	}
}

// The group roles export declares are those the principals reach through
// memberships, through other group roles too; never an Entra principal
// (declared as one) nor Azure's or PostgreSQL's own roles.
func TestRolesOf(t *testing.T) {
	o := diff.Observed{
		Principals: []diff.ObservedPrincipal{
			{Name: "app1", MemberOf: []string{"orders_rw", spec.AdminRole}},
			{Name: "bob", MemberOf: []string{"team"}},
			{Name: "team", MemberOf: []string{"pg_read_all_data"}},
		},
		GroupRoles: []diff.ObservedRole{
			{Name: "base", MemberOf: []string{"pg_monitor"}},
			{Name: "orders_ro", MemberOf: []string{"base", "team"}},
			{Name: "orders_rw", MemberOf: []string{"orders_ro"}},
		},
	}
	if diff := cmp.Diff([]string{"base", "orders_ro", "orders_rw"}, rolesOf(o)); diff != "" {
		t.Errorf("roles (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"app1", "base", "bob", "orders_ro", "orders_rw", "team"}, Grantees(o)); diff != "" {
		t.Errorf("grantees (-want +got):\n%s", diff)
	}
	// Knowing only the principals' memberships, the roles reached so far:
	// the reads ask about them and look again.
	o.GroupRoles = nil
	if diff := cmp.Diff([]string{"orders_rw"}, GroupRoles(o)); diff != "" {
		t.Errorf("roles known from the principals alone (-want +got):\n%s", diff)
	}
}
