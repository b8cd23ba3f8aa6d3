package main

import (
	"context"
	"errors"
	"log/slog"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/pgusers/pgusers/pkg/apply"
	"github.com/pgusers/pgusers/pkg/connect"
	"github.com/pgusers/pgusers/pkg/diff"
	"github.com/pgusers/pgusers/pkg/inspect"
	"github.com/pgusers/pgusers/pkg/spec"
)

// openerFor connects to another database of server s, signed in the same
// way.
func openerFor(s spec.Server, opts connect.Options) inspect.Opener {
	return func(ctx context.Context, database string) (*pgx.Conn, error) {
		other := s
		other.Database = database
		return connect.Open(ctx, other, opts)
	}
}

// withOpeners gives every job of run a way to reach the other databases of
// its server, for the cleanups of its plan. It also remembers, per server,
// the cleanups a failed try committed, so that a retry (applyAll retries
// transient failures) does not run them again nor take their work for a
// change since the plan.
func withOpeners(run runner, servers []spec.Server, opts connect.Options) runner {
	byName := make(map[string]spec.Server, len(servers))
	for _, s := range servers {
		byName[s.Name] = s
	}
	var mu sync.Mutex
	handedOver := map[string][]string{}
	return func(ctx context.Context, conn apply.Beginner, job apply.Job) error {
		if s, ok := byName[job.Plan.Server]; ok && job.Open == nil {
			job.Open = openerFor(s, opts)
		}
		mu.Lock()
		job = job.After(handedOver[job.Plan.Server])
		mu.Unlock()
		err := run(ctx, conn, job)
		var done []string
		var se *apply.StatementError
		var ce *apply.CleanupError
		switch {
		case errors.As(err, &se):
			done = se.HandedOver
		case errors.As(err, &ce):
			done = ce.Done
		}
		if len(done) > 0 {
			mu.Lock()
			handedOver[job.Plan.Server] = append(handedOver[job.Plan.Server], done...)
			mu.Unlock()
		}
		return err
	}
}

// describeBlockers names the objects behind a server's blockers: those
// its plan hands over, or those that make its plan fail. Only a server with
// blockers is read again (on its open connection when there is one), and
// only the databases that hold them: an in-sync server costs nothing here.
// What cannot be named stays counted, with a warning on stderr. planAll
// calls it in the server's own worker, before the connection closes.
func describeBlockers(ctx context.Context, t *target, opts connect.Options, log *slog.Logger) {
	list := &t.plan.Blockers
	var de *diff.Error
	if t.status == statusError && errors.As(t.err, &de) {
		list = &de.Blocked
	}
	if len(*list) == 0 {
		return
	}
	conn := t.conn
	if conn == nil {
		var err error
		if conn, err = connect.Open(ctx, t.server, opts); err != nil {
			log.Warn("could not name what blocks the drops; the plan counts it instead", "server", t.server.Name, "error", err)
			return
		}
		defer conn.Close(context.WithoutCancel(ctx))
	}
	named, err := inspect.Describe(ctx, conn, t.observed.Database, openerFor(t.server, opts), *list)
	if err != nil {
		log.Warn("could not name all that blocks the drops; the plan counts the rest", "server", t.server.Name, "error", err)
	}
	if named != nil {
		*list = named
	}
}
