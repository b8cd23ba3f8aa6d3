package apply

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgusers/pgusers/pkg/diff"
	"github.com/pgusers/pgusers/pkg/inspect"
)

// oneTransaction applies or rehearses a plan of one transaction in two
// round trips: the first sends BEGIN, the lock, the read under the lock
// and every statement in one pipeline; the second, once the client has
// checked the read, COMMIT (or ROLLBACK: a stale plan, a failed statement,
// a rehearsal). With the read that made the plan, an apply is three round
// trips whatever the number of changes.
//
// The statements run before the client has compared the read with the
// plan's; they run in the transaction, which a stale plan rolls back, so
// nothing of them stays. The lock comes first and raises an error on the
// server when another apply holds it (pg_advisory_xact_lock under a
// lock_timeout), so that nothing after it runs.
//
// The statements wait for a round trip of their own when something must
// come between the check and them: the hand-overs of Cleanups, in other
// databases; the read of the connected database's objects, which must not
// see what the statements did.
func oneTransaction(ctx context.Context, conn *pgx.Conn, job Job, exec Executor, step Step) (err error) {
	held := len(job.Plan.Cleanups) > 0 || readsObjectsHere(job)
	var first []diff.Change
	if !held {
		first = step.Changes
	}
	tx := rawTx{conn.PgConn()}
	committing := false
	defer func() {
		if err != nil && !committing {
			// Whatever ran is in the transaction: rolled back, with the
			// connection if the ROLLBACK does not arrive.
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	x, err := beginMain(ctx, conn, job, false, first)
	if err != nil {
		return err
	}
	var handedOver []string
	if held {
		if len(job.Plan.Cleanups) > 0 {
			if handedOver, err = cleanUp(ctx, job, exec); err != nil {
				return err
			}
		}
		if x, err = execute(ctx, conn, step.Changes); err != nil {
			var se *StatementError
			if errors.As(err, &se) {
				se.HandedOver = handedOver
			}
			return err
		}
	}
	committing = true
	_, err = exec.end(ctx, tx, "the main transaction", x)
	err = settle(ctx, job, "", err)
	var lr *LostReplyError
	if len(handedOver) > 0 && (errors.As(err, &lr) && !lr.Committed || errors.As(err, new(*UnknownOutcomeError))) {
		// The hand-overs committed before: a sequence, in effect.
		return &PartialError{Committed: HandOvers(handedOver), Failed: "the main transaction", Err: err}
	}
	return err
}

// beginMain opens the main transaction on conn and, in one round trip
// (after the prepares of the statements that take arguments),
// takes the apply lock (for the transaction; for the session with session,
// to hold it across the transactions of a sequence), reads the server
// again under it and runs the statements of changes (none may be given).
// It then checks the read against the plan's: a server that changed since
// the plan is a StaleError. When grants name objects of the connected
// database, those are read again too, in a round trip of their own. On an
// error, the caller rolls the transaction back.
func beginMain(ctx context.Context, conn *pgx.Conn, job Job, session bool, changes []diff.Change) (xact, error) {
	if err := prepare(ctx, conn, changes); err != nil {
		return xact{}, err
	}
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	if session {
		b.Queue(sessionLockSQL, LockKey)
	} else {
		b.Queue(setLockTimeoutSQL)
		b.Queue(lockSQL, LockKey)
		b.Queue(restoreLockTimeoutSQL)
	}
	inspect.Queue(b)
	queueStatements(b, changes)
	br := conn.SendBatch(ctx, b)
	x := xact{pid: conn.PgConn().PID()}
	now, err := readHead(br, job, session)
	if err == nil {
		x.id, err = readStatements(br, changes)
	}
	if cerr := br.Close(); err == nil && cerr != nil {
		err = lost("the change set", cerr)
	}
	if err != nil {
		return x, err
	}
	before, after := job.Plan.Basis(job.Observed).MainPart(), job.Plan.Basis(now).MainPart()
	if after.Fingerprint() != before.Fingerprint() {
		return x, &StaleError{Changes: diff.Changes(before, after)}
	}
	if sc, ok := job.Asked.Scope(job.Observed.Database); ok && sc.ReadsObjects() {
		return x, lost("the read under the lock", checkDatabase(ctx, conn, job, sc))
	}
	return x, nil
}

const (
	// The lock must not wait (a held lock is another apply's), but must
	// not make the statements after it fail on a lock either.
	setLockTimeoutSQL     = "SET LOCAL lock_timeout = 1"
	lockSQL               = "SELECT pg_catalog.pg_advisory_xact_lock($1)"
	restoreLockTimeoutSQL = "SET LOCAL lock_timeout TO DEFAULT"
	sessionLockSQL        = "SELECT pg_catalog.pg_try_advisory_lock($1)"
)

// readHead reads the results of BEGIN, the lock and the read under it.
func readHead(br pgx.BatchResults, job Job, session bool) (diff.Observed, error) {
	if _, err := br.Exec(); err != nil {
		return diff.Observed{}, lost("BEGIN", err)
	}
	if session {
		var locked bool
		if err := br.QueryRow().Scan(&locked); err != nil {
			return diff.Observed{}, lost("the lock", fmt.Errorf("take the apply lock: %w", err))
		}
		if !locked {
			return diff.Observed{}, ErrLocked
		}
	} else {
		if _, err := br.Exec(); err != nil {
			return diff.Observed{}, lost("BEGIN", err)
		}
		if _, err := br.Exec(); err != nil {
			if lockHeld(err) {
				return diff.Observed{}, ErrLocked
			}
			return diff.Observed{}, lost("the lock", fmt.Errorf("take the apply lock: %w", err))
		}
		if _, err := br.Exec(); err != nil {
			return diff.Observed{}, lost("the lock", err)
		}
	}
	now, err := inspect.ReadQueued(br, job.Asked)
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
