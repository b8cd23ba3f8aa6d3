package inspect_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pgusers/pgusers/internal/pgtest"
	"github.com/pgusers/pgusers/pkg/diff"
	"github.com/pgusers/pgusers/pkg/inspect"
	"github.com/pgusers/pgusers/pkg/spec"
)

// shop is a cluster whose database shop holds objects of every kind in
// schemas sales and public, owned by a non-superuser app_owner (which the
// administrator is a member of), by stranger_owner (which it is not), by a
// superuser and by a grantee, with privileges granted as their owners, as
// the superuser and as a holder of the grant option.
type shop struct {
	*pgtest.Cluster
	super string // the superuser the cluster's setup connects as
}

func shopCluster(t *testing.T) shop {
	t.Helper()
	c := pgtest.New(t)
	config, err := c.SuperConfig()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"app_owner", "stranger_owner", "reader", "writer", "auditor"} {
		c.SuperExec(t, `CREATE ROLE `+r+` NOLOGIN`)
	}
	c.SuperExec(t, `CREATE ROLE super_owner SUPERUSER NOLOGIN`)
	c.SuperExec(t, `GRANT app_owner TO "pgadmin@contoso.com"`)
	c.SuperExec(t, `COMMENT ON ROLE reader IS 'Reads the shop'`)
	c.SuperExec(t, `GRANT reader, auditor TO writer`)
	c.SuperExec(t, `SELECT pg_catalog.pgaadauth_create_principal_with_oid('ent-bot', $1, 'service', false, false)`, pgtest.ObjectID("ent-bot"))
	c.SuperExec(t, `COMMENT ON ROLE "ent-bot" IS 'a principal''s comment'`)
	c.SuperExec(t, `GRANT reader TO "ent-bot"`)

	c.CreateDatabase(t, "shop", "app_owner")
	c.CreateDatabase(t, "plain", "") // the superuser's, its ACL NULL
	c.SuperExecIn(t, "shop",
		`GRANT CONNECT ON DATABASE shop TO reader`,
		`GRANT CREATE ON DATABASE shop TO writer WITH GRANT OPTION`,
		`REVOKE TEMPORARY ON DATABASE shop FROM PUBLIC`,
		`SET ROLE writer`, // passes CREATE on, to a role not asked about
		`GRANT CREATE ON DATABASE shop TO stranger_owner`,
		`RESET ROLE`,

		// A foreign table needs a server, whose wrapper needs no extension
		// when it has no handler.
		`CREATE FOREIGN DATA WRAPPER nothing`,
		`CREATE SERVER nowhere FOREIGN DATA WRAPPER nothing`,
		`GRANT USAGE ON FOREIGN SERVER nowhere TO app_owner`,
		`CREATE SCHEMA sales AUTHORIZATION app_owner`,
		`CREATE SCHEMA other AUTHORIZATION app_owner`,
		`CREATE SCHEMA empty AUTHORIZATION stranger_owner`,

		`SET ROLE app_owner`,
		`CREATE TABLE sales.orders (id serial, amount int)`,
		`CREATE TABLE sales.customers (id int)`,
		`CREATE TABLE sales."Odd ""Name""" (a int)`,
		`CREATE VIEW sales.v_orders AS SELECT * FROM sales.orders`,
		`CREATE MATERIALIZED VIEW sales.m_orders AS SELECT * FROM sales.orders`,
		`CREATE TABLE sales.events (d date) PARTITION BY RANGE (d)`,
		`CREATE TABLE sales.events_2026 PARTITION OF sales.events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')`,
		`CREATE FOREIGN TABLE sales.remote (a int) SERVER nowhere`,
		`CREATE SEQUENCE sales.invoice_no`,
		`CREATE FUNCTION sales.f(integer) RETURNS integer LANGUAGE sql AS 'SELECT $1'`,
		`CREATE FUNCTION sales.g() RETURNS void LANGUAGE sql AS ''`,
		`CREATE PROCEDURE sales.p(text) LANGUAGE sql AS ''`,
		`CREATE TABLE other.elsewhere (a int)`,
		`RESET ROLE`,
		`CREATE TABLE sales.strangers (a int)`,
		`ALTER TABLE sales.strangers OWNER TO stranger_owner`,
		`CREATE TABLE sales.mine (a int)`,
		`ALTER TABLE sales.mine OWNER TO reader`,
		`CREATE TABLE public.legacy (a int)`,
		`ALTER TABLE public.legacy OWNER TO super_owner`,

		// Schemas.
		`GRANT USAGE ON SCHEMA sales TO reader, auditor`,
		`GRANT USAGE, CREATE ON SCHEMA sales TO writer WITH GRANT OPTION`,
		`SET ROLE writer`,
		`GRANT CREATE ON SCHEMA sales TO stranger_owner`,
		`RESET ROLE`,

		// Tables: as the superuser (recorded as granted by each owner).
		`GRANT SELECT ON ALL TABLES IN SCHEMA sales TO reader`,
		`REVOKE SELECT ON sales.customers FROM reader`,
		`GRANT INSERT ON sales.orders TO writer`,
		`GRANT SELECT ON public.legacy TO reader`,
		`SET ROLE app_owner`,
		`GRANT DELETE ON sales.orders TO writer`,
		`GRANT UPDATE ON sales.orders TO auditor WITH GRANT OPTION`,
		`GRANT SELECT ON sales.v_orders, sales."Odd ""Name""" TO PUBLIC`,
		`SET ROLE auditor`,
		`GRANT UPDATE ON sales.orders TO writer`, // writer=w/auditor
		`SET ROLE app_owner`,
		`GRANT UPDATE ON sales.orders TO writer WITH GRANT OPTION`, // and writer=w*/app_owner
		`RESET ROLE`, // as stranger_owner, who has no USAGE on sales
		`GRANT UPDATE ON sales.strangers TO writer`,
		`GRANT SELECT ON sales.strangers TO app_owner`,
		`SET ROLE app_owner`,

		// Sequences and functions.
		`GRANT USAGE ON ALL SEQUENCES IN SCHEMA sales TO reader`,
		`GRANT SELECT ON SEQUENCE sales.invoice_no TO writer WITH GRANT OPTION`,
		`REVOKE EXECUTE ON PROCEDURE sales.p(text) FROM PUBLIC`,
		`GRANT EXECUTE ON PROCEDURE sales.p(text) TO writer`,

		// Default privileges, after the objects so that they get none.
		`ALTER DEFAULT PRIVILEGES IN SCHEMA sales GRANT SELECT ON TABLES TO reader`,
		`ALTER DEFAULT PRIVILEGES IN SCHEMA sales GRANT USAGE ON SEQUENCES TO reader`,
		`ALTER DEFAULT PRIVILEGES IN SCHEMA sales GRANT EXECUTE ON FUNCTIONS TO writer WITH GRANT OPTION`,
		`ALTER DEFAULT PRIVILEGES IN SCHEMA sales GRANT INSERT ON TABLES TO app_owner`,      // its own
		`ALTER DEFAULT PRIVILEGES IN SCHEMA sales GRANT SELECT ON TABLES TO stranger_owner`, // not asked
		`ALTER DEFAULT PRIVILEGES IN SCHEMA other GRANT SELECT ON TABLES TO reader`,         // nor is other
		`ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO writer`,                         // global
		`RESET ROLE`,
		`ALTER DEFAULT PRIVILEGES FOR ROLE app_owner IN SCHEMA public GRANT EXECUTE ON FUNCTIONS TO PUBLIC`,
		`ALTER DEFAULT PRIVILEGES FOR ROLE stranger_owner IN SCHEMA sales GRANT SELECT ON TABLES TO reader`,
	)
	return shop{Cluster: c, super: config.User}
}

