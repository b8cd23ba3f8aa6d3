package apply

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/pgusers/pgusers/pkg/diff"
	"github.com/pgusers/pgusers/pkg/inspect"
)

// onePipeline applies or rehearses a plan of one transaction in two round
// trips: the first sends BEGIN, the lock, the read under the lock and
// every statement in one pipeline; the second, once the client has checked
// the read, COMMIT (or ROLLBACK: a stale plan, a failed statement, a
// rehearsal). With the read that made the plan, an apply is three round
// trips whatever the number of changes.
//
// The statements run before the client has compared the read with the
// plan's; they run in the transaction, which a stale plan rolls back, so
// nothing of them stays. The lock comes first and raises an error on the
// server when another apply holds it (pg_advisory_xact_lock under a
// lock_timeout), so that nothing after it runs.
//
// Only plans without Cleanups take this way: those hand over objects in
// other databases after the check and before the statements.
func onePipeline(ctx context.Context, conn *pgx.Conn, job Job, exec Executor, step Step) error {
	reqs, err := pipelineRequests(step.Changes)
	if err != nil {
		return err
	}
	pc := conn.PgConn()
	p := pc.StartPipeline(ctx)
	for _, sql := range headStatements {
		p.SendQueryParams(sql, nil, nil, nil, nil)
	}
	p.SendQueryParams(lockSQL, [][]byte{[]byte(strconv.FormatInt(LockKey, 10))}, []uint32{pgtype.Int8OID}, nil, nil)
	p.SendQueryParams(restoreLockTimeoutSQL, nil, nil, nil, nil)
	for _, sql := range inspect.Statements() {
		p.SendQueryParams(sql, nil, nil, nil, nil)
	}
	if err := send(p, reqs); err != nil {
		return err
	}

	results := pipelineResults{p: p, m: conn.TypeMap()}
	x := xact{pid: pc.PID()}
	now, failure := readHead(results, job)
	if failure == nil {
		x.id, failure = receiveRequests(p, reqs)
	}
	if _, err := p.GetResults(); err != nil && failure == nil { // the sync
		failure = lost("the change set", err)
	}
	if err := p.Close(); err != nil && failure == nil {
		failure = lost("the change set", err)
	}
	if failure == nil {
		before, after := job.Plan.Basis(job.Observed).MainPart(), job.Plan.Basis(now).MainPart()
		if after.Fingerprint() != before.Fingerprint() {
			failure = &StaleError{Changes: diff.Changes(before, after)}
		}
	}
	if failure != nil {
		// Whatever ran is in the transaction: rolled back, with the
		// connection if the ROLLBACK does not arrive.
		_, _ = pc.Exec(context.WithoutCancel(ctx), "ROLLBACK").ReadAll()
		return failure
	}
	_, err = exec.end(ctx, rawTx{pc}, "the main transaction", x)
	return settle(ctx, job, "", err)
}

// The head of the pipeline: the transaction, and the lock that must not
// wait (a held lock is another apply's) but must not make the statements
// after it fail on a lock either.
var headStatements = []string{"BEGIN", "SET LOCAL lock_timeout = 1"}

const (
	lockSQL               = "SELECT pg_catalog.pg_advisory_xact_lock($1)"
	sessionLockSQL        = "SELECT pg_catalog.pg_try_advisory_lock($1)"
	restoreLockTimeoutSQL = "SET LOCAL lock_timeout TO DEFAULT"
)

// readHead reads the results of BEGIN, the lock and the read under it.
func readHead(results pipelineResults, job Job) (diff.Observed, error) {
	for range headStatements {
		if _, err := results.Exec(); err != nil {
			return diff.Observed{}, lost("BEGIN", err)
		}
	}
	if _, err := results.Exec(); err != nil {
		if lockHeld(err) {
			return diff.Observed{}, ErrLocked
		}
		return diff.Observed{}, lost("the lock", fmt.Errorf("take the apply lock: %w", err))
	}
	if _, err := results.Exec(); err != nil {
		return diff.Observed{}, lost("the lock", err)
	}
	now, err := inspect.ReadQueued(results, job.Asked)
	if err != nil {
		return diff.Observed{}, lost("the read under the lock", fmt.Errorf("under the lock: %w", inspect.Explain(err)))
	}
	return now, nil
}

// pipelineResults reads the results of queries sent in a pgconn pipeline
// as pgx.BatchResults, so that inspect reads them as it reads a batch.
type pipelineResults struct {
	p *pgconn.Pipeline
	m *pgtype.Map
}

func (r pipelineResults) next() (*pgconn.ResultReader, error) {
	res, err := r.p.GetResults()
	if err != nil {
		return nil, err
	}
	rr, ok := res.(*pgconn.ResultReader)
	if !ok {
		return nil, fmt.Errorf("apply: the pipeline gave %T where a query's results were due", res)
	}
	return rr, nil
}

func (r pipelineResults) Exec() (pgconn.CommandTag, error) {
	rr, err := r.next()
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	return rr.Close()
}

func (r pipelineResults) Query() (pgx.Rows, error) {
	rr, err := r.next()
	if err != nil {
		return nil, err
	}
	return pgx.RowsFromResultReader(r.m, rr), nil
}

func (r pipelineResults) QueryRow() pgx.Row {
	rows, err := r.Query()
	return oneRow{rows: rows, err: err}
}

func (r pipelineResults) Close() error { return nil }

// Tx is nil: the pipeline's transaction is pgusers' own, not a pgx.Tx.
func (r pipelineResults) Tx() pgx.Tx { return nil }

// oneRow is the first row of rows, as pgx.Conn.QueryRow gives it.
type oneRow struct {
	rows pgx.Rows
	err  error
}

func (r oneRow) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	defer r.rows.Close()
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return pgx.ErrNoRows
	}
	if err := r.rows.Scan(dest...); err != nil {
		return err
	}
	r.rows.Close()
	return r.rows.Err()
}

// rawTx commits or rolls back the transaction a pipeline began.
type rawTx struct{ pc *pgconn.PgConn }

func (t rawTx) Commit(ctx context.Context) error {
	_, err := t.pc.Exec(ctx, "COMMIT").ReadAll()
	return err
}

func (t rawTx) Rollback(ctx context.Context) error {
	_, err := t.pc.Exec(ctx, "ROLLBACK").ReadAll()
	return err
}
