package diff

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pgusers/pgusers/pkg/spec"
)

// What a role other than an object's owner granted, from a grant option
// of its own (Delegated), changes how a cell's privileges are revoked:
//
//   - an entry that a third role granted to the cell's grantee is not
//     revoked by the owner's REVOKE, which succeeds without touching it:
//     the plan revokes it as that grantor too (SET ROLE, the grantor lent
//     when the signed-in user is not a member of it), object by object,
//     since a REVOKE ... ON ALL TABLES IN SCHEMA run as a role that holds
//     nothing on one of them fails;
//   - an entry that the cell's grantee granted on to another role depends
//     on the grantee's privilege and its grant option: revoking either
//     fails with "dependent privileges exist". The plan refuses that
//     revoke, naming what depends on it, unless an entry naming the cell
//     sets cascade, when the revoke is made WITH CASCADE and its reason
//     lists what goes with it.
//

// revokeInCell completes ch, a revoke of ch.Privileges (or of their grant
// option) from the grantee of cp, with its statements, and plans it; or
// records the problem that stands in the way.
func (c *computation) revokeInCell(cp CellPrivileges, in string, ch Change) {
	delegated := c.delegatedIn(cp.Cell)
	deps := dependents(delegated, cp.Grantee, ch.Privileges)
	if len(deps) > 0 && !cp.Cascade {
		what := strings.Join(ch.Privileges, ", ")
		if ch.GrantOption {
			what = "the grant option for " + what
		}
		c.problem("", "revoking %s on %s from %s would fail with \"dependent privileges exist\": %s passed it on from its grant option (%s); "+
			"revoke those from their grantees first, or set cascade: true on the grant entry to revoke them with it%s",
			what, describeCell(cp.Cell), cp.Grantee, cp.Grantee, describeDelegated(deps, true), where(cp.Pos[0]))
		return
	}
	if len(deps) > 0 {
		ch.Reason += "; with CASCADE, also revokes what " + cp.Grantee + " passed on: " + describeDelegated(deps, true)
	}
	cascade := len(deps) > 0
	ch.Statements = []Statement{revokePrivilegesStatement(cp.On, cp.Database, cp.Schema, cp.Grantee, ch.Privileges, ch.GrantOption, cascade)}
	for _, g := range byGrantor(delegated, cp.Grantee, ch.Privileges, ch.GrantOption) {
		if g.tooMany {
			c.problem("", "%s holds %s granted by %s on more %s than pgusers revokes by name (%d): revoke them as %s by hand "+
				"(SET ROLE %s; REVOKE ... FROM %s), or remove the cell from the grants%s", cp.Grantee, describeCell(cp.Cell), g.grantor,
				cp.On, MaxDelegatedNamed, g.grantor, g.grantor, cp.Grantee, where(cp.Pos[0]))
			return
		}
		ch.Statements = append(ch.Statements, asRole(g.grantor,
			revokeOn(objectsClause(cp.On, cp.Database, cp.Schema, g.objects), cp.Grantee, g.privileges, ch.GrantOption, cascade))...)
		ch.Reason += fmt.Sprintf("; %s granted by %s, revoked as %s", describeDelegated(g.entries, false), g.grantor, g.grantor)
		c.actAs(in, g.grantor, fmt.Sprintf("what %s granted %s on %s", g.grantor, cp.Grantee, describeCell(cp.Cell)), cp.Pos[0], true)
	}
	ch.Statements = append(ch.Statements, c.grantAgain(cp.Cell, deps, &ch.Reason)...)
	c.add(ch)
}

// grantAgain grants again, as the owner, what CASCADE takes from a
// dependent grantee whose own managed cell declares it: its cell counted
// it as held, so nothing else in the plan grants it, and without this one
// apply would not converge.
func (c *computation) grantAgain(cell Cell, deps []Delegated, reason *string) []Statement {
	var out []Statement
	for _, d := range deps {
		dc := Cell{Grantee: d.Grantee, Database: cell.Database, On: cell.On, Schema: cell.Schema}
		i, ok := slices.BinarySearchFunc(c.cells, dc, func(cp CellPrivileges, x Cell) int { return compareCells(cp.Cell, x) })
		if !ok || !slices.Contains(c.cells[i].Privileges, d.Privilege) {
			continue
		}
		out = append(out, grantPrivilegesStatement(cell.On, cell.Database, cell.Schema, d.Grantee, []string{d.Privilege}))
		*reason += fmt.Sprintf("; %s granted again to %s, which its grants declare", d.Privilege, d.Grantee)
	}
	return out
}

