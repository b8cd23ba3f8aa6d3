package run

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pgusers/pgusers/pkg/fleet"
	"github.com/pgusers/pgusers/pkg/spec"
)

// Selection is what a command line asks of the fleet the files define.
type Selection struct {
	Files   []string
	Servers []string    // --server: every server when empty
	Shard   fleet.Shard // --shard: every server when N is 0 or 1
	// MaxDrops overrides every selected server's maxDrops when it is not
	// negative.
	MaxDrops int
	// Discovery bounds the discover: entries' look-ups in Azure.
	Discovery time.Duration
}

// Loaded is the desired state and the servers a Selection picks of it.
type Loaded struct {
	Desired *spec.Desired
	Servers []spec.Server
	// Fleet is what Azure Resource Manager says of the servers discovery
	// found.
	Fleet Fleet
	// Reads are the early reads Load started, nil without early; the
	// caller stops them once planning is over.
	Reads *Reads
}

// SelectionError is a --server or --shard that picks wrongly: a mistake on
// the command line.
type SelectionError struct{ Err error }

func (e *SelectionError) Error() string { return e.Err.Error() }
func (e *SelectionError) Unwrap() error { return e.Err }

// DiscoveryTimeoutError is discovery that did not finish within
// Selection.Discovery.
type DiscoveryTimeoutError struct{ Err error }

func (e *DiscoveryTimeoutError) Error() string {
	return fmt.Sprintf("discovery did not finish in time: %v; nothing was changed", e.Err)
}
func (e *DiscoveryTimeoutError) Unwrap() error { return e.Err }

// Load reads the files, adds the servers Azure finds for their discover
// entries (cfg.Unusable then holds those Azure says cannot be signed in
// to) and picks the servers sel names. With early, it starts reading those
// servers while the files decode (StartReads): files with discover
// entries start none, so that a failed discovery contacts no server.
func Load(ctx context.Context, sel Selection, cfg *Config, arm ARM, early bool) (Loaded, error) {
	start := time.Now()
	files, err := spec.Read(ctx, sel.Files)
	if err != nil {
		return Loaded{}, err
	}
	var reads *Reads
	if early {
		if conns, ok := files.Connections(ctx); ok {
			// A --server that names no server is reported below.
			if servers, err := Select(&spec.Desired{Servers: conns}, sel.Servers, sel.Shard); err == nil {
				reads = StartReads(ctx, servers, *cfg)
			}
		}
	}
	l, err := sel.decode(ctx, start, files, cfg, arm)
	if err != nil {
		reads.Stop(ctx)
		return Loaded{}, err
	}
	l.Reads = reads
	return l, nil
}

// decode decodes the files read since start, runs discovery and picks the
// servers sel names.
func (sel Selection) decode(ctx context.Context, start time.Time, files *spec.Files, cfg *Config, arm ARM) (Loaded, error) {
	d, err := files.Decode(ctx)
	if err != nil {
		return Loaded{}, err
	}
	if cfg.Log != nil {
		cfg.Log.Debug("loaded the desired state", "files", len(d.Files), "servers", len(d.Servers), "took", time.Since(start))
	}
	dctx, cancel := context.WithTimeout(ctx, sel.Discovery)
	found, err := Discover(dctx, d, *cfg, arm)
	// Read before cancel, which would make any error look like the timeout.
	timedOut := errors.Is(dctx.Err(), context.DeadlineExceeded)
	cancel()
	switch {
	case err != nil && ctx.Err() == nil && timedOut:
		return Loaded{}, &DiscoveryTimeoutError{Err: err}
	case err != nil:
		return Loaded{}, fmt.Errorf("discovery: %w; nothing was changed", err)
	}
	cfg.Unusable = found.Unusable
	servers, err := Select(d, sel.Servers, sel.Shard)
	if err != nil {
		return Loaded{}, &SelectionError{Err: err}
	}
	if len(servers) == 0 && len(d.Servers) > 0 && sel.Shard.N > 1 && cfg.Log != nil {
		cfg.Log.Warn("the shard holds none of the servers; the other shards hold them", "shard", sel.Shard.String())
	}
	if len(d.Servers) == 0 {
		// A drift check of a directory emptied by mistake must not pass
		// forever: no server to look at is a failure, not "in sync".
		return Loaded{}, fmt.Errorf("the files declare no server (files: %s), and discovery found none: there is nothing to "+
			"plan or apply; declare a server, or name the files that do with -f", strings.Join(d.Files, ", "))
	}
	if sel.MaxDrops >= 0 {
		// A copy: the override is this run's, not the desired state's.
		servers = slices.Clone(servers)
		for i := range servers {
			servers[i].MaxDrops = sel.MaxDrops
		}
	}
	return Loaded{Desired: d, Servers: servers, Fleet: found}, nil
}
