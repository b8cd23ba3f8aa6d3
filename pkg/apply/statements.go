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
// there are, each statement parsed and planned where it runs. That costs
// the server time on a large plan: measured side by side in one run,
// alternating, 9 runs each, medians (bench BenchmarkVersusBaseline with
// PGUSERS_BENCH_BASELINE and PGUSERS_BENCH_CURRENT two builds), 10,000
// creates applied in 517 ms this way, 448 ms when a raw pgconn pipeline
// prepared their SQL text once (1.15x): a user notices. So a SQL text with
// arguments that runs prepareFrom times or more is prepared first, in a
// round trip of its own, and the batch binds the prepared statement: 435
// ms against that raw pipeline's 441 ms, with one way of sending.

// prepareFrom is how many runs of one SQL text make its prepare worth a
// round trip: each parse saved is some 6.5 µs of the server's time, a
// round trip to a server in the same region about a millisecond.
const prepareFrom = 1000

// prepare prepares on conn, once per connection, each SQL text of changes
// with arguments that runs prepareFrom times or more (the creates of a
// large plan); pgx's batch then binds the prepared statement.
func prepare(ctx context.Context, conn *pgx.Conn, changes []diff.Change) error {
	runs := map[string]int{}
	for ci := range changes {
		c := &changes[ci]
		for si := range c.Statements {
			st := &c.Statements[si]
			if len(st.Args) == 0 {
				continue
			}
			if runs[st.SQL]++; runs[st.SQL] != prepareFrom {
				continue
			}
			if _, err := conn.Prepare(ctx, st.SQL, st.SQL); err != nil {
				return statementFailed(c, st, err)
			}
		}
	}
	return nil
}

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
	if err := prepare(ctx, conn, changes); err != nil {
		return x, err
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
