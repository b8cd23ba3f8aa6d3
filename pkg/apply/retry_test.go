package apply_test

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pgusers/pgusers/internal/pgtest"
	"github.com/pgusers/pgusers/pkg/apply"
	"github.com/pgusers/pgusers/pkg/fleet"
	"github.com/pgusers/pgusers/pkg/spec"
)

// A try whose connection was lost before COMMIT may leave its server
// process behind, its transaction open and the apply lock held, until the
// process next reads from the dead connection. The retry ends that process
// first: without it, the next try waits for the lock and fails as if
// another apply held it.
func TestRetryAfterALostConnectionEndsItsSession(t *testing.T) {
	c := pgtest.New(t)
	ctx := context.Background()
	planner, _ := c.AdminConn(t)
	job := plan(t, planner, desired(false, principal("after-a-cut", spec.User)))

	// The first try's connection: it takes the lock the way an apply
	// does, and is then "lost" while its server process lives on.
	first, err := pgx.ConnectConfig(ctx, c.AdminConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close(ctx)
	tries := 0
	conns := func(ctx context.Context) (apply.Beginner, error) {
		if tries == 0 {
			return first, nil
		}
		return pgx.ConnectConfig(ctx, c.AdminConfig(t))
	}
	run := func(ctx context.Context, conn apply.Beginner, job apply.Job) error {
		tries++
		if tries == 1 {
			tx, err := conn.Begin(ctx)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `SELECT pg_catalog.pg_advisory_xact_lock($1)`, apply.LockKey); err != nil {
				return err
			}
			return &apply.LostError{During: "the pipeline", Err: io.ErrUnexpectedEOF}
		}
		defer conn.(*pgx.Conn).Close(ctx)
		return apply.Apply(ctx, conn, job)
	}
	if err := apply.Retry(ctx, conns, job, run, fleet.DefaultBackoff, nil); err != nil {
		if errors.Is(err, apply.ErrLocked) {
			t.Fatalf("the retry waited for the lost session's lock: %v", err)
		}
		t.Fatal(err)
	}
	if tries != 2 {
		t.Errorf("%d tries, want 2", tries)
	}
	if again := plan(t, planner, desired(false, principal("after-a-cut", spec.User))); !again.Plan.InSync() {
		t.Errorf("the plan after the retried apply is not empty: %+v", again.Plan.Changes)
	}
}