// shopGrantees are those the shop's scope asks about: ghost is no role.
var shopGrantees = []string{spec.Public, "app_owner", "auditor", "ghost", "reader", "writer"}

var shopScope = inspect.Scope{
	Database: "shop",
	Schemas:  []string{"nope", "public", "sales"},
	Grantees: shopGrantees,
	Owners:   []string{"app_owner", "ghost"},
}

func TestObservedSharedCatalog(t *testing.T) {
	c := shopCluster(t)
	conn, rt := c.AdminConn(t)
	a := inspect.Asked{
		Names: []string{"app_owner", "auditor", "ent-bot", "ghost", "reader", "writer"},
		Scopes: []inspect.Scope{
			{Database: "missing", Grantees: []string{"reader"}},
			{Database: "plain", Grantees: []string{spec.Public, "reader"}},
			shopScope,
			{Database: "template1", Grantees: []string{spec.Public}}, // a template is no database to manage
		},
	}
	s, err := inspect.Read(context.Background(), conn)
	if err != nil {
		t.Fatal(err)
	}
	if n := rt.Count(); n != 1 {
		t.Errorf("the read took %d round trips, want 1", n)
	}
	o := s.Observed(a)

	want := c.SuperStrings(t, "postgres", `SHOW server_version_num`)
	if got := o.ServerVersion; len(want) != 1 || want[0] == "" || got < 150000 || want[0] != itoa(got) {
		t.Errorf("server version %d, want %q", got, want)
	}
	// ent-bot is a principal: no group role, whatever its comment.
	wantRoles := []diff.ObservedRole{
		{Name: "app_owner"},
		{Name: "auditor"},
		{Name: "reader", Comment: "Reads the shop"},
		{Name: "writer", MemberOf: []string{"auditor", "reader"}},
	}
	if d := cmp.Diff(wantRoles, o.GroupRoles); d != "" {
		t.Errorf("group roles (-want +got):\n%s", d)
	}
	if p, _ := o.Principal("ent-bot"); !cmp.Equal(p.MemberOf, []string{"reader"}) {
		t.Errorf("ent-bot member of %q, want [reader]", p.MemberOf)
	}
	wantDBs := []diff.ObservedDatabase{
		{Name: "missing"},
		{Name: "plain", Exists: true, Owner: c.super, ACL: []diff.Privilege{
			{Grantee: spec.Public, Privilege: "CONNECT"},
			{Grantee: spec.Public, Privilege: "TEMPORARY"},
		}},
		// The administrator is a member of app_owner, which connects: it
		// needs no PUBLIC to connect there (SelfConnect).
		{Name: "shop", Exists: true, Owner: "app_owner", SelfConnect: true, ACL: []diff.Privilege{
			// Not app_owner's own CREATE, CONNECT and TEMPORARY.
			{Grantee: spec.Public, Privilege: "CONNECT"},
			{Grantee: "reader", Privilege: "CONNECT"},
			{Grantee: "writer", Privilege: "CREATE", Grantable: true},
		}, Delegated: []diff.Delegated{
			// writer passed CREATE on, to a role not asked about.
			{Kind: spec.KindDatabase, Grantor: "writer", Grantee: "stranger_owner", Privilege: "CREATE", Count: 1, Objects: []string{"shop"}},
		}},
		{Name: "template1"},
	}
	if d := cmp.Diff(wantDBs, o.Databases); d != "" {
		t.Errorf("databases (-want +got):\n%s", d)
	}
	wantOwners := []diff.RoleFact{
		{Name: "app_owner", Member: true, Usage: true},
		{Name: c.super, Super: true},
		{Name: "writer"}, // a grantor
	}
	if d := cmp.Diff(wantOwners, o.Owners); d != "" {
		t.Errorf("owners (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"plain", "postgres", "shop"}, s.Databases()); d != "" {
		t.Errorf("databases (-want +got):\n%s", d)
	}

	// Asked about nothing, the new lists are nil.
	none := s.Observed(inspect.Asked{})
	if none.GroupRoles != nil || none.Databases != nil || none.Owners != nil {
		t.Errorf("asked about nothing: group roles %v, databases %v, owners %v", none.GroupRoles, none.Databases, none.Owners)
	}
	// The same state reads the same.
	again, err := inspect.Inspect(context.Background(), conn, a)
	if err != nil {
		t.Fatal(err)
	}
	if again.Fingerprint() != o.Fingerprint() {
		t.Errorf("two reads of the same state differ:\n%s", cmp.Diff(o, again))
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// shopDatabase is what ReadDatabase reads of shop for shopScope.
var shopDatabase = diff.ObservedDatabase{
	Name: "shop", Exists: true, Read: true,
	Schemas: []diff.ObservedSchema{
		{
			Name: "public", Owner: "azure_pg_admin",
			ACL:     []diff.Privilege{{Grantee: spec.Public, Privilege: "USAGE"}},
			Objects: []diff.ObjectCount{{Kind: spec.KindTables, Owner: "super_owner", Count: 1}},
			Holdings: []diff.Holding{
				{Kind: spec.KindTables, Grantee: "reader", Privilege: "SELECT", Count: 1, Objects: []string{"public.legacy"}},
			},
		},
		{
			Name: "sales", Owner: "app_owner",
			// Not app_owner's own USAGE and CREATE.
			ACL: []diff.Privilege{
				{Grantee: "auditor", Privilege: "USAGE"},
				{Grantee: "reader", Privilege: "USAGE"},
				{Grantee: "writer", Privilege: "CREATE", Grantable: true},
				{Grantee: "writer", Privilege: "USAGE", Grantable: true},
			},
			Objects: []diff.ObjectCount{
				{Kind: spec.KindFunctions, Owner: "app_owner", Count: 3}, // f, g and p
				{Kind: spec.KindSequences, Owner: "app_owner", Count: 2}, // invoice_no, orders_id_seq
				// orders, customers, "Odd ""Name""", v_orders, m_orders,
				// events, events_2026, remote
				{Kind: spec.KindTables, Owner: "app_owner", Count: 8},
				{Kind: spec.KindTables, Owner: "reader", Count: 1},         // mine
				{Kind: spec.KindTables, Owner: "stranger_owner", Count: 1}, // strangers
			},
			Holdings: []diff.Holding{
				// PUBLIC's EXECUTE by default (acldefault), but not on p.
				{Kind: spec.KindFunctions, Grantee: spec.Public, Privilege: "EXECUTE", Count: 2,
					Objects: []string{"sales.f(integer)", "sales.g()"}},
				// Named as pg_identify_object does, whatever the search_path:
				// types qualified but those SQL spells as keywords.
				{Kind: spec.KindFunctions, Grantee: "writer", Privilege: "EXECUTE", Count: 1, Objects: []string{"sales.p(pg_catalog.text)"}},
				{Kind: spec.KindSequences, Grantee: "reader", Privilege: "USAGE", Count: 2,
					Objects: []string{"sales.invoice_no", "sales.orders_id_seq"}},
				{Kind: spec.KindSequences, Grantee: "writer", Privilege: "SELECT", Grantable: true, Count: 1,
					Objects: []string{"sales.invoice_no"}},
				{Kind: spec.KindTables, Grantee: spec.Public, Privilege: "SELECT", Count: 2,
					Objects: []string{`sales."Odd ""Name"""`, "sales.v_orders"}},
				// app_owner's own tables hold nothing of its.
				{Kind: spec.KindTables, Grantee: "app_owner", Privilege: "SELECT", Count: 1, Objects: []string{"sales.strangers"}},
				{Kind: spec.KindTables, Grantee: "auditor", Privilege: "UPDATE", Grantable: true, Count: 1, Objects: []string{"sales.orders"}},
				// Every table but customers (revoked) and mine (reader's):
				// more than diff.MaxNamed, so not named.
				{Kind: spec.KindTables, Grantee: "reader", Privilege: "SELECT", Count: 8},
				{Kind: spec.KindTables, Grantee: "writer", Privilege: "DELETE", Count: 1, Objects: []string{"sales.orders"}},
				{Kind: spec.KindTables, Grantee: "writer", Privilege: "INSERT", Count: 1, Objects: []string{"sales.orders"}},
				{Kind: spec.KindTables, Grantee: "writer", Privilege: "UPDATE", Count: 1, Objects: []string{"sales.strangers"}},
				// Given by auditor without and by app_owner with the grant
				// option: one object, grantable.
				{Kind: spec.KindTables, Grantee: "writer", Privilege: "UPDATE", Grantable: true, Count: 1, Objects: []string{"sales.orders"}},
			},
			// What a role other than the owner granted: only it revokes it;
			// or passed on, to a grantee not asked about.
			Delegated: []diff.Delegated{
				{Kind: spec.KindSchema, Grantor: "writer", Grantee: "stranger_owner", Privilege: "CREATE", Count: 1, Objects: []string{"sales"}},
				{Kind: spec.KindTables, Grantor: "auditor", Grantee: "writer", Privilege: "UPDATE", Count: 1, Objects: []string{"sales.orders"}},
			},
		},
	},
	// Not app_owner's INSERT for itself, its SELECT for stranger_owner
	// (not asked), in schema other (not asked) or for every schema
	// (global); nor stranger_owner's (not asked).
	Defaults: []diff.DefaultPrivilege{
		{Owner: "app_owner", Schema: "public", Kind: spec.KindFunctions, Privilege: diff.Privilege{Grantee: spec.Public, Privilege: "EXECUTE"}},
		{Owner: "app_owner", Schema: "sales", Kind: spec.KindFunctions, Privilege: diff.Privilege{Grantee: "writer", Privilege: "EXECUTE", Grantable: true}},
		{Owner: "app_owner", Schema: "sales", Kind: spec.KindSequences, Privilege: diff.Privilege{Grantee: "reader", Privilege: "USAGE"}},
		{Owner: "app_owner", Schema: "sales", Kind: spec.KindTables, Privilege: diff.Privilege{Grantee: "reader", Privilege: "SELECT"}},
	},
}

// shopFacts are the facts of the owners ReadDatabase meets in shop: of the
// schemas, of the objects, of the owners named (not ghost, no role), and
// of the grantors other than the owners.
var shopFacts = []diff.RoleFact{
	{Name: "app_owner", Member: true, Usage: true},
	{Name: "auditor"}, // a grantor
	{Name: "azure_pg_admin", Member: true, Usage: true},
	{Name: "reader"},
	{Name: "stranger_owner"},
	{Name: "super_owner", Super: true},
	{Name: "writer"}, // a grantor
}

func TestReadDatabase(t *testing.T) {
	c := shopCluster(t)
	ctx := context.Background()
	conn, rt := c.AdminConnIn(t, "shop")
	db, facts, err := inspect.ReadDatabase(ctx, conn, shopScope)
	if err != nil {
		t.Fatal(err)
	}
	if n := rt.Count(); n != 1 {
		t.Errorf("ReadDatabase took %d round trips, want 1", n)
	}
	if d := cmp.Diff(shopDatabase, db); d != "" {
		t.Errorf("database (-want +got):\n%s", d)
	}
	if d := cmp.Diff(shopFacts, facts); d != "" {
		t.Errorf("owners (-want +got):\n%s", d)
	}

	t.Run("merged", func(t *testing.T) {
		admin, _ := c.AdminConn(t)
		a := inspect.Asked{Names: []string{"app_owner"}, Scopes: []inspect.Scope{{Database: "plain"}, shopScope}}
		o, err := inspect.Inspect(ctx, admin, a)
		if err != nil {
			t.Fatal(err)
		}
		inspect.Merge(&o, db, facts)
		want := shopDatabase
		want.Owner, want.SelfConnect = "app_owner", true
		want.ACL = []diff.Privilege{
			{Grantee: spec.Public, Privilege: "CONNECT"},
			{Grantee: "reader", Privilege: "CONNECT"},
			{Grantee: "writer", Privilege: "CREATE", Grantable: true},
		}
		want.Delegated = []diff.Delegated{
			{Kind: spec.KindDatabase, Grantor: "writer", Grantee: "stranger_owner", Privilege: "CREATE", Count: 1, Objects: []string{"shop"}},
		}
		wantDBs := []diff.ObservedDatabase{{Name: "plain", Exists: true, Owner: c.super}, want}
		if d := cmp.Diff(wantDBs, o.Databases); d != "" {
			t.Errorf("databases (-want +got):\n%s", d)
		}
		wantOwners := append(shopFacts[:3:3], diff.RoleFact{Name: c.super, Super: true})
		wantOwners = append(wantOwners, shopFacts[3:]...)
		if d := cmp.Diff(wantOwners, o.Owners); d != "" {
			t.Errorf("owners (-want +got):\n%s", d)
		}
	})

	t.Run("again", func(t *testing.T) {
		again, facts, err := inspect.ReadDatabase(ctx, conn, shopScope)
		if err != nil {
			t.Fatal(err)
		}
		if !cmp.Equal(db, again) || !cmp.Equal(shopFacts, facts) {
			t.Errorf("two reads of the same state differ:\n%s", cmp.Diff(db, again))
		}
	})

	t.Run("no schema asked", func(t *testing.T) {
		sc := inspect.Scope{Database: "shop", Schemas: []string{"nope"}, Grantees: []string{"reader"}}
		got, facts, err := inspect.ReadDatabase(ctx, conn, sc)
		if err != nil {
			t.Fatal(err)
		}
		want := diff.ObservedDatabase{Name: "shop", Exists: true, Read: true}
		if d := cmp.Diff(want, got); d != "" || facts != nil {
			t.Errorf("database (-want +got):\n%s\nowners %v, want none", d, facts)
		}
	})

	t.Run("every schema", func(t *testing.T) {
		// A session's temporary schemas are the system's, like pg_toast.
		super := c.SuperIn(t, "shop")
		if _, err := super.Exec(ctx, `CREATE TEMPORARY TABLE scratch (a int)`); err != nil {
			t.Fatal(err)
		}
		// Every owner's default privileges too: export writes them all.
		sc := inspect.Scope{Database: "shop", AllSchemas: true, Grantees: []string{"reader"}}
		if !sc.ReadsObjects() {
			t.Error("a scope of every schema does not read the database")
		}
		got, _, err := inspect.ReadDatabase(ctx, conn, sc)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, s := range got.Schemas {
			names = append(names, s.Name)
		}
		if d := cmp.Diff([]string{"empty", "other", "public", "sales"}, names); d != "" {
			t.Errorf("schemas (-want +got):\n%s", d)
		}
		wantDefaults := []diff.DefaultPrivilege{
			{Owner: "app_owner", Schema: "other", Kind: spec.KindTables, Privilege: diff.Privilege{Grantee: "reader", Privilege: "SELECT"}},
			{Owner: "app_owner", Schema: "sales", Kind: spec.KindSequences, Privilege: diff.Privilege{Grantee: "reader", Privilege: "USAGE"}},
			{Owner: "app_owner", Schema: "sales", Kind: spec.KindTables, Privilege: diff.Privilege{Grantee: "reader", Privilege: "SELECT"}},
			{Owner: "stranger_owner", Schema: "sales", Kind: spec.KindTables, Privilege: diff.Privilege{Grantee: "reader", Privilege: "SELECT"}},
		}
		if d := cmp.Diff(wantDefaults, got.Defaults); d != "" {
			t.Errorf("defaults (-want +got):\n%s", d)
		}
		if d := cmp.Diff(shopDatabase.Schemas[1].Objects, got.Schemas[3].Objects); d != "" {
			t.Errorf("objects of sales (-want +got):\n%s", d)
		}
	})

	t.Run("another database's connection", func(t *testing.T) {
		other, _ := c.AdminConn(t) // postgres
		if _, _, err := inspect.ReadDatabase(ctx, other, shopScope); err == nil {
			t.Error("read shop through a connection to postgres")
		}
	})
}

// A schema of many tables costs a row per privilege, not per table, and
// one round trip.
func TestReadDatabaseCountsManyTables(t *testing.T) {
	const tables = 2000
	c := pgtest.New(t)
	c.SuperExec(t, `CREATE ROLE app_owner NOLOGIN`)
	c.SuperExec(t, `CREATE ROLE reader NOLOGIN`)
	c.CreateDatabase(t, "bulk", "app_owner")
	c.SuperExecIn(t, "bulk",
		`CREATE SCHEMA s AUTHORIZATION app_owner`,
		`SET ROLE app_owner`,
		`DO $$ BEGIN FOR i IN 1..`+strconv.Itoa(tables)+` LOOP EXECUTE format('CREATE TABLE s.t%s (a int)', i); END LOOP; END $$`,
		`GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA s TO reader`,
		`REVOKE SELECT ON s.t17 FROM reader`,
		`GRANT DELETE ON s.t42 TO reader`,
	)
	conn, rt := c.AdminConnIn(t, "bulk")
	start := time.Now()
	db, facts, err := inspect.ReadDatabase(context.Background(), conn,
		inspect.Scope{Database: "bulk", Schemas: []string{"s"}, Grantees: []string{spec.Public, "reader"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("read %d tables in %v", tables, time.Since(start))
	if n := rt.Count(); n != 1 {
		t.Errorf("ReadDatabase took %d round trips, want 1", n)
	}
	want := diff.ObservedDatabase{Name: "bulk", Exists: true, Read: true, Schemas: []diff.ObservedSchema{{
		Name: "s", Owner: "app_owner",
		Objects: []diff.ObjectCount{{Kind: spec.KindTables, Owner: "app_owner", Count: tables}},
		Holdings: []diff.Holding{
			{Kind: spec.KindTables, Grantee: "reader", Privilege: "DELETE", Count: 1, Objects: []string{"s.t42"}},
			{Kind: spec.KindTables, Grantee: "reader", Privilege: "INSERT", Count: tables},
			{Kind: spec.KindTables, Grantee: "reader", Privilege: "SELECT", Count: tables - 1},
		},
	}}}
	if d := cmp.Diff(want, db); d != "" {
		t.Errorf("database (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]diff.RoleFact{{Name: "app_owner"}}, facts); d != "" {
		t.Errorf("owners (-want +got):\n%s", d)
	}
}

func TestMerge(t *testing.T) {
	o := diff.Observed{
		Databases: []diff.ObservedDatabase{
			{Name: "a", Exists: true, Owner: "x"},
			{Name: "c", Exists: true, Owner: "y", ACL: []diff.Privilege{{Grantee: "r", Privilege: "CONNECT"}}},
		},
		Owners: []diff.RoleFact{{Name: "x", Member: true}, {Name: "y"}},
	}
	schemas := []diff.ObservedSchema{{Name: "public", Owner: "z"}}
	defaults := []diff.DefaultPrivilege{{Owner: "y", Schema: "public", Kind: spec.KindTables,
		Privilege: diff.Privilege{Grantee: "r", Privilege: "SELECT"}}}
	inspect.Merge(&o, diff.ObservedDatabase{Name: "c", Exists: true, Read: true, Schemas: schemas, Defaults: defaults},
		[]diff.RoleFact{{Name: "z", Super: true}, {Name: "x", Member: true}})
	inspect.Merge(&o, diff.ObservedDatabase{Name: "b", Exists: true, Read: true}, nil)
	want := diff.Observed{
		Databases: []diff.ObservedDatabase{
			{Name: "a", Exists: true, Owner: "x"},
			{Name: "b", Exists: true, Read: true},
			{Name: "c", Exists: true, Owner: "y", ACL: []diff.Privilege{{Grantee: "r", Privilege: "CONNECT"}},
				Read: true, Schemas: schemas, Defaults: defaults},
		},
		Owners: []diff.RoleFact{{Name: "x", Member: true}, {Name: "y"}, {Name: "z", Super: true}},
	}
	if d := cmp.Diff(want, o); d != "" {
		t.Errorf("merged (-want +got):\n%s", d)
	}
}
