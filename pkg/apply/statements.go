package apply

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgusers/pgusers/pkg/diff"
)

// A transaction's statements go out as a pgx.Batch, in the connection's
// exec mode (connect sets it): one pipeline, one round trip, however many
// there are; each statement is parsed where it runs. Preparing each SQL
// text once in a raw pgconn pipeline of our own saves the server those
// parses, but not time a user would notice: measured side by side in one
// run, alternating, 7 runs each, medians (bench BenchmarkVersusBaseline,
// PGUSERS_BENCH_BASELINE a build that prepares, PGUSERS_BENCH_CURRENT one
// that batches), 10,000 creates applied in 1,042 ms prepared and 1,062 ms
// batched (1.02x) on a quiet moment of a loaded machine, 2,144 and 1,869
// ms on a busier one.

// queueStatements queues on b the transaction's id (xactIDSQL) and every
// statement of changes, in order; nothing for changes without statements,
// which need no id: they change nothing.
func queueStatements(b *pgx.Batch, changes []diff.Change) {
	if !hasStatements(changes) {
		return
	}
	b.Queue(xactIDSQL)
	for _, c := range changes {
		for _, s := range c.Statements {
			b.Queue(s.SQL, s.Args...)
		}
	}
}

// readStatements reads what queueStatements queued up to the first
// failure, which names its statement, and returns the transaction's id.
func readStatements(br pgx.BatchResults, changes []diff.Change) (string, error) {
	if !hasStatements(changes) {
		return "", nil
	}
	var padded []byte
	if err := br.QueryRow().Scan(&padded); err != nil {
		return "", statementFailed(nil, nil, err)
	}
	id := xactID(padded)
	for ci := range changes {
		c := &changes[ci]
		for si := range c.Statements {
			if _, err := br.Exec(); err != nil {
				return id, statementFailed(c, &c.Statements[si], err)
			}
		}
	}
	return id, nil
}

// execute runs every statement of changes in conn's open transaction in
// one round trip, and returns the transaction, with the id settle asks
// about should the COMMIT reply be lost.
func execute(ctx context.Context, conn *pgx.Conn, changes []diff.Change) (xact, error) {
	x := xact{pid: conn.PgConn().PID()}
	if !hasStatements(changes) {
		return x, nil
	}
	b := &pgx.Batch{}
	queueStatements(b, changes)
	br := conn.SendBatch(ctx, b)
	id, err := readStatements(br, changes)
	x.id = id
	if cerr := br.Close(); err == nil && cerr != nil {
		err = lost("the change set", cerr)
	}
	return x, err
}

// statementFailed turns the error of statement s of change c (nil for the
// transaction's id) into what the user reads: which change and statement
// failed, and what the server said.
func statementFailed(c *diff.Change, s *diff.Statement, err error) error {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		// Not the server's answer to this statement: the connection went,
		// and the transaction with it. No statement is to blame.
		return lost("the change set", err)
	}
	if c == nil {
		return fmt.Errorf("apply: read the transaction's id: %w", err)
	}
	return &StatementError{Change: *c, Statement: *s, Err: describePgError(err)}
}

func hasStatements(changes []diff.Change) bool {
	for _, c := range changes {
		if len(c.Statements) > 0 {
			return true
		}
	}
	return false
}
