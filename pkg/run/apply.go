package run

import (
	"context"
	"errors"
	"fmt"

	"github.com/pgusers/pgusers/pkg/apply"
	"github.com/pgusers/pgusers/pkg/connect"
	"github.com/pgusers/pgusers/pkg/fleet"
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
		conn, err := connect.Open(ctx, t.Server, cfg.Connect)
		if err != nil {
			t.fail(err)
			return
		}
		t.conn = conn
		cfg.Log.Debug("connected", "server", t.Server.Name, "host", t.Server.Host)
	})
}

// Apply runs the plan of every target with changes on the pool, each on
// its open connection, in a transaction of its own, with its own timeout:
// with rehearse, each is run and rolled back (apply.Rehearse), and its
// status stays "changes". Transient failures are retried in fresh
// transactions (apply.Retry).
func Apply(ctx context.Context, targets []*Target, cfg Config, rehearse bool) {
	var pending []*Target
	for _, t := range targets {
		if t.Status == report.Changes {
			pending = append(pending, t)
		}
	}
	run := apply.Apply
	if rehearse {
		run = apply.Rehearse
	}
	bar := newProgress(cfg.Progress, "apply", len(pending))
	defer bar.clear()
	fleet.Each(ctx, len(pending), cfg.Parallel, func(ctx context.Context, i int) {
		t := pending[i]
		defer func() { bar.step(t.Status == report.Error) }()
		ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
		defer cancel()
		if ctx.Err() != nil {
			t.fail(stopped(ctx, cfg.Timeout, "not started, nothing changed there", ctx.Err()))
			return
		}
		job := apply.Job{Plan: t.Plan, Observed: t.Observed, Asked: t.Asked, Open: opener(t.Server, cfg.Connect)}
		err := apply.Retry(ctx, t.conn, job, run, fleet.DefaultBackoff, retryLogger(cfg.Log.With("server", t.Server.Name), "apply"))
		if err != nil {
			t.fail(stopped(ctx, cfg.Timeout, outcome(err), err))
			return
		}
		if !rehearse {
			t.Status = report.Applied
		}
		cfg.Log.Info("applied", "server", t.Server.Name, "changes", len(t.Plan.Changes), "rolled_back", rehearse)
	})
}

// outcome says what a failed apply left on its server, for an
// interruption or a timeout: nothing, unless hand-overs to reassignOwnedTo
// in other databases had committed, which the error itself details.
func outcome(err error) string {
	var se *apply.StatementError
	var ce *apply.CleanupError
	if (errors.As(err, &se) && len(se.HandedOver) > 0) || (errors.As(err, &ce) && len(ce.Done) > 0) {
		return "its transaction rolled back, every principal is still there"
	}
	return "its transaction rolled back, nothing changed there"
}
