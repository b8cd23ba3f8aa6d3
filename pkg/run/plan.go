package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"syscall"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgusers/pgusers/pkg/connect"
	"github.com/pgusers/pgusers/pkg/diff"
	"github.com/pgusers/pgusers/pkg/fleet"
	"github.com/pgusers/pgusers/pkg/inspect"
	"github.com/pgusers/pgusers/pkg/report"
	"github.com/pgusers/pgusers/pkg/spec"
)

// Plan signs in to every server, reads it and computes its plan, on the
// pool; a server that Reads began reading (which may be nil) is not read
// again. With keepOpen the connections of servers with changes stay open
// for Apply; Close closes them.
func Plan(ctx context.Context, servers []spec.Server, cfg Config, reads *Reads, keepOpen bool) []*Target {
	bar := newProgress(cfg.Progress, "plan", len(servers))
	defer bar.clear()
	targets := make([]*Target, len(servers))
	for i, s := range servers {
		targets[i] = NewTarget(s)
	}
	fleet.Each(ctx, len(targets), cfg.Parallel, func(ctx context.Context, i int) {
		t := targets[i]
		ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
		defer cancel()
		planOne(ctx, t, cfg, reads)
		describeBlockers(ctx, t, cfg)
		if !keepOpen || t.Status != report.Changes {
			t.close(ctx)
		}
		bar.step(t.Status == report.Error)
	})
	return targets
}

func planOne(ctx context.Context, t *Target, cfg Config, reads *Reads) {
	log := cfg.Log.With("server", t.Server.Name)
	if ctx.Err() != nil {
		t.fail(stopped(ctx, cfg.Timeout, "not started", ctx.Err()))
		return
	}
	if err := cfg.Unusable[t.Server.Name]; err != nil {
		t.fail(err)
		return
	}
	// Reading changes nothing, so a refused or reset connection is safe to
	// try again from the start. An early read, if one started, is the
	// first attempt.
	early := reads.take(t.Server)
	_, err := fleet.Retry(ctx, fleet.DefaultBackoff, retryableRead, retryLogger(log, "read"), func(ctx context.Context) error {
		t.close(ctx)
		var conn *pgx.Conn
		var snap inspect.Snapshot
		var err error
		if early != nil {
			conn, snap, err = early.wait(ctx)
			early = nil
		} else {
			conn, snap, err = readServer(ctx, t.Server, cfg.Connect, log)
		}
		if err != nil {
			return err
		}
		t.conn = conn
		t.Observed = snap.Observed(t.Asked)
		return nil
	})
	if err != nil {
		t.fail(stopped(ctx, cfg.Timeout, "nothing was read", err))
		return
	}
	if err := readDatabases(ctx, t, cfg); err != nil {
		t.fail(stopped(ctx, cfg.Timeout, "nothing was changed", err))
		return
	}
	log.Debug("inspected", "principals", len(t.Observed.Principals), "session_user", t.Observed.SessionUser)
	t.Plan, err = diff.Compute(t.Server, t.Observed)
	if err != nil {
		t.fail(fmt.Errorf("cannot plan:\n%w", err))
		return
	}
	t.Status = report.InSync
	if !t.Plan.InSync() {
		t.Status = report.Changes
	}
}

// readServer signs in to s and reads it (inspect.Read): one attempt.
func readServer(ctx context.Context, s spec.Server, opts connect.Options, log *slog.Logger) (*pgx.Conn, inspect.Snapshot, error) {
	conn, err := connect.Open(ctx, s, opts)
	if err != nil {
		return nil, inspect.Snapshot{}, err
	}
	log.Debug("connected", "host", s.Host, "port", s.Port)
	snap, err := inspect.Read(ctx, conn)
	if err != nil {
		_ = conn.Close(context.WithoutCancel(ctx))
		return nil, inspect.Snapshot{}, err
	}
	return conn, snap, nil
}

// describeBlockers names the objects behind a server's blockers: those
// its plan hands over, or those that make its plan fail. Only a server with
// blockers is read again (on its open connection when there is one), and
// only the databases that hold them: an in-sync server costs nothing here.
// What cannot be named stays counted, with a warning on stderr.
func describeBlockers(ctx context.Context, t *Target, cfg Config) {
	list := &t.Plan.Blockers
	var de *diff.Error
	if t.Status == report.Error && errors.As(t.Err, &de) {
		list = &de.Blocked
	}
	if len(*list) == 0 {
		return
	}
	conn := t.conn
	if conn == nil {
		var err error
		if conn, err = connect.Open(ctx, t.Server, cfg.Connect); err != nil {
			cfg.Log.Warn("could not name what blocks the drops; the plan counts it instead", "server", t.Server.Name, "error", err)
			return
		}
		defer conn.Close(context.WithoutCancel(ctx))
	}
	named, err := inspect.Describe(ctx, conn, t.Observed.Database, opener(t.Server, cfg.Connect), *list)
	if err != nil {
		cfg.Log.Warn("could not name all that blocks the drops; the plan counts the rest", "server", t.Server.Name, "error", err)
	}
	if named != nil {
		*list = named
	}
}

// readDatabases reads the objects of every database whose cells the
// grants name, each on a connection of its own (the connected database on
// t's), all at once: one round trip each. t keeps those connections for
// apply (Target.opener).
func readDatabases(ctx context.Context, t *Target, cfg Config) error {
	type read struct {
		db    diff.ObservedDatabase
		facts []diff.RoleFact
		conn  *pgx.Conn
		err   error
	}
	var scopes []inspect.Scope
	for _, sc := range t.Asked.Scopes {
		if db, ok := t.Observed.DatabaseNamed(sc.Database); ok && db.Exists && sc.ReadsObjects() {
			scopes = append(scopes, sc)
		}
	}
	reads := make([]read, len(scopes))
	var wg sync.WaitGroup
	for i, sc := range scopes {
		wg.Go(func() {
			r := &reads[i]
			if sc.Database == t.Observed.Database {
				r.db, r.facts, r.err = inspect.ReadDatabase(ctx, t.conn, sc)
				return
			}
			conn, err := opener(t.Server, cfg.Connect)(ctx, sc.Database)
			if err != nil {
				r.err = err
				return
			}
			r.conn = conn
			r.db, r.facts, r.err = inspect.ReadDatabase(ctx, conn, sc)
		})
	}
	wg.Wait()
	for i, r := range reads {
		if r.conn != nil {
			t.keep(ctx, scopes[i].Database, r.conn)
		}
	}
	for i, r := range reads {
		if r.err != nil {
			return fmt.Errorf("database %s: %w", scopes[i].Database, r.err)
		}
		inspect.Merge(&t.Observed, r.db, r.facts)
	}
	return nil
}

// retryableRead reports a failure to sign in or read that another try may
// not meet: the connection refused, reset, closed or cut short, before or
// after sign-in. Reading changes nothing, so it is always safe to try
// again; the server's own answers (a refused sign-in, an SQL error) and
// the run's end are not worth it.
func retryableRead(err error) bool {
	var pgErr *pgconn.PgError
	var signIn *connect.SignInError
	if errors.As(err, &pgErr) || errors.As(err, &signIn) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var netErr net.Error
	return errors.As(err, &netErr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) ||
		strings.Contains(err.Error(), "conn closed")
}
