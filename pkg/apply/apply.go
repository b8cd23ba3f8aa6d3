package apply

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgusers/pgusers/pkg/diff"
	"github.com/pgusers/pgusers/pkg/inspect"
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
	// Asked is what Observed was read for.
	Asked inspect.Asked
	// Open connects to a database of the server, signed in as the main
	// connection is: to the other databases of a plan with Cleanups or of
	// a sequence, and to ask what became of a transaction whose COMMIT
	// reply never came (settle).
	Open inspect.Opener
	// VerifyWithin bounds that asking; zero is VerifyWithin.
	VerifyWithin time.Duration
}

// Run runs the job's plan on conn and ends each of its transactions with
// exec: Commit applies it, Rollback rehearses it. The transactions are
// the plan's Steps, laid out once, as a dry run prints them: one (see
// oneTransaction: two round trips, four at most), unless the plan changes
// privileges in other databases (see phased).
//
// A plan with Cleanups (principals it drops own objects in other
// databases) first runs each Cleanup on a connection of its own, in a
// transaction of its own that exec ends, while the main transaction holds
// the lock and has checked the plan is not stale. PostgreSQL cannot span
// two databases with one transaction, so this is the one place where
// apply is not all or nothing. It is ordered so that a failure anywhere
// leaves every principal in place and still managed: a cleanup only hands
// objects over to reassignOwnedTo, the principal itself is dropped last,
// by the main transaction. After a failure the next plan sees fewer
// objects to hand over, and the next apply finishes the job.
func Run(ctx context.Context, conn *pgx.Conn, job Job, exec Executor) error {
	steps := exec.steps(job.Plan, job.Observed.SessionUser)
	if len(steps) > 1 {
		return phased(ctx, conn, job, exec, steps)
	}
	return oneTransaction(ctx, conn, job, exec, steps[0])
}

// Apply runs the job's plan and commits it: Run with Commit.
func Apply(ctx context.Context, conn *pgx.Conn, job Job) error {
	return Run(ctx, conn, job, Commit)
}

// which picks changes of one transaction.
type which int

const (
	all       which = iota // every change
	notDrops               // all but the drops
	onlyDrops              // the drops alone
)

func (w which) keeps(c diff.Change) bool {
	drop := c.Action == diff.Drop || c.Action == diff.DropRole
	return w == all || (w == onlyDrops) == drop
}

// Step is one transaction of a plan: the database it runs in ("" the
// main transaction's, the database pgusers connects to) and its changes,
// with the roles lent to the signed-in user first and taken back last.
type Step struct {
	In      string
	Changes []diff.Change
}

// Steps are the transactions a plan runs, in order: one, unless it changes
// privileges in other databases (see phased). Cleanups are not among
// them: they run before, each in its database.
func Steps(plan diff.Plan, me string) []Step {
	if len(plan.Elsewhere()) == 0 {
		return []Step{{Changes: transaction(plan, "", me, all)}}
	}
	steps := []Step{{Changes: transaction(plan, "", me, notDrops)}}
	for _, db := range plan.Elsewhere() {
		steps = append(steps, Step{In: db, Changes: transaction(plan, db, me, all)})
	}
	if hasDrops(plan) {
		steps = append(steps, Step{Changes: transaction(plan, "", me, onlyDrops)})
	}
	return steps
}

// transaction is what the transaction of database in ("" the main one)
// runs: the roles lent to me first, the changes it keeps, and the lent
// roles taken back last.
func transaction(plan diff.Plan, in, me string, w which) []diff.Change {
	var out []diff.Change
	lent := plan.LendsIn(in)
	if w == onlyDrops {
		lent = nil // the drops lend their own roles (hand-overs)
	}
	lend, unlend := diff.LendStatements(lent, me)
	if len(lend) > 0 {
		out = append(out, diff.Change{Action: "lend", Role: strings.Join(lent, ", "), Statements: lend})
	}
	for _, c := range plan.Changes {
		if c.In == in && w.keeps(c) {
			out = append(out, c)
		}
	}
	if len(unlend) > 0 {
		out = append(out, diff.Change{Action: "unlend", Role: strings.Join(lent, ", "), Statements: unlend})
	}
	return out
}

// LockStatements are how the transaction of a plan in one transaction
// takes the apply lock, with the key written in, as a dry run prints them:
// a lock held by another apply raises an error at once (lock_timeout), so
// that nothing after it runs, and the statements after it wait for locks
// as usual.
func LockStatements() []string {
	return []string{setLockTimeoutSQL, strings.Replace(lockSQL, "$1", strconv.FormatInt(LockKey, 10), 1), restoreLockTimeoutSQL}
}

// SessionLockStatement is how a plan of several transactions takes the
// apply lock, for the session, as a dry run prints it.
func SessionLockStatement() string {
	return strings.Replace(sessionLockSQL, "$1", strconv.FormatInt(LockKey, 10), 1)
}

// lockHeld reports whether err is the lock_timeout of the apply lock:
// another apply holds it.
func lockHeld(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "55P03" // lock_not_available
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

// checkDatabase reads the objects of scope's database on conn, a
// connection to it, and compares them with the plan's.
func checkDatabase(ctx context.Context, conn inspect.Batcher, job Job, sc inspect.Scope) error {
	now, _, err := inspect.ReadDatabase(ctx, conn, sc)
	if err != nil {
		return fmt.Errorf("database %s: read it again under the lock: %w", sc.Database, err)
	}
	before, _ := job.Observed.DatabaseNamed(sc.Database)
	if changes := diff.DatabaseChanges(before, now); len(changes) > 0 {
		return &StaleError{Changes: changes}
	}
	return nil
}

// StatementError says which statement of a plan failed, for which
// principal, and what the server said.
type StatementError struct {
	Change    diff.Change
	Statement diff.Statement
	Err       error
	// HandedOver are the databases whose Cleanup had committed before the
	// main transaction failed: what the dropped principals owned there
	// belongs to reassignOwnedTo now.
	HandedOver []string
}

func (e *StatementError) Error() string {
	if len(e.HandedOver) > 0 {
		return fmt.Sprintf("%s failed, the main transaction was rolled back, and every principal is still present: %s: %v; "+
			"what the dropped principals owned in database %s was handed over before (each database commits on its own): "+
			"fix the cause, then plan and apply again to finish",
			e.what(), e.Statement.Display(), e.Err, strings.Join(e.HandedOver, ", "))
	}
	return fmt.Sprintf("%s failed, and its transaction was rolled back: %s: %v", e.what(), e.Statement.Display(), e.Err)
}

// what names the change: its action and what it is about.
func (e *StatementError) what() string {
	c := e.Change
	about := c.Principal
	switch {
	case c.Grantee != "":
		about = c.Grantee
		if c.Database != "" {
			about += " in database " + c.Database
		}
	case about == "" && c.Role != "":
		about = c.Role
	}
	if about == "" {
		return string(c.Action)
	}
	return string(c.Action) + " " + diff.SafeName(about)
}

func (e *StatementError) Unwrap() error { return e.Err }

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

// readsObjectsHere reports whether the plan's grants name objects of the
// connected database, which the check under the lock must read too.
func readsObjectsHere(job Job) bool {
	sc, ok := job.Asked.Scope(job.Observed.Database)
	return ok && sc.ReadsObjects()
}
