package inspect

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/pgusers/pgusers/pkg/diff"
)

// MaxNamed is how many objects Describe names per principal, database and
// kind; the others are counted.
const MaxNamed = 20

// Opener connects to database on the same server, signed in the same way
// as the connection at hand.
type Opener func(ctx context.Context, database string) (*pgx.Conn, error)

// Querier runs a query: a *pgx.Conn or a pgx.Tx.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// pg_shdepend holds object ids, which only mean something in their own
// database: this names those of the current database, and with $2 those
// of the whole cluster (databases, tablespaces), by type and qualified name.
const blockersSQL = `WITH b AS (
  SELECT r.rolname::text AS principal, s.deptype::text AS deptype, s.dbid = 0 AS shared, o.type, o.identity,
         row_number() OVER (PARTITION BY r.rolname, s.dbid, s.deptype ORDER BY o.type, o.identity) AS n
  FROM pg_catalog.pg_shdepend s
  JOIN pg_catalog.pg_roles r ON r.oid = s.refobjid
  CROSS JOIN LATERAL pg_catalog.pg_identify_object(s.classid, s.objid, s.objsubid) AS o
  WHERE s.refclassid = 'pg_catalog.pg_authid'::pg_catalog.regclass
    AND r.rolname = ANY($1::text[])
    AND (s.dbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())
         OR (s.dbid = 0 AND $2))
)
SELECT principal, deptype, shared, coalesce(type, ''), coalesce(identity, '')
FROM b WHERE n <= $3
ORDER BY principal COLLATE "C", shared, deptype, type COLLATE "C", identity COLLATE "C"`

// Describe names the objects that blockers (counts, as diff.Compute makes
// them) stand for. Those of the connection's database and of the whole
// cluster it reads through conn, in one round trip; those of another
// database through a connection that open makes, one per database that has
// blockers, and only then. What it cannot name stays counted: objects past
// MaxNamed, and those of a database it could not read, which the returned
// error names.
func Describe(ctx context.Context, conn Querier, database string, open Opener, blockers []diff.Blocker) ([]diff.Blocker, error) {
	if len(blockers) == 0 {
		return nil, nil
	}
	// The databases to read, in the order blockers name them first.
	var dbs []string
	principals := map[string][]string{}
	for _, b := range blockers {
		db := b.Database
		if db == "" {
			db = database
		}
		if _, ok := principals[db]; !ok {
			dbs = append(dbs, db)
		}
		principals[db] = appendNew(principals[db], b.Principal)
	}
	type key struct {
		principal, database string
		kind                diff.DependencyKind
	}
	named := map[key][]diff.Blocker{}
	var errs []error
	for _, db := range dbs {
		q, closeConn, err := querierFor(ctx, conn, database, open, db)
		if err != nil {
			errs = append(errs, fmt.Errorf("database %s: %w", db, err))
			continue
		}
		rows, _ := q.Query(ctx, blockersSQL, principals[db], db == database, MaxNamed)
		found, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (diff.Blocker, error) {
			var b diff.Blocker
			var deptype string
			var shared bool
			err := row.Scan(&b.Principal, &deptype, &shared, &b.ObjectType, &b.Object)
			b.Kind, b.Count = diff.KindOf(deptype), 1
			if !shared {
				b.Database = db
			}
			return b, err
		})
		closeConn()
		if err != nil {
			errs = append(errs, fmt.Errorf("database %s: name what blocks the drops: %w", db, err))
			continue
		}
		for _, b := range found {
			k := key{b.Principal, b.Database, b.Kind}
			named[k] = append(named[k], b)
		}
	}
	var out []diff.Blocker
	for _, b := range blockers {
		n := named[key{b.Principal, b.Database, b.Kind}]
		out = append(out, n...)
		if rest := b.Count - len(n); rest > 0 {
			out = append(out, diff.Blocker{Principal: b.Principal, Database: b.Database, Kind: b.Kind, Count: rest})
		}
	}
	diff.SortBlockers(out)
	return out, errors.Join(errs...)
}

// querierFor returns conn for its own database, else a new connection to
// db and the function that closes it.
func querierFor(ctx context.Context, conn Querier, database string, open Opener, db string) (Querier, func(), error) {
	if db == database {
		return conn, func() {}, nil
	}
	if open == nil {
		return nil, nil, errors.New("no way to connect to another database was given")
	}
	c, err := open(ctx, db)
	if err != nil {
		return nil, nil, err
	}
	return c, func() { _ = c.Close(context.WithoutCancel(ctx)) }, nil
}

func appendNew(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}
