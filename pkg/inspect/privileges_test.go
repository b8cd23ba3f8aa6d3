package inspect_test

import (
	"context"
	"strconv"
	"testing"

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
		{Name: "shop", Exists: true, Owner: "app_owner", ACL: []diff.Privilege{
			// Not app_owner's own CREATE, CONNECT and TEMPORARY.
			{Grantee: spec.Public, Privilege: "CONNECT"},
			{Grantee: "reader", Privilege: "CONNECT"},
			{Grantee: "writer", Privilege: "CREATE", Grantable: true},
		}},
		{Name: "template1"},
	}
	if d := cmp.Diff(wantDBs, o.Databases); d != "" {
		t.Errorf("databases (-want +got):\n%s", d)
	}
	wantOwners := []diff.RoleFact{
		{Name: "app_owner", Member: true, Usage: true},
		{Name: c.super, Super: true},
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
