package inspect

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/pgusers/pgusers/pkg/diff"
	"github.com/pgusers/pgusers/pkg/spec"
)

// The statements of ReadDatabase. Each names the schemas it reads with
// schemasCTE and the grantees it reports with granteesCTE, whose
// parameters it is given: in exec mode a parameter has no type but its
// cast, and one the statement does not use is an error.
//
// Nothing here makes a row per object: objects are counted per schema,
// kind and owner, and their ACL entries per schema, kind, grantee,
// privilege and grant option. A schema of 10,000 tables costs a row per
// owner, and a row per privilege each grantee asked about holds on some of
// them; only a count of at most diff.MaxNamed carries the objects' ids,
// named by pg_identify_object after the aggregation.

// schemasCTE is s, the schemas asked about that exist: $1 the names, or
// with $2 every schema that is not the system's (pg_catalog,
// information_schema, pg_toast*, pg_temp*: a user cannot make a schema
// whose name starts with pg_).
const schemasCTE = `s AS (
  SELECT n.oid, n.nspname, n.nspowner, n.nspacl FROM pg_catalog.pg_namespace n
  WHERE CASE WHEN $2::bool
             THEN left(n.nspname, 3) <> 'pg_' AND n.nspname <> 'information_schema'
             ELSE n.nspname = ANY($1::text[]) END
)`

// granteesCTE is g, the grantees $3 asked about that exist, by oid: 0 for
// PUBLIC.
const granteesCTE = `g AS (
  SELECT 0::oid AS oid, 'PUBLIC'::text AS name WHERE 'PUBLIC' = ANY($3::text[])
  UNION ALL
  SELECT r.oid, r.rolname::text FROM pg_catalog.pg_roles r
  WHERE r.rolname = ANY($3::text[]) AND r.rolname <> 'PUBLIC'
)`

// objectsCTE is o, the objects of the schemas s of the kinds plans manage:
// relations as tables (tables, partitioned tables, views, materialized
// views, foreign tables) or sequences, functions and procedures as
// functions, each with its ACL, NULL made the default it stands for.
const objectsCTE = `o AS (
  SELECT c.oid, c.relnamespace AS ns, c.relowner AS owner,
         CASE c.relkind WHEN 'S' THEN 'sequences' ELSE 'tables' END AS kind,
         coalesce(c.relacl, pg_catalog.acldefault(CASE c.relkind WHEN 'S' THEN 's'::"char" ELSE 'r'::"char" END, c.relowner)) AS acl
  FROM pg_catalog.pg_class c
  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND c.relnamespace IN (SELECT oid FROM s)
  UNION ALL
  SELECT p.oid, p.pronamespace, p.proowner, 'functions',
         coalesce(p.proacl, pg_catalog.acldefault('f', p.proowner))
  FROM pg_catalog.pg_proc p
  WHERE p.prokind IN ('f', 'p') AND p.pronamespace IN (SELECT oid FROM s)
)`

// roleFactColumns are the RoleFact of the role whose oid is %[1]s.
const roleFactColumns = `pg_catalog.pg_has_role(session_user, %[1]s, 'MEMBER'), pg_catalog.pg_has_role(session_user, %[1]s, 'USAGE')`

// dbCurrentSQL makes sure the connection is to the database asked about.
const dbCurrentSQL = `SELECT pg_catalog.current_database()::text`

// dbSchemasSQL ($1, $2, $3): each schema with its owner's facts, and its
// ACL entries of the grantees asked about but the owner's (one row per
// grantee and privilege, granted by anyone, WITH GRANT OPTION by any), or
// one row without a grantee.
var dbSchemasSQL = `WITH ` + schemasCTE + `, ` + granteesCTE + `
SELECT s.nspname::text, r.rolname::text, r.rolsuper, ` + fmt.Sprintf(roleFactColumns, "s.nspowner") + `,
       x.grantee, x.privilege, x.grantable
FROM s
JOIN pg_catalog.pg_roles r ON r.oid = s.nspowner
LEFT JOIN LATERAL (
  SELECT g.name AS grantee, a.privilege_type::text AS privilege, bool_or(a.is_grantable) AS grantable
  FROM pg_catalog.aclexplode(coalesce(s.nspacl, pg_catalog.acldefault('n', s.nspowner))) a
  JOIN g ON g.oid = a.grantee
  WHERE a.grantee <> s.nspowner
  GROUP BY g.name, a.privilege_type
) x ON true`

