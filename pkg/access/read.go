package access

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/pgusers/pgusers/pkg/inspect"
)

// The statements of a review's read. None orders its rows: Review sorts
// what it shows.

// rolesSQL reads every role with the attributes a review reports.
const rolesSQL = `SELECT r.rolname::text, r.rolsuper, r.rolinherit, r.rolcreaterole, r.rolcreatedb, r.rolcanlogin,
       r.rolreplication, r.rolbypassrls
FROM pg_catalog.pg_roles r`

// edgesSQL reads every direct membership. PostgreSQL 16 gives each grant
// its own INHERIT and SET options; before it a member inherits when it
// has INHERIT, and may always SET ROLE. to_jsonb reads the options where
// they exist without a statement per version. Several grantors' grants
// of one membership are one edge, with any one's options.
const edgesSQL = `SELECT mr.rolname::text, g.rolname::text, bool_or(am.admin_option),
       bool_or(coalesce((pg_catalog.to_jsonb(am) ->> 'inherit_option')::bool, mr.rolinherit)),
       bool_or(coalesce((pg_catalog.to_jsonb(am) ->> 'set_option')::bool, true))
FROM pg_catalog.pg_auth_members am
JOIN pg_catalog.pg_roles g ON g.oid = am.roleid
JOIN pg_catalog.pg_roles mr ON mr.oid = am.member
GROUP BY mr.rolname, g.rolname`

// databasesSQL reads every database but the templates with its owner,
// whether the signed-in user may connect to it, and its ACL entries (NULL
// is the default it stands for) but the owner's, one row each, or one row
// without a grantee.
const databasesSQL = `SELECT d.datname::text, o.rolname::text,
       pg_catalog.has_database_privilege(session_user, d.oid, 'CONNECT'),
       a.grantee, a.privilege, a.grantable
FROM pg_catalog.pg_database d
JOIN pg_catalog.pg_roles o ON o.oid = d.datdba
LEFT JOIN LATERAL (
  SELECT CASE x.grantee WHEN 0 THEN 'PUBLIC' ELSE g.rolname::text END AS grantee,
         x.privilege_type::text AS privilege, bool_or(x.is_grantable) AS grantable
  FROM pg_catalog.aclexplode(coalesce(d.datacl, pg_catalog.acldefault('d', d.datdba))) x
  LEFT JOIN pg_catalog.pg_roles g ON g.oid = x.grantee
  WHERE x.grantee <> d.datdba AND (x.grantee = 0 OR g.oid IS NOT NULL)
  GROUP BY 1, 2
) a ON true
WHERE NOT d.datistemplate`

// Read reads the shared part of a server's review through conn, a
// connection to the postgres database, in one round trip: the signed-in
// user, the server's version and the Entra principals (as inspect reads
// them, without what only a plan needs), every role with its attributes, every membership with
// its options, and every database with its owner and ACL. With current,
// the same round trip reads the connected database as ReadDatabase does:
// a database the signed-in user is connected to is one it may connect to,
// so a review that asks for every database saves a round trip.
func Read(ctx context.Context, conn inspect.Batcher, current bool) (Server, error) {
	b := &pgx.Batch{}
	inspect.QueuePrincipals(b)
	b.Queue(rolesSQL)
	b.Queue(edgesSQL)
	b.Queue(databasesSQL)
	if current {
		queueDatabase(b)
	}
	br := conn.SendBatch(ctx, b)
	s, err := readServer(br)
	if err == nil && current {
		err = s.readCurrent(br)
	}
	if cerr := br.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return Server{}, inspect.Explain(err)
	}
	return s, nil
}

// readCurrent reads what queueDatabase queued into the connected
// database's entry.
func (s *Server) readCurrent(br pgx.BatchResults) error {
	var current Database
	if err := readDatabase(br, &current, ""); err != nil {
		return err
	}
	db := s.Database(current.Name)
	if db == nil { // a template: not reviewed
		return nil
	}
	db.Schemas, db.Groups, db.Columns, db.Defaults, db.Read = current.Schemas, current.Groups, current.Columns, current.Defaults, true
	db.sort()
	return nil
}

