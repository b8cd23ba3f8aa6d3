package inspect

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/pgusers/pgusers/pkg/diff"
	"github.com/pgusers/pgusers/pkg/spec"
)

// ColumnRef names a column a grant declares privileges on.
type ColumnRef struct {
	Schema string `json:"schema"`
	Table  string `json:"table"`
	Column string `json:"column"`
}

func compareColumnRefs(a, b ColumnRef) int {
	return cmp.Or(strings.Compare(a.Schema, b.Schema), strings.Compare(a.Table, b.Table), strings.Compare(a.Column, b.Column))
}

// askColumns adds to sc the columns g declares, in each of its schemas,
// and whether PUBLIC's column privileges are asked about.
func askColumns(sc *Scope, g spec.Grant) {
	if _, tables := g.Kind(spec.KindTables); tables && g.To == spec.Public {
		sc.PublicColumns = true
	}
	for _, schema := range g.Schemas {
		for _, c := range g.Columns {
			sc.Columns = append(sc.Columns, ColumnRef{Schema: schema, Table: c.Table, Column: c.Column})
		}
	}
}

// sortColumnRefs sorts refs and drops duplicates; nil when empty.
func sortColumnRefs(refs []ColumnRef) []ColumnRef {
	slices.SortFunc(refs, compareColumnRefs)
	return nilIfEmpty(slices.Compact(refs))
}

// dbColumnsSQL ($1, $2, $3; $4, $5, $6 the schemas, tables and columns the
// grants declare; $7 Scope.PublicColumns): the column privileges (pg_attribute.attacl)
// of the grantees asked about on the tables of the schemas s, their
// table's owner's own left out, one row per column, grantee and privilege
// (granted by anyone, WITH GRANT OPTION by any); in rows that name a
// grantor, the entries that a role other than the table's owner granted,
// where the grantee or the grantor is a grantee asked about, with the
// grantor's facts and whether it lacks USAGE on the schema (as for
// objects, see dbHoldingsSQL); and a row without a
// grantee for each declared column that exists, so that the plan knows it
// and its table's owner.
//
// Few columns carry an ACL, and pg_attribute has no index that finds
// them: k starts from pg_shdepend instead, where PostgreSQL records every
// role but the owner named in a column's ACL (objsubid the column), found
// through its index by role. PUBLIC is no role and has no such record:
// only when PUBLIC has a tables cell ($7) are the columns of every table
// scanned.
// The declared columns are found by name through the catalogs' indexes.
var dbColumnsSQL = `WITH ` + schemasCTE + `, ` + granteesCTE + `,
d AS (SELECT * FROM unnest($4::text[], $5::text[], $6::text[]) AS d(nsp, rel, att)),
k AS (
  SELECT sd.objid AS attrelid, sd.objsubid AS attnum
  FROM g JOIN pg_catalog.pg_shdepend sd
    ON sd.refclassid = 'pg_catalog.pg_authid'::pg_catalog.regclass AND sd.refobjid = g.oid
  WHERE sd.deptype = 'a' AND sd.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND sd.objsubid > 0
    AND sd.dbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())
  UNION
  SELECT a.attrelid, a.attnum::int FROM pg_catalog.pg_attribute a
  WHERE $7::bool AND a.attacl IS NOT NULL AND a.attnum > 0 AND NOT a.attisdropped
  UNION
  SELECT a.attrelid, a.attnum::int FROM d
  JOIN pg_catalog.pg_namespace n ON n.nspname = d.nsp
  JOIN pg_catalog.pg_class t ON t.relnamespace = n.oid AND t.relname = d.rel
  JOIN pg_catalog.pg_attribute a ON a.attrelid = t.oid AND a.attname = d.att AND a.attnum > 0 AND NOT a.attisdropped
)
SELECT s.nspname::text, t.relname::text, a.attname::text, pg_catalog.pg_get_userbyid(t.relowner)::text,
       x.grantor, x.grantee, x.privilege, x.grantable, x.super, x.member, x.usage, x.nousage
FROM k
JOIN pg_catalog.pg_attribute a ON a.attrelid = k.attrelid AND a.attnum = k.attnum AND NOT a.attisdropped
JOIN pg_catalog.pg_class t ON t.oid = k.attrelid AND t.relkind IN ('r', 'p', 'v', 'm', 'f')
JOIN s ON s.oid = t.relnamespace
LEFT JOIN LATERAL (
  SELECT NULL::text AS grantor, g.name AS grantee, e.privilege_type::text AS privilege, bool_or(e.is_grantable) AS grantable,
         NULL::bool AS super, NULL::bool AS member, NULL::bool AS usage, NULL::bool AS nousage
  FROM pg_catalog.aclexplode(a.attacl) e
  JOIN g ON g.oid = e.grantee
  WHERE e.grantee <> t.relowner
  GROUP BY g.name, e.privilege_type
  UNION ALL
  SELECT r.rolname::text, CASE WHEN e.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.pg_get_userbyid(e.grantee)::text END,
         e.privilege_type::text, e.is_grantable, r.rolsuper, ` + fmt.Sprintf(roleFactColumns, "e.grantor") + `,
         NOT pg_catalog.has_schema_privilege(e.grantor, t.relnamespace, 'USAGE')
  FROM pg_catalog.aclexplode(a.attacl) e
  JOIN pg_catalog.pg_roles r ON r.oid = e.grantor
  WHERE e.grantor <> t.relowner AND e.grantee <> e.grantor AND e.grantee <> t.relowner
    AND (e.grantee IN (SELECT oid FROM g) OR e.grantor IN (SELECT oid FROM g))
) x ON true
WHERE x.grantee IS NOT NULL
   OR EXISTS (SELECT 1 FROM d WHERE d.nsp = s.nspname AND d.rel = t.relname AND d.att = a.attname)`

