package main

import (
	"context"
	"log/slog"
	"reflect"

	"github.com/jackc/pgx/v5"

	"github.com/pgusers/pgusers/pkg/connect"
	"github.com/pgusers/pgusers/pkg/inspect"
	"github.com/pgusers/pgusers/pkg/spec"
)

// earlyReads read servers while the files are still being decoded. A read
// needs only a server's connection settings, which spec.Files.Connections
// gives at a fraction of the cost of decoding every principal; a large
// file takes about as long to decode as a server takes to sign in to and
// read. Each read is the first attempt of its server's planOne; a server
// whose read did not start early is read there as before.
type earlyReads map[string]*earlyRead

type earlyRead struct {
	server spec.Server // as Connections gave it
	cancel context.CancelFunc
	done   chan struct{}
	conn   *pgx.Conn
	snap   inspect.Snapshot
	err    error
	waited bool
}

// startEarlyReads starts reading the first limit servers, the ones the
// pool would start with.
func startEarlyReads(ctx context.Context, servers []spec.Server, limit int, opts connect.Options, log *slog.Logger) earlyReads {
	reads := earlyReads{}
	for _, s := range servers[:min(limit, len(servers))] {
		ctx, cancel := context.WithCancel(ctx)
		r := &earlyRead{server: s, cancel: cancel, done: make(chan struct{})}
		reads[s.Name] = r
		go func() {
			defer close(r.done)
			r.conn, r.snap, r.err = readServer(ctx, s, opts, log.With("server", s.Name))
		}()
	}
	return reads
}

// readServer signs in to s and reads it (apply.Read): one attempt.
func readServer(ctx context.Context, s spec.Server, opts connect.Options, log *slog.Logger) (*pgx.Conn, inspect.Snapshot, error) {
	conn, err := connect.Open(ctx, s, opts)
	if err != nil {
		return nil, inspect.Snapshot{}, err
	}
	log.Debug("connected", "host", hostPort(s))
	snap, err := inspect.Read(ctx, conn)
	if err != nil {
		_ = conn.Close(context.WithoutCancel(ctx))
		return nil, inspect.Snapshot{}, err
	}
	return conn, snap, nil
}

// take returns s's early read, if one started for a server reached the
// same way, for planOne to wait on; nil means read s as usual.
func (reads earlyReads) take(s spec.Server) *earlyRead {
	r := reads[s.Name]
	if r == nil || r.waited || !sameConnection(r.server, s) {
		return nil
	}
	r.waited = true
	return r
}

// wait is the read's outcome. When ctx ends first the read is cancelled
// and ctx's error returned.
func (r *earlyRead) wait(ctx context.Context) (*pgx.Conn, inspect.Snapshot, error) {
	select {
	case <-r.done:
		return r.conn, r.snap, r.err
	case <-ctx.Done():
		r.cancel()
		<-r.done
		if r.conn != nil {
			_ = r.conn.Close(context.WithoutCancel(ctx))
		}
		return nil, inspect.Snapshot{}, ctx.Err()
	}
}

// stop cancels the reads nobody waited for (the files had a problem, or a
// server's settings changed between the two decodes) and closes their
// connections. Call it once planning is over.
func (reads earlyReads) stop(ctx context.Context) {
	for _, r := range reads {
		if r.waited {
			continue
		}
		r.cancel()
		<-r.done
		if r.conn != nil {
			_ = r.conn.Close(context.WithoutCancel(ctx))
		}
	}
}

// sameConnection reports whether a and b reach the same server the same
// way: equal in everything but the principals and the policy, which the
// read does not depend on. A field added to spec.Server is compared unless
// it is cleared here, so a new connection setting errs on reading again.
func sameConnection(a, b spec.Server) bool {
	for _, s := range []*spec.Server{&a, &b} {
		s.Principals, s.Prune, s.Protect, s.MaxDrops, s.ReassignOwnedTo = nil, false, nil, 0, ""
	}
	return reflect.DeepEqual(a, b)
}
