package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
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

// load reads the files, runs discovery and picks the servers the command
// line names (run.Load); with early, it starts reading them while the
// files decode. Its mistakes of the command line are usage errors.
func (c *common) load(ctx context.Context, cfg *run.Config, arm run.ARM, early bool) (*spec.Desired, []spec.Server, *run.Reads, error) {
	l, err := run.Load(ctx, run.Selection{Files: c.files, Servers: c.servers, Shard: c.shard.Shard,
		MaxDrops: int(c.maxDrops), Discovery: time.Duration(c.timeout)}, cfg, arm, early)
	var selection *run.SelectionError
	var timeout *run.DiscoveryTimeoutError
	switch {
	case errors.As(err, &selection):
		return nil, nil, nil, cli.Usagef("%v", selection.Err)
	case errors.As(err, &timeout):
		return nil, nil, nil, fmt.Errorf("discovery did not finish within %s (--timeout): %w; nothing was changed", c.timeout.String(), timeout.Err)
	case err != nil:
		return nil, nil, nil, err
	}
	c.fleet = l.Fleet
	return l.Desired, l.Servers, l.Reads, nil
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
