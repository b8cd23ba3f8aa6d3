package apply

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgusers/pgusers/pkg/fleet"
)

// Transient reports whether err, from Run, means that the
// same job may succeed if run again in a fresh transaction: a directory
// look-up that failed transiently (pgaadauth's SQLSTATE 0LP01), a
// serialization failure, a deadlock.
func Transient(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	switch pgErr.Code {
	case "40001", "40P01":
		return true
	case "0LP01":
		// pgaadauth raises it when its directory look-up failed for a
		// moment; PostgreSQL raises the same code for a membership cycle,
		// which no retry mends.
		var se *StatementError
		return errors.As(err, &se) && strings.Contains(se.Statement.SQL, "pgaadauth_create_principal")
	}
	return false
}

// Retry runs job with exec (see Run) until it succeeds or fails for a reason no
// retry mends, at most as often as b allows, in one budget. Each try is a
// fresh transaction, on the connection conn gives (conn opens a new one
// when the last was lost): a failed try rolled back whole, except for the
// Cleanups it had committed, which the next try neither runs again nor
// takes for a change since the plan (Job.After).
//
// A try is worth another when it failed Transient, or lost its connection
// before COMMIT was sent (LostError) in a plan without Cleanups, whose
// hand-overs in other databases a new connection would not know of. Never
// after a partial commit (the server is no longer as planned), nor when
// ctx ended. onRetry, when set, hears of each retry before its wait.
func Retry(ctx context.Context, conn func(context.Context) (*pgx.Conn, error), job Job, exec Executor, b fleet.Backoff,
	onRetry func(attempt int, err error, wait time.Duration)) error {
	var handedOver []string
	retry := func(err error) bool {
		var pe *PartialError
		var le *LostError
		switch {
		case errors.As(err, &pe), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
			return false
		case errors.As(err, &le):
			return len(job.Plan.Cleanups) == 0
		}
		return Transient(err)
	}
	var lost uint32 // the server process of the last try's lost connection
	_, err := fleet.Retry(ctx, b, retry, onRetry, func(ctx context.Context) error {
		c, err := conn(ctx)
		if err != nil {
			return err
		}
		if lost != 0 {
			if err := endLostSession(ctx, c, lost); err != nil {
				return err
			}
			lost = 0
		}
		err = Run(ctx, c, job.After(handedOver), exec)
		var se *StatementError
		var ce *CleanupError
		var le *LostError
		switch {
		case errors.As(err, &se):
			handedOver = append(handedOver, se.HandedOver...)
		case errors.As(err, &ce):
			handedOver = append(handedOver, ce.Done...)
		case errors.As(err, &le):
			lost = c.PgConn().PID()
		}
		return err
	})
	return err
}

// endLostSession ends the server process of a connection lost before
// COMMIT, and waits for it to exit, before the next try takes the lock: a
// server process notices a cut connection only when it next reads from it,
// and until then its transaction is open and it holds the session lock the
// next try would wait for (and report as taken by another apply).
func endLostSession(ctx context.Context, c *pgx.Conn, pid uint32) error {
	if _, err := c.Exec(ctx, endSessionSQL, int64(pid)); err != nil {
		return fmt.Errorf("end the session of the lost connection: %w", err)
	}
	return nil
}
