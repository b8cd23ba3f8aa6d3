// Package world is the server `make demo` runs pgusers on, built on a
// throwaway cluster: what an Azure server would hold before pgusers, and
// what someone changes by hand afterwards. The demo and the examples of
// docs/commands.md that show the demo's output (TestDocExamples) build the
// same one.
package world

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/pgusers/pgusers/internal/pgtest"
)

// Build makes c what an Azure server would already have: an application
// database whose tables belong to the application's own role, a directory
// that knows alice by name, and principals someone added by hand (one
// protected, one that prune removes).
func Build(ctx context.Context, c *pgtest.Cluster) error {
	if err := exec(ctx, c, "postgres",
		`CREATE ROLE app_owner NOLOGIN`,
		`CREATE DATABASE orders OWNER app_owner`,
		`INSERT INTO pgaadauth_emul.directory(name, objectid, type) VALUES ('alice@contoso.com', '6f1e9a3c-0d7b-4c1e-9a51-3b2f4d6e8a90', 'user')`,
		`SELECT pg_catalog.pgaadauth_create_principal_with_oid('breakglass-1', '11111111-2222-4333-8444-555555555555', 'user', false, true)`,
		`SELECT pg_catalog.pgaadauth_create_principal_with_oid('old-contractor@contoso.com', 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee', 'user', false, false)`,
	); err != nil {
		return err
	}
	return exec(ctx, c, "orders",
		`GRANT CREATE ON SCHEMA public TO app_owner`,
		`SET ROLE app_owner`,
		`CREATE SCHEMA sales`,
		`CREATE TABLE public.items (id serial PRIMARY KEY, name text)`,
		`CREATE TABLE sales.orders (id serial PRIMARY KEY, item int)`,
		`CREATE TABLE sales.lines (id serial PRIMARY KEY, qty int)`,
	)
}

// DriftByHandSays is what DriftByHand does, for the demo to announce.
const DriftByHandSays = "Someone changes the server by hand: drops orders-api, adds alice to orders_rw, takes SELECT on one table from reporting,\n" +
	"and lets reporting delete orders."

// DriftByHand changes c, once pgusers applied the demo's file, as
// DriftByHandSays.
func DriftByHand(ctx context.Context, c *pgtest.Cluster) error {
	if err := exec(ctx, c, "postgres", `DROP ROLE "orders-api"`, `GRANT orders_rw TO "alice@contoso.com"`); err != nil {
		return err
	}
	return exec(ctx, c, "orders", `REVOKE SELECT ON sales.lines FROM reporting`, `GRANT DELETE ON sales.orders TO reporting`)
}

// NewTableSays is what NewTable does, for the demo to announce.
const NewTableSays = "The application creates a table: reporting can read it at once (defaultsFor)."

// NewTable has the application create a table, as NewTableSays.
func NewTable(ctx context.Context, c *pgtest.Cluster) error {
	return exec(ctx, c, "orders", `SET ROLE app_owner`, `CREATE TABLE sales.returns (id int)`)
}

// exec runs stmts as the superuser in database db.
func exec(ctx context.Context, c *pgtest.Cluster, db string, stmts ...string) error {
	config, err := c.SuperConfig()
	if err != nil {
		return err
	}
	config.Database = db
	conn, err := pgx.ConnectConfig(ctx, config)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}
