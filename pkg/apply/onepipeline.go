package apply

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

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
	b := &pgx.Batch{}
	for _, sql := range headStatements {
		b.Queue(sql)
	}
	b.Queue(lockSQL, LockKey)
	b.Queue(restoreLockTimeoutSQL)
	inspect.Queue(b)
	queueStatements(b, step.Changes)
	br := conn.SendBatch(ctx, b)
	x := xact{pid: conn.PgConn().PID()}
	now, failure := readHead(br, job)
	if failure == nil {
		x.id, failure = readStatements(br, step.Changes)
	}
	if err := br.Close(); err != nil && failure == nil {
		failure = lost("the change set", err)
	}
	pc := conn.PgConn()
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
	_, err := exec.end(ctx, rawTx{pc}, "the main transaction", x)
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
func readHead(results pgx.BatchResults, job Job) (diff.Observed, error) {
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