func readServer(br pgx.BatchResults) (Server, error) {
	var s Server
	o, err := inspect.ReadPrincipals(br)
	if err != nil {
		return s, err
	}
	s.SessionUser, s.Version = o.SessionUser, o.ServerVersion
	for _, p := range o.Principals {
		s.Principals = append(s.Principals, EntraPrincipal{Name: p.Name, Type: p.Type, ObjectID: p.ObjectID})
	}
	rows, err := br.Query()
	if err != nil {
		return s, fmt.Errorf("read roles: %w", err)
	}
	s.Roles, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (Role, error) {
		var r Role
		err := row.Scan(&r.Name, &r.Super, &r.Inherit, &r.CreateRole, &r.CreateDB, &r.Login, &r.Replication, &r.BypassRLS)
		return r, err
	})
	if err != nil {
		return s, fmt.Errorf("read roles: %w", err)
	}
	rows, err = br.Query()
	if err != nil {
		return s, fmt.Errorf("read memberships: %w", err)
	}
	s.Edges, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (Edge, error) {
		var e Edge
		err := row.Scan(&e.Member, &e.Role, &e.Admin, &e.Inherit, &e.Set)
		return e, err
	})
	if err != nil {
		return s, fmt.Errorf("read memberships: %w", err)
	}
	if s.Databases, err = readDatabases(br); err != nil {
		return s, fmt.Errorf("read databases: %w", err)
	}
	s.sort()
	return s, nil
}

func readDatabases(br pgx.BatchResults) ([]Database, error) {
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	var (
		dbs                []Database
		name, owner        string
		connect            bool
		grantee, privilege pgtype.Text
		grantable          pgtype.Bool
	)
	index := map[string]int{}
	_, err = pgx.ForEachRow(rows, []any{&name, &owner, &connect, &grantee, &privilege, &grantable}, func() error {
		i, seen := index[name]
		if !seen {
			i = len(dbs)
			index[name] = i
			dbs = append(dbs, Database{Name: name, Owner: owner, Connect: connect})
		}
		if grantee.Valid {
			dbs[i].ACL = append(dbs[i].ACL, Entry{Grantee: grantee.String, Privilege: privilege.String, Grantable: grantable.Bool})
		}
		return nil
	})
	return dbs, err
}

// The statements of a database's read. Each reads the schemas that are
// not the system's (pg_catalog, information_schema, pg_toast*, pg_temp*:
// no user schema's name starts with pg_).
const userSchemas = `left(n.nspname, 3) <> 'pg_' AND n.nspname <> 'information_schema'`

// schemasSQL: each schema with its owner and ACL entries but the owner's,
// or one row without a grantee.
const schemasSQL = `SELECT n.nspname::text, o.rolname::text, a.grantee, a.privilege, a.grantable
FROM pg_catalog.pg_namespace n
JOIN pg_catalog.pg_roles o ON o.oid = n.nspowner
LEFT JOIN LATERAL (
  SELECT CASE x.grantee WHEN 0 THEN 'PUBLIC' ELSE g.rolname::text END AS grantee,
         x.privilege_type::text AS privilege, bool_or(x.is_grantable) AS grantable
  FROM pg_catalog.aclexplode(coalesce(n.nspacl, pg_catalog.acldefault('n', n.nspowner))) x
  LEFT JOIN pg_catalog.pg_roles g ON g.oid = x.grantee
  WHERE x.grantee <> n.nspowner AND (x.grantee = 0 OR g.oid IS NOT NULL)
  GROUP BY 1, 2
) a ON true
WHERE ` + userSchemas

