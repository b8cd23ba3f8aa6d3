package apply

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/pgusers/pgusers/pkg/diff"
)

// A plan that changes privileges of objects in other databases than the
// one pgusers connects to cannot be one transaction: no transaction spans
// two databases. It runs as a sequence, under an advisory lock held by the
// session for the whole of it, so that no other pgusers interleaves:
//
//  1. the lock; the server read again (the connected database in the main
//     transaction, and each other database in a transaction of its own,
//     begun in the round trip that reads it, on the session Job.Open gives,
//     kept open): a server that changed since the plan is refused with
//     nothing changed. When the main transaction changes nothing, a
//     database's statements run in that round trip too (see begin);
//  2. the hand-overs of what dropped principals own in other databases
//     (Cleanups), each committed in its own database, as single plans do;
//  3. the main transaction: principals and roles created, renamed and
//     replaced, comments, memberships, privileges on databases and on
//     objects of the connected database; committed, so that the other
//     databases see the roles it made;
//  4. each other database's transaction: its privilege changes, with the
//     owners it must act as lent to the signed-in user for that
//     transaction only; committed one by one, in database order;
//  5. a last transaction in the connected database: the drops.
//
// Each step is atomic; the sequence is not. A failure stops it: what was
// committed before stays (PartialError names it), nothing after runs, and
// since every step is part of the desired state, the next plan shows what
// is left and the next apply finishes it. Drops come last, so a failure
// never leaves a dropped role that another step still needed.
//
// A rehearsal runs every step and rolls each back. The other databases
// cannot see the roles the rolled-back main transaction made, so each of
// their transactions first creates those it grants to as plain NOLOGIN
// roles, rolled back with it.

// PartialError is a failure after some of a plan's transactions
// committed: what they changed stays on the server.
type PartialError struct {
	// Committed names the transactions that committed, in order: "the
	// main transaction", "database NAME", "the drops" and "hand-over in
	// database NAME". Only those that changed something are named.
	Committed []string
	// Failed names the transaction that failed, and NotRun those that did
	// not run. Failed is "" when the sequence stopped because the
	// connection was lost after the last of Committed (Err, a
	// LostReplyError, says so).
	Failed string
	NotRun []string
	Err    error
}

func (e *PartialError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "already committed (each database commits on its own): %s; then ", strings.Join(e.Committed, ", "))
	var lr *LostReplyError
	var uo *UnknownOutcomeError
	switch {
	case e.Failed == "":
		fmt.Fprintf(&b, "the connection was lost: %v", e.Err)
	case errors.As(e.Err, &lr), errors.As(e.Err, &uo):
		fmt.Fprintf(&b, "%v", e.Err) // what became of Failed is its own message
	default:
		fmt.Fprintf(&b, "%s failed and was rolled back: %v", e.Failed, e.Err)
	}
	if len(e.NotRun) > 0 {
		fmt.Fprintf(&b, "; not run: %s", strings.Join(e.NotRun, ", "))
	}
	b.WriteString("; fix the cause, then plan and apply again to finish")
	return b.String()
}

func (e *PartialError) Unwrap() error { return e.Err }

// HandOvers names the hand-overs committed in databases, as PartialError
// lists them.
func HandOvers(databases []string) []string {
	out := make([]string, len(databases))
	for i, db := range databases {
		out[i] = "hand-over in database " + db
	}
	return out
}

// changesSomething reports whether a transaction's changes change the
// server: lending roles and taking them back leaves it as it was.
func changesSomething(changes []diff.Change) bool {
	for _, c := range changes {
		if c.Action != "lend" && c.Action != "unlend" && c.Action != "stand-in" {
			return true
		}
	}
	return false
}

// ownCatalogsOnly reports whether changes write only their database's own
// catalogs: privileges on its objects. Lending roles, and a rehearsal's
// stand-ins and renames, write role catalogs all databases share: run
// while the transactions of other databases are open, the next database's
// lending would wait for this one's to commit, which the sequence holds
// back until every database is checked.
func ownCatalogsOnly(changes []diff.Change) bool {
	for _, c := range changes {
		switch c.Action {
		case "lend", "unlend", "stand-in", diff.Rename:
			return false
		}
	}
	return true
}

// elsewhere is the open transaction of another database: its step's
// changes, and the transaction, whose statements already ran when ran.
type elsewhere struct {
	db      string
	changes []diff.Change
	conn    *pgx.Conn
	x       xact
	ran     bool
}

