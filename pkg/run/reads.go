package run

import (
	"context"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/pgusers/pgusers/pkg/inspect"
	"github.com/pgusers/pgusers/pkg/spec"
)

// Reads are servers read while the files are still being decoded. A read
// needs only a server's connection settings, which spec.Files.Connections
// gives at a fraction of the cost of decoding every principal: a large file
// takes about as long to decode as a server takes to sign in to and read.
// Each read is the first attempt of its server's read in Plan; a server
// whose read did not start early is read there as usual.
type Reads struct {
	mu    sync.Mutex
	reads map[string]*earlyRead
}

type earlyRead struct {
	conn   spec.Connection // how the read reached the server
	cancel context.CancelFunc
	done   chan struct{}
	pgconn *pgx.Conn
	snap   inspect.Snapshot
	err    error
	taken  bool
}

// StartReads starts reading the first cfg.Parallel servers, the ones Plan
// would start with. Call Stop once planning is over.
func StartReads(ctx context.Context, servers []spec.Server, cfg Config) *Reads {
	r := &Reads{reads: map[string]*earlyRead{}}
	for _, s := range servers[:min(cfg.Parallel, len(servers))] {
		ctx, cancel := context.WithCancel(ctx)
		e := &earlyRead{conn: s.Connection, cancel: cancel, done: make(chan struct{})}
		r.reads[s.Name] = e
		go func() {
			defer close(e.done)
			e.pgconn, e.snap, e.err = readServer(ctx, s, cfg.Connect, cfg.Log.With("server", s.Name))
		}()
	}
	return r
}

// take returns s's early read, if one started for a server reached the
// same way, for planOne to wait on; nil means read s as usual.
func (r *Reads) take(s spec.Server) *earlyRead {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.reads[s.Name]
	if e == nil || e.taken || e.conn != s.Connection {
		return nil
	}
	e.taken = true
	return e
}

// wait is the read's outcome. When ctx ends first the read is cancelled
// and ctx's error returned.
func (e *earlyRead) wait(ctx context.Context) (*pgx.Conn, inspect.Snapshot, error) {
	select {
	case <-e.done:
		return e.pgconn, e.snap, e.err
	case <-ctx.Done():
		e.cancel()
		<-e.done
		if e.pgconn != nil {
			_ = e.pgconn.Close(context.WithoutCancel(ctx))
		}
		return nil, inspect.Snapshot{}, ctx.Err()
	}
}

// Stop cancels the reads nobody took (the files had a problem, or a
// server's settings changed between the two decodes) and closes their
// connections.
func (r *Reads) Stop(ctx context.Context) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.reads {
		if e.taken {
			continue
		}
		e.taken = true
		e.cancel()
		<-e.done
		if e.pgconn != nil {
			_ = e.pgconn.Close(context.WithoutCancel(ctx))
		}
	}
}
