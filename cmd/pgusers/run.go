package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/pgusers/pgusers/internal/cli"
	"github.com/pgusers/pgusers/pkg/connect"
	"github.com/pgusers/pgusers/pkg/report"
	"github.com/pgusers/pgusers/pkg/run"
	"github.com/pgusers/pgusers/pkg/spec"
)

// logger returns the run's logger, made once from the flags.
func (c *common) logger(w io.Writer) *slog.Logger {
	if c.log == nil {
		c.log = cli.NewLogger(w, c.logLevel.Value, c.logFormat.Value, c.verbose)
	}
	return c.log
}

// load reads the files, adds the servers Azure finds for their discover
// entries (cfg.Unusable then holds those Azure says cannot be signed in
// to) and picks the servers the command line names. With early, it starts
// reading those servers while the files decode (run.StartReads); the
// caller stops the reads once planning is over.
func (c *common) load(ctx context.Context, cfg *run.Config, arm run.ARM, early bool) (*spec.Desired, []spec.Server, *run.Reads, error) {
	start := time.Now()
	files, err := spec.Read(ctx, c.files)
	if err != nil {
		return nil, nil, nil, err
	}
	var reads *run.Reads
	if early {
		if conns, ok := files.Connections(ctx); ok {
			// A --server that names no server is reported by decode.
			if servers, err := c.selectServers(&spec.Desired{Servers: conns}); err == nil {
				reads = run.StartReads(ctx, servers, *cfg)
			}
		}
	}
	d, servers, err := c.decode(ctx, start, files, cfg, arm)
	if err != nil {
		reads.Stop(ctx)
		return nil, nil, nil, err
	}
	return d, servers, reads, nil
}

// config is the run's configuration from the flags and the process: one
// set of credentials, and so one token cache, for every connection.
func (c *common) config(e env) run.Config {
	log := c.logger(e.stderr)
	opts := e.connect
	opts.Logger = log
	if opts.Credentials == nil {
		opts.Credentials = connect.NewCredentials(e.getenv)
	}
	if opts.Getenv == nil {
		opts.Getenv = e.getenv
	}
	cfg := run.Config{Parallel: c.parallel.Value, Timeout: time.Duration(c.timeout), Connect: opts, Log: log, Graph: e.graph}
	if e.progress {
		cfg.Progress = e.stderr
	}
	return cfg
}

// decode decodes the files read since start and picks the servers the
// command line names.
func (c *common) decode(ctx context.Context, start time.Time, files *spec.Files, cfg *run.Config, arm run.ARM) (*spec.Desired, []spec.Server, error) {
	d, err := files.Decode(ctx)
	if err != nil {
		return nil, nil, err
	}
	c.log.Debug("loaded the desired state", "files", len(d.Files), "servers", len(d.Servers), "took", time.Since(start))
	dctx, cancel := context.WithTimeout(ctx, time.Duration(c.timeout))
	found, err := run.Discover(dctx, d, *cfg, arm)
	// Read before cancel, which would make any error look like the timeout.
	timedOut := errors.Is(dctx.Err(), context.DeadlineExceeded)
	cancel()
	switch {
	case err != nil && ctx.Err() == nil && timedOut:
		return nil, nil, fmt.Errorf("discovery did not finish within %s (--timeout): %w; nothing was changed", c.timeout.String(), err)
	case err != nil:
		return nil, nil, fmt.Errorf("discovery: %w; nothing was changed", err)
	}
	cfg.Unusable, c.fleet = found.Unusable, found
	servers, err := c.selectServers(d)
	if err != nil {
		return nil, nil, err
	}
	if len(servers) == 0 && len(d.Servers) > 0 && c.shard.N > 1 {
		c.log.Warn("the shard holds none of the servers; the other shards hold them", "shard", c.shard.String())
	}
	if len(d.Servers) == 0 {
		// A drift check of a directory emptied by mistake must not pass
		// forever: no server to look at is a failure, not "in sync".
		return nil, nil, fmt.Errorf("the files declare no server (files: %s), and discovery found none: there is nothing to "+
			"plan or apply; declare a server, or name the files that do with -f", strings.Join(d.Files, ", "))
	}
	if c.maxDrops >= 0 {
		// A copy: the override is this run's, not the desired state's.
		servers = slices.Clone(servers)
		for i := range servers {
			servers[i].MaxDrops = int(c.maxDrops)
		}
	}
	return d, servers, nil
}

func runValidate(ctx context.Context, files []string, e env) error {
	d, err := spec.Load(ctx, files)
	if err != nil {
		return err
	}
	printWarnings(e.stderr, d)
	n := 0
	for _, s := range d.Servers {
		n += len(s.Principals)
	}
	fmt.Fprintf(e.stdout, "The files are valid: %d file(s), %d server(s), %d principal declaration(s).\n", len(d.Files), len(d.Servers), n)
	return nil
}

// printWarnings says on stderr what the files do that is allowed and
// likely a mistake.
func printWarnings(w io.Writer, d *spec.Desired) {
	for _, warning := range d.Warnings {
		fmt.Fprintf(w, "warning: %s\n", report.EscapeLines(warning.Error()))
	}
}

// selectServers are the servers of d that --server names (every one
// without it) in the --shard part of the fleet.
func (c *common) selectServers(d *spec.Desired) ([]spec.Server, error) {
	servers, err := run.Select(d, c.servers, c.shard.Shard)
	if err != nil {
		return nil, cli.Usagef("%v", err)
	}
	return servers, nil
}