// dbObjectsSQL ($1, $2): the objects counted per schema, kind and owner,
// with the owner's facts (a call per row: the rows are few).
var dbObjectsSQL = `WITH ` + schemasCTE + `, ` + objectsCTE + `,
n AS (SELECT ns, kind, owner, count(*) AS n FROM o GROUP BY ns, kind, owner)
SELECT s.nspname::text, n.kind, r.rolname::text, n.n::int, r.rolsuper, ` + fmt.Sprintf(roleFactColumns, "n.owner") + `
FROM n
JOIN s ON s.oid = n.ns
JOIN pg_catalog.pg_roles r ON r.oid = n.owner`

// dbHoldingsSQL ($1, $2, $3, $4 the most objects a holding names, $5 the
// most a delegated entry names): per schema, kind, grantee asked about,
// privilege and grant option, how many objects the grantee holds the
// privilege on and does not own, and the objects' names when they are at
// most $4; and, in rows that name a grantor, the entries of the schemas'
// and objects' ACLs that a role other than the owner granted, where the
// grantee or the grantor is a grantee asked about, per schema, kind,
// grantor, grantee, privilege and grant option: how many objects, their
// names when they are at most $5, the grantor's facts, and whether the
// grantor lacks USAGE on the schema (as it, the objects cannot be named
// in a REVOKE). One statement,
// so that the objects are scanned and grouped once for both.
//
// Objects of the same schema, kind, owner and ACL are alike here: they
// are grouped first (a, with the ids of at most $5 of them), so that each
// distinct ACL is exploded once, however many objects share it: GRANT ...
// ON ALL TABLES IN SCHEMA gives thousands of tables one ACL. For the
// holdings, each group's entries are then made one per grantee and
// privilege (granted by several grantors, WITH GRANT OPTION if any gives
// it), so that an object counts once (h); the groups are summed (c), and
// only a sum of at most $4 is named, from the ids of its groups, each of
// which is then at most $4. The delegated entries are those of the groups
// and of the schemas' own ACLs (d), summed likewise (dc). A grantee that
// is not asked about is named from pg_roles: it holds what a managed
// grantee passed on.
var dbHoldingsSQL = `WITH ` + schemasCTE + `, ` + granteesCTE + `, ` + objectsCTE + `,
a AS (
  SELECT o.ns, o.kind, o.owner, o.acl, count(*) AS n,
         CASE WHEN count(*) <= $5::int THEN array_agg(o.oid) END AS oids
  FROM o
  GROUP BY o.ns, o.kind, o.owner, o.acl
),
h AS MATERIALIZED (
  SELECT a.ns, a.kind, x.grantee, x.privilege, x.grantable, a.n, a.oids
  FROM a
  CROSS JOIN LATERAL (
    SELECT g.name AS grantee, e.privilege_type AS privilege, bool_or(e.is_grantable) AS grantable
    FROM pg_catalog.aclexplode(a.acl) e
    JOIN g ON g.oid = e.grantee
    WHERE e.grantee <> a.owner
    GROUP BY g.name, e.privilege_type
  ) x
),
c AS (
  SELECT h.ns, h.kind, h.grantee, h.privilege, h.grantable, sum(h.n) AS n
  FROM h
  GROUP BY h.ns, h.kind, h.grantee, h.privilege, h.grantable
),
d AS MATERIALIZED (
  SELECT a.ns, a.kind, x.grantor, x.grantee, x.privilege_type AS privilege, x.is_grantable AS grantable, a.n, a.oids
  FROM a
  CROSS JOIN LATERAL pg_catalog.aclexplode(a.acl) x
  WHERE x.grantor <> a.owner AND (x.grantee IN (SELECT oid FROM g) OR x.grantor IN (SELECT oid FROM g))
  UNION ALL
  SELECT s.oid, 'schema', x.grantor, x.grantee, x.privilege_type, x.is_grantable, 1, ARRAY[s.oid]
  FROM s
  CROSS JOIN LATERAL pg_catalog.aclexplode(s.nspacl) x
  WHERE x.grantor <> s.nspowner AND (x.grantee IN (SELECT oid FROM g) OR x.grantor IN (SELECT oid FROM g))
),
dc AS (
  SELECT d.ns, d.kind, d.grantor, d.grantee, d.privilege, d.grantable, sum(d.n) AS n, bool_and(d.oids IS NOT NULL) AS named
  FROM d
  GROUP BY d.ns, d.kind, d.grantor, d.grantee, d.privilege, d.grantable
)
SELECT s.nspname::text, c.kind, NULL::text, c.grantee, c.privilege::text, c.grantable, c.n::int,
       CASE WHEN c.n <= $4::int THEN ARRAY(
         SELECT (pg_catalog.pg_identify_object(
                   CASE c.kind WHEN 'functions' THEN 'pg_catalog.pg_proc'::pg_catalog.regclass
                               ELSE 'pg_catalog.pg_class'::pg_catalog.regclass END, x.oid, 0)).identity
         FROM h CROSS JOIN LATERAL unnest(h.oids) AS x(oid)
         WHERE h.ns = c.ns AND h.kind = c.kind AND h.grantee = c.grantee
           AND h.privilege = c.privilege AND h.grantable = c.grantable) END,
       NULL::bool, NULL::bool, NULL::bool, NULL::bool
FROM c
JOIN s ON s.oid = c.ns
UNION ALL
SELECT s.nspname::text, dc.kind, r.rolname::text, CASE dc.grantee WHEN 0 THEN 'PUBLIC' ELSE ge.rolname::text END,
       dc.privilege::text, dc.grantable, dc.n::int,
       CASE WHEN dc.named AND dc.n <= $5::int THEN ARRAY(
         SELECT (pg_catalog.pg_identify_object(
                   CASE dc.kind WHEN 'functions' THEN 'pg_catalog.pg_proc'::pg_catalog.regclass
                                WHEN 'schema' THEN 'pg_catalog.pg_namespace'::pg_catalog.regclass
                                ELSE 'pg_catalog.pg_class'::pg_catalog.regclass END, x.oid, 0)).identity
         FROM d CROSS JOIN LATERAL unnest(d.oids) AS x(oid)
         WHERE d.ns = dc.ns AND d.kind = dc.kind AND d.grantor = dc.grantor AND d.grantee = dc.grantee
           AND d.privilege = dc.privilege AND d.grantable = dc.grantable) END,
       r.rolsuper, ` + fmt.Sprintf(roleFactColumns, "r.oid") + `,
       dc.kind <> 'schema' AND NOT pg_catalog.has_schema_privilege(dc.grantor, dc.ns, 'USAGE')
FROM dc
JOIN s ON s.oid = dc.ns
JOIN pg_catalog.pg_roles r ON r.oid = dc.grantor
LEFT JOIN pg_catalog.pg_roles ge ON ge.oid = dc.grantee
WHERE dc.grantee = 0 OR ge.oid IS NOT NULL`

