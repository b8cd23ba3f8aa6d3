package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pgusers/pgusers/pkg/connect"
	"github.com/pgusers/pgusers/pkg/diff"
	"github.com/pgusers/pgusers/pkg/export"
	"github.com/pgusers/pgusers/pkg/inspect"
	"github.com/pgusers/pgusers/pkg/run"
	"github.com/pgusers/pgusers/pkg/spec"
)

// runExport prints a desired-state file that declares what one server has:
// the way to adopt a server pgusers did not create. Connection settings come
// from the files (they are not on the server); everything else from the
// server. Planning the printed file against the server shows no change.
// exportOptions are export's flags.
type exportOptions struct {
	common
	databases []string
}

func runExport(ctx context.Context, o *exportOptions, e env) (int, error) {
	c, databases := &o.common, o.databases
	if len(c.servers) != 1 {
		return exitError, usagef("export needs exactly one --server NAME, a server of the files given with -f "+
			"(they say how to reach it); got %d", len(c.servers))
	}
	cfg := c.config(e)
	_, servers, err := c.load(ctx, &cfg, e.arm)
	if err != nil {
		return exitError, err
	}
	s := servers[0]
	ctx, cancel := context.WithTimeout(ctx, time.Duration(c.timeout))
	defer cancel()
	conn, err := connect.Open(ctx, s, cfg.Connect)
	if err != nil {
		return exitError, fmt.Errorf("server %s: %w; nothing was exported", s.Name, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	observed, dbs, err := readForExport(ctx, s, conn, databases, cfg)
	if err != nil {
		return exitError, fmt.Errorf("server %s: %w; nothing was exported", s.Name, err)
	}
	if err := export.Write(e.stdout, s, observed, dbs, versionString()); err != nil {
		return exitError, err
	}
	return exitOK, nil
}

// readForExport reads the server on conn, then each database of dbs:
// what its principals and the group roles they belong to hold there.
func readForExport(ctx context.Context, s spec.Server, conn *pgx.Conn, dbs []string, cfg run.Config) (diff.Observed, export.Databases, error) {
	snap, err := inspect.Read(ctx, conn)
	if err != nil {
		return diff.Observed{}, nil, err
	}
	first := snap.Observed(inspect.Asked{})
	asked := inspect.Asked{Names: export.GroupRoles(first)}
	grantees := export.Grantees(first)
	for _, db := range dbs {
		asked.Scopes = append(asked.Scopes, inspect.Scope{Database: db, AllSchemas: true, Grantees: grantees})
	}
	slices.SortFunc(asked.Scopes, func(a, b inspect.Scope) int { return strings.Compare(a.Database, b.Database) })
	o := snap.Observed(asked)
	var out export.Databases
	for _, sc := range asked.Scopes {
		db, _ := o.DatabaseNamed(sc.Database)
		if !db.Exists {
			return diff.Observed{}, nil, fmt.Errorf("database %s does not exist", sc.Database)
		}
		other := s
		other.Database = sc.Database
		dconn := conn
		if sc.Database != o.Database {
			if dconn, err = connect.Open(ctx, other, cfg.Connect); err != nil {
				return diff.Observed{}, nil, fmt.Errorf("database %s: %w", sc.Database, err)
			}
			defer dconn.Close(context.WithoutCancel(ctx))
		}
		read, facts, err := inspect.ReadDatabase(ctx, dconn, sc)
		if err != nil {
			return diff.Observed{}, nil, fmt.Errorf("database %s: %w", sc.Database, err)
		}
		inspect.Merge(&o, read, facts)
		db, _ = o.DatabaseNamed(sc.Database)
		out = append(out, db)
	}
	return o, out, nil
}
