package apply

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgusers/pgusers/pkg/diff"
	"github.com/pgusers/pgusers/pkg/spec"
)

// Batcher is what Inspect and Apply send their statements through: a
// *pgx.Conn or a pgx.Tx.
type Batcher interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// The principals are read by position (the alias list renames whatever the
// server calls its columns: its docs spell the first one two ways), with
// their direct memberships. pg_auth_members is aggregated by member name,
// so the principals join it without a look-up of every role.
const principalsSQL = `WITH p AS (
  SELECT * FROM pg_catalog.pgaadauth_list_principals(false)
    AS p(rolname, principaltype, objectid, tenantid, ismfa, isadmin)
), m AS (
  SELECT mr.rolname AS member, array_agg(g.rolname::text ORDER BY g.rolname COLLATE "C") AS roles
  FROM pg_catalog.pg_auth_members am
  JOIN pg_catalog.pg_roles g ON g.oid = am.roleid
  JOIN pg_catalog.pg_roles mr ON mr.oid = am.member
  GROUP BY mr.rolname
)
SELECT p.rolname::text, p.principaltype::text, coalesce(p.objectid::text, ''), coalesce(p.tenantid::text, ''),
       p.ismfa::int, p.isadmin::int, coalesce(m.roles, '{}')
FROM p
LEFT JOIN m ON m.member = p.rolname
ORDER BY p.rolname COLLATE "C"`

const rolesSQL = `SELECT r.rolname::text, pg_catalog.pg_has_role(session_user, r.oid, 'USAGE')
FROM unnest($1::text[]) AS n(name)
JOIN pg_catalog.pg_roles r ON r.rolname = n.name::name
ORDER BY r.rolname COLLATE "C"`

const sessionSQL = `SELECT session_user::text, pg_catalog.current_database()::text`

// What would make DROP ROLE of a principal fail: the pg_shdepend entries
// that name a role, counted per role, database and kind. pg_shdepend is
// shared, so this one read sees every database, but it holds only object
// ids: naming the objects takes a connection to their database (Describe),
// which is only worth it for principals a plan drops. It reads every role's
// entries (usually few: the bootstrap superuser's are not recorded) and
// readInspect keeps the Entra principals': filtering here would call
// pgaadauth_list_principals a second time, the costliest part of a read.
const dependenciesSQL = `SELECT r.rolname::text, coalesce(d.datname::text, ''), s.deptype::text, count(*)::int,
       pg_catalog.pg_has_role(session_user, r.oid, 'USAGE')
FROM pg_catalog.pg_shdepend s
JOIN pg_catalog.pg_roles r ON r.oid = s.refobjid
LEFT JOIN pg_catalog.pg_database d ON d.oid = s.dbid
WHERE s.refclassid = 'pg_catalog.pg_authid'::pg_catalog.regclass
GROUP BY r.rolname, r.oid, d.datname, s.deptype
ORDER BY r.rolname COLLATE "C", d.datname COLLATE "C" NULLS FIRST, s.deptype`

// RoleNames are the names whose existence as roles a plan for s depends on:
// its principals, their memberOf roles and reassignOwnedTo.
func RoleNames(s spec.Server) []string {
	var names []string
	for _, p := range s.Principals {
		names = append(names, p.Name)
		names = append(names, p.MemberOf...)
	}
	if s.ReassignOwnedTo != "" {
		names = append(names, s.ReassignOwnedTo)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// queueInspect adds the inspection queries to b; readInspect reads their
// results in the same order. Split so that Apply can put them in the batch
// that takes the lock.
func queueInspect(b *pgx.Batch, names []string) {
	b.Queue(sessionSQL)
	b.Queue(principalsSQL)
	b.Queue(rolesSQL, names)
	b.Queue(dependenciesSQL)
}

func readInspect(br pgx.BatchResults) (diff.Observed, error) {
	var o diff.Observed
	if err := br.QueryRow().Scan(&o.SessionUser, &o.Database); err != nil {
		return o, fmt.Errorf("read the signed-in user: %w", err)
	}
	rows, err := br.Query()
	if err != nil {
		return o, fmt.Errorf("list principals: %w", err)
	}
	o.Principals, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (diff.ObservedPrincipal, error) {
		var p diff.ObservedPrincipal
		var mfa, admin int
		err := row.Scan(&p.Name, &p.Type, &p.ObjectID, &p.TenantID, &mfa, &admin, &p.MemberOf)
		p.MFA, p.Admin = mfa == 1, admin == 1
		return p, err
	})
	if err != nil {
		return o, fmt.Errorf("list principals: %w", err)
	}
	rows, err = br.Query()
	if err != nil {
		return o, fmt.Errorf("read roles: %w", err)
	}
	o.Roles, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (string, error) {
		var name string
		var usable bool
		err := row.Scan(&name, &usable)
		if usable {
			o.SessionRoles = append(o.SessionRoles, name)
		}
		return name, err
	})
	if err != nil {
		return o, fmt.Errorf("read roles: %w", err)
	}
	rows, err = br.Query()
	if err != nil {
		return o, fmt.Errorf("read what principals own: %w", err)
	}
	entra := make(map[string]bool, len(o.Principals))
	for _, p := range o.Principals {
		entra[p.Name] = true
	}
	deps, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (diff.Dependency, error) {
		var d diff.Dependency
		var deptype string
		var usable bool
		err := row.Scan(&d.Principal, &d.Database, &deptype, &d.Count, &usable)
		d.Kind = diff.KindOf(deptype)
		if usable && entra[d.Principal] {
			o.SessionRoles = append(o.SessionRoles, d.Principal)
		}
		return d, err
	})
	if err != nil {
		return o, fmt.Errorf("read what principals own: %w", err)
	}
	o.Dependencies = slices.DeleteFunc(deps, func(d diff.Dependency) bool { return !entra[d.Principal] })
	o.Normalize()
	return o, nil
}

// Inspect reads the server's Entra principals, their memberships, what they
// own or hold in every database (counted), which of names exist as roles,
// and the signed-in user, in one round trip.
func Inspect(ctx context.Context, conn Batcher, names []string) (diff.Observed, error) {
	b := &pgx.Batch{}
	queueInspect(b, names)
	br := conn.SendBatch(ctx, b)
	o, err := readInspect(br)
	if cerr := br.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return diff.Observed{}, explainInspect(err)
	}
	return o, nil
}

// explainInspect turns the error of a server without pgaadauth (or of a
// database other than postgres) into advice.
func explainInspect(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42883" {
		return fmt.Errorf("inspect: pgaadauth_list_principals does not exist here: pgusers needs an Azure Database for PostgreSQL "+
			"flexible server with Microsoft Entra authentication enabled, and the database \"postgres\" "+
			"(the pgaadauth functions exist only there): %w", err)
	}
	return fmt.Errorf("inspect: %w", err)
}
