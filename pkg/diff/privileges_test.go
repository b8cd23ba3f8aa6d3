package diff

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pgusers/pgusers/pkg/spec"
)

const pg15 = 150004

// grantServer is a server whose grants are gs, and whose group roles are
// rs.
func grantServer(gs []spec.Grant, rs ...spec.Role) spec.Server {
	s := server(false)
	s.Grants, s.Roles = gs, rs
	return s
}

func kinds(kgs ...spec.KindGrant) []spec.KindGrant { return kgs }

func kg(k spec.Kind, privs ...string) spec.KindGrant {
	if privs == nil {
		privs = []string{}
	}
	return spec.KindGrant{Kind: k, Privileges: privs}
}

func allOf(k spec.Kind) spec.KindGrant {
	return spec.KindGrant{Kind: k, Privileges: []string{}, All: true}
}

// serviceConnector is the built-in profile's kinds.
var serviceConnector = kinds(allOf(spec.KindDatabase), kg(spec.KindSchema, "CREATE"), allOf(spec.KindTables), allOf(spec.KindSequences))

// ordersDB is database orders with schema public holding 2000 tables and
// 10 sequences of app_owner, read.
func ordersDB(acl []Privilege, publicACL []Privilege, holdings []Holding, defaults []DefaultPrivilege) ObservedDatabase {
	return ObservedDatabase{Name: "orders", Exists: true, Owner: "app_owner", ACL: acl, Read: true,
		Schemas: []ObservedSchema{{Name: "public", Owner: spec.AdminRole, ACL: publicACL,
			Objects:  []ObjectCount{{Kind: spec.KindTables, Owner: "app_owner", Count: 2000}, {Kind: spec.KindSequences, Owner: "app_owner", Count: 10}},
			Holdings: holdings}},
		Defaults: defaults}
}

// privObserved is a server with principal aad_orders, role app_owner the
// administrator may be lent, and db.
func privObserved(db ...ObservedDatabase) Observed {
	o := observed(ObservedPrincipal{Name: "aad_orders", Type: "service", ObjectID: oidA})
	o.Database = "postgres"
	o.ServerVersion = pg15
	o.Roles = []string{"aad_orders", "app_owner", "readers"}
	o.GroupRoles = []ObservedRole{{Name: "app_owner"}, {Name: "readers"}}
	o.Owners = []RoleFact{{Name: "app_owner"}, {Name: spec.AdminRole, Member: true, Usage: true}, {Name: "postgres", Super: true}}
	o.Databases = db
	return o
}

// footprint is what Service Connector leaves for aad_orders in orders.
func footprint() ObservedDatabase {
	var tables []Holding
	for _, p := range []string{"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"} {
		tables = append(tables, Holding{Kind: spec.KindTables, Grantee: "aad_orders", Privilege: p, Count: 2000})
	}
	for _, p := range []string{"USAGE", "SELECT", "UPDATE"} {
		tables = append(tables, Holding{Kind: spec.KindSequences, Grantee: "aad_orders", Privilege: p, Count: 10})
	}
	return ordersDB(
		[]Privilege{{Grantee: "aad_orders", Privilege: "CONNECT"}, {Grantee: "aad_orders", Privilege: "CREATE"},
			{Grantee: "aad_orders", Privilege: "TEMPORARY"}, {Grantee: spec.Public, Privilege: "CONNECT"}, {Grantee: spec.Public, Privilege: "TEMPORARY"}},
		[]Privilege{{Grantee: "aad_orders", Privilege: "CREATE"}, {Grantee: spec.Public, Privilege: "USAGE"}},
		tables, nil)
}

func scGrant() spec.Grant {
	return spec.Grant{To: "aad_orders", Databases: []string{"orders"}, Schemas: []string{"public"}, Kinds: serviceConnector,
		Profile: "serviceConnector", Pos: spec.Position{File: "f.yaml", Line: 9, Column: 9}}
}

