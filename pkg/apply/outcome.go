package apply

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
)

// LostError is a connection lost, refused or timed out before COMMIT was
// sent: the open transaction rolled back with the connection, so nothing
// of it was committed. During says what pgusers was doing.
type LostError struct {
	During string
	Err    error
}

func (e *LostError) Error() string {
	return fmt.Sprintf("the connection was lost during %s, before COMMIT: the transaction rolled back: %v", e.During, e.Err)
}

func (e *LostError) Unwrap() error { return e.Err }

// UnknownOutcomeError is a COMMIT whose reply never came (the connection
// was lost, or the run was interrupted or timed out, after COMMIT was
// sent) and whose transaction PostgreSQL could not be asked about: the
// server could not be reached again within VerifyWithin. It may have
// committed, or not.
type UnknownOutcomeError struct {
	// Step names the transaction: "the main transaction", "database X".
	Step string
	Err  error
	// Asked is why asking the server failed.
	Asked error
	xact  xact
}

func (e *UnknownOutcomeError) Error() string {
	return fmt.Sprintf("the reply to COMMIT of %s never came (%v), and asking the server what became of it failed (%v): "+
		"it may or may not have committed", e.Step, e.Err, e.Asked)
}

func (e *UnknownOutcomeError) Unwrap() error { return e.Err }

// commit commits tx, transaction x. A server's error reply means it did
// not commit; any other failure after COMMIT was sent is an
// UnknownOutcomeError, for settle to ask the server about.
func commit(ctx context.Context, tx ender, step string, x xact) error {
	err := tx.Commit(ctx)
	if err == nil {
		return nil
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return fmt.Errorf("commit: %w", describePgError(err))
	}
	return &UnknownOutcomeError{Step: step, Err: err, xact: x}
}

// lost turns an error that is not the server's answer (a lost or closed
// connection, a context ended) into a LostError; the server's own errors
// pass unchanged.
func lost(during string, err error) error {
	if err == nil {
		return nil
	}
	var (
		pgErr *pgconn.PgError
		le    *LostError
		se    *StaleError
		ste   *StatementError
		ce    *CleanupError
		lr    *LostReplyError
		uo    *UnknownOutcomeError
	)
	if errors.As(err, &pgErr) || errors.As(err, &le) || errors.As(err, &se) || errors.As(err, &ste) || errors.As(err, &ce) ||
		errors.As(err, &lr) || errors.As(err, &uo) ||
		errors.Is(err, ErrLocked) {
		return err
	}
	return &LostError{During: during, Err: err}
}
