package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/pgusers/pgusers/pkg/diff"
	"github.com/pgusers/pgusers/pkg/report"
	"github.com/pgusers/pgusers/pkg/spec"
)

// The oracle of exactness: after an apply that converged, every cell the
// file manages holds exactly what it declares, as the superuser reads the
// catalogs, whatever pgusers' own reads say. A plan that is empty while a
// cell is not exact (a privilege pgusers cannot see) fails here.

// cellSQL reads, per object of a cell, the grantee's privileges as
// "object\tPRIV,PRIV*" (* for the grant option), leaving out the objects the
// grantee owns, tab-separated. $1 is the grantee, $2 the schema (or database).
var cellSQL = map[spec.Kind]string{
	spec.KindDatabase: `
SELECT d.datname || E'\t' || coalesce((SELECT string_agg(DISTINCT a.privilege_type || CASE WHEN a.is_grantable THEN '*' ELSE '' END, ',')
  FROM aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a WHERE a.grantee = r.oid), '')
FROM pg_database d, (SELECT oid FROM pg_roles WHERE rolname = $1) r WHERE d.datname = $2 AND d.datdba <> r.oid`,
	spec.KindSchema: `
SELECT n.nspname || E'\t' || coalesce((SELECT string_agg(DISTINCT a.privilege_type || CASE WHEN a.is_grantable THEN '*' ELSE '' END, ',')
  FROM aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a WHERE a.grantee = r.oid), '')
FROM pg_namespace n, (SELECT oid FROM pg_roles WHERE rolname = $1) r WHERE n.nspname = $2 AND n.nspowner <> r.oid`,
	spec.KindTables:    relationCellSQL(`'r', 'p', 'v', 'm', 'f'`),
	spec.KindSequences: relationCellSQL(`'S'`),
	spec.KindFunctions: `
SELECT p.oid::regprocedure::text || E'\t' || coalesce((SELECT string_agg(DISTINCT a.privilege_type || CASE WHEN a.is_grantable THEN '*' ELSE '' END, ',')
  FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a WHERE a.grantee = r.oid), '')
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace, (SELECT oid FROM pg_roles WHERE rolname = $1) r
WHERE n.nspname = $2 AND p.prokind IN ('f', 'p') AND p.proowner <> r.oid`,
}

func relationCellSQL(kinds string) string {
	return `
SELECT c.relname || E'\t' || coalesce((SELECT string_agg(DISTINCT a.privilege_type || CASE WHEN a.is_grantable THEN '*' ELSE '' END, ',')
  FROM aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a WHERE a.grantee = r.oid), '')
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, (SELECT oid FROM pg_roles WHERE rolname = $1) r
WHERE n.nspname = $2 AND c.relkind IN (` + kinds + `) AND c.relowner <> r.oid`
}

// columnsSQL lists the column privileges the grantee holds on the tables
// of a schema it does not own.
const columnsSQL = `
SELECT format('%s.%s %s', c.relname, at.attname, a.privilege_type)
FROM pg_attribute at JOIN pg_class c ON c.oid = at.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL aclexplode(at.attacl) a, (SELECT oid FROM pg_roles WHERE rolname = $1) r
WHERE n.nspname = $2 AND a.grantee = r.oid AND c.relowner <> r.oid ORDER BY 1`

// defaultsSQL reads what owner $3's future objects of type $4 in schema $2
// give the grantee $1.
const defaultsSQL = `
SELECT coalesce((SELECT string_agg(DISTINCT a.privilege_type || CASE WHEN a.is_grantable THEN '*' ELSE '' END, ',')
  FROM pg_default_acl d CROSS JOIN LATERAL aclexplode(d.defaclacl) a
  WHERE d.defaclrole = (SELECT oid FROM pg_roles WHERE rolname = $3) AND d.defaclnamespace = (SELECT oid FROM pg_namespace WHERE nspname = $2)
    AND d.defaclobjtype = $4 AND a.grantee = (SELECT oid FROM pg_roles WHERE rolname = $1)), '')`

var defaultsObjType = map[spec.Kind]string{spec.KindTables: "r", spec.KindSequences: "S", spec.KindFunctions: "f"}

// cellsExact checks every cell and defaults cell of file, but PUBLIC's
// (whose built-in privileges the catalogs do not spell out the same way),
// the cells whose changes the plan withheld, saying why, and an owner's
// default privileges for itself (an owner holds everything on what it
// creates; pgusers leaves them alone).
func (w *convergeWorld) cellsExact(t *testing.T, file string, withheld []report.Withheld) *caseFailure {
	t.Helper()
	d, err := spec.Load(context.Background(), []string{file})
	if err != nil || len(d.Servers) != 1 {
		return &caseFailure{check: "the case's file does not load", detail: fmt.Sprint(err)}
	}
	version := 150000
	if v := w.f.c.SuperStrings(t, "postgres", `SELECT current_setting('server_version_num')`); len(v) == 1 {
		fmt.Sscan(v[0], &version)
	}
	cells, defaults := diff.Cells(d.Servers[0], version)
	var wrong, columns []string
	for _, cp := range cells {
		if cp.Grantee == spec.Public || slices.ContainsFunc(withheld, func(h report.Withheld) bool {
			return h.Grantee == cp.Grantee && h.Database == cp.Database && h.On == cp.On && h.Schema == cp.Schema
		}) {
			continue
		}
		want := sortedJoin(cp.Privileges)
		where := cp.Schema
		if cp.On == spec.KindDatabase {
			where = cp.Database
		}
		for _, line := range w.f.c.SuperStrings(t, cp.Database, cellSQL[cp.On], cp.Grantee, where) {
			object, got, _ := strings.Cut(line, "\t")
			if sortedJoin(strings.Split(got, ",")) != want {
				wrong = append(wrong, fmt.Sprintf("%s in %s: %s %s holds %q, declared %q", cp.Grantee, cp.Database, cp.On, object, got, want))
			}
		}
		if cp.On == spec.KindTables {
			for _, col := range w.f.c.SuperStrings(t, cp.Database, columnsSQL, cp.Grantee, cp.Schema) {
				columns = append(columns, fmt.Sprintf("%s in %s.%s: column %s", cp.Grantee, cp.Database, cp.Schema, col))
			}
		}
	}
	for _, dp := range defaults {
		if dp.Owner == dp.Grantee {
			continue
		}
		got := w.f.c.SuperStrings(t, dp.Database, defaultsSQL, dp.Grantee, dp.Schema, dp.Owner, defaultsObjType[dp.On])
		if want := sortedJoin(dp.Privileges); len(got) != 1 || sortedJoin(strings.Split(got[0], ",")) != want {
			wrong = append(wrong, fmt.Sprintf("%s in %s: default privileges of %s on %s in %s are %q, declared %q", dp.Grantee, dp.Database, dp.Owner, dp.On, dp.Schema, got, want))
		}
	}
	switch {
	case len(wrong) > 0:
		return &caseFailure{check: "a managed cell does not hold exactly what the file declares", detail: strings.Join(wrong, "\n")}
	case len(columns) > 0:
		return &caseFailure{check: "a grantee of a managed cell of tables keeps column privileges the file does not declare", detail: strings.Join(columns, "\n")}
	}
	return nil
}

// sortedJoin is privileges sorted and comma-joined, empty ones left out.
func sortedJoin(privs []string) string {
	out := slices.DeleteFunc(slices.Clone(privs), func(s string) bool { return s == "" })
	slices.Sort(out)
	return strings.Join(out, ",")
}
