package apply

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgusers/pgusers/pkg/diff"
)

// LockKey is the transaction-level advisory lock that keeps two applies on
// one server from interleaving: "pgusers" in ASCII.
const LockKey int64 = 0x70677573657273

// Job is a plan to run on one server, with what it was computed from.
type Job struct {
	Plan diff.Plan
	// Observed is the state the plan was computed from. Apply reads the
	// server again under the lock and runs nothing if it changed.
	Observed diff.Observed
	// RoleNames are the names Inspect was asked about for Observed.
	RoleNames []string
}

// Beginner is a connection that can open a transaction: a *pgx.Conn.
type Beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// Apply runs the job's plan in one transaction and commits it. It takes at
// most four round trips: begin; lock and re-read; every statement; commit.
func Apply(ctx context.Context, conn Beginner, job Job) error {
	return run(ctx, conn, job, func(tx pgx.Tx) error { return tx.Commit(ctx) })
}

// Rehearse runs the job's plan in one transaction and rolls it back: proof
// that the plan applies, leaving nothing behind.
func Rehearse(ctx context.Context, conn Beginner, job Job) error {
	return run(ctx, conn, job, func(tx pgx.Tx) error { return tx.Rollback(ctx) })
}

func run(ctx context.Context, conn Beginner, job Job, finish func(pgx.Tx) error) (err error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if err != nil {
			// The transaction is what guarantees nothing half-applied; a
			// failed rollback means the connection is gone, which rolls
			// back too.
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()

	if err := lockAndCheck(ctx, tx, job); err != nil {
		return err
	}
	if err := execute(ctx, tx, job.Plan); err != nil {
		return err
	}
	if err := finish(tx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// ErrLocked is returned when another apply holds the server's lock.
var ErrLocked = errors.New("another pgusers apply is running on this server (it holds the advisory lock); " +
	"nothing was changed: wait for it to finish, then plan again")

// StaleError is returned when the server changed between the plan and the
// apply. Nothing is changed on that server.
type StaleError struct {
	Changes []string
}

func (e *StaleError) Error() string {
	return "the server changed since the plan was made, so nothing was applied; plan again and review: " +
		strings.Join(e.Changes, "; ")
}

func lockAndCheck(ctx context.Context, tx pgx.Tx, job Job) error {
	b := &pgx.Batch{}
	b.Queue("SELECT pg_catalog.pg_try_advisory_xact_lock($1)", LockKey)
	queueInspect(b, job.RoleNames)
	br := tx.SendBatch(ctx, b)
	defer br.Close()

	var locked bool
	if err := br.QueryRow().Scan(&locked); err != nil {
		return fmt.Errorf("take the apply lock: %w", err)
	}
	if !locked {
		return ErrLocked
	}
	now, err := readInspect(br)
	if err != nil {
		return fmt.Errorf("under the lock: %w", explainInspect(err))
	}
	if err := br.Close(); err != nil {
		return fmt.Errorf("inspect under the lock: %w", err)
	}
	if now.Fingerprint() != job.Observed.Fingerprint() {
		return &StaleError{Changes: diff.Changes(job.Observed, now)}
	}
	return nil
}

// StatementError says which statement of a plan failed, for which
// principal, and what the server said.
type StatementError struct {
	Change    diff.Change
	Statement diff.Statement
	Err       error
}

func (e *StatementError) Error() string {
	return fmt.Sprintf("%s %s failed, the whole server was rolled back: %s: %v",
		e.Change.Action, e.Change.Principal, e.Statement.Display(), e.Err)
}

func (e *StatementError) Unwrap() error { return e.Err }

// execute sends every statement of the plan in one pipeline and reads the
// results in order; the first failure names its statement.
func execute(ctx context.Context, tx pgx.Tx, plan diff.Plan) error {
	type origin struct {
		change diff.Change
		stmt   diff.Statement
	}
	var origins []origin
	b := &pgx.Batch{}
	for _, c := range plan.Changes {
		for _, s := range c.Statements {
			b.Queue(s.SQL, s.Args...)
			origins = append(origins, origin{c, s})
		}
	}
	if len(origins) == 0 {
		return nil
	}
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	for _, o := range origins {
		if _, err := br.Exec(); err != nil {
			return &StatementError{Change: o.change, Statement: o.stmt, Err: describePgError(err)}
		}
	}
	if err := br.Close(); err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	return nil
}

// describePgError keeps the server's message and adds its DETAIL and HINT,
// which for a failed DROP ROLE list what the role still owns.
func describePgError(err error) error {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return err
	}
	msg := pgErr.Message + " (SQLSTATE " + pgErr.Code + ")"
	if pgErr.Detail != "" {
		msg += "; " + pgErr.Detail
	}
	if pgErr.Hint != "" {
		msg += "; hint: " + pgErr.Hint
	}
	return &serverError{msg: msg, err: err}
}

type serverError struct {
	msg string
	err error
}

func (e *serverError) Error() string { return e.msg }
func (e *serverError) Unwrap() error { return e.err }
