package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgusers/pgusers/pkg/connect"
	"github.com/pgusers/pgusers/pkg/diff"
	"github.com/pgusers/pgusers/pkg/inspect"
	"github.com/pgusers/pgusers/pkg/report"
	"github.com/pgusers/pgusers/pkg/spec"
)

// Config is what every server of a run shares.
type Config struct {
	// Parallel is how many servers are worked on at once (at least 1).
	Parallel int
	// Timeout bounds each server's work: connect, read and apply.
	Timeout time.Duration
	// Connect holds the credentials, and with them the token cache, of
	// every connection of the run.
	Connect connect.Options
	Log     *slog.Logger
	// Progress, when set, shows on a terminal how far the run is.
	Progress io.Writer
	// Unusable are servers known not to sign in (discovery says why):
	// reported failed, never connected to.
	Unusable map[string]error
	// Graph is how Microsoft Graph is reached (access --expand-groups,
	// directory: graph); the zero value is Azure's.
	Graph Graph
}

// Target is one server through a run: what it has, its plan, and how it
// ended.
type Target struct {
	Server spec.Server
	// Asked is what the plan asks of the server (inspect.Ask).
	Asked    inspect.Asked
	Observed diff.Observed
	Plan     diff.Plan
	Status   report.Status
	// Err is why the server failed. It never starts with the server's
	// name: the report names the server.
	Err error

	conn *pgx.Conn
	// read are the sessions that read the objects of other databases for
	// the plan, kept for apply to re-read and change those databases on:
	// one session per database in a run.
	read map[string]*pgx.Conn
}

// NewTarget is a server about to be planned.
func NewTarget(s spec.Server) *Target {
	return &Target{Server: s, Asked: inspect.Ask(s)}
}

// Planned is a server whose plan was made before (a saved plan).
func Planned(s spec.Server, observed diff.Observed, plan diff.Plan) *Target {
	t := NewTarget(s)
	t.Observed, t.Plan = observed, plan
	t.Status = report.InSync
	if !plan.InSync() {
		t.Status = report.Changes
	}
	return t
}

func (t *Target) fail(err error) {
	t.Status = report.Error
	t.Err = err
}

func (t *Target) close(ctx context.Context) {
	if t.conn != nil {
		_ = t.conn.Close(context.WithoutCancel(ctx))
		t.conn = nil
	}
	for db, c := range t.read {
		_ = c.Close(context.WithoutCancel(ctx))
		delete(t.read, db)
	}
}

// keep keeps conn, which read database db, for apply (see opener).
func (t *Target) keep(ctx context.Context, db string, conn *pgx.Conn) {
	if old := t.read[db]; old != nil {
		_ = old.Close(context.WithoutCancel(ctx)) // a read tried again
	}
	if t.read == nil {
		t.read = map[string]*pgx.Conn{}
	}
	t.read[db] = conn
}

// opener connects to another database of t's server: the first time, on
// the session that read it for the plan, if it is still open; then on a
// new session, signed in the same way. The caller owns what it returns.
func (t *Target) opener(opts connect.Options) inspect.Opener {
	open := opener(t.Server, opts)
	return func(ctx context.Context, database string) (*pgx.Conn, error) {
		if c := t.read[database]; c != nil {
			delete(t.read, database)
			if !c.IsClosed() {
				return c, nil
			}
		}
		return open(ctx, database)
	}
}

// Close closes the connections targets still hold.
func Close(ctx context.Context, targets []*Target) {
	for _, t := range targets {
		t.close(ctx)
	}
}

// Result is the target as the report shows it.
func (t *Target) Result() report.Result {
	return report.Result{Server: t.Server, Status: t.Status, Err: t.Err, Plan: t.Plan, Principals: len(t.Observed.Principals),
		SessionUser: t.Observed.SessionUser}
}

// Results are the targets as the report shows them, in order.
func Results(targets []*Target) []report.Result {
	out := make([]report.Result, len(targets))
	for i, t := range targets {
		out[i] = t.Result()
	}
	return out
}

// Pending counts the targets with changes to apply.
func Pending(targets []*Target) int {
	n := 0
	for _, t := range targets {
		if t.Status == report.Changes {
			n++
		}
	}
	return n
}

// opener connects to another database of server s, signed in the same
// way.
func opener(s spec.Server, opts connect.Options) inspect.Opener {
	return func(ctx context.Context, database string) (*pgx.Conn, error) {
		other := s
		other.Database = database
		return connect.Open(ctx, other, opts)
	}
}

// stopped explains an error caused by the run being interrupted or the
// server's timeout running out; other errors pass unchanged.
func stopped(ctx context.Context, timeout time.Duration, outcome string, err error) error {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("timed out after %s (--timeout); %s: %w", timeout, outcome, err)
	case errors.Is(ctx.Err(), context.Canceled):
		return fmt.Errorf("interrupted; %s: %w", outcome, err)
	}
	return err
}

func retryLogger(log *slog.Logger, what string) func(int, error, time.Duration) {
	return func(attempt int, err error, wait time.Duration) {
		log.Warn("transient failure, retrying", "step", what, "attempt", attempt, "wait", wait, "error", err)
	}
}