// phased runs steps, a plan's sequence: the main transaction first, then
// one per other database, then the drops if the plan has any.
func phased(ctx context.Context, conn *pgx.Conn, job Job, exec Executor, steps []Step) (err error) {
	if job.Open == nil {
		return fmt.Errorf("the plan changes privileges in database %s, and apply was given no way to connect there; nothing was changed",
			job.Plan.Elsewhere()[0])
	}
	// conn is the session's connection, which holds the lock through the
	// sequence; the main transaction, then the drops', run on it.
	tx := rawTx{conn.PgConn()}
	mainOpen := true
	locked := false
	var others []elsewhere
	defer func() {
		for _, o := range others {
			_ = rawTx{o.conn.PgConn()}.Rollback(context.WithoutCancel(ctx))
			_ = o.conn.Close(context.WithoutCancel(ctx))
		}
		release(ctx, conn, mainOpen, locked)
	}()

	// 1. Lock, and read everything again.
	if _, err := beginMain(ctx, conn, job, true, nil); err != nil {
		locked = !errors.Is(err, ErrLocked)
		return err
	}
	locked = true
	// When the main transaction changes nothing, no other database waits
	// for it to commit: each runs its statements in the round trip that
	// reads it again, unless they write what all databases share (see
	// ownCatalogsOnly).
	ahead := !changesSomething(steps[0].Changes)
	for _, s := range steps[1:] {
		if s.In == "" {
			break // the drops
		}
		o, err := begin(ctx, job, s, ahead && ownCatalogsOnly(s.Changes))
		if o.conn != nil {
			others = append(others, o)
		}
		if err != nil {
			return err
		}
	}

	// 2. Hand-overs in other databases.
	var committed []string
	if len(job.Plan.Cleanups) > 0 {
		handed, err := cleanUp(ctx, job, exec)
		committed = append(committed, HandOvers(handed)...)
		if err != nil {
			return err
		}
	}
	last := steps[len(steps)-1]
	drops := last.In == ""
	// stop ends the sequence at step failed ("" when the connection was
	// lost after a commit): what committed stays, and what follows did not
	// run.
	stop := func(failed string, err error) error {
		if len(committed) == 0 {
			return err
		}
		var notRun []string
		for _, o := range others {
			notRun = append(notRun, "database "+o.db)
		}
		if drops && failed != "the drops" {
			notRun = append(notRun, "the drops")
		}
		return &PartialError{Committed: committed, Failed: failed, NotRun: notRun, Err: err}
	}
	// step runs a step's changes in the open transaction of conn, x,
	// unless they ran already, and ends it with exec (rolls it back when
	// they change nothing); a failure rolls them back. It returns whether
	// the connection is still usable.
	step := func(conn *pgx.Conn, db, name string, changes []diff.Change, x xact, ran bool) (bool, error) {
		tx := rawTx{conn.PgConn()}
		if !ran {
			var err error
			if x, err = execute(ctx, conn, changes); err != nil {
				return tx.Rollback(context.WithoutCancel(ctx)) == nil, err
			}
		}
		if !changesSomething(changes) {
			return true, tx.Rollback(ctx)
		}
		kept, err := exec.end(ctx, tx, name, x)
		err = settle(ctx, job, db, err)
		var lr *LostReplyError
		if errors.As(err, &lr) && lr.Committed {
			committed = append(committed, name)
			return false, err
		}
		if err == nil && kept {
			committed = append(committed, name)
		}
		return err == nil, err
	}

	// 3. The main transaction, all but the drops. One that changes
	// nothing, with no drops to follow on its connection, stays open: it
	// rolls back when the lock is released, in the same round trip.
	mainOpen = !changesSomething(steps[0].Changes) && !drops
	if !mainOpen {
		ok, err := step(conn, "", "the main transaction", steps[0].Changes, xact{pid: conn.PgConn().PID()}, false)
		switch {
		case err == nil:
		case ok || !isLostAfterCommit(err):
			return stop("the main transaction", err)
		default:
			// Committed, and the session (and its lock) is gone with the
			// connection: the sequence cannot go on safely.
			return stop("", err)
		}
	}

	// 4. Each other database.
	for len(others) > 0 {
		o := others[0]
		others = others[1:]
		_, err := step(o.conn, o.db, "database "+o.db, o.changes, o.x, o.ran)
		_ = o.conn.Close(context.WithoutCancel(ctx))
		switch {
		case isLostAfterCommit(err):
			// It committed; only its own connection went. The session
			// still holds the lock: go on.
		case err != nil:
			return stop("database "+o.db, fmt.Errorf("in database %s: %w", o.db, err))
		}
	}

	// 5. The drops, begun with their statements in one round trip.
	if !drops {
		return nil
	}
	h := &headed{conn: conn, changes: last.Changes}
	if err := h.run(ctx); err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return stop("the drops", err)
	}
	if _, err := step(conn, "", "the drops", last.Changes, h.x, true); err != nil {
		if isLostAfterCommit(err) {
			return err // every step committed; the caller reads the server again
		}
		return stop("the drops", err)
	}
	return nil
}

// isLostAfterCommit reports whether err is a COMMIT whose reply was lost
// and that, PostgreSQL says, committed.
func isLostAfterCommit(err error) bool {
	var lr *LostReplyError
	return errors.As(err, &lr) && lr.Committed
}

