package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/pgusers/pgusers/pkg/connect"
	"github.com/pgusers/pgusers/pkg/export"
	"github.com/pgusers/pgusers/pkg/inspect"
)

// runExport prints a desired-state file that declares what one server has:
// the way to adopt a server pgusers did not create. Connection settings come
// from the files (they are not on the server); everything else from the
// server. Planning the printed file against the server shows no change.
func runExport(ctx context.Context, args []string, e env) (int, error) {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	var c common
	c.register(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return exitError, err
	}
	if len(pos) > 0 {
		return exitError, usagef("export takes no arguments (got %q); name the server with --server and its file with -f", pos)
	}
	if len(c.servers) != 1 {
		return exitError, usagef("export needs exactly one --server NAME, a server of the files given with -f "+
			"(they say how to reach it); got %d", len(c.servers))
	}
	cfg := c.config(e)
	_, servers, err := c.load(ctx)
	if err != nil {
		return exitError, err
	}
	s := servers[0]
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	conn, err := connect.Open(ctx, s, cfg.Connect)
	if err != nil {
		return exitError, fmt.Errorf("server %s: %w; nothing was exported", s.Name, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	observed, err := inspect.Inspect(ctx, conn, inspect.Asked{})
	if err != nil {
		return exitError, fmt.Errorf("server %s: %w; nothing was exported", s.Name, err)
	}
	if err := export.Write(e.stdout, s, observed, versionString()); err != nil {
		return exitError, err
	}
	return exitOK, nil
}