// objectsSQL: the tables (tables, partitioned tables, views, materialized
// views, foreign tables), sequences and functions (functions and
// procedures) of those schemas, grouped by schema, kind, owner and ACL
// (NULL made the default it stands for), each group with its objects'
// names and its ACL entries but the owner's. GRANT ... ON ALL TABLES IN
// SCHEMA gives thousands of tables one ACL: each distinct ACL is exploded
// once, and a schema of 2,000 alike tables is one row. A function is
// named with its argument types, f(integer, text).
const objectsSQL = `WITH o AS (
  SELECT c.relnamespace AS ns, c.relowner AS owner,
         CASE c.relkind WHEN 'S' THEN 'sequence' ELSE 'table' END AS kind, c.relname::text AS name,
         coalesce(c.relacl, pg_catalog.acldefault(CASE c.relkind WHEN 'S' THEN 's'::"char" ELSE 'r'::"char" END, c.relowner)) AS acl
  FROM pg_catalog.pg_class c
  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
  UNION ALL
  SELECT p.pronamespace, p.proowner, 'function',
         p.proname::text || '(' || pg_catalog.oidvectortypes(p.proargtypes) || ')',
         coalesce(p.proacl, pg_catalog.acldefault('f', p.proowner))
  FROM pg_catalog.pg_proc p
  WHERE p.prokind IN ('f', 'p')
), a AS (
  SELECT o.ns, o.kind, o.owner, o.acl, array_agg(o.name) AS names
  FROM o JOIN pg_catalog.pg_namespace n ON n.oid = o.ns
  WHERE ` + userSchemas + `
  GROUP BY o.ns, o.kind, o.owner, o.acl
)
SELECT n.nspname::text, a.kind, r.rolname::text, a.names,
       coalesce(x.grantees, '{}'), coalesce(x.privileges, '{}'), coalesce(x.grantables, '{}')
FROM a
JOIN pg_catalog.pg_namespace n ON n.oid = a.ns
JOIN pg_catalog.pg_roles r ON r.oid = a.owner
LEFT JOIN LATERAL (
  SELECT array_agg(y.grantee) AS grantees, array_agg(y.privilege) AS privileges, array_agg(y.grantable) AS grantables
  FROM (
    SELECT CASE e.grantee WHEN 0 THEN 'PUBLIC' ELSE g.rolname::text END AS grantee,
           e.privilege_type::text AS privilege, bool_or(e.is_grantable) AS grantable
    FROM pg_catalog.aclexplode(a.acl) e
    LEFT JOIN pg_catalog.pg_roles g ON g.oid = e.grantee
    WHERE e.grantee <> a.owner AND (e.grantee = 0 OR g.oid IS NOT NULL)
    GROUP BY 1, 2
  ) y
) x ON true`

// columnsSQL: the column privileges (few: only columns granted on their
// own have an ACL) of the tables of those schemas.
const columnsSQL = `SELECT n.nspname::text, c.relname::text, t.attname::text,
       CASE x.grantee WHEN 0 THEN 'PUBLIC' ELSE g.rolname::text END, x.privilege_type::text, bool_or(x.is_grantable)
FROM pg_catalog.pg_attribute t
JOIN pg_catalog.pg_class c ON c.oid = t.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL pg_catalog.aclexplode(t.attacl) x
LEFT JOIN pg_catalog.pg_roles g ON g.oid = x.grantee
WHERE t.attacl IS NOT NULL AND NOT t.attisdropped AND t.attnum > 0 AND (x.grantee = 0 OR g.oid IS NOT NULL)
  AND ` + userSchemas + `
GROUP BY 1, 2, 3, 4, 5`

// defaultsSQL: every default privilege (ALTER DEFAULT PRIVILEGES), in a
// schema or global (schema ”), but the creating role's own entries.
const defaultsSQL = `SELECT r.rolname::text, coalesce(n.nspname::text, ''),
       CASE d.defaclobjtype WHEN 'r' THEN 'tables' WHEN 'S' THEN 'sequences' WHEN 'f' THEN 'functions'
                            WHEN 'T' THEN 'types' WHEN 'n' THEN 'schemas' ELSE d.defaclobjtype::text END,
       CASE x.grantee WHEN 0 THEN 'PUBLIC' ELSE g.rolname::text END, x.privilege_type::text, bool_or(x.is_grantable)
FROM pg_catalog.pg_default_acl d
JOIN pg_catalog.pg_roles r ON r.oid = d.defaclrole
LEFT JOIN pg_catalog.pg_namespace n ON n.oid = d.defaclnamespace
CROSS JOIN LATERAL pg_catalog.aclexplode(d.defaclacl) x
LEFT JOIN pg_catalog.pg_roles g ON g.oid = x.grantee
WHERE x.grantee <> d.defaclrole AND (x.grantee = 0 OR g.oid IS NOT NULL)
GROUP BY 1, 2, 3, 4, 5`

// dbCurrentSQL makes sure the connection is to the database asked about.
const dbCurrentSQL = `SELECT pg_catalog.current_database()::text`

