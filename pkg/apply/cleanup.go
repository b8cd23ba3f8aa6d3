package apply

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/pgusers/pgusers/pkg/diff"
)

// CleanupError says which statement of a plan's Cleanup failed, in which
// database, and which databases had already been handed over (and stay so:
// each Cleanup commits on its own).
type CleanupError struct {
	Database  string
	Statement diff.Statement
	Err       error
	// Done are the databases whose Cleanup committed before this one
	// failed; empty in a rehearsal, which commits none.
	Done []string
	// Exec is how the run ended its transactions: Rollback says the
	// other databases of the rehearsal rolled back too. Nil is Commit.
	Exec Executor
}

func (e *CleanupError) Error() string {
	var b strings.Builder
	var uo *UnknownOutcomeError
	if errors.As(e.Err, &uo) {
		fmt.Fprintf(&b, "in database %s, %v; ", e.Database, e.Err)
	} else {
		fmt.Fprintf(&b, "in database %s, %s failed: %v; ", e.Database, e.Statement.Display(), e.Err)
	}
	switch {
	case uo != nil:
		b.WriteString("the main transaction changed nothing")
		if len(e.Done) > 0 {
			fmt.Fprintf(&b, "; what the dropped principals owned in %s was already handed over", strings.Join(e.Done, ", "))
		}
		b.WriteString(": plan again to see what the server holds, then apply again to finish")
	default:
		exec := e.Exec
		if exec == nil {
			exec = Commit
		}
		b.WriteString(exec.cleanupFailed(e.Done))
	}
	return b.String()
}

func (e *CleanupError) Unwrap() error { return e.Err }

// cleanUp runs the plan's Cleanups in order, each on its own connection in
// its own transaction, which exec ends; it returns the databases whose
// Cleanup committed.
func cleanUp(ctx context.Context, job Job, exec Executor) ([]string, error) {
	if job.Open == nil {
		return nil, fmt.Errorf("the plan hands over objects in database %s, and apply was given no way to connect there; nothing was changed",
			job.Plan.Cleanups[0].Database)
	}
	var done []string
	for _, c := range job.Plan.Cleanups {
		kept, stmt, err := cleanUpOne(ctx, job, c, exec)
		if err != nil {
			return done, &CleanupError{Database: c.Database, Statement: stmt, Err: err, Done: done, Exec: exec}
		}
		if kept {
			done = append(done, c.Database)
		}
	}
	return done, nil
}

// cleanUpOne returns whether the hand-over committed, or the statement
// that failed with its error (a placeholder when what failed was the
// connection or the transaction).
func cleanUpOne(ctx context.Context, job Job, c diff.Cleanup, exec Executor) (bool, diff.Statement, error) {
	conn, err := job.Open(ctx, c.Database)
	if err != nil {
		return false, diff.Statement{SQL: "(connect)"}, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	tx, err := conn.Begin(ctx)
	if err != nil {
		return false, diff.Statement{SQL: "BEGIN"}, err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	b := &pgx.Batch{}
	b.Queue(xactIDSQL)
	for _, s := range c.Statements {
		b.Queue(s.SQL, s.Args...)
	}
	br := tx.SendBatch(ctx, b)
	x := xact{pid: conn.PgConn().PID()}
	var padded []byte
	if err := br.QueryRow().Scan(&padded); err != nil {
		br.Close()
		return false, diff.Statement{SQL: "(pipeline)"}, err
	}
	x.id = xactID(padded)
	for _, s := range c.Statements {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return false, s, describePgError(err)
		}
	}
	if err := br.Close(); err != nil {
		return false, diff.Statement{SQL: "(pipeline)"}, err
	}
	kept, err := exec.end(ctx, tx, "the hand-over in database "+c.Database, x)
	if err = settle(ctx, job, c.Database, err); err != nil && !isLostAfterCommit(err) {
		return false, diff.Statement{SQL: "COMMIT"}, err
	}
	return kept || err != nil, diff.Statement{}, nil
}

// renameInsteadOfDrop returns the plan a rehearsal runs: every DROP ROLE of
// a principal with a Cleanup becomes a rename, since the rolled-back
// Cleanup left its objects in place.
func renameInsteadOfDrop(plan diff.Plan) diff.Plan {
	cleaned := map[string]bool{}
	for _, c := range plan.Cleanups {
		for _, p := range c.Principals {
			cleaned[p] = true
		}
	}
	out := plan
	out.Changes = make([]diff.Change, len(plan.Changes))
	for i, ch := range plan.Changes {
		if cleaned[ch.Principal] {
			drop := "DROP ROLE " + pgx.Identifier{ch.Principal}.Sanitize()
			stmts := make([]diff.Statement, len(ch.Statements))
			for j, s := range ch.Statements {
				if s.SQL == drop {
					s = diff.Statement{SQL: "ALTER ROLE " + pgx.Identifier{ch.Principal}.Sanitize() + " RENAME TO " +
						pgx.Identifier{fmt.Sprintf("pgusers rehearsal %d", i)}.Sanitize()}
				}
				stmts[j] = s
			}
			ch.Statements = stmts
		}
		out.Changes[i] = ch
	}
	return out
}

// After is the job as a retry must run it once the Cleanups of databases
// committed in an earlier try (StatementError.HandedOver): without those
// Cleanups, and expecting what they handed over to be gone, so that the
// retry neither runs them twice nor takes their work for a stale plan.
func (j Job) After(databases []string) Job {
	if len(databases) == 0 {
		return j
	}
	done := map[string]bool{}
	for _, db := range databases {
		done[db] = true
	}
	handed := map[[2]string]bool{} // principal, database
	var cleanups []diff.Cleanup
	for _, c := range j.Plan.Cleanups {
		if !done[c.Database] {
			cleanups = append(cleanups, c)
			continue
		}
		for _, p := range c.Principals {
			handed[[2]string{p, c.Database}] = true
		}
	}
	var deps []diff.Dependency
	for _, d := range j.Observed.Dependencies {
		if !handed[[2]string{d.Principal, d.Database}] {
			deps = append(deps, d)
		}
	}
	var heldFrom []diff.HeldFrom
	for _, h := range j.Observed.HeldFrom {
		if !handed[[2]string{h.Principal, h.Database}] {
			heldFrom = append(heldFrom, h)
		}
	}
	j.Plan.Cleanups = cleanups
	j.Observed.Dependencies, j.Observed.HeldFrom = deps, heldFrom
	return j
}