func TestPrivileges(t *testing.T) {
	tables := func(to string, privs ...string) spec.Grant {
		return spec.Grant{To: to, Databases: []string{"orders"}, Schemas: []string{"public"}, Kinds: kinds(kg(spec.KindTables, privs...))}
	}
	withHoldings := func(hs ...Holding) ObservedDatabase { return ordersDB(nil, nil, hs, nil) }
	tests := map[string]struct {
		grants   []spec.Grant
		observed Observed
		want     []Change
		lends    []Lend
	}{
		"a Service Connector footprint plans in sync": {
			grants:   []spec.Grant{scGrant()},
			observed: privObserved(footprint()),
		},
		"a whole cell missing is one statement, with the owner lent": {
			grants:   []spec.Grant{tables("readers", "SELECT")},
			observed: privObserved(withHoldings()),
			want: []Change{{Action: GrantPrivileges, Grantee: "readers", Database: "orders", On: spec.KindTables, Schema: "public",
				Privileges: []string{"SELECT"}, In: "orders", Reason: "declared, SELECT on none of 2000 tables",
				Statements: []Statement{{SQL: `GRANT SELECT ON ALL TABLES IN SCHEMA "public" TO "readers"`}}}},
			lends: []Lend{{In: "orders", Roles: []string{"app_owner"}}},
		},
		"objects in a schema of another role: its owner is lent too (USAGE to name the schema)": {
			grants: []spec.Grant{tables("readers", "SELECT")},
			observed: func() Observed {
				db := withHoldings()
				db.Schemas[0].Owner = "schema_owner"
				o := privObserved(db)
				o.Owners = append(o.Owners, RoleFact{Name: "schema_owner"}) // sorted: after postgres
				return o
			}(),
			want: []Change{{Action: GrantPrivileges, Grantee: "readers", Database: "orders", On: spec.KindTables, Schema: "public",
				Privileges: []string{"SELECT"}, In: "orders", Reason: "declared, SELECT on none of 2000 tables",
				Statements: []Statement{{SQL: `GRANT SELECT ON ALL TABLES IN SCHEMA "public" TO "readers"`}}}},
			lends: []Lend{{In: "orders", Roles: []string{"app_owner", "schema_owner"}}},
		},
		"a SELECT revoked on one table": {
			grants:   []spec.Grant{tables("readers", "SELECT")},
			observed: privObserved(withHoldings(Holding{Kind: spec.KindTables, Grantee: "readers", Privilege: "SELECT", Count: 1999})),
			want: []Change{{Action: GrantPrivileges, Grantee: "readers", Database: "orders", On: spec.KindTables, Schema: "public",
				Privileges: []string{"SELECT"}, In: "orders", Reason: "declared, SELECT missing on 1 of 2000 tables",
				Statements: []Statement{{SQL: `GRANT SELECT ON ALL TABLES IN SCHEMA "public" TO "readers"`}}}},
			lends: []Lend{{In: "orders", Roles: []string{"app_owner"}}},
		},
		"an extra DELETE on one table, and a grant option": {
			grants: []spec.Grant{tables("readers", "SELECT")},
			observed: privObserved(withHoldings(
				Holding{Kind: spec.KindTables, Grantee: "readers", Privilege: "SELECT", Count: 1998},
				Holding{Kind: spec.KindTables, Grantee: "readers", Privilege: "SELECT", Grantable: true, Count: 2, Objects: []string{"public.a", "public.b"}},
				Holding{Kind: spec.KindTables, Grantee: "readers", Privilege: "DELETE", Count: 1, Objects: []string{"public.orders"}})),
			want: []Change{
				{Action: RevokePrivileges, Grantee: "readers", Database: "orders", On: spec.KindTables, Schema: "public",
					Privileges: []string{"DELETE"}, In: "orders", Reason: "not declared, DELETE held on 1 of 2000 tables (public.orders)",
					Statements: []Statement{{SQL: `REVOKE DELETE ON ALL TABLES IN SCHEMA "public" FROM "readers"`}}},
				{Action: RevokePrivileges, Grantee: "readers", Database: "orders", On: spec.KindTables, Schema: "public",
					Privileges: []string{"SELECT"}, GrantOption: true, In: "orders",
					Reason:     "declared without the grant option, SELECT held on 2 of 2000 tables (public.a, public.b) with it",
					Statements: []Statement{{SQL: `REVOKE GRANT OPTION FOR SELECT ON ALL TABLES IN SCHEMA "public" FROM "readers"`}}},
			},
			lends: []Lend{{In: "orders", Roles: []string{"app_owner"}}},
		},
		"cells no entry names are left alone": {
			grants: []spec.Grant{tables("readers", "SELECT")},
			observed: privObserved(ordersDB(
				[]Privilege{{Grantee: "readers", Privilege: "CREATE"}},
				[]Privilege{{Grantee: "readers", Privilege: "CREATE"}},
				[]Holding{{Kind: spec.KindTables, Grantee: "readers", Privilege: "SELECT", Count: 2000},
					{Kind: spec.KindTables, Grantee: "someone", Privilege: "DELETE", Count: 2000},
					{Kind: spec.KindSequences, Grantee: "readers", Privilege: "UPDATE", Count: 10}},
				[]DefaultPrivilege{{Owner: "app_owner", Schema: "public", Kind: spec.KindTables, Privilege: Privilege{Grantee: "readers", Privilege: "DELETE"}}})),
		},
		"PUBLIC keeps no database privilege": {
			grants: []spec.Grant{{To: spec.Public, Databases: []string{"orders"}, Schemas: []string{"public"}, Kinds: kinds(kg(spec.KindDatabase))}},
			observed: func() Observed {
				db := ordersDB([]Privilege{{Grantee: spec.Public, Privilege: "CONNECT"}, {Grantee: spec.Public, Privilege: "TEMPORARY"}}, nil, nil, nil)
				db.SelfConnect = true // the administrator connects without PUBLIC
				return privObserved(db)
			}(),
			want: []Change{{Action: RevokePrivileges, Grantee: spec.Public, Database: "orders", On: spec.KindDatabase,
				Privileges: []string{"CONNECT", "TEMPORARY"}, Reason: "not declared, held",
				Statements: []Statement{{SQL: `REVOKE CONNECT, TEMPORARY ON DATABASE "orders" FROM PUBLIC`}}}},
			lends: []Lend{{In: "", Roles: []string{"app_owner"}}},
		},
		"entries naming one cell declare its union": {
			grants: []spec.Grant{tables("readers", "SELECT"), tables("readers", "INSERT", "SELECT")},
			observed: privObserved(withHoldings(Holding{Kind: spec.KindTables, Grantee: "readers", Privilege: "SELECT", Count: 2000},
				Holding{Kind: spec.KindTables, Grantee: "readers", Privilege: "INSERT", Count: 2000})),
		},
		"default privileges made exact": {
			grants: []spec.Grant{{To: "readers", Databases: []string{"orders"}, Schemas: []string{"public"},
				Kinds: kinds(kg(spec.KindTables, "SELECT")), DefaultsFor: []string{"app_owner"}}},
			observed: privObserved(ordersDB(nil, nil, []Holding{{Kind: spec.KindTables, Grantee: "readers", Privilege: "SELECT", Count: 2000}},
				[]DefaultPrivilege{{Owner: "app_owner", Schema: "public", Kind: spec.KindTables, Privilege: Privilege{Grantee: "readers", Privilege: "DELETE"}}})),
			want: []Change{
				{Action: GrantDefaults, Grantee: "readers", Database: "orders", Owner: "app_owner", Schema: "public", On: spec.KindTables,
					Privileges: []string{"SELECT"}, In: "orders",
					Reason:     "declared in defaultsFor, not among the default privileges of tables created by app_owner in schema public",
					Statements: []Statement{{SQL: `ALTER DEFAULT PRIVILEGES FOR ROLE "app_owner" IN SCHEMA "public" GRANT SELECT ON TABLES TO "readers"`}}},
				{Action: RevokeDefaults, Grantee: "readers", Database: "orders", Owner: "app_owner", Schema: "public", On: spec.KindTables,
					Privileges: []string{"DELETE"}, In: "orders",
					Reason:     "among the default privileges of tables created by app_owner in schema public, not declared",
					Statements: []Statement{{SQL: `ALTER DEFAULT PRIVILEGES FOR ROLE "app_owner" IN SCHEMA "public" REVOKE DELETE ON TABLES FROM "readers"`}}},
			},
			lends: []Lend{{In: "orders", Roles: []string{"app_owner"}}},
		},
		"ALL on PostgreSQL 17 has MAINTAIN": {
			grants: []spec.Grant{{To: "readers", Databases: []string{"orders"}, Schemas: []string{"public"}, Kinds: kinds(allOf(spec.KindTables))}},
			observed: func() Observed {
				o := privObserved(withHoldings())
				o.ServerVersion = 170002
				o.Owners[0].Usage = true // the administrator has app_owner's privileges
				return o
			}(),
			want: []Change{{Action: GrantPrivileges, Grantee: "readers", Database: "orders", On: spec.KindTables, Schema: "public",
				Privileges: []string{"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER", "MAINTAIN"}, In: "orders",
				Reason: "declared, SELECT on none of 2000 tables; INSERT on none of 2000 tables; UPDATE on none of 2000 tables; " +
					"DELETE on none of 2000 tables; TRUNCATE on none of 2000 tables; REFERENCES on none of 2000 tables; " +
					"TRIGGER on none of 2000 tables; MAINTAIN on none of 2000 tables",
				Statements: []Statement{{SQL: `GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER, MAINTAIN ON ALL TABLES IN SCHEMA "public" TO "readers"`}}}},
		},
		"objects the grantee owns are not its cell's": {
			grants:   []spec.Grant{tables("app_owner", "SELECT")},
			observed: privObserved(withHoldings()),
		},
		"the owner of the database, the schema and the objects holds everything already": {
			grants: []spec.Grant{{To: "app_owner", Databases: []string{"orders"}, Schemas: []string{"public"},
				Kinds:       kinds(kg(spec.KindDatabase, "CONNECT", "TEMPORARY"), kg(spec.KindSchema, "USAGE"), kg(spec.KindTables, "SELECT")),
				DefaultsFor: []string{"app_owner"}}},
			observed: func() Observed {
				// The owner's own entries are left out by the reads, as
				// PostgreSQL leaves them implicit.
				db := withHoldings()
				db.Schemas[0].Owner = "app_owner"
				return privObserved(db)
			}(),
		},
		"an empty schema converges": {
			grants: []spec.Grant{tables("readers", "SELECT")},
			observed: func() Observed {
				db := withHoldings()
				db.Schemas[0].Objects = nil
				return privObserved(db)
			}(),
		},
		"the postgres database changes in the main transaction": {
			grants: []spec.Grant{{To: "readers", Databases: []string{"postgres"}, Schemas: []string{"public"}, Kinds: kinds(kg(spec.KindSchema, "USAGE"))}},
			observed: privObserved(ObservedDatabase{Name: "postgres", Exists: true, Owner: "azuresu", Read: true,
				Schemas: []ObservedSchema{{Name: "public", Owner: spec.AdminRole}}}),
			want: []Change{{Action: GrantPrivileges, Grantee: "readers", Database: "postgres", On: spec.KindSchema, Schema: "public",
				Privileges: []string{"USAGE"}, Reason: "declared, not held",
				Statements: []Statement{{SQL: `GRANT USAGE ON SCHEMA "public" TO "readers"`}}}},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Compute(grantServer(tt.grants), tt.observed)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got.Changes); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.lends, got.Lends); diff != "" {
				t.Errorf("lends (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPrivilegesRefuse(t *testing.T) {
	tables := spec.Grant{To: "readers", Databases: []string{"orders"}, Schemas: []string{"public"}, Kinds: kinds(kg(spec.KindTables, "SELECT")),
		Pos: spec.Position{File: "f.yaml", Line: 4, Column: 7}}
	tests := map[string]struct {
		server   spec.Server
		observed Observed
		want     string
	}{
		"a grantee that is nowhere": {
			server:   grantServer([]spec.Grant{func() spec.Grant { g := tables; g.To = "ghost"; return g }()}),
			observed: privObserved(ordersDB(nil, nil, nil, nil)),
			want:     "grants name ghost, which is not a role on the server and is not declared: declare it under roles or principals, or remove its grants (declared at f.yaml:4:7)",
		},
		"a database that does not exist": {
			server:   grantServer([]spec.Grant{tables}),
			observed: privObserved(ObservedDatabase{Name: "orders"}),
			want:     `grants to readers: database "orders" does not exist on the server: create it, or remove it from databases (declared at f.yaml:4:7)`,
		},
		"a schema that does not exist": {
			server:   grantServer([]spec.Grant{func() spec.Grant { g := tables; g.Schemas = []string{"sales"}; return g }()}),
			observed: privObserved(ordersDB(nil, nil, nil, nil)),
			want:     `grants to readers: schema "sales" does not exist in database "orders": create it, or remove it from schemas (declared at f.yaml:4:7)`,
		},
		"a defaultsFor owner that does not exist": {
			server:   grantServer([]spec.Grant{func() spec.Grant { g := tables; g.DefaultsFor = []string{"nobody"}; return g }()}),
			observed: privObserved(ordersDB(nil, nil, []Holding{{Kind: spec.KindTables, Grantee: "readers", Privilege: "SELECT", Count: 2000}}, nil)),
			want:     `defaultsFor names role "nobody", which does not exist on the server: create it, or remove it from defaultsFor (declared at f.yaml:4:7)`,
		},
		"objects owned by a superuser": {
			server: grantServer([]spec.Grant{tables}),
			observed: func() Observed {
				db := ordersDB(nil, nil, nil, nil)
				db.Schemas[0].Objects = []ObjectCount{{Kind: spec.KindTables, Owner: "postgres", Count: 3}}
				return privObserved(db)
			}(),
			want: "tables in schema public of database orders (3 owned by postgres): postgres is a superuser, which the signed-in administrator " +
				"pgadmin@contoso.com cannot act as; change those privileges as postgres by hand, or give the objects another owner (declared at f.yaml:4:7)",
		},
		"MAINTAIN before PostgreSQL 17": {
			server:   grantServer([]spec.Grant{func() spec.Grant { g := tables; g.Kinds = kinds(kg(spec.KindTables, "MAINTAIN")); return g }()}),
			observed: privObserved(ordersDB(nil, nil, nil, nil)),
			want:     "grants to readers in database orders name MAINTAIN, which this server (PostgreSQL 15.4) does not have; it exists from PostgreSQL 17 on (declared at f.yaml:4:7)",
		},
		"a role that is an Entra principal": {
			server:   grantServer(nil, spec.Role{Name: "aad_orders", Pos: spec.Position{File: "f.yaml", Line: 2, Column: 5}}),
			observed: privObserved(),
			want:     "role aad_orders is an Entra principal on the server (pgaadauth_list_principals lists it): declare it under principals, or pick another name for the group role (declared at f.yaml:2:5)",
		},
		"PUBLIC's CONNECT revoked from under the administrator": {
			server: grantServer([]spec.Grant{{To: spec.Public, Databases: []string{"orders"}, Kinds: kinds(kg(spec.KindDatabase, "TEMPORARY")),
				Pos: spec.Position{File: "f.yaml", Line: 4, Column: 7}}}),
			observed: privObserved(ordersDB([]Privilege{{Grantee: spec.Public, Privilege: "CONNECT"}, {Grantee: spec.Public, Privilege: "TEMPORARY"}}, nil, nil, nil)),
			want:     "revoking CONNECT on database orders from PUBLIC would lock out pgadmin@contoso.com, the administrator pgusers signs in as",
		},
		"a grantee declared absent": {
			server:   grantServer([]spec.Grant{tables}, spec.Role{Name: "readers", Absent: true}),
			observed: privObserved(ordersDB(nil, nil, nil, nil)),
			want:     "grants name readers, which this plan drops: declare it, or remove its grants (declared at f.yaml:4:7)",
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Compute(tt.server, tt.observed)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v\nwant one saying %q", err, tt.want)
			}
		})
	}
}

