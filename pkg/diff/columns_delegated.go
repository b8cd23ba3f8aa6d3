package diff

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pgusers/pgusers/pkg/spec"
)

// A column privilege has grantors too (ObservedColumn.Delegated), and they
// change its revoke as they change a table's (see revokeInCell): what a
// third role granted to the cell's grantee is revoked as that role too,
// or withheld when pgusers cannot act as it; and the revoke of what the
// grantee passed on from its grant option is withheld, or made WITH
// CASCADE when an entry naming the cell sets cascade, granting again
// what a dependent's own managed cell declares on the column.

// revokeColumn plans the revoke of privs (or of their grant option) on
// the column of st from the grantee of cp, reason its reason, and
// withholds, saying why, what cannot converge. It reports whether it
// planned a change.
func (c *computation) revokeColumn(cp CellPrivileges, in string, st columnState, privs []string, grantOption bool, reason string) bool {
	what := describeColumn(cp.Cell, st.Table, st.Column)
	if deps := dependents(st.Delegated, cp.Grantee, privs); len(deps) > 0 && !cp.Cascade {
		privs = c.withholdPassedOn(cp, privs, grantOption, what, deps, describeColumnDelegated(deps, st.Column, true))
	}
	for _, g := range byGrantor(st.Delegated, cp.Grantee, privs, grantOption) {
		g.tooMany = false // a column's entries name no objects: the revoke names the column
		if why := c.cannotActAs(g); why != "" {
			c.withhold(cp.Cell, "%s keeps %s on %s, granted by %s: %s%s", cp.Grantee, describePrivileges(g.privileges, grantOption),
				what, g.grantor, why, where(cp.Pos[0]))
			privs = without(privs, g.privileges)
		}
	}
	if len(privs) == 0 {
		return false
	}
	deps := dependents(st.Delegated, cp.Grantee, privs)
	cascade := len(deps) > 0
	ch := Change{Action: RevokePrivileges, Grantee: cp.Grantee, Database: cp.Database, On: cp.On, Schema: cp.Schema,
		Table: st.Table, Column: st.Column, Privileges: privs, GrantOption: grantOption, In: in, Reason: reason,
		Statements: []Statement{columnStatement(false, cp.Schema, st.Table, st.Column, cp.Grantee, privs, grantOption, cascade)}}
	if cascade {
		ch.Reason += "; with CASCADE, also revokes what " + cp.Grantee + " passed on: " + describeColumnDelegated(deps, st.Column, true)
	}
	for _, g := range byGrantor(st.Delegated, cp.Grantee, privs, grantOption) {
		ch.Statements = append(ch.Statements, asRole(g.grantor,
			columnStatement(false, cp.Schema, st.Table, st.Column, cp.Grantee, g.privileges, grantOption, cascade))...)
		ch.Reason += fmt.Sprintf("; %s granted by %s, revoked as %s", columnList(g.privileges, st.Column), g.grantor, g.grantor)
		if f, _ := c.observed.Owner(g.grantor); g.grantor != c.observed.SessionUser && !f.Member {
			c.lend(in, g.grantor) // SET ROLE needs membership
		}
	}
	ch.Statements = append(ch.Statements, c.grantColumnAgain(cp.Cell, st.Table, st.Column, deps, &ch.Reason)...)
	c.add(ch)
	return true
}

// columnDependent is what a grantee passed on from its grant option on
// one column.
type columnDependent struct {
	table, column string
	Delegated
}

type columnDependents []columnDependent

func (cds columnDependents) delegated() []Delegated {
	out := make([]Delegated, len(cds))
	for i, cd := range cds {
		out[i] = cd.Delegated
	}
	return out
}

// columnDependents are what the grantee of a tables cell passed on, from
// its grant option, of one of privs on the columns of the cell's tables:
// PostgreSQL's revoke of privs on the whole tables takes their columns'
// along, and so depends on these too.
func (c *computation) columnDependents(cell Cell, privs []string) columnDependents {
	if cell.On != spec.KindTables {
		return nil
	}
	s := c.schemaOf(cell)
	var out columnDependents
	for _, col := range s.Columns {
		for _, d := range dependents(col.Delegated, cell.Grantee, privs) {
			out = append(out, columnDependent{col.Table, col.Column, d})
		}
	}
	return out
}

// describePassedOn says what a grantee passed on, on the objects of a
// cell and on the columns of its tables in schema: "analyst: SELECT on
// sales.s2; analyst: UPDATE (v) on sales.t2".
func describePassedOn(deps []Delegated, colDeps columnDependents, schema string) string {
	var parts []string
	if len(deps) > 0 {
		parts = append(parts, describeDelegated(deps, true))
	}
	for _, cd := range colDeps {
		parts = append(parts, cd.Grantee+": "+columnList([]string{cd.Privilege}, cd.column)+" on "+schema+"."+cd.table)
	}
	return strings.Join(parts, "; ")
}

// grantColumnAgain grants again, as the owner, what CASCADE takes from a
// dependent grantee whose own managed cell declares it on the column: its
// cell counted it as held, so nothing else in the plan grants it.
func (c *computation) grantColumnAgain(cell Cell, table, column string, deps []Delegated, reason *string) []Statement {
	var out []Statement
	for _, d := range deps {
		dc, ok := c.cellNamed(Cell{Grantee: d.Grantee, Database: cell.Database, On: cell.On, Schema: cell.Schema})
		if !ok {
			continue
		}
		j := slices.IndexFunc(dc.Columns, func(g spec.ColumnGrant) bool { return g.Table == table && g.Column == column })
		if j < 0 || !slices.Contains(dc.Columns[j].Privileges, d.Privilege) {
			continue
		}
		s := columnStatement(true, cell.Schema, table, column, d.Grantee, []string{d.Privilege}, false, false)
		if slices.ContainsFunc(out, func(o Statement) bool { return o.SQL == s.SQL }) {
			continue
		}
		out = append(out, s)
		*reason += fmt.Sprintf("; %s granted again to %s, which its grants declare", columnList([]string{d.Privilege}, column), d.Grantee)
	}
	return out
}

// describeColumnDelegated says what entries on one column hold, for a
// reason or a problem: "analyst: UPDATE (v)" (withGrantee), "UPDATE (v)".
func describeColumnDelegated(ds []Delegated, column string, withGrantee bool) string {
	parts := make([]string, 0, len(ds))
	for _, d := range ds {
		part := columnList([]string{d.Privilege}, column)
		if withGrantee {
			part = d.Grantee + ": " + part
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, "; ")
}
