package inspect_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pgusers/pgusers/internal/pgtest"
	"github.com/pgusers/pgusers/pkg/diff"
	"github.com/pgusers/pgusers/pkg/inspect"
	"github.com/pgusers/pgusers/pkg/spec"
)

// Column privileges come in the same round trip as the rest of a
// database: those of the grantees asked about, on the tables of the
// schemas asked about, their owner's own left out; and the columns the
// grants declare, held or not.
func TestReadDatabaseColumns(t *testing.T) {
	c := pgtest.New(t)
	for _, r := range []string{"app_owner", "reader", "writer", "stranger"} {
		c.SuperExec(t, `CREATE ROLE `+r+` NOLOGIN`)
	}
	c.CreateDatabase(t, "cols", "app_owner")
	c.SuperExecIn(t, "cols",
		`CREATE SCHEMA s AUTHORIZATION app_owner`,
		`CREATE SCHEMA other AUTHORIZATION app_owner`,
		`SET ROLE app_owner`,
		`CREATE TABLE s.t (id int, v text, w text, gone int, "Odd ""col""" int)`,
		`CREATE VIEW s.tv AS SELECT id, v FROM s.t`,
		`CREATE TABLE other.o (v text)`,
		`GRANT USAGE ON SCHEMA s TO writer`,
		`GRANT UPDATE (v), SELECT (v, w) ON s.t TO reader`,
		`GRANT INSERT (v) ON s.t TO writer WITH GRANT OPTION`,
		`GRANT SELECT (v) ON s.tv TO PUBLIC`,
		`GRANT UPDATE ("Odd ""col""") ON s.t TO stranger`, // not asked
		`GRANT SELECT (v) ON other.o TO reader`,           // nor is other
		`GRANT UPDATE (gone) ON s.t TO reader`,
		`ALTER TABLE s.t DROP COLUMN gone`,
		`SET ROLE writer`,
		`GRANT INSERT (v) ON s.t TO reader`, // two grantors, one WITH GRANT OPTION: one entry, with it
		`SET ROLE app_owner`,
		`GRANT INSERT (v) ON s.t TO reader WITH GRANT OPTION`,
		`RESET ROLE`,
		`CREATE TABLE s.mine (a int)`,
		`ALTER TABLE s.mine OWNER TO reader`,
		`GRANT SELECT (a) ON s.mine TO reader`, // the owner's own
	)
	conn, rt := c.AdminConnIn(t, "cols")
	scope := inspect.Scope{Database: "cols", Schemas: []string{"s"}, Grantees: []string{spec.Public, "reader", "writer"},
		Columns: []inspect.ColumnRef{{Schema: "s", Table: "t", Column: "id"}, {Schema: "s", Table: "t", Column: "nope"},
			{Schema: "s", Table: "missing", Column: "id"}}}
	db, _, err := inspect.ReadDatabase(context.Background(), conn, scope)
	if err != nil {
		t.Fatal(err)
	}
	if n := rt.Count(); n != 1 {
		t.Errorf("ReadDatabase took %d round trips, want 1", n)
	}
	want := []diff.ObservedColumn{
		{Table: "t", Column: "id", Owner: "app_owner"},
		{Table: "t", Column: "v", Owner: "app_owner", ACL: []diff.Privilege{
			{Grantee: "reader", Privilege: "INSERT", Grantable: true}, {Grantee: "reader", Privilege: "SELECT"},
			{Grantee: "reader", Privilege: "UPDATE"},
			{Grantee: "writer", Privilege: "INSERT", Grantable: true}},
			// what writer passed on from its grant option, as its grantor
			Delegated: []diff.Delegated{{Kind: spec.KindTables, Grantor: "writer", Grantee: "reader", Privilege: "INSERT", Count: 1}}},
		{Table: "t", Column: "w", Owner: "app_owner", ACL: []diff.Privilege{{Grantee: "reader", Privilege: "SELECT"}}},
		{Table: "tv", Column: "v", Owner: "app_owner", ACL: []diff.Privilege{{Grantee: spec.Public, Privilege: "SELECT"}}},
	}
	if len(db.Schemas) != 1 {
		t.Fatalf("schemas %+v, want s", db.Schemas)
	}
	// PUBLIC's are read only when PUBLIC has a tables cell there.
	if d := cmp.Diff(want[:3], db.Schemas[0].Columns); d != "" {
		t.Errorf("columns (-want +got):\n%s", d)
	}
	scope.PublicColumns = true
	db, _, err = inspect.ReadDatabase(context.Background(), conn, scope)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, db.Schemas[0].Columns); d != "" {
		t.Errorf("columns with PUBLIC's (-want +got):\n%s", d)
	}
	a := inspect.Ask(spec.Server{Grants: []spec.Grant{
		{To: spec.Public, Databases: []string{"cols"}, Schemas: []string{"s"}, Kinds: []spec.KindGrant{{Kind: spec.KindTables}},
			Columns: []spec.ColumnGrant{{Table: "t", Column: "v", Privileges: []string{"SELECT"}}}},
		{To: spec.Public, Databases: []string{"other"}, Kinds: []spec.KindGrant{{Kind: spec.KindDatabase}}},
	}})
	wantScopes := []inspect.Scope{
		{Database: "cols", Schemas: []string{"s"}, Grantees: []string{spec.Public}, PublicColumns: true,
			Columns: []inspect.ColumnRef{{Schema: "s", Table: "t", Column: "v"}}},
		{Database: "other", Grantees: []string{spec.Public}},
	}
	if d := cmp.Diff(wantScopes, a.Scopes); d != "" {
		t.Errorf("scopes (-want +got):\n%s", d)
	}
}