// dbDefaultsSQL ($1, $2, $3, $4 the owners): the default privileges the
// owners asked about (every owner's, with AllSchemas: export) give the
// grantees asked about in the schemas asked about, for tables, sequences
// and functions. Global defaults
// (defaclnamespace 0) are no schema's: they are not read.
var dbDefaultsSQL = `WITH ` + schemasCTE + `, ` + granteesCTE + `
SELECT r.rolname::text, s.nspname::text,
       CASE d.defaclobjtype WHEN 'r' THEN 'tables' WHEN 'S' THEN 'sequences' ELSE 'functions' END,
       g.name, a.privilege_type::text, bool_or(a.is_grantable)
FROM pg_catalog.pg_default_acl d
JOIN s ON s.oid = d.defaclnamespace
JOIN pg_catalog.pg_roles r ON r.oid = d.defaclrole
CROSS JOIN LATERAL pg_catalog.aclexplode(d.defaclacl) a
JOIN g ON g.oid = a.grantee
WHERE (r.rolname = ANY($4::text[]) OR $2) AND d.defaclobjtype IN ('r', 'S', 'f') AND a.grantee <> d.defaclrole
GROUP BY r.rolname, s.nspname, d.defaclobjtype, g.name, a.privilege_type`

// dbOwnersSQL ($1 the owners): the facts of the owners named by
// defaultsFor that exist.
var dbOwnersSQL = `SELECT r.rolname::text, r.rolsuper, ` + fmt.Sprintf(roleFactColumns, "r.oid") + `
FROM pg_catalog.pg_roles r WHERE r.rolname = ANY($1::text[])`