// ReadDatabase reads what a review needs of the database conn is
// connected to, in one round trip: its schemas, its objects grouped by
// ACL, its column privileges and its default privileges, every grantee's.
func ReadDatabase(ctx context.Context, conn inspect.Batcher, db *Database) error {
	b := &pgx.Batch{}
	queueDatabase(b)
	br := conn.SendBatch(ctx, b)
	err := readDatabase(br, db, db.Name)
	if cerr := br.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("database %s: %w", db.Name, err)
	}
	db.Read = true
	db.sort()
	return nil
}

// queueDatabase queues a database's read.
func queueDatabase(b *pgx.Batch) {
	b.Queue(dbCurrentSQL)
	b.Queue(schemasSQL)
	b.Queue(objectsSQL)
	b.Queue(columnsSQL)
	b.Queue(defaultsSQL)
}

// readDatabase reads what queueDatabase queued into db, refusing a
// connection to another database than want ("" takes any, and names db).
func readDatabase(br pgx.BatchResults, db *Database, want string) error {
	var current string
	if err := br.QueryRow().Scan(&current); err != nil {
		return err
	}
	if want == "" {
		db.Name = current
	} else if current != want {
		return fmt.Errorf("connected to database %s, not %s", current, want)
	}
	var (
		schema, owner      string
		grantee, privilege pgtype.Text
		grantable          pgtype.Bool
	)
	rows, err := br.Query()
	if err != nil {
		return fmt.Errorf("read schemas: %w", err)
	}
	index := map[string]int{}
	_, err = pgx.ForEachRow(rows, []any{&schema, &owner, &grantee, &privilege, &grantable}, func() error {
		i, seen := index[schema]
		if !seen {
			i = len(db.Schemas)
			index[schema] = i
			db.Schemas = append(db.Schemas, Schema{Name: schema, Owner: owner})
		}
		if grantee.Valid {
			db.Schemas[i].ACL = append(db.Schemas[i].ACL, Entry{Grantee: grantee.String, Privilege: privilege.String, Grantable: grantable.Bool})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read schemas: %w", err)
	}
	rows, err = br.Query()
	if err != nil {
		return fmt.Errorf("read objects: %w", err)
	}
	var (
		g                    Group
		kind                 string
		grantees, privileges []string
		grantables           []bool
	)
	_, err = pgx.ForEachRow(rows, []any{&g.Schema, &kind, &g.Owner, &g.Names, &grantees, &privileges, &grantables}, func() error {
		g.Kind = Kind(kind)
		g.ACL = make([]Entry, len(grantees))
		for i := range grantees {
			g.ACL[i] = Entry{Grantee: grantees[i], Privilege: privileges[i], Grantable: grantables[i]}
		}
		db.Groups = append(db.Groups, g)
		g = Group{}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read objects: %w", err)
	}
	rows, err = br.Query()
	if err != nil {
		return fmt.Errorf("read column privileges: %w", err)
	}
	db.Columns, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (Column, error) {
		var c Column
		err := row.Scan(&c.Schema, &c.Table, &c.Column, &c.Grantee, &c.Privilege, &c.Grantable)
		return c, err
	})
	if err != nil {
		return fmt.Errorf("read column privileges: %w", err)
	}
	rows, err = br.Query()
	if err != nil {
		return fmt.Errorf("read default privileges: %w", err)
	}
	db.Defaults, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (Default, error) {
		var d Default
		err := row.Scan(&d.Owner, &d.Schema, &d.On, &d.Grantee, &d.Privilege, &d.Grantable)
		return d, err
	})
	if err != nil {
		return fmt.Errorf("read default privileges: %w", err)
	}
	return nil
}

// Databases are the names of the databases a review reads when none is
// asked: every one the signed-in user may connect to.
func (s Server) Connectable() []string {
	var names []string
	for _, d := range s.Databases {
		if d.Connect {
			names = append(names, d.Name)
		}
	}
	return names
}

// Database returns the database named name, or nil.
func (s *Server) Database(name string) *Database {
	i, ok := slices.BinarySearchFunc(s.Databases, name, func(d Database, n string) int { return strings.Compare(d.Name, n) })
	if !ok {
		return nil
	}
	return &s.Databases[i]
}
