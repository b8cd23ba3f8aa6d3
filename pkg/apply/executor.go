package apply

import (
	"context"
	"fmt"
	"strings"

	"github.com/pgusers/pgusers/pkg/diff"
)

// An Executor is how Run ends a plan's transactions once their statements
// ran: Commit applies the plan, Rollback rehearses it (apply --dry-run=server).
// Everything else, the lock, the read under it, the layout of the
// transactions and the statements, is the same for both: a rehearsal proves
// what an apply would run by running it.
type Executor interface {
	// end ends tx, the transaction x named step, whose statements all
	// succeeded, and says whether what it changed stays.
	end(ctx context.Context, tx ender, step string, x xact) (kept bool, err error)
	// steps are the transactions the executor runs for plan, whose
	// Cleanups it runs first (see Steps).
	steps(plan diff.Plan, me string) []Step
	// cleanupFailed says what a failed Cleanup left behind, after what
	// the Cleanups of done handed over.
	cleanupFailed(done []string) string
}

// ender commits or rolls back a transaction: a pgx.Tx, or one a pipeline
// began.
type ender interface {
	Commit(context.Context) error
	Rollback(context.Context) error
}

var (
	// Commit applies a plan: each transaction commits.
	Commit Executor = committer{}
	// Rollback rehearses a plan: each transaction, Cleanups included,
	// rolls back, proof that the plan applies, leaving nothing behind.
	Rollback Executor = rehearsal{}
)

type committer struct{}

func (committer) end(ctx context.Context, tx ender, step string, x xact) (bool, error) {
	if err := commit(ctx, tx, step, x); err != nil {
		return false, err
	}
	return true, nil
}

func (committer) steps(plan diff.Plan, me string) []Step { return Steps(plan, me) }

func (committer) cleanupFailed(done []string) string {
	if len(done) > 0 {
		return fmt.Sprintf("rolled back there, and the main transaction changed nothing; what the dropped principals owned in %s "+
			"was already handed over (each database commits on its own); every principal is still present: "+
			"fix the cause, then plan and apply again to finish", strings.Join(done, ", "))
	}
	return "rolled back there, and nothing else was changed: fix the cause, then plan and apply again"
}

// rehearsal rolls back every transaction. Its Cleanups roll back too, so
// the DROP ROLE of a principal that still owns objects in those databases
// would fail: it renames such a principal instead (renameInsteadOfDrop),
// which proves what follows in the plan (a replace's create), and the drop
// as far as a rehearsal can. The transactions after a rolled-back main one
// cannot see what it did: each first does again what it needs of it
// (standIns, renames).
type rehearsal struct{}

func (rehearsal) end(ctx context.Context, tx ender, _ string, _ xact) (bool, error) {
	if err := tx.Rollback(ctx); err != nil {
		return false, fmt.Errorf("roll back: %w", err)
	}
	return false, nil
}

func (rehearsal) steps(plan diff.Plan, me string) []Step {
	plan = renameInsteadOfDrop(plan)
	steps := Steps(plan, me)
	for i := 1; i < len(steps); i++ {
		s := &steps[i]
		if s.In != "" {
			s.Changes = append(standIns(plan, s.In), s.Changes...)
		} else {
			// The drops' hand-overs act on the renamed roles.
			s.Changes = append(renames(plan), s.Changes...)
		}
	}
	return steps
}

func (rehearsal) cleanupFailed([]string) string {
	return "rolled back there, as every other database of the rehearsal"
}
