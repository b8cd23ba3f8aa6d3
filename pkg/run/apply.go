package run

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/pgusers/pgusers/pkg/apply"
	"github.com/pgusers/pgusers/pkg/connect"
	"github.com/pgusers/pgusers/pkg/diff"
	"github.com/pgusers/pgusers/pkg/fleet"
	"github.com/pgusers/pgusers/pkg/inspect"
	"github.com/pgusers/pgusers/pkg/report"
)

// Connect opens a connection to every target with changes (of a saved
// plan), on the pool; a server that cannot be reached fails alone.
func Connect(ctx context.Context, targets []*Target, cfg Config) {
	fleet.Each(ctx, len(targets), cfg.Parallel, func(ctx context.Context, i int) {
		t := targets[i]
		if t.Status != report.Changes {
			return
		}
		ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
		defer cancel()
		if err := ctx.Err(); err != nil {
			t.fail(fmt.Errorf("not started: %w", context.Cause(ctx)))
			return
		}
		// Connecting changes nothing: a refused or reset connection is
		// tried again.
		_, err := fleet.Retry(ctx, fleet.DefaultBackoff, retryableRead, retryLogger(cfg.Log.With("server", t.Server.Name), "connect"),
			func(ctx context.Context) error {
				conn, err := connect.Open(ctx, t.Server, cfg.Connect)
				t.conn = conn
				return err
			})
		if err != nil {
			t.fail(err)
			return
		}
		cfg.Log.Debug("connected", "server", t.Server.Name, "host", t.Server.Host)
	})
}

// Apply runs the plan of every target with changes on the pool, each on
// its open connection, in a transaction of its own, with its own timeout:
// with rehearse, each is run and rolled back (apply.Rollback), and its
// status stays "changes".
//
// What can be tried again is: a transient server error (apply.Transient),
// in a fresh transaction; a connection lost before COMMIT was sent, on a
// new connection (nothing of the transaction stayed); three tries in all
// (apply.Retry, fleet.DefaultBackoff). A COMMIT whose reply never came is
// not tried again: apply asks PostgreSQL what became of the transaction
// (pg_xact_status), and the server is read again as a second check (see
// verify).
func Apply(ctx context.Context, targets []*Target, cfg Config, rehearse bool) {
	var pending []*Target
	for _, t := range targets {
		if t.Status == report.Changes {
			pending = append(pending, t)
		}
	}
	exec := apply.Commit
	if rehearse {
		exec = apply.Rollback
	}
	bar := newProgress(cfg.Progress, "apply", len(pending))
	defer bar.clear()
	fleet.Each(ctx, len(pending), cfg.Parallel, func(parent context.Context, i int) {
		t := pending[i]
		defer func() { bar.step(t.Status == report.Error || t.Status == report.Unknown) }()
		ctx, cancel := context.WithTimeout(parent, cfg.Timeout)
		defer cancel()
		if ctx.Err() != nil {
			t.fail(stopped(ctx, cfg.Timeout, "not started, nothing changed there", ctx.Err()))
			return
		}
		log := cfg.Log.With("server", t.Server.Name)
		job := apply.Job{Plan: t.Plan, Observed: t.Observed, Asked: t.Asked, Open: t.opener(cfg.Connect),
			VerifyWithin: min(cfg.Timeout, apply.VerifyWithin)}
		conn := func(ctx context.Context) (*pgx.Conn, error) {
			if t.conn == nil || t.conn.IsClosed() {
				t.close(ctx)
				conn, err := connect.Open(ctx, t.Server, cfg.Connect)
				if err != nil {
					return nil, &apply.LostError{During: "signing in again", Err: err}
				}
				t.conn = conn
			}
			return t.conn, nil
		}
		err := apply.Retry(ctx, conn, job, exec, fleet.DefaultBackoff, retryLogger(log, "apply"))
		var (
			unknown *apply.UnknownOutcomeError
			partial *apply.PartialError
			reply   *apply.LostReplyError
		)
		switch {
		case err == nil:
			if !rehearse {
				t.Status = report.Applied
			}
			log.Info("applied", "changes", len(t.Plan.Changes), "rolled_back", rehearse)
		case errors.As(err, &unknown):
			t.Status, t.Err = report.Unknown, fmt.Errorf("%w: outcome unknown: plan again to see what the server holds", err)
		case errors.As(err, &partial):
			t.fail(stopped(ctx, cfg.Timeout, outcome(err), err))
		case errors.As(err, &reply):
			verify(parent, t, cfg, reply)
		default:
			t.fail(stopped(ctx, cfg.Timeout, outcome(err), err))
		}
	})
}

