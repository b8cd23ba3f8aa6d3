package pgtest

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
)

// AdminConnIn is AdminConn to database db: the Entra administrator signed
// in the way pgusers does (exec mode), its round trips counted from the
// moment it returns, for code that reads or changes one database (its
// schemas, objects and their privileges). The connection closes when t
// ends.
func (c *Cluster) AdminConnIn(t testing.TB, db string) (*pgx.Conn, *RoundTripCounter) {
	t.Helper()
	cfg := c.AdminConfig(t)
	cfg.Database = db
	cfg.DefaultQueryExecMode = pgx.QueryExecModeExec
	rt := &RoundTripCounter{}
	cfg.DialFunc = rt.Dial(cfg.DialFunc)
	conn, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		t.Fatalf("pgtest: connect as the administrator to %s: %v", db, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	rt.Reset()
	return conn, rt
}