// ReadDatabase reads what scope asks of its database, through conn, a
// connection to that database, in one round trip: the schemas asked about
// that exist (with their owners, the ACL entries of the grantees asked
// about, their objects counted per kind and owner, and the grantees'
// holdings on them), the default privileges of scope.Owners there, and
// the facts of every owner involved (of a schema, of an object counted,
// named by scope.Owners). The database's own Owner and ACL come from the
// shared catalog (Snapshot.Observed): Merge puts the two together.
func ReadDatabase(ctx context.Context, conn Batcher, scope Scope) (diff.ObservedDatabase, []diff.RoleFact, error) {
	schemas := nonNil(scope.Schemas)
	grantees := nonNil(scope.Grantees)
	owners := nonNil(scope.Owners)
	b := &pgx.Batch{}
	b.Queue(dbCurrentSQL)
	b.Queue(dbSchemasSQL, schemas, scope.AllSchemas, grantees)
	b.Queue(dbObjectsSQL, schemas, scope.AllSchemas)
	b.Queue(dbHoldingsSQL, schemas, scope.AllSchemas, grantees, diff.MaxNamed, diff.MaxDelegatedNamed)
	b.Queue(dbDefaultsSQL, schemas, scope.AllSchemas, grantees, owners)
	b.Queue(dbOwnersSQL, owners)
	queueColumns(b, scope, schemas, grantees)
	br := conn.SendBatch(ctx, b)
	db, facts, err := readDatabase(br, scope.Database)
	if cerr := br.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return diff.ObservedDatabase{}, nil, fmt.Errorf("inspect: database %s: %w", scope.Database, err)
	}
	return db, facts, nil
}

// nonNil makes an empty list an empty array: pgx sends nil as NULL.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// readDatabase reads what ReadDatabase queued.
func readDatabase(br pgx.BatchResults, database string) (diff.ObservedDatabase, []diff.RoleFact, error) {
	db := diff.ObservedDatabase{Name: database, Exists: true, Read: true}
	var current string
	if err := br.QueryRow().Scan(&current); err != nil {
		return db, nil, fmt.Errorf("read the database: %w", err)
	}
	if current != database {
		return db, nil, fmt.Errorf("connected to database %s, not to it", current)
	}
	var facts []diff.RoleFact
	var err error
	if db.Schemas, facts, err = readSchemas(br, facts); err != nil {
		return db, nil, fmt.Errorf("read schemas: %w", err)
	}
	if facts, err = readObjectCounts(br, db.Schemas, facts); err != nil {
		return db, nil, fmt.Errorf("count objects: %w", err)
	}
	if facts, err = readHoldings(br, db.Schemas, facts); err != nil {
		return db, nil, fmt.Errorf("read the privileges on objects: %w", err)
	}
	if db.Defaults, err = readDefaults(br); err != nil {
		return db, nil, fmt.Errorf("read default privileges: %w", err)
	}
	rows, err := br.Query()
	if err != nil {
		return db, nil, fmt.Errorf("read owners: %w", err)
	}
	var f diff.RoleFact
	_, err = pgx.ForEachRow(rows, []any{&f.Name, &f.Super, &f.Member, &f.Usage}, func() error {
		facts = append(facts, f)
		return nil
	})
	if err != nil {
		return db, nil, fmt.Errorf("read owners: %w", err)
	}
	if facts, err = readColumns(br, db.Schemas, facts); err != nil {
		return db, nil, fmt.Errorf("read column privileges: %w", err)
	}
	normalizeDatabase(&db)
	return db, mergeFacts(nil, facts), nil
}

