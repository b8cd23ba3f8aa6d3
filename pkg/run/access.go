package run

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/pgusers/pgusers/pkg/access"
	"github.com/pgusers/pgusers/pkg/connect"
	"github.com/pgusers/pgusers/pkg/fleet"
	"github.com/pgusers/pgusers/pkg/spec"
)

// AccessRead is one server read for an access review.
type AccessRead struct {
	Server spec.Server
	Read   access.Server
	// Missing are the databases asked for that the server does not have.
	Missing []string
	// Err is why the server could not be read; it never starts with the
	// server's name.
	Err error
}

// ReadAccess reads every server for an access review, on the pool as
// Plan does, each within cfg.Timeout: the shared catalog and the connected
// database in one round trip, then each other database of databases
// (every one the signed-in user may connect to when empty) in one round
// trip more, all at once. It never
// changes a server. Results are in the order of servers.
func ReadAccess(ctx context.Context, servers []spec.Server, databases []string, cfg Config) []AccessRead {
	bar := newProgress(cfg.Progress, "access", len(servers))
	defer bar.clear()
	out := make([]AccessRead, len(servers))
	fleet.Each(ctx, len(servers), cfg.Parallel, func(ctx context.Context, i int) {
		ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
		defer cancel()
		r := &out[i]
		r.Server = servers[i]
		if err := readAccess(ctx, r, databases, cfg); err != nil {
			r.Err = stopped(ctx, cfg.Timeout, "nothing was reviewed", err)
		}
		bar.step(r.Err != nil)
	})
	return out
}

func readAccess(ctx context.Context, r *AccessRead, databases []string, cfg Config) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err := cfg.Unusable[r.Server.Name]; err != nil {
		return err
	}
	log := cfg.Log.With("server", r.Server.Name)
	var conn *pgx.Conn
	defer func() {
		if conn != nil {
			_ = conn.Close(context.WithoutCancel(ctx))
		}
	}()
	// Reading changes nothing: a refused or reset connection is tried
	// again, as plan's read is.
	_, err := fleet.Retry(ctx, fleet.DefaultBackoff, retryableRead, retryLogger(log, "read"), func(ctx context.Context) error {
		if conn != nil {
			_ = conn.Close(context.WithoutCancel(ctx))
			conn = nil
		}
		c, err := connect.Open(ctx, r.Server, cfg.Connect)
		if err != nil {
			return err
		}
		conn = c
		current := len(databases) == 0 || slices.Contains(databases, r.Server.Database)
		r.Read, err = access.Read(ctx, conn, current)
		return err
	})
	if err != nil {
		return err
	}
	names := databases
	if len(names) == 0 {
		names = r.Read.Connectable()
	}
	var dbs []*access.Database
	for _, name := range names {
		if db := r.Read.Database(name); db != nil {
			dbs = append(dbs, db)
		} else if !slices.Contains(r.Missing, name) {
			r.Missing = append(r.Missing, name)
		}
	}
	if len(r.Missing) > 0 {
		log.Warn("the server has no database of these names; it is reviewed without them", "databases", r.Missing)
	}
	current := conn.Config().Database
	errs := make([]error, len(dbs))
	var wg sync.WaitGroup
	for i, db := range dbs {
		if db.Read {
			continue // read with the server (the connected database)
		}
		if db.Name == current {
			errs[i] = access.ReadDatabase(ctx, conn, db)
			continue
		}
		wg.Go(func() {
			c, err := opener(r.Server, cfg.Connect)(ctx, db.Name)
			if err != nil {
				errs[i] = fmt.Errorf("database %s: %w", db.Name, err)
				return
			}
			defer c.Close(context.WithoutCancel(ctx))
			errs[i] = access.ReadDatabase(ctx, c, db)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	log.Debug("read for the review", "roles", len(r.Read.Roles), "databases", len(dbs))
	return nil
}

// Access reviews servers (ReadAccess, then access.Compute with opt): the
// document pgusers access writes, a failed server with its error.
//
// With opt.ExpandGroups, Microsoft Graph is asked about each server's
// Entra principals and the members of its groups, through one client per
// credential and cloud for the run, so that what two servers share is
// asked once; a server Graph refuses fails with Graph's refusal. Without
// it, a server with directory: graph has its principals looked up, and
// Graph's failure is only a warning.
func Access(ctx context.Context, servers []spec.Server, databases []string, opt access.Options, cfg Config) access.Document {
	doc := access.Document{Version: access.FormatVersion}
	dirs := newDirectories(cfg)
	for _, r := range ReadAccess(ctx, servers, databases, cfg) {
		s := access.ServerReview{Name: r.Server.Name, MissingDatabases: r.Missing}
		switch {
		case r.Err == nil && opt.ExpandGroups:
			r.Read.Directory, r.Err = dirs.lookUp(ctx, r.Server, r.Read, true)
		case r.Err == nil && r.Server.Directory == spec.DirectoryGraph:
			// The check the files ask for: what it cannot tell is a
			// warning, as in plan, not a failed review.
			var err error
			if r.Read.Directory, err = dirs.lookUp(ctx, r.Server, r.Read, false); err != nil {
				cfg.Log.Warn("directory: graph: the principals were not checked in Entra", "server", r.Server.Name, "error", err)
			}
		}
		if r.Err != nil {
			s.Error, s.Review = r.Err.Error(), access.Unreviewed()
		} else {
			s.Review = access.Compute(r.Server, &r.Read, opt)
		}
		doc.Servers = append(doc.Servers, s)
	}
	return doc
}