// delegatedIn is what others than the owners granted in cell.
func (c *computation) delegatedIn(cell Cell) []Delegated {
	db, _ := c.observed.DatabaseNamed(cell.Database)
	if cell.On == spec.KindDatabase {
		return db.Delegated
	}
	s, _ := db.SchemaNamed(cell.Schema)
	var out []Delegated
	for _, d := range s.Delegated {
		if d.Kind == cell.On {
			out = append(out, d)
		}
	}
	return out
}

// dependents are the entries of delegated that grantee granted to another
// role, of one of privs: what a revoke of privs from it takes along.
func dependents(delegated []Delegated, grantee string, privs []string) []Delegated {
	var out []Delegated
	for _, d := range delegated {
		if d.Grantor == grantee && d.Grantee != grantee && slices.Contains(privs, d.Privilege) {
			out = append(out, d)
		}
	}
	return out
}

// grantorRevoke is what one third grantor revokes from a cell's grantee.
type grantorRevoke struct {
	grantor    string
	privileges []string // in the kind's order
	objects    []string // sorted
	entries    []Delegated
	tooMany    bool // an entry does not name its objects
}

// byGrantor groups the entries of delegated that a third role granted to
// grantee, of one of privs (with the grant option, for a revoke of the
// option only), per grantor, sorted by grantor.
func byGrantor(delegated []Delegated, grantee string, privs []string, grantOption bool) []grantorRevoke {
	var out []grantorRevoke
	for _, d := range delegated {
		if d.Grantee != grantee || d.Grantor == grantee || !slices.Contains(privs, d.Privilege) || (grantOption && !d.Grantable) {
			continue
		}
		i := slices.IndexFunc(out, func(g grantorRevoke) bool { return g.grantor == d.Grantor })
		if i < 0 {
			i = len(out)
			out = append(out, grantorRevoke{grantor: d.Grantor})
		}
		g := &out[i]
		g.entries = append(g.entries, d)
		g.tooMany = g.tooMany || (d.Objects == nil && d.Kind.InSchema() && d.Kind != spec.KindSchema)
		if !slices.Contains(g.privileges, d.Privilege) {
			g.privileges = append(g.privileges, d.Privilege)
		}
		for _, o := range d.Objects {
			if !slices.Contains(g.objects, o) {
				g.objects = append(g.objects, o)
			}
		}
	}
	for i := range out {
		kind := out[i].entries[0].Kind
		order := spec.Privileges(kind)
		slices.SortFunc(out[i].privileges, func(a, b string) int { return slices.Index(order, a) - slices.Index(order, b) })
		slices.Sort(out[i].objects)
	}
	slices.SortFunc(out, func(a, b grantorRevoke) int { return strings.Compare(a.grantor, b.grantor) })
	return out
}

// describeDelegated says what entries hold, for a reason or a problem:
// "analyst: SELECT on s1.t2" (withGrantee), "DELETE on s1.t1", "SELECT on
// 250 tables", "USAGE on the schema".
func describeDelegated(ds []Delegated, withGrantee bool) string {
	parts := make([]string, 0, len(ds))
	for _, d := range ds {
		var on string
		switch {
		case d.Kind == spec.KindSchema:
			on = "the schema"
		case d.Kind == spec.KindDatabase:
			on = "the database"
		case d.Objects != nil:
			on = strings.Join(d.Objects, ", ")
		default:
			on = fmt.Sprintf("%d %s", d.Count, d.Kind)
		}
		part := fmt.Sprintf("%s on %s", d.Privilege, on)
		if withGrantee {
			part = d.Grantee + ": " + part
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, "; ")
}