// readSchemas reads dbSchemasSQL: the schemas sorted by name, their ACLs
// normalized, and their owners' facts appended to facts.
func readSchemas(br pgx.BatchResults, facts []diff.RoleFact) ([]diff.ObservedSchema, []diff.RoleFact, error) {
	rows, err := br.Query()
	if err != nil {
		return nil, facts, err
	}
	var (
		schemas   []diff.ObservedSchema
		name      string
		owner     diff.RoleFact
		grantee   pgtype.Text
		privilege pgtype.Text
		grantable pgtype.Bool
	)
	index := map[string]int{}
	dst := []any{&name, &owner.Name, &owner.Super, &owner.Member, &owner.Usage, &grantee, &privilege, &grantable}
	_, err = pgx.ForEachRow(rows, dst, func() error {
		i, seen := index[name]
		if !seen {
			i = len(schemas)
			index[name] = i
			schemas = append(schemas, diff.ObservedSchema{Name: name, Owner: owner.Name})
			facts = append(facts, owner)
		}
		if grantee.Valid {
			schemas[i].ACL = append(schemas[i].ACL, diff.Privilege{Grantee: grantee.String, Privilege: privilege.String, Grantable: grantable.Bool})
		}
		return nil
	})
	slices.SortFunc(schemas, func(a, b diff.ObservedSchema) int { return strings.Compare(a.Name, b.Name) })
	return schemas, facts, err
}

// schemaIndex finds a schema of schemas, sorted by name.
func schemaIndex(schemas []diff.ObservedSchema, name string) (int, error) {
	i, ok := slices.BinarySearchFunc(schemas, name, func(s diff.ObservedSchema, n string) int {
		return strings.Compare(s.Name, n)
	})
	if !ok {
		// The statements of one batch see the same schemas unless one
		// is created or dropped between two of them.
		return 0, fmt.Errorf("schema %s appeared during the read: read again", name)
	}
	return i, nil
}

// readObjectCounts reads dbObjectsSQL into the Objects of schemas, and
// the owners' facts into facts.
func readObjectCounts(br pgx.BatchResults, schemas []diff.ObservedSchema, facts []diff.RoleFact) ([]diff.RoleFact, error) {
	rows, err := br.Query()
	if err != nil {
		return facts, err
	}
	var (
		schema string
		kind   string
		n      diff.ObjectCount
		owner  diff.RoleFact
	)
	dst := []any{&schema, &kind, &owner.Name, &n.Count, &owner.Super, &owner.Member, &owner.Usage}
	_, err = pgx.ForEachRow(rows, dst, func() error {
		i, err := schemaIndex(schemas, schema)
		if err != nil {
			return err
		}
		n.Kind, n.Owner = spec.Kind(kind), owner.Name
		schemas[i].Objects = append(schemas[i].Objects, n)
		facts = append(facts, owner)
		return nil
	})
	return facts, err
}

// readHoldings reads dbHoldingsSQL into the Holdings and Delegated of
// schemas, and the grantors' facts into facts: the plan acts as a
// grantor to revoke what it granted.
func readHoldings(br pgx.BatchResults, schemas []diff.ObservedSchema, facts []diff.RoleFact) ([]diff.RoleFact, error) {
	rows, err := br.Query()
	if err != nil {
		return facts, err
	}
	var (
		schema  string
		kind    string
		grantor pgtype.Text
		h       diff.Holding
		gFacts  [3]pgtype.Bool
		noUsage pgtype.Bool
	)
	dst := []any{&schema, &kind, &grantor, &h.Grantee, &h.Privilege, &h.Grantable, &h.Count, &h.Objects, &gFacts[0], &gFacts[1], &gFacts[2],
		&noUsage}
	_, err = pgx.ForEachRow(rows, dst, func() error {
		i, err := schemaIndex(schemas, schema)
		if err != nil {
			return err
		}
		h.Kind = spec.Kind(kind)
		if grantor.Valid {
			d := diff.Delegated{Kind: h.Kind, Grantor: grantor.String, Grantee: h.Grantee, Privilege: h.Privilege,
				Grantable: h.Grantable, Count: h.Count, Objects: h.Objects, GrantorLacksUsage: noUsage.Bool}
			if len(d.Objects) == 0 || d.Count > diff.MaxDelegatedNamed {
				d.Objects = nil
			}
			schemas[i].Delegated = append(schemas[i].Delegated, d)
			facts = append(facts, diff.RoleFact{Name: grantor.String, Super: gFacts[0].Bool, Member: gFacts[1].Bool, Usage: gFacts[2].Bool})
		} else {
			if len(h.Objects) == 0 || h.Count > diff.MaxNamed {
				h.Objects = nil
			}
			schemas[i].Holdings = append(schemas[i].Holdings, h)
		}
		h.Objects = nil // Scan makes a new slice for each array, or reuses this one
		return nil
	})
	return facts, err
}

