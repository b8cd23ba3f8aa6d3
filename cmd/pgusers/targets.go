package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgusers/pgusers/pkg/apply"
	"github.com/pgusers/pgusers/pkg/connect"
	"github.com/pgusers/pgusers/pkg/diff"
	"github.com/pgusers/pgusers/pkg/fleet"
	"github.com/pgusers/pgusers/pkg/inspect"
	"github.com/pgusers/pgusers/pkg/spec"
)

// status is a server's state in the output, as CONTRACT.md spells it.
type status string

const (
	statusInSync  status = "in-sync"
	statusChanges status = "changes"
	statusApplied status = "applied"
	statusError   status = "error"
)

// target is one server through a run: its connection, what it has, its
// plan, and how it ended.
type target struct {
	server    spec.Server
	conn      *pgx.Conn
	roleNames []string
	observed  diff.Observed
	plan      diff.Plan
	status    status
	err       error
}

// fail records why the server failed. The error does not start with the
// server's name: the report and the text block already name it.
func (t *target) fail(err error) {
	t.status = statusError
	prefix := "server " + t.server.Name + ": "
	if msg := err.Error(); strings.HasPrefix(msg, prefix) {
		err = &unprefixed{msg: strings.TrimPrefix(msg, prefix), err: err}
	}
	t.err = err
}

// unprefixed is an error whose message drops the server name its cause
// starts with; errors.As and errors.Is still reach the cause.
type unprefixed struct {
	msg string
	err error
}

func (e *unprefixed) Error() string { return e.msg }
func (e *unprefixed) Unwrap() error { return e.err }

func (t *target) close(ctx context.Context) {
	if t.conn != nil {
		_ = t.conn.Close(context.WithoutCancel(ctx))
		t.conn = nil
	}
}

func (t *target) job() apply.Job {
	return apply.Job{Plan: t.plan, Observed: t.observed, RoleNames: t.roleNames}
}

func hostPort(s spec.Server) string {
	port := s.Port
	if port == 0 {
		port = 5432
	}
	return s.Host + ":" + strconv.Itoa(port)
}

// connectOptions are the connection options of a run: one set of
// credentials, and so one token cache, for every connection it makes.
func connectOptions(e env, log *slog.Logger) connect.Options {
	opts := e.connect
	opts.Logger = log
	if opts.Credentials == nil {
		opts.Credentials = connect.NewCredentials(e.getenv)
	}
	if opts.Getenv == nil {
		opts.Getenv = e.getenv
	}
	return opts
}

// planAll connects to every server, reads it and computes its plan, on a
// bounded pool; a server read early (reads, which may be nil) is not read
// again. With keepOpen the connections stay open for apply; the caller
// closes them.
func planAll(ctx context.Context, servers []spec.Server, c *common, e env, opts connect.Options, reads earlyReads, log *slog.Logger, keepOpen bool) []*target {
	bar := &progress{w: e.stderr, enabled: e.progress}
	bar.start("plan", len(servers))
	defer bar.clear()
	targets := make([]*target, len(servers))
	for i, s := range servers {
		targets[i] = &target{server: s, roleNames: inspect.RoleNames(s)}
	}
	fleet.Each(ctx, len(targets), c.parallel, func(ctx context.Context, i int) {
		t := targets[i]
		ctx, cancel := context.WithTimeout(ctx, c.timeout)
		defer cancel()
		planOne(ctx, t, c, opts, reads, log)
		describeBlockers(ctx, t, opts, log)
		if !keepOpen || t.status != statusChanges {
			t.close(ctx)
		}
		bar.step(t.status == statusError)
	})
	return targets
}