// queueColumns queues dbColumnsSQL for scope.
func queueColumns(b *pgx.Batch, scope Scope, schemas, grantees []string) {
	nsps, rels, atts := []string{}, []string{}, []string{}
	for _, c := range scope.Columns {
		nsps, rels, atts = append(nsps, c.Schema), append(rels, c.Table), append(atts, c.Column)
	}
	b.Queue(dbColumnsSQL, schemas, scope.AllSchemas, grantees, nsps, rels, atts, scope.PublicColumns)
}

// readColumns reads dbColumnsSQL into the Columns of schemas, sorted by
// table and column, each ACL normalized, and the facts of the columns'
// third grantors appended to facts.
func readColumns(br pgx.BatchResults, schemas []diff.ObservedSchema, facts []diff.RoleFact) ([]diff.RoleFact, error) {
	rows, err := br.Query()
	if err != nil {
		return facts, err
	}
	var (
		schema    string
		col       diff.ObservedColumn
		grantee   pgtype.Text
		privilege pgtype.Text
		grantable pgtype.Bool
		grantor   pgtype.Text
		gFacts    [4]pgtype.Bool
	)
	type key struct {
		schema        int
		table, column string
	}
	index := map[key]int{}
	dst := []any{&schema, &col.Table, &col.Column, &col.Owner, &grantor, &grantee, &privilege, &grantable,
		&gFacts[0], &gFacts[1], &gFacts[2], &gFacts[3]}
	_, err = pgx.ForEachRow(rows, dst, func() error {
		i, err := schemaIndex(schemas, schema)
		if err != nil {
			return err
		}
		s := &schemas[i]
		k := key{i, col.Table, col.Column}
		j, seen := index[k]
		if !seen {
			j = len(s.Columns)
			index[k] = j
			s.Columns = append(s.Columns, diff.ObservedColumn{Table: col.Table, Column: col.Column, Owner: col.Owner})
		}
		switch {
		case grantor.Valid:
			s.Columns[j].Delegated = append(s.Columns[j].Delegated, diff.Delegated{Kind: spec.KindTables, Grantor: grantor.String,
				Grantee: grantee.String, Privilege: privilege.String, Grantable: grantable.Bool, Count: 1, GrantorLacksUsage: gFacts[3].Bool})
			facts = append(facts, diff.RoleFact{Name: grantor.String, Super: gFacts[0].Bool, Member: gFacts[1].Bool, Usage: gFacts[2].Bool})
		case grantee.Valid:
			s.Columns[j].ACL = append(s.Columns[j].ACL, diff.Privilege{Grantee: grantee.String, Privilege: privilege.String, Grantable: grantable.Bool})
		}
		return nil
	})
	if err != nil {
		return facts, err
	}
	for i := range schemas {
		s := &schemas[i]
		for j := range s.Columns {
			s.Columns[j].ACL = normalizeACL(s.Columns[j].ACL)
			slices.SortFunc(s.Columns[j].Delegated, compareDelegated)
		}
		slices.SortFunc(s.Columns, func(a, b diff.ObservedColumn) int {
			return cmp.Or(strings.Compare(a.Table, b.Table), strings.Compare(a.Column, b.Column))
		})
		s.Columns = nilIfEmpty(s.Columns)
	}
	return facts, nil
}