// readDefaults reads dbDefaultsSQL.
func readDefaults(br pgx.BatchResults) ([]diff.DefaultPrivilege, error) {
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	var (
		defaults []diff.DefaultPrivilege
		d        diff.DefaultPrivilege
		kind     string
	)
	dst := []any{&d.Owner, &d.Schema, &kind, &d.Grantee, &d.Privilege.Privilege, &d.Grantable}
	_, err = pgx.ForEachRow(rows, dst, func() error {
		d.Kind = spec.Kind(kind)
		defaults = append(defaults, d)
		return nil
	})
	return defaults, err
}

// normalizeDatabase sorts every list of db, and makes every empty one nil.
func normalizeDatabase(db *diff.ObservedDatabase) {
	db.ACL = normalizeACL(db.ACL)
	for i := range db.Schemas {
		s := &db.Schemas[i]
		s.ACL = normalizeACL(s.ACL)
		slices.SortFunc(s.Objects, func(a, b diff.ObjectCount) int {
			return cmp.Or(strings.Compare(string(a.Kind), string(b.Kind)), strings.Compare(a.Owner, b.Owner))
		})
		s.Objects = nilIfEmpty(s.Objects)
		for j := range s.Holdings {
			slices.Sort(s.Holdings[j].Objects)
			s.Holdings[j].Objects = nilIfEmpty(s.Holdings[j].Objects)
		}
		slices.SortFunc(s.Holdings, compareHoldings)
		s.Holdings = nilIfEmpty(s.Holdings)
		for j := range s.Delegated {
			slices.Sort(s.Delegated[j].Objects)
		}
		slices.SortFunc(s.Delegated, compareDelegated)
		s.Delegated = nilIfEmpty(s.Delegated)
	}
	slices.SortFunc(db.Schemas, func(a, b diff.ObservedSchema) int { return strings.Compare(a.Name, b.Name) })
	db.Schemas = nilIfEmpty(db.Schemas)
	slices.SortFunc(db.Defaults, compareDefaults)
	db.Defaults = slices.CompactFunc(db.Defaults, func(a, b diff.DefaultPrivilege) bool { return a == b })
	db.Defaults = nilIfEmpty(db.Defaults)
}

func compareHoldings(a, b diff.Holding) int {
	return cmp.Or(
		strings.Compare(string(a.Kind), string(b.Kind)),
		strings.Compare(a.Grantee, b.Grantee),
		strings.Compare(a.Privilege, b.Privilege),
		compareBool(a.Grantable, b.Grantable),
	)
}

func compareDelegated(a, b diff.Delegated) int {
	return cmp.Or(
		strings.Compare(string(a.Kind), string(b.Kind)),
		strings.Compare(a.Grantor, b.Grantor),
		strings.Compare(a.Grantee, b.Grantee),
		strings.Compare(a.Privilege, b.Privilege),
		compareBool(a.Grantable, b.Grantable),
	)
}

func compareDefaults(a, b diff.DefaultPrivilege) int {
	return cmp.Or(
		strings.Compare(a.Owner, b.Owner),
		strings.Compare(a.Schema, b.Schema),
		strings.Compare(string(a.Kind), string(b.Kind)),
		comparePrivileges(a.Privilege, b.Privilege),
		compareBool(a.Grantable, b.Grantable),
	)
}

// Merge puts what ReadDatabase read of a database into o, which
// Snapshot.Observed made: the entry of o.Databases of the same name gets
// Read, Schemas and Defaults (its Exists, Owner and ACL, from the shared
// catalog, stay), and facts join o.Owners (sorted by name, a role once: a
// fact o already has stays). A database o does not list is added, in
// order, as db has it.
func Merge(o *diff.Observed, db diff.ObservedDatabase, facts []diff.RoleFact) {
	i, ok := slices.BinarySearchFunc(o.Databases, db.Name, func(d diff.ObservedDatabase, n string) int {
		return strings.Compare(d.Name, n)
	})
	if ok {
		d := &o.Databases[i]
		d.Read, d.Schemas, d.Defaults = db.Read, db.Schemas, db.Defaults
	} else {
		o.Databases = slices.Insert(o.Databases, i, db)
	}
	o.Owners = mergeFacts(o.Owners, facts)
}