// verify reports a plan whose last COMMIT reply never came, once
// PostgreSQL said whether it committed (reply), and reads the server again
// as a second check: in one snapshot, after the lost session has ended
// (apply ends it), so that it sees all of the transaction or none. What
// PostgreSQL said is the outcome; the read only adds that someone else
// changed the server since, when the plan is neither in sync nor as it
// was, or that it could not be read.
func verify(parent context.Context, t *Target, cfg Config, reply *apply.LostReplyError) {
	log := cfg.Log.With("server", t.Server.Name)
	log.Warn("the reply to COMMIT never came; PostgreSQL says whether the transaction committed", "committed", reply.Committed, "error", reply)
	if reply.Committed {
		t.Status, t.Err = report.Applied, nil
	} else {
		t.fail(reply)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), min(cfg.Timeout, apply.VerifyWithin))
	defer cancel()
	t.close(ctx)
	now, err := readAgain(ctx, t, cfg)
	if err != nil {
		log.Warn("could not read the server again to check what PostgreSQL said", "error", err)
		return
	}
	plan, err := diff.Compute(t.Server, now)
	switch {
	case err == nil && plan.InSync():
		if !reply.Committed {
			log.Warn("read again, the server matches the files: someone else made the same changes")
		}
	case sameState(t.Plan, t.Observed, now, t.Asked):
		if reply.Committed {
			log.Warn("read again, the server holds the state the plan was made from: someone else undid the changes since")
		}
	default:
		log.Warn("read again, the server holds neither the plan's result nor the state it was made from: someone else changed it since; plan again")
	}
}

// readAgain reads t's server as plan does, the postgres database's part in
// one REPEATABLE READ transaction (one snapshot).
func readAgain(ctx context.Context, t *Target, cfg Config) (diff.Observed, error) {
	conn, err := connect.Open(ctx, t.Server, cfg.Connect)
	if err != nil {
		return diff.Observed{}, err
	}
	now := NewTarget(t.Server)
	now.Asked = t.Asked
	now.conn = conn
	defer now.close(ctx)
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return diff.Observed{}, err
	}
	snap, err := inspect.Read(ctx, tx)
	_ = tx.Rollback(context.WithoutCancel(ctx))
	if err != nil {
		return diff.Observed{}, err
	}
	now.Observed = snap.Observed(t.Asked)
	if err := readDatabases(ctx, now, cfg); err != nil {
		return diff.Observed{}, err
	}
	return now.Observed, nil
}

// sameState reports whether now is, as far as plan rests on it, the state
// before.
func sameState(plan diff.Plan, before, now diff.Observed, asked inspect.Asked) bool {
	b, n := plan.Basis(before), plan.Basis(now)
	if b.MainPart().Fingerprint() != n.MainPart().Fingerprint() {
		return false
	}
	for _, sc := range asked.Scopes {
		bd, _ := before.DatabaseNamed(sc.Database)
		nd, _ := now.DatabaseNamed(sc.Database)
		if len(diff.DatabaseChanges(bd, nd)) > 0 {
			return false
		}
	}
	return true
}

// outcome says what a failed apply left on its server, for an
// interruption or a timeout: nothing, unless hand-overs to reassignOwnedTo
// in other databases or steps of a plan of several transactions had
// committed, which the error itself details.
func outcome(err error) string {
	var se *apply.StatementError
	var ce *apply.CleanupError
	var pe *apply.PartialError
	if (errors.As(err, &se) && len(se.HandedOver) > 0) || (errors.As(err, &ce) && len(ce.Done) > 0) || errors.As(err, &pe) {
		return "what committed before stays (see below)"
	}
	return "its transaction rolled back, nothing changed there"
}
