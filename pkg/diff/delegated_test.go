package diff

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pgusers/pgusers/pkg/spec"
)

// roOrders is the grant of SELECT on the tables of orders.public to
// readers, which holds it on every table, with cascade as given.
func roOrders(cascade bool) spec.Grant {
	return spec.Grant{To: "readers", Databases: []string{"orders"}, Schemas: []string{"public"}, Kinds: kinds(kg(spec.KindTables, "SELECT")),
		Cascade: cascade, Pos: spec.Position{File: "f.yaml", Line: 4, Column: 7}}
}

// delegatedOrders is orders where readers holds SELECT on every table,
// WITH GRANT OPTION on public.t2, DELETE on public.t1, and delegated.
func delegatedOrders(delegated ...Delegated) Observed {
	db := ordersDB(nil, nil, []Holding{
		{Kind: spec.KindTables, Grantee: "readers", Privilege: "SELECT", Count: 1999},
		{Kind: spec.KindTables, Grantee: "readers", Privilege: "SELECT", Grantable: true, Count: 1, Objects: []string{"public.t2"}},
		{Kind: spec.KindTables, Grantee: "readers", Privilege: "DELETE", Count: 1, Objects: []string{"public.t1"}},
	}, nil)
	db.Schemas[0].Delegated = delegated
	o := privObserved(db)
	o.Owners = append(o.Owners, RoleFact{Name: "mgr"})
	slices.SortFunc(o.Owners, func(a, b RoleFact) int { return strings.Compare(a.Name, b.Name) })
	return o
}