// begin opens the transaction of s, a step in another database, on a
// connection of its own, and reads that database again, when the plan read
// it, in the same round trip; with ahead, s's statements run there too. A
// database that changed since the plan is a StaleError. Its connection is
// returned whenever it opened, for the caller to close.
func begin(ctx context.Context, job Job, s Step, ahead bool) (elsewhere, error) {
	db := s.In
	c, err := job.Open(ctx, db)
	if err != nil {
		return elsewhere{}, fmt.Errorf("database %s: connect: %w; nothing was changed", db, err)
	}
	o := elsewhere{db: db, changes: s.Changes, conn: c}
	h := &headed{conn: c}
	if ahead {
		h.changes, o.ran = s.Changes, true
	}
	if sc, ok := job.Asked.Scope(db); ok {
		err = checkDatabase(ctx, h, job, sc)
	} else {
		err = h.run(ctx)
	}
	o.x = h.x
	switch {
	case h.begun != nil:
		return o, fmt.Errorf("database %s: begin: %w; nothing was changed", db, h.begun)
	case err != nil:
		return o, err
	case h.ran != nil:
		return o, fmt.Errorf("in database %s: %w", db, h.ran)
	}
	return o, nil
}

// headed sends a batch as the head of a new transaction on conn: BEGIN
// before the batch's queries, the statements of changes after them, in
// one pipeline. It serves inspect, which reads the batch's results as
// usual: the statements' are read when it closes them.
type headed struct {
	conn    *pgx.Conn
	changes []diff.Change
	x       xact
	// begun is BEGIN's failure; ran the statements'.
	begun, ran error
}

func (h *headed) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	all := &pgx.Batch{}
	all.Queue("BEGIN")
	all.QueuedQueries = append(all.QueuedQueries, b.QueuedQueries...)
	queueStatements(all, h.changes)
	h.x = xact{pid: h.conn.PgConn().PID()}
	br := h.conn.SendBatch(ctx, all)
	if _, err := br.Exec(); err != nil {
		h.begun = lost("BEGIN", err)
	}
	return &headedResults{BatchResults: br, h: h}
}

// run begins the transaction and runs the statements, alone.
func (h *headed) run(ctx context.Context) error {
	err := h.SendBatch(ctx, &pgx.Batch{}).Close()
	switch {
	case h.begun != nil:
		return h.begun
	case h.ran != nil:
		return h.ran
	}
	return lost("the change set", err)
}

type headedResults struct {
	pgx.BatchResults
	h    *headed
	read bool
}

func (r *headedResults) Close() error {
	if !r.read && r.h.begun == nil {
		r.read = true
		r.h.x.id, r.h.ran = readStatements(r.BatchResults, r.h.changes)
	}
	return r.BatchResults.Close()
}

// release rolls back the main transaction when it is still open, and
// releases the session's apply lock when it holds it, in one round trip.
// Closing the connection would do both; a failure here leaves it to that.
func release(ctx context.Context, conn *pgx.Conn, open, locked bool) {
	b := &pgx.Batch{}
	if open {
		b.Queue("ROLLBACK")
	}
	if locked && !conn.IsClosed() {
		b.Queue("SELECT pg_catalog.pg_advisory_unlock($1)", LockKey)
	}
	if b.Len() > 0 {
		_ = conn.SendBatch(context.WithoutCancel(ctx), b).Close()
	}
}

func hasDrops(plan diff.Plan) bool {
	return slices.ContainsFunc(plan.Changes, onlyDrops.keeps)
}

// standIns create, in a rehearsal of database db's transaction, the roles
// the main transaction would have made and db's changes grant to: the
// rolled-back main transaction's roles are not there for it to see. A
// renamed role is renamed again instead, so that it holds and owns what
// it will (db's changes may grant to it, or act as it on what it owns).
func standIns(plan diff.Plan, db string) []diff.Change {
	made := map[string]bool{}
	for _, c := range plan.Changes {
		switch c.Action {
		case diff.Create:
			made[c.Principal] = true
		case diff.CreateRole:
			made[c.Role] = true
		}
	}
	var names []string
	for _, c := range plan.Changes {
		if c.In == db && made[c.Grantee] && !slices.Contains(names, c.Grantee) {
			names = append(names, c.Grantee)
		}
	}
	if len(names) == 0 {
		return renames(plan)
	}
	slices.Sort(names)
	var ss []diff.Statement
	for _, n := range names {
		ss = append(ss, diff.Statement{SQL: "CREATE ROLE " + pgx.Identifier{n}.Sanitize() + " NOLOGIN"})
	}
	return append(renames(plan), diff.Change{Action: "stand-in", Role: strings.Join(names, ", "), Statements: ss})
}

// renames are the plan's renames, which a rehearsal runs again in each
// transaction after the main one it rolled back.
func renames(plan diff.Plan) []diff.Change {
	var out []diff.Change
	for _, c := range plan.Changes {
		if c.Action == diff.Rename {
			out = append(out, c)
		}
	}
	return out
}
