package apply

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// xact is a transaction pgusers opened: its id, fetched in the pipeline
// that runs its statements, and the server process that runs it. A
// transaction that was sent no statement has no id: it changed nothing.
type xact struct {
	id  string
	pid uint32
}

// xactIDSQL fetches the id of the transaction it runs in; it travels at
// the head of the statements' pipeline, so it costs no round trip. It is
// padded to the 20 digits of the largest xid8, so that the replies of an
// apply have the same length from one apply to the next.
const xactIDSQL = "SELECT pg_catalog.lpad(pg_catalog.pg_current_xact_id()::text, 20, '0')"

// xactID is the id xactIDSQL read, without its padding: xid8's input
// reads a leading zero as the start of an octal number.
func xactID(padded []byte) string {
	id := strings.TrimLeft(string(padded), "0")
	if id == "" {
		return "0"
	}
	return id
}

// VerifyWithin bounds asking a server what became of a transaction whose
// COMMIT reply never came, whatever is left of the server's --timeout and
// even after Ctrl-C: it is what tells the truth about the server.
const VerifyWithin = 20 * time.Second

// LostReplyError is a COMMIT whose reply never came, answered: pgusers
// signed in again and asked PostgreSQL (pg_xact_status) what became of the
// transaction, waiting while it was in progress. Committed is the answer.
type LostReplyError struct {
	// Step names the transaction: "the main transaction", "database X".
	Step      string
	Err       error
	Committed bool
}

func (e *LostReplyError) Error() string {
	if e.Committed {
		return fmt.Sprintf("the reply to COMMIT of %s never came (%v); signed in again, PostgreSQL says it committed", e.Step, e.Err)
	}
	return fmt.Sprintf("the reply to COMMIT of %s never came (%v); signed in again, PostgreSQL says it rolled back: it was not applied",
		e.Step, e.Err)
}

func (e *LostReplyError) Unwrap() error { return e.Err }

// settle turns commit's UnknownOutcomeError into what PostgreSQL says of
// the transaction: nil when the reply was lost but the transaction is
// known to have committed and last is false (the sequence goes on), a
// LostReplyError otherwise, or the UnknownOutcomeError, now saying why the
// server could not be asked, when it cannot be reached again in time. db
// is the database the transaction ran in ("" the connected one). Other
// errors pass unchanged.
func settle(ctx context.Context, job Job, db string, err error) error {
	var u *UnknownOutcomeError
	if !errors.As(err, &u) {
		return err
	}
	if u.xact.id == "" {
		// No statement was sent: committed or not, nothing changed.
		return &LostReplyError{Step: u.Step, Err: u.Err}
	}
	if job.Open == nil {
		u.Asked = errors.New("apply was given no way to sign in again")
		return u
	}
	if db == "" {
		db = job.Observed.Database
	}
	committed, aerr := ask(ctx, job.Open, db, u.xact, job.verifyWithin())
	if aerr != nil {
		u.Asked = aerr
		return u
	}
	return &LostReplyError{Step: u.Step, Err: u.Err, Committed: committed}
}

func (j Job) verifyWithin() time.Duration {
	if j.VerifyWithin > 0 {
		return j.VerifyWithin
	}
	return VerifyWithin
}

// ask signs in to database db again (and again, while the network is
// down) and asks PostgreSQL whether transaction x committed. While it is
// in progress (the COMMIT may still be on its way) it waits; past half the
// budget it ends x's session, which settles the transaction one way or the
// other. Once the answer is final, the old session is ended too if it is
// still there (its client is gone; a dead network may keep it for minutes),
// so that what is read next sees no transaction of it, and the session
// lock of a sequence is released.
func ask(ctx context.Context, open func(context.Context, string) (*pgx.Conn, error), db string, x xact, within time.Duration) (bool, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), within)
	defer cancel()
	terminateAfter := time.Now().Add(within / 2)
	var last error
	for {
		conn, err := open(ctx, db)
		if err == nil {
			var committed bool
			committed, err = askOn(ctx, conn, x, terminateAfter)
			_ = conn.Close(context.WithoutCancel(ctx))
			if err == nil {
				return committed, nil
			}
		}
		last = err
		select {
		case <-ctx.Done():
			return false, fmt.Errorf("the server could not be asked within %v: %w", within, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

const (
	xactStatusSQL = "SELECT pg_catalog.pg_xact_status($1::text::pg_catalog.xid8)"
	// endSessionSQL ends the session of a lost connection, only if it is
	// still the signed-in user's: a server process id may be reused.
	endSessionSQL = "SELECT pg_catalog.pg_terminate_backend(pid, 5000) FROM pg_catalog.pg_stat_activity " +
		"WHERE pid = $1 AND usename = current_user"
)

func askOn(ctx context.Context, conn *pgx.Conn, x xact, terminateAfter time.Time) (bool, error) {
	for {
		var status *string
		if err := conn.QueryRow(ctx, xactStatusSQL, x.id).Scan(&status); err != nil {
			return false, err
		}
		switch {
		case status == nil:
			return false, fmt.Errorf("pg_xact_status(%s) is null: the transaction is too old to tell", x.id)
		case *status == "committed" || *status == "aborted":
			if _, err := conn.Exec(ctx, endSessionSQL, int64(x.pid)); err != nil {
				return false, fmt.Errorf("end the lost session: %w", err)
			}
			return *status == "committed", nil
		}
		// In progress: the session has not yet seen COMMIT, or its end.
		if time.Now().After(terminateAfter) {
			if _, err := conn.Exec(ctx, endSessionSQL, int64(x.pid)); err != nil {
				return false, fmt.Errorf("end the lost session: %w", err)
			}
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
