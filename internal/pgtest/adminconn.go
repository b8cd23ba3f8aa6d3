package pgtest

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
)

// AdminConn signs in to database postgres as the Entra administrator the
// way pgusers does (exec mode: a batch is one round trip) and counts the
// round trips from the moment it returns. The connection closes when t
// ends.
func (c *Cluster) AdminConn(t testing.TB) (*pgx.Conn, *RoundTripCounter) {
	t.Helper()
	cfg := c.AdminConfig(t)
	cfg.DefaultQueryExecMode = pgx.QueryExecModeExec
	rt := &RoundTripCounter{}
	cfg.DialFunc = rt.Dial(cfg.DialFunc)
	conn, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	rt.Reset()
	return conn, rt
}
