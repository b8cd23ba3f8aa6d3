package apply

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgusers/pgusers/internal/pgtest"
	"github.com/pgusers/pgusers/pkg/diff"
)

// After a lost COMMIT reply, ask tells what became of the transaction from
// its id, which execute fetched in the pipeline: committed, rolled back,
// committed while ask waited, and, for a session that never ends its
// transaction, rolled back by ending that session.
func TestAskSaysWhatBecameOfTheTransaction(t *testing.T) {
	c := pgtest.New(t)
	ctx := context.Background()
	open := func(ctx context.Context, db string) (*pgx.Conn, error) {
		cfg := c.AdminConfig(t)
		cfg.Database = db
		return pgx.ConnectConfig(ctx, cfg)
	}
	n := 0
	// begin runs a change in a new transaction of a new session and
	// leaves it open.
	begin := func() (*pgx.Conn, pgx.Tx, xact) {
		t.Helper()
		conn, err := open(ctx, "postgres")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close(ctx) })
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n++
		role := pgx.Identifier{"r" + string(rune('0'+n))}.Sanitize()
		x, err := execute(ctx, conn, []diff.Change{{Action: diff.CreateRole, Statements: []diff.Statement{{SQL: "CREATE ROLE " + role}}}})
		if err != nil || x.id == "" || x.pid == 0 {
			t.Fatalf("execute: %v, transaction %+v", err, x)
		}
		return conn, tx, x
	}
	check := func(what string, x xact, within time.Duration, want bool) time.Duration {
		t.Helper()
		start := time.Now()
		got, err := ask(ctx, open, "postgres", x, within)
		if err != nil || got != want {
			t.Errorf("%s: ask = %v, %v; want %v", what, got, err, want)
		}
		return time.Since(start)
	}

	_, tx, x := begin()
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	check("committed", x, 5*time.Second, true)

	_, tx, x = begin()
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	check("rolled back", x, 5*time.Second, false)

	_, tx, x = begin()
	go func() {
		time.Sleep(300 * time.Millisecond)
		tx.Commit(ctx)
	}()
	if took := check("committed while ask waited", x, 5*time.Second, true); took < 300*time.Millisecond {
		t.Errorf("ask answered after %v, before the transaction committed", took)
	}

	conn, _, x := begin()
	if took := check("never ended", x, 2*time.Second, false); took > 2*time.Second {
		t.Errorf("ask took %v, more than its budget", took)
	}
	if err := conn.Ping(ctx); err == nil {
		t.Errorf("the session that never ended its transaction is still there")
	}
}
