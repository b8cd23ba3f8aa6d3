package main

import (
	"context"
	"fmt"
	"time"

	"github.com/pgusers/pgusers/internal/cli"
	"github.com/pgusers/pgusers/pkg/export"
	"github.com/pgusers/pgusers/pkg/run"
)

// exportOptions are export's flags.
type exportOptions struct {
	common
	databases []string
}

// runExport prints a desired-state file that declares what one server has:
// the way to adopt a server pgusers did not create. Connection settings come
// from the files (they are not on the server); everything else from the
// server. Planning the printed file against the server shows no change.
func runExport(ctx context.Context, o *exportOptions, e env) (int, error) {
	c, databases := &o.common, o.databases
	if len(c.servers) != 1 {
		return exitError, cli.Usagef("export needs exactly one --server NAME, a server of the files given with -f "+
			"(they say how to reach it); got %d", len(c.servers))
	}
	cfg := c.config(e)
	_, servers, _, err := c.load(ctx, &cfg, e.arm, false)
	if err != nil {
		return exitError, err
	}
	s := servers[0]
	ctx, cancel := context.WithTimeout(ctx, time.Duration(c.timeout))
	defer cancel()
	observed, dbs, err := run.ReadForExport(ctx, s, databases, cfg)
	if err != nil {
		return exitError, fmt.Errorf("server %s: %w; nothing was exported", s.Name, err)
	}
	if err := export.Write(e.stdout, s, observed, dbs, versionString()); err != nil {
		return exitError, err
	}
	return exitOK, nil
}