func planOne(ctx context.Context, t *target, c *common, opts connect.Options, reads earlyReads, log *slog.Logger) {
	log = log.With("server", t.server.Name)
	if ctx.Err() != nil {
		t.fail(stopped(ctx, c.timeout, "not started", ctx.Err()))
		return
	}
	// Reading changes nothing, so a refused or reset connection is safe to
	// try again from the start. An early read, if one started, is the
	// first attempt.
	early := reads.take(t.server)
	_, err := fleet.Retry(ctx, fleet.DefaultBackoff, connectionLost, retryLogger(log, "read"), func(ctx context.Context) error {
		t.close(ctx)
		var conn *pgx.Conn
		var snap inspect.Snapshot
		var err error
		if early != nil {
			conn, snap, err = early.wait(ctx)
			early = nil
		} else {
			conn, snap, err = readServer(ctx, t.server, opts, log)
		}
		if err != nil {
			return err
		}
		t.conn = conn
		t.observed = snap.Observed(t.roleNames)
		return nil
	})
	if err != nil {
		t.fail(stopped(ctx, c.timeout, "nothing was read", err))
		return
	}
	log.Debug("inspected", "principals", len(t.observed.Principals), "session_user", t.observed.SessionUser)
	t.plan, err = diff.Compute(t.server, t.observed)
	if err != nil {
		t.fail(fmt.Errorf("cannot plan:\n%w", err))
		return
	}
	if t.plan.InSync() {
		t.status = statusInSync
	} else {
		t.status = statusChanges
	}
}

// runner applies or rehearses one job: apply.Apply or apply.Rehearse.
type runner func(ctx context.Context, conn apply.Beginner, job apply.Job) error

// applyAll runs every planned server's job on the pool; each server gets
// its own timeout. A rehearsal leaves the status at "changes".
func applyAll(ctx context.Context, targets []*target, c *common, e env, log *slog.Logger, run runner, rehearsal bool) {
	var pending []*target
	for _, t := range targets {
		if t.status == statusChanges {
			pending = append(pending, t)
		}
	}
	bar := &progress{w: e.stderr, enabled: e.progress}
	bar.start("apply", len(pending))
	defer bar.clear()
	fleet.Each(ctx, len(pending), c.parallel, func(ctx context.Context, i int) {
		t := pending[i]
		defer func() { bar.step(t.status == statusError) }()
		ctx, cancel := context.WithTimeout(ctx, c.timeout)
		defer cancel()
		if ctx.Err() != nil {
			t.fail(stopped(ctx, c.timeout, "not started, nothing changed there", ctx.Err()))
			return
		}
		// Each try is a fresh transaction: a failed one rolled back whole,
		// so the server is as the plan saw it.
		_, err := fleet.Retry(ctx, fleet.DefaultBackoff, serverSaysRetry, retryLogger(log.With("server", t.server.Name), "apply"),
			func(ctx context.Context) error { return run(ctx, t.conn, t.job()) })
		if err != nil {
			t.fail(stopped(ctx, c.timeout, applyOutcome(err), err))
			return
		}
		if !rehearsal {
			t.status = statusApplied
		}
		log.Info("applied", "server", t.server.Name, "changes", len(t.plan.Changes), "rolled_back", rehearsal)
	})
}

// applyOutcome says what a failed apply left on its server, for an
// interruption or a timeout: nothing, unless hand-overs to reassignOwnedTo
// in other databases had committed, which the error itself details.
func applyOutcome(err error) string {
	var se *apply.StatementError
	var ce *apply.CleanupError
	if (errors.As(err, &se) && len(se.HandedOver) > 0) || (errors.As(err, &ce) && len(ce.Done) > 0) {
		return "its transaction rolled back, every principal is still there"
	}
	return "its transaction rolled back, nothing changed there"
}

// connectionLost reports a connection refused or reset: worth another try
// before anything was changed.
func connectionLost(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET)
}

// serverSaysRetry reports the SQLSTATEs that mean "the same transaction may
// succeed if run again": a directory look-up that failed transiently
// (pgaadauth's 0LP01), a serialization failure, a deadlock.
func serverSaysRetry(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	switch pgErr.Code {
	case "0LP01", "40001", "40P01":
		return true
	}
	return false
}

func retryLogger(log *slog.Logger, what string) func(int, error, time.Duration) {
	return func(attempt int, err error, wait time.Duration) {
		log.Warn("transient failure, retrying", "step", what, "attempt", attempt, "wait", wait, "error", err)
	}
}

// stopped explains an error caused by the run being interrupted or the
// server's --timeout running out; other errors pass unchanged.
func stopped(ctx context.Context, timeout time.Duration, outcome string, err error) error {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("timed out after %s (--timeout); %s: %w", timeout, outcome, err)
	case errors.Is(ctx.Err(), context.Canceled):
		return fmt.Errorf("interrupted; %s: %w", outcome, err)
	}
	return err
}
