package run

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/pgusers/pgusers/pkg/connect"
	"github.com/pgusers/pgusers/pkg/diff"
	"github.com/pgusers/pgusers/pkg/export"
	"github.com/pgusers/pgusers/pkg/inspect"
	"github.com/pgusers/pgusers/pkg/spec"
)

// ReadForExport reads what pgusers export prints of server s: its
// principals, and, in each database of dbs, what they and the group roles
// they belong to hold there. It reads once, without a lock, within ctx. A
// server Azure says cannot be signed in to (cfg.Unusable) is not tried.
func ReadForExport(ctx context.Context, s spec.Server, dbs []string, cfg Config) (diff.Observed, export.Databases, error) {
	if err := cfg.Unusable[s.Name]; err != nil {
		return diff.Observed{}, nil, err
	}
	conn, err := connect.Open(ctx, s, cfg.Connect)
	if err != nil {
		return diff.Observed{}, nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	snap, err := inspect.Read(ctx, conn)
	if err != nil {
		return diff.Observed{}, nil, err
	}
	// Each round knows the memberships of the group roles reached so far,
	// which may reach more (app1 → orders_rw → orders_ro); the snapshot
	// holds them all, so the rounds read nothing more from the server.
	var asked inspect.Asked
	o := snap.Observed(asked)
	for names := export.GroupRoles(o); !slices.Equal(names, asked.Names); names = export.GroupRoles(o) {
		asked.Names = names
		o = snap.Observed(asked)
	}
	grantees := export.Grantees(o)
	for _, db := range dbs {
		asked.Scopes = append(asked.Scopes, inspect.Scope{Database: db, AllSchemas: true, Grantees: grantees})
	}
	slices.SortFunc(asked.Scopes, func(a, b inspect.Scope) int { return strings.Compare(a.Database, b.Database) })
	o = snap.Observed(asked)
	var out export.Databases
	for _, sc := range asked.Scopes {
		db, _ := o.DatabaseNamed(sc.Database)
		if !db.Exists {
			return diff.Observed{}, nil, fmt.Errorf("database %s does not exist", sc.Database)
		}
		dconn := conn
		if sc.Database != o.Database {
			other := s
			other.Database = sc.Database
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