func TestRevokesWithDelegatedEntries(t *testing.T) {
	analyst := Delegated{Kind: spec.KindTables, Grantor: "readers", Grantee: "analyst", Privilege: "SELECT", Count: 1, Objects: []string{"public.t2"}}
	byMgr := Delegated{Kind: spec.KindTables, Grantor: "mgr", Grantee: "readers", Privilege: "DELETE", Count: 1, Objects: []string{"public.t1"}}
	revokeDelete := func(reason string, more ...Statement) Change {
		return Change{Action: RevokePrivileges, Grantee: "readers", Database: "orders", On: spec.KindTables, Schema: "public",
			Privileges: []string{"DELETE"}, In: "orders", Reason: reason,
			Statements: append([]Statement{{SQL: `REVOKE DELETE ON ALL TABLES IN SCHEMA "public" FROM "readers"`}}, more...)}
	}
	tests := map[string]struct {
		grant    spec.Grant
		also     []spec.Grant // other entries
		observed Observed
		want     []Change
		lends    []Lend
	}{
		"a third grantor's entry is revoked as it, object by object, the grantor lent": {
			grant:    roOrders(false),
			observed: delegatedOrders(byMgr),
			want: []Change{
				revokeDelete("not declared, DELETE held on 1 of 2000 tables (public.t1); DELETE on public.t1 granted by mgr, revoked as mgr",
					Statement{SQL: `SET ROLE "mgr"`}, Statement{SQL: `REVOKE DELETE ON TABLE public.t1 FROM "readers"`}, Statement{SQL: "RESET ROLE"}),
				{Action: RevokePrivileges, Grantee: "readers", Database: "orders", On: spec.KindTables, Schema: "public",
					Privileges: []string{"SELECT"}, GrantOption: true, In: "orders",
					Reason:     "declared without the grant option, SELECT held on 1 of 2000 tables (public.t2) with it",
					Statements: []Statement{{SQL: `REVOKE GRANT OPTION FOR SELECT ON ALL TABLES IN SCHEMA "public" FROM "readers"`}}},
			},
			lends: []Lend{{In: "orders", Roles: []string{"app_owner", "mgr"}}},
		},
		"with cascade, the grant option goes with what depends on it": {
			grant:    roOrders(true),
			observed: delegatedOrders(analyst),
			want: []Change{
				revokeDelete("not declared, DELETE held on 1 of 2000 tables (public.t1)"),
				{Action: RevokePrivileges, Grantee: "readers", Database: "orders", On: spec.KindTables, Schema: "public",
					Privileges: []string{"SELECT"}, GrantOption: true, In: "orders",
					Reason: "declared without the grant option, SELECT held on 1 of 2000 tables (public.t2) with it; " +
						"with CASCADE, also revokes what readers passed on: analyst: SELECT on public.t2",
					Statements: []Statement{{SQL: `REVOKE GRANT OPTION FOR SELECT ON ALL TABLES IN SCHEMA "public" FROM "readers" CASCADE`}}},
			},
			lends: []Lend{{In: "orders", Roles: []string{"app_owner"}}},
		},
		"with cascade, what goes is granted again to a dependent whose cell declares it": {
			grant: roOrders(true),
			also: []spec.Grant{{To: "analyst", Databases: []string{"orders"}, Schemas: []string{"public"},
				Kinds: kinds(kg(spec.KindTables, "SELECT"))}},
			observed: func() Observed {
				o := delegatedOrders(analyst)
				o.Roles = append(o.Roles, "analyst")
				slices.Sort(o.Roles)
				// analyst holds SELECT on every table, on t2 from readers.
				o.Databases[0].Schemas[0].Holdings = append(o.Databases[0].Schemas[0].Holdings,
					Holding{Kind: spec.KindTables, Grantee: "analyst", Privilege: "SELECT", Count: 2000})
				return o
			}(),
			want: []Change{
				revokeDelete("not declared, DELETE held on 1 of 2000 tables (public.t1)"),
				{Action: RevokePrivileges, Grantee: "readers", Database: "orders", On: spec.KindTables, Schema: "public",
					Privileges: []string{"SELECT"}, GrantOption: true, In: "orders",
					Reason: "declared without the grant option, SELECT held on 1 of 2000 tables (public.t2) with it; " +
						"with CASCADE, also revokes what readers passed on: analyst: SELECT on public.t2; " +
						"SELECT granted again to analyst, which its grants declare",
					Statements: []Statement{{SQL: `REVOKE GRANT OPTION FOR SELECT ON ALL TABLES IN SCHEMA "public" FROM "readers" CASCADE`},
						{SQL: `GRANT SELECT ON ALL TABLES IN SCHEMA "public" TO "analyst"`}}},
			},
			lends: []Lend{{In: "orders", Roles: []string{"app_owner"}}},
		},
		"a grant option the grantee holds from a third grantor is revoked as it": {
			grant: roOrders(false),
			observed: delegatedOrders(Delegated{Kind: spec.KindTables, Grantor: "mgr", Grantee: "readers", Privilege: "SELECT", Grantable: true,
				Count: 1, Objects: []string{"public.t2"}}),
			want: []Change{
				revokeDelete("not declared, DELETE held on 1 of 2000 tables (public.t1)"),
				{Action: RevokePrivileges, Grantee: "readers", Database: "orders", On: spec.KindTables, Schema: "public",
					Privileges: []string{"SELECT"}, GrantOption: true, In: "orders",
					Reason: "declared without the grant option, SELECT held on 1 of 2000 tables (public.t2) with it; " +
						"SELECT on public.t2 granted by mgr, revoked as mgr",
					Statements: []Statement{{SQL: `REVOKE GRANT OPTION FOR SELECT ON ALL TABLES IN SCHEMA "public" FROM "readers"`},
						{SQL: `SET ROLE "mgr"`}, {SQL: `REVOKE GRANT OPTION FOR SELECT ON TABLE public.t2 FROM "readers"`}, {SQL: "RESET ROLE"}}},
			},
			lends: []Lend{{In: "orders", Roles: []string{"app_owner", "mgr"}}},
		},
		"on a schema, naming the schema": {
			grant: spec.Grant{To: "readers", Databases: []string{"orders"}, Schemas: []string{"public"}, Kinds: kinds(kg(spec.KindSchema, "USAGE"))},
			observed: func() Observed {
				o := delegatedOrders()
				s := &o.Databases[0].Schemas[0]
				s.ACL = []Privilege{{Grantee: "readers", Privilege: "CREATE"}, {Grantee: "readers", Privilege: "USAGE"}}
				s.Delegated = []Delegated{{Kind: spec.KindSchema, Grantor: "mgr", Grantee: "readers", Privilege: "CREATE", Count: 1,
					Objects: []string{"public"}}}
				return o
			}(),
			want: []Change{{Action: RevokePrivileges, Grantee: "readers", Database: "orders", On: spec.KindSchema, Schema: "public",
				Privileges: []string{"CREATE"}, In: "orders", Reason: "not declared, held; CREATE on the schema granted by mgr, revoked as mgr",
				Statements: []Statement{{SQL: `REVOKE CREATE ON SCHEMA "public" FROM "readers"`},
					{SQL: `SET ROLE "mgr"`}, {SQL: `REVOKE CREATE ON SCHEMA "public" FROM "readers"`}, {SQL: "RESET ROLE"}}}},
			lends: []Lend{{In: "orders", Roles: []string{"mgr"}}},
		},
		"on a database too, in the main transaction": {
			grant: spec.Grant{To: "readers", Databases: []string{"orders"}, Kinds: kinds(kg(spec.KindDatabase, "CONNECT"))},
			observed: func() Observed {
				o := delegatedOrders()
				db := &o.Databases[0]
				db.ACL = []Privilege{{Grantee: "readers", Privilege: "CONNECT"}, {Grantee: "readers", Privilege: "TEMPORARY"}}
				db.Delegated = []Delegated{{Kind: spec.KindDatabase, Grantor: "mgr", Grantee: "readers", Privilege: "TEMPORARY", Count: 1,
					Objects: []string{"orders"}}}
				return o
			}(),
			want: []Change{{Action: RevokePrivileges, Grantee: "readers", Database: "orders", On: spec.KindDatabase,
				Privileges: []string{"TEMPORARY"}, Reason: "not declared, held; TEMPORARY on the database granted by mgr, revoked as mgr",
				Statements: []Statement{{SQL: `REVOKE TEMPORARY ON DATABASE "orders" FROM "readers"`},
					{SQL: `SET ROLE "mgr"`}, {SQL: `REVOKE TEMPORARY ON DATABASE "orders" FROM "readers"`}, {SQL: "RESET ROLE"}}}},
			lends: []Lend{{In: "", Roles: []string{"app_owner", "mgr"}}},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Compute(grantServer(append([]spec.Grant{tt.grant}, tt.also...)), tt.observed)
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

// A revoke that cannot converge is withheld, saying why, once; the rest
// of the plan goes on.
func TestRevokesWithDelegatedEntriesWithheld(t *testing.T) {
	cell := Cell{Grantee: "readers", Database: "orders", On: spec.KindTables, Schema: "public"}
	revokeDelete := Change{Action: RevokePrivileges, Grantee: "readers", Database: "orders", On: spec.KindTables, Schema: "public",
		Privileges: []string{"DELETE"}, In: "orders", Reason: "not declared, DELETE held on 1 of 2000 tables (public.t1)",
		Statements: []Statement{{SQL: `REVOKE DELETE ON ALL TABLES IN SCHEMA "public" FROM "readers"`}}}
	revokeOption := Change{Action: RevokePrivileges, Grantee: "readers", Database: "orders", On: spec.KindTables, Schema: "public",
		Privileges: []string{"SELECT"}, GrantOption: true, In: "orders",
		Reason:     "declared without the grant option, SELECT held on 1 of 2000 tables (public.t2) with it",
		Statements: []Statement{{SQL: `REVOKE GRANT OPTION FOR SELECT ON ALL TABLES IN SCHEMA "public" FROM "readers"`}}}
	tests := map[string]struct {
		observed Observed
		want     []Change
		withheld []Withheld
	}{
		"a grant option passed on, without cascade": {
			observed: delegatedOrders(Delegated{Kind: spec.KindTables, Grantor: "readers", Grantee: "analyst", Privilege: "SELECT", Count: 1,
				Objects: []string{"public.t2"}}),
			want: []Change{revokeDelete},
			withheld: []Withheld{{Cell: cell, Why: `readers keeps the grant option for SELECT on tables in schema public of database orders: ` +
				`revoking it would fail with "dependent privileges exist", as readers passed it on from its grant option ` +
				`(analyst: SELECT on public.t2); revoke those from their grantees first, or set cascade: true on the grant entry to ` +
				`revoke them with it (declared at f.yaml:4:7)`}},
		},
		"a third grantor that is a superuser": {
			observed: func() Observed {
				o := delegatedOrders(Delegated{Kind: spec.KindTables, Grantor: "mgr", Grantee: "readers", Privilege: "DELETE", Count: 1,
					Objects: []string{"public.t1"}})
				o.Owners[slices.IndexFunc(o.Owners, func(f RoleFact) bool { return f.Name == "mgr" })].Super = true
				return o
			}(),
			want: []Change{revokeOption},
			withheld: []Withheld{{Cell: cell, Why: "readers keeps DELETE on tables in schema public of database orders, granted by mgr " +
				"(DELETE on public.t1): mgr is a superuser, which the signed-in administrator pgadmin@contoso.com cannot act as; " +
				"revoke them as mgr by hand (declared at f.yaml:4:7)"}},
		},
		"only the privileges a grantor out of reach granted are withheld": {
			observed: func() Observed {
				o := delegatedOrders(Delegated{Kind: spec.KindTables, Grantor: "mgr", Grantee: "readers", Privilege: "DELETE", Count: 1,
					Objects: []string{"public.t1"}})
				o.Owners[slices.IndexFunc(o.Owners, func(f RoleFact) bool { return f.Name == "mgr" })].Super = true
				o.Databases[0].Schemas[0].Holdings = append(o.Databases[0].Schemas[0].Holdings,
					Holding{Kind: spec.KindTables, Grantee: "readers", Privilege: "UPDATE", Count: 2, Objects: []string{"public.t1", "public.t2"}})
				return o
			}(),
			want: []Change{{Action: RevokePrivileges, Grantee: "readers", Database: "orders", On: spec.KindTables, Schema: "public",
				Privileges: []string{"UPDATE"}, In: "orders", Reason: "not declared, UPDATE held on 2 of 2000 tables (public.t1, public.t2)",
				Statements: []Statement{{SQL: `REVOKE UPDATE ON ALL TABLES IN SCHEMA "public" FROM "readers"`}}}, revokeOption},
			withheld: []Withheld{{Cell: cell, Why: "readers keeps DELETE on tables in schema public of database orders, granted by mgr " +
				"(DELETE on public.t1): mgr is a superuser, which the signed-in administrator pgadmin@contoso.com cannot act as; " +
				"revoke them as mgr by hand (declared at f.yaml:4:7)"}},
		},
		"a third grantor that can no longer name the objects": {
			observed: delegatedOrders(Delegated{Kind: spec.KindTables, Grantor: "mgr", Grantee: "readers", Privilege: "DELETE", Count: 1,
				Objects: []string{"public.t1"}, GrantorLacksUsage: true}),
			want: []Change{revokeOption},
			withheld: []Withheld{{Cell: cell, Why: "readers keeps DELETE on tables in schema public of database orders, granted by mgr " +
				"(DELETE on public.t1): mgr has no USAGE on the schema any more, which it needs to name the objects in a REVOKE; " +
				"grant it USAGE on the schema for the next apply, or revoke them as a superuser by hand (declared at f.yaml:4:7)"}},
		},
		"a grantee that owns some of the objects and holds the grant option on others": {
			observed: func() Observed {
				o := delegatedOrders()
				s := &o.Databases[0].Schemas[0]
				s.Objects = append(s.Objects, ObjectCount{Kind: spec.KindTables, Owner: "readers", Count: 1})
				o.Owners = append(o.Owners, RoleFact{Name: "readers"})
				slices.SortFunc(o.Owners, func(a, b RoleFact) int { return strings.Compare(a.Name, b.Name) })
				return o
			}(),
			want: []Change{revokeDelete},
			withheld: []Withheld{{Cell: cell, Why: "readers keeps the grant option for SELECT on tables in schema public of database orders: " +
				"it owns some of them and holds the grant option on others, so that PostgreSQL, acting for the owners, may record readers " +
				"itself as the grantor of the revoke, which then removes nothing; revoke it by hand as each other object's owner " +
				"(SET ROLE owner; REVOKE GRANT OPTION FOR ... ON TABLE ... FROM readers) (declared at f.yaml:4:7)"}},
		},
		"more objects from a third grantor than are named": {
			observed: delegatedOrders(Delegated{Kind: spec.KindTables, Grantor: "mgr", Grantee: "readers", Privilege: "DELETE", Count: 101}),
			want:     []Change{revokeOption},
			withheld: []Withheld{{Cell: cell, Why: "readers keeps DELETE on tables in schema public of database orders, granted by mgr " +
				"(DELETE on 101 tables): on more objects than pgusers revokes by name (100); revoke them as mgr by hand " +
				"(SET ROLE mgr, then REVOKE ... ON each) (declared at f.yaml:4:7)"}},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Compute(grantServer([]spec.Grant{roOrders(false)}), tt.observed)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got.Changes); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.withheld, got.Withheld); diff != "" {
				t.Errorf("withheld (-want +got):\n%s", diff)
			}
		})
	}
}
