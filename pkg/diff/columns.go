package diff

import (
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/pgusers/pgusers/pkg/spec"
)

// Column privileges (pg_attribute.attacl) belong to a tables cell: a
// managed cell holds exactly the column privileges its entries declare,
// whatever the grantee holds on the whole tables. A column privilege that
// the same privilege on the whole table makes redundant still counts: the
// server then holds both, as the file says, or only the table's.
//
// PostgreSQL ties the two in one way: REVOKE of a privilege on a table
// revokes it on each of the table's columns too (GRANT does not touch
// them). A cell that revokes a privilege on its tables therefore grants
// the declared column privileges of that privilege again, in the same
// change, after the revoke; and plans no revoke of its own for columns
// that revoke already empties.

// columnState is what the grantee of a cell holds on one column, and
// what the cell declares there.
type columnState struct {
	ObservedColumn
	declared   []string
	isDeclared bool
	held       []Privilege
}

// cellColumns pairs each column a tables cell declares with what the
// grantee holds on it, and adds the columns where it holds undeclared
// privileges; sorted by table and column, as the schema's Columns are. A
// declared column that does not exist is a problem, and false.
func (c *computation) cellColumns(cp CellPrivileges) ([]columnState, bool) {
	s := c.schemaOf(cp.Cell)
	ok := true
	for _, d := range cp.Columns {
		if _, found := slices.BinarySearchFunc(s.Columns, d, compareColumnToGrant); !found {
			c.problem("", "grants to %s: table %s in schema %s of database %s has no column %s, or there is no such table: "+
				"create it, or remove it from columns%s", cp.Grantee, d.Table, cp.Schema, cp.Database, d.Column, where(cp.Pos[0]))
			ok = false
		}
	}
	if !ok {
		return nil, false
	}
	var states []columnState
	replacing := c.replacing(cp.Grantee) // a replaced role holds nothing of the old one's
	for _, oc := range s.Columns {
		st := columnState{ObservedColumn: oc}
		if !replacing {
			for _, p := range oc.ACL {
				if p.Grantee == cp.Grantee {
					st.held = append(st.held, p)
				}
			}
		}
		if i, found := slices.BinarySearchFunc(cp.Columns, oc, func(d spec.ColumnGrant, oc ObservedColumn) int {
			return -compareColumnToGrant(oc, d)
		}); found {
			st.declared, st.isDeclared = cp.Columns[i].Privileges, true
		}
		if len(st.held) > 0 || st.isDeclared {
			states = append(states, st)
		}
	}
	return states, true
}

// compareColumnToGrant orders an observed column and a declared one by
// table, then column: both lists are sorted so.
func compareColumnToGrant(oc ObservedColumn, d spec.ColumnGrant) int {
	if c := strings.Compare(oc.Table, d.Table); c != 0 {
		return c
	}
	return strings.Compare(oc.Column, d.Column)
}

// columns plans the column privileges of a tables cell: grants of what a
// declared column lacks, revokes of what a column holds and the cell does
// not declare, and of grant options. tableRevoked are the privileges the
// cell revokes on its tables, which take the columns' along.
func (c *computation) columns(cp CellPrivileges, tableRevoked []string) {
	if cp.On != spec.KindTables {
		return
	}
	states, ok := c.cellColumns(cp)
	if !ok {
		return
	}
	in := c.runsIn(cp.Cell)
	for _, st := range states {
		if st.Owner == cp.Grantee {
			continue // an owner's own privileges are never a cell's
		}
		var missing, extra, option []string
		for _, p := range spec.ColumnPrivileges {
			declared := slices.Contains(st.declared, p)
			j := slices.IndexFunc(st.held, func(h Privilege) bool { return h.Privilege == p })
			if slices.Contains(tableRevoked, p) && !grantedByOthers(st.Delegated, cp.Grantee, p) {
				continue // the tables' revoke empties it, and grants it again when declared
			}
			switch {
			case declared && j < 0:
				missing = append(missing, p)
			case !declared && j >= 0:
				extra = append(extra, p)
			case declared && st.held[j].Grantable:
				option = append(option, p)
			}
		}
		what := describeColumn(cp.Cell, st.Table, st.Column)
		planned := false
		if len(missing) > 0 {
			c.add(Change{Action: GrantPrivileges, Grantee: cp.Grantee, Database: cp.Database, On: cp.On, Schema: cp.Schema,
				Table: st.Table, Column: st.Column, Privileges: missing, In: in, Reason: "declared in columns, not held on " + what,
				Statements: []Statement{columnStatement(true, cp.Schema, st.Table, st.Column, cp.Grantee, missing, false, false)}})
			planned = true
		}
		if len(extra) > 0 {
			planned = c.revokeColumn(cp, in, st, extra, false, "not declared in columns, held on "+what) || planned
		}
		if len(option) > 0 {
			planned = c.revokeColumn(cp, in, st, option, true, "declared in columns without the grant option, held with it on "+what) || planned
		}
		if planned {
			c.actAs(in, st.Owner, what+" (owned by "+st.Owner+")", cp.Pos[0], false)
			c.useSchema(in, c.schemaOf(cp.Cell).Owner) // a column's table is looked up in its schema too
		}
	}
}