func TestRoles(t *testing.T) {
	pos := spec.Position{File: "f.yaml", Line: 3, Column: 5}
	tests := map[string]struct {
		roles    []spec.Role
		observed Observed
		want     []Change
	}{
		"created with a comment and memberships": {
			roles:    []spec.Role{{Name: "orders_rw", Comment: "it's for orders", ManageComment: true, ManageMemberships: true, MemberOf: []string{"readers"}, Pos: pos}},
			observed: privObserved(),
			want: []Change{
				{Action: CreateRole, Role: "orders_rw", Comment: "it's for orders", Reason: "declared, not on the server",
					Statements: []Statement{{SQL: `CREATE ROLE "orders_rw" NOLOGIN`}, {SQL: `COMMENT ON ROLE "orders_rw" IS 'it''s for orders'`}}},
				{Action: Grant, Principal: "orders_rw", Role: "readers", Reason: "declared in memberOf",
					Statements: []Statement{{SQL: `GRANT "readers" TO "orders_rw"`}}},
			},
		},
		"an existing role's comment and memberships": {
			roles: []spec.Role{{Name: "readers", Comment: "", ManageComment: true, ManageMemberships: true, MemberOf: []string{"app_owner"}}},
			observed: func() Observed {
				o := privObserved()
				o.GroupRoles[1] = ObservedRole{Name: "readers", Comment: "old", MemberOf: []string{"legacy"}}
				o.Roles = append(o.Roles, "legacy")
				return o
			}(),
			want: []Change{
				{Action: AlterRole, Role: "readers", Reason: `comment "old" on the server, "" declared`,
					Statements: []Statement{{SQL: `COMMENT ON ROLE "readers" IS NULL`}}},
				{Action: Grant, Principal: "readers", Role: "app_owner", Reason: "declared in memberOf, not a member on the server",
					Statements: []Statement{{SQL: `GRANT "app_owner" TO "readers"`}}},
				{Action: Revoke, Principal: "readers", Role: "legacy", Reason: "a member on the server, not in memberOf",
					Statements: []Statement{{SQL: `REVOKE "legacy" FROM "readers"`}}},
			},
		},
		"unmanaged comment and memberships are left alone": {
			roles: []spec.Role{{Name: "readers"}},
			observed: func() Observed {
				o := privObserved()
				o.GroupRoles[1] = ObservedRole{Name: "readers", Comment: "old", MemberOf: []string{"legacy"}}
				return o
			}(),
		},
		"absent and present is dropped, absent and missing is nothing": {
			roles:    []spec.Role{{Name: "readers", Absent: true}, {Name: "gone", Absent: true}},
			observed: privObserved(),
			want: []Change{{Action: DropRole, Role: "readers", Reason: "declared absent, on the server",
				Statements: []Statement{{SQL: `DROP ROLE "readers"`}}}},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Compute(grantServer(nil, tt.roles...), tt.observed)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got.Changes); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRenamedFrom(t *testing.T) {
	old := ObservedPrincipal{Name: "carol.old@contoso.com", Type: "user", ObjectID: oidA, MemberOf: []string{"readers"}}
	carol := spec.Principal{Name: "carol.new@contoso.com", Type: spec.User, ObjectID: oidA, ManageMemberships: true,
		MemberOf: []string{"writers"}, RenamedFrom: "carol.old@contoso.com", Pos: spec.Position{File: "f.yaml", Line: 5, Column: 7}}
	o := observed(old)
	o.Roles = []string{"readers", "writers"}
	got, err := Compute(server(true, carol), o)
	if err != nil {
		t.Fatal(err)
	}
	want := []Change{
		{Action: Rename, Principal: "carol.new@contoso.com", From: "carol.old@contoso.com", Type: "user", ObjectID: oidA,
			Reason:     "renamedFrom: its name changed in Entra; the role keeps its object id, memberships, grants and objects",
			Statements: []Statement{{SQL: `ALTER ROLE "carol.old@contoso.com" RENAME TO "carol.new@contoso.com"`}}},
		{Action: Grant, Principal: "carol.new@contoso.com", Role: "writers", Reason: "declared in memberOf, not a member on the server",
			Statements: []Statement{{SQL: `GRANT "writers" TO "carol.new@contoso.com"`}}},
		{Action: Revoke, Principal: "carol.new@contoso.com", Role: "readers", Reason: "a member on the server, not in memberOf",
			Statements: []Statement{{SQL: `REVOKE "readers" FROM "carol.new@contoso.com"`}}},
	}
	if diff := cmp.Diff(want, got.Changes); diff != "" {
		t.Errorf("changes (-want +got), with prune on and the old name undeclared:\n%s", diff)
	}

	carol.RenamedFrom = ""
	_, err = Compute(server(true, carol), o)
	if err == nil || !strings.Contains(err.Error(), "objectId "+oidA+" is held on the server by principal carol.old@contoso.com: "+
		"one Entra object backs one role. If carol.old@contoso.com was renamed in Entra (its UPN changed), add renamedFrom: carol.old@contoso.com") {
		t.Errorf("without renamedFrom: %v", err)
	}
}

func TestMembershipCycles(t *testing.T) {
	o := privObserved()
	o.GroupRoles = append(o.GroupRoles, ObservedRole{Name: "m3", MemberOf: []string{"m4"}}, ObservedRole{Name: "m4"})
	o.Roles = append(o.Roles, "m3", "m4")
	slices.SortFunc(o.GroupRoles, func(a, b ObservedRole) int { return strings.Compare(a.Name, b.Name) })
	slices.Sort(o.Roles)
	// m4 declared a member of m3, which the server has a member of m4.
	s := grantServer(nil, spec.Role{Name: "m4", ManageMemberships: true, MemberOf: []string{"m3"}})
	_, err := Compute(s, o)
	if err == nil || !strings.Contains(err.Error(), "memberOf makes a cycle of memberships, m4 → m3 → m4") {
		t.Errorf("a cycle through a membership on the server: %v", err)
	}
	// Two declared principals' memberOf make a cycle between them.
	a := spec.Principal{Name: "a", Type: spec.Group, ManageMemberships: true, MemberOf: []string{"b"}}
	b := spec.Principal{Name: "b", Type: spec.Group, ManageMemberships: true, MemberOf: []string{"a"}}
	_, err = Compute(server(false, a, b), observed())
	if err == nil || !strings.Contains(err.Error(), "a → b → a") || strings.Count(err.Error(), "cycle") != 1 {
		t.Errorf("a cycle between declared principals, reported once: %v", err)
	}
}

// A cause that several cells share is one problem: a missing schema is
// found from each kind an entry names there.
func TestPrivilegesProblemSaidOnce(t *testing.T) {
	g := spec.Grant{To: "readers", Databases: []string{"orders"}, Schemas: []string{"sales"},
		Kinds: kinds(kg(spec.KindSchema, "USAGE"), kg(spec.KindTables, "SELECT"), kg(spec.KindSequences, "SELECT")),
		Pos:   spec.Position{File: "f.yaml", Line: 4, Column: 7}}
	_, err := Compute(grantServer([]spec.Grant{g}), privObserved(ordersDB(nil, nil, nil, nil)))
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v, want an *Error", err)
	}
	want := []Problem{{Msg: `grants to readers: schema "sales" does not exist in database "orders": create it, or remove it from schemas (declared at f.yaml:4:7)`}}
	if diff := cmp.Diff(want, e.Problems); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}
