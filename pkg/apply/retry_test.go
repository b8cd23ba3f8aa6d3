package apply

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pgusers/pgusers/internal/pgtest"
	"github.com/pgusers/pgusers/pkg/diff"
	"github.com/pgusers/pgusers/pkg/fleet"
	"github.com/pgusers/pgusers/pkg/inspect"
	"github.com/pgusers/pgusers/pkg/spec"
)

// lostBeforeCommit commits, but for its first transaction, which it
// leaves open (its lock held) and reports lost before COMMIT: a
// connection cut while its server process lives on, as it does until it
// next reads from the socket.
type lostBeforeCommit struct {
	Executor
	tries int
}

func (l *lostBeforeCommit) end(ctx context.Context, tx ender, step string, x xact) (bool, error) {
	l.tries++
	if l.tries == 1 {
		return false, &LostError{During: "COMMIT", Err: io.ErrUnexpectedEOF}
	}
	return l.Executor.end(ctx, tx, step, x)
}

// A retry after a connection lost before COMMIT first ends the lost
// session: without it, the next try waits for the lock that session still
// holds, and fails as if another apply held it.
func TestRetryAfterALostConnectionEndsItsSession(t *testing.T) {
	c := pgtest.New(t)
	ctx := context.Background()
	connect := func(ctx context.Context) (*pgx.Conn, error) {
		cfg := c.AdminConfig(t)
		cfg.DefaultQueryExecMode = pgx.QueryExecModeExec
		return pgx.ConnectConfig(ctx, cfg)
	}
	planner, err := connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer planner.Close(ctx)
	d := spec.Server{Name: "test", MaxDrops: 100, Principals: []spec.Principal{
		{Name: "after-a-cut", Type: spec.User, ObjectID: pgtest.ObjectID("after-a-cut")}}}
	plan := func() Job {
		t.Helper()
		asked := inspect.Ask(d)
		o, err := inspect.Inspect(ctx, planner, asked)
		if err != nil {
			t.Fatal(err)
		}
		p, err := diff.Compute(d, o)
		if err != nil {
			t.Fatal(err)
		}
		return Job{Plan: p, Observed: o, Asked: asked}
	}
	var conns []*pgx.Conn
	defer func() {
		for _, conn := range conns {
			conn.Close(ctx)
		}
	}()
	exec := &lostBeforeCommit{Executor: Commit}
	err = Retry(ctx, func(ctx context.Context) (*pgx.Conn, error) {
		conn, err := connect(ctx)
		conns = append(conns, conn)
		return conn, err
	}, plan(), exec, fleet.DefaultBackoff, nil)
	if errors.Is(err, ErrLocked) {
		t.Fatalf("the retry waited for the lost session's lock: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if exec.tries != 2 {
		t.Errorf("%d tries, want 2", exec.tries)
	}
	if again := plan(); !again.Plan.InSync() {
		t.Errorf("the plan after the retried apply is not empty: %+v", again.Plan.Changes)
	}
}