// grantedByOthers reports whether a third role granted grantee privilege
// on the column of delegated: the owner's revoke on the whole tables
// leaves that entry, which only a revoke as its grantor removes.
func grantedByOthers(delegated []Delegated, grantee, privilege string) bool {
	return slices.ContainsFunc(delegated, func(d Delegated) bool { return d.Grantee == grantee && d.Privilege == privilege })
}

// columnRegrants are the statements that grant again the declared column
// privileges that a revoke of tableRevoked on a cell's tables takes away,
// and what the revoke's reason says of them ("" for none).
func (c *computation) columnRegrants(cp CellPrivileges, tableRevoked []string) ([]Statement, string) {
	if cp.On != spec.KindTables || len(cp.Columns) == 0 {
		return nil, ""
	}
	s := c.schemaOf(cp.Cell)
	var out []Statement
	var named []string
	for _, d := range cp.Columns {
		i, found := slices.BinarySearchFunc(s.Columns, d, compareColumnToGrant)
		if !found || s.Columns[i].Owner == cp.Grantee {
			continue // a problem of columns, or the grantee's own table
		}
		var privs []string
		for _, p := range d.Privileges {
			if slices.Contains(tableRevoked, p) {
				privs = append(privs, p)
			}
		}
		if len(privs) == 0 {
			continue
		}
		out = append(out, columnStatement(true, cp.Schema, d.Table, d.Column, cp.Grantee, privs, false, false))
		named = append(named, columnList(privs, d.Column)+" on "+cp.Schema+"."+d.Table)
		c.actAs(c.runsIn(cp.Cell), s.Columns[i].Owner, fmt.Sprintf("column %s of table %s.%s in database %s (owned by %s)",
			d.Column, cp.Schema, d.Table, cp.Database, s.Columns[i].Owner), cp.Pos[0], false)
	}
	if len(out) == 0 {
		return nil, ""
	}
	return out, "; the revoke takes these privileges from the tables' columns too, and the declared ones are granted again: " +
		strings.Join(named, ", ")
}

// columnList renders privileges on one column as GRANT writes them:
// "SELECT (v), UPDATE (v)".
func columnList(privs []string, column string) string {
	parts := make([]string, len(privs))
	for i, p := range privs {
		parts[i] = p + " (" + column + ")"
	}
	return strings.Join(parts, ", ")
}

// columnStatement grants (or revokes, or revokes the grant option of, with
// CASCADE when cascade) privileges on one column of schema.table.
func columnStatement(grant bool, schema, table, column, to string, privs []string, grantOption, cascade bool) Statement {
	list := columnList(privs, ident(column))
	on := "TABLE " + pgx.Identifier{schema, table}.Sanitize()
	if grant {
		return Statement{SQL: "GRANT " + list + " ON " + on + " TO " + grantee(to)}
	}
	return revokeOn(on, to, []string{list}, grantOption, cascade)
}

// describeColumn names a column of a cell's schema for a message: "column
// v of table public.t2 in database orders".
func describeColumn(cell Cell, table, column string) string {
	return fmt.Sprintf("column %s of table %s.%s in database %s", column, cell.Schema, table, cell.Database)
}
