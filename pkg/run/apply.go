package run

import (
	"context"
	"errors"
	"fmt"
	"time"

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
// with rehearse, each is run and rolled back (apply.Rehearse), and its
// status stays "changes".
//
// What can be tried again is: a transient server error (apply.Transient),
// in a fresh transaction; a connection lost before COMMIT was sent, on a
// new connection (nothing of the transaction stayed); three tries in all
// (apply.Retry, fleet.DefaultBackoff). A COMMIT whose reply
// never came is not tried again: the server is read again to find out
// whether the plan applied (see verify).
func Apply(ctx context.Context, targets []*Target, cfg Config, rehearse bool) {
	var pending []*Target
	for _, t := range targets {
		if t.Status == report.Changes {
			pending = append(pending, t)
		}
	}
	runner := apply.Apply
	if rehearse {
		runner = apply.Rehearse
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
		job := apply.Job{Plan: t.Plan, Observed: t.Observed, Asked: t.Asked, Open: opener(t.Server, cfg.Connect)}
		conn := func(ctx context.Context) (apply.Beginner, error) {
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
		err := apply.Retry(ctx, conn, job, runner, fleet.DefaultBackoff, retryLogger(log, "apply"))
		var unknown *apply.UnknownOutcomeError
		switch {
		case err == nil:
			if !rehearse {
				t.Status = report.Applied
			}
			log.Info("applied", "changes", len(t.Plan.Changes), "rolled_back", rehearse)
		case errors.As(err, &unknown):
			verify(parent, t, cfg, err)
		default:
			t.fail(stopped(ctx, cfg.Timeout, outcome(err), err))
		}
	})
}

// VerifyTimeout bounds reading a server again after a COMMIT whose reply
// never came, whatever is left of the server's --timeout: it is what tells
// the truth about the server, even after Ctrl-C or the timeout.
const VerifyTimeout = 20 * time.Second

// verify finds out what a COMMIT whose reply never came did: it signs in
// again, reads the server, and plans it. In sync means the plan applied;
// the state the plan was made from means it did not; anything else cannot
// be told apart from someone else's change, and is reported as unknown.
func verify(parent context.Context, t *Target, cfg Config, cause error) {
	log := cfg.Log.With("server", t.Server.Name)
	log.Warn("the reply to COMMIT never came; reading the server again to find out whether the plan applied", "error", cause)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), min(cfg.Timeout, VerifyTimeout))
	defer cancel()
	t.close(ctx)
	var pe *apply.PartialError
	partial := errors.As(cause, &pe)
	unknown := func(why string) {
		t.Status = report.Unknown
		t.Err = fmt.Errorf("%w; %s: outcome unknown: plan again to see what the server holds", cause, why)
	}
	now := NewTarget(t.Server)
	now.Asked = t.Asked
	conn, snap, err := readServer(ctx, t.Server, cfg.Connect, log)
	if err != nil {
		unknown(fmt.Sprintf("reading it again failed (%v)", err))
		return
	}
	now.conn = conn
	defer now.close(ctx)
	now.Observed = snap.Observed(t.Asked)
	if err := readDatabases(ctx, now, cfg); err != nil {
		unknown(fmt.Sprintf("reading it again failed (%v)", err))
		return
	}
	plan, err := diff.Compute(t.Server, now.Observed)
	switch {
	case err == nil && plan.InSync():
		t.Status, t.Err = report.Applied, nil
		log.Info("applied: read again after the lost COMMIT reply, the server holds the plan's result")
	case !partial && sameState(t.Plan, t.Observed, now.Observed, t.Asked):
		t.fail(fmt.Errorf("%w; read again, the server holds the state the plan was made from: nothing was applied", cause))
	default:
		unknown("read again, the server holds neither the plan's result nor the state it was made from")
	}
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
