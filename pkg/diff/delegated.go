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
//     fails with "dependent privileges exist". The plan withholds that
//     revoke (Withheld), naming what depends on it, unless an entry naming
//     the cell sets cascade, when the revoke is made WITH CASCADE, its
//     reason lists what goes with it, and what a dependent's own managed
//     cell declares is granted again.
//
// What cannot converge (a grantor out of reach, too many objects to name)
// is withheld too, privilege by privilege: the rest of the revoke and of
// the plan goes on.

// revokeInCell plans the revoke of privs (or of their grant option, with
// grantOption) from the grantee of cp, with why(the privileges revoked) as
// its reason; and withholds, saying why, the revoke of those privileges
// that cannot converge. It returns the privileges it revokes; a revoke
// of privileges takes them from the cell's columns too, and grants the
// declared column privileges among them again.
func (c *computation) revokeInCell(cp CellPrivileges, in string, privs []string, grantOption bool, why func([]string) string) (revoked []string) {
	delegated := c.delegatedIn(cp.Cell)
	deps, colDeps := c.unmanaged(cp.Cell, dependents(delegated, cp.Grantee, privs)), c.columnDependents(cp.Cell, privs)
	if len(deps)+len(colDeps) > 0 && !cp.Cascade {
		privs = c.withholdPassedOn(cp, privs, grantOption, describeCell(cp.Cell), append(deps, colDeps.delegated()...),
			describePassedOn(deps, colDeps, cp.Schema))
	}
	for _, g := range c.byOtherGrantor(cp.Cell, delegated, privs, grantOption) {
		if reason := c.cannotActAs(g); reason != "" {
			c.withhold(cp.Cell, "%s keeps %s on %s, granted by %s (%s): %s%s", cp.Grantee, describePrivileges(g.privileges, grantOption),
				describeCell(cp.Cell), g.grantor, describeDelegated(g.entries, false), reason, where(cp.Pos[0]))
			privs = without(privs, g.privileges)
		}
	}
	if len(privs) == 0 {
		return nil
	}
	ch := Change{Action: RevokePrivileges, Grantee: cp.Grantee, Database: cp.Database, On: cp.On, Schema: cp.Schema,
		Privileges: privs, GrantOption: grantOption, In: in, Reason: why(privs)}
	deps, colDeps = dependents(delegated, cp.Grantee, privs), c.columnDependents(cp.Cell, privs)
	cascade := len(deps)+len(colDeps) > 0
	if cascade {
		ch.Reason += "; with CASCADE, also revokes what " + cp.Grantee + " passed on: " + describePassedOn(deps, colDeps, cp.Schema)
	}
	ch.Statements = append(c.revokePassedOnToManaged(cp, in, delegated, privs, &ch.Reason),
		revokePrivilegesStatement(cp.On, cp.Database, cp.Schema, cp.Grantee, privs, grantOption, cascade))
	for _, g := range c.byOtherGrantor(cp.Cell, delegated, privs, grantOption) {
		ch.Statements = append(ch.Statements, asRole(g.grantor,
			revokeOn(objectsClause(cp.On, cp.Database, cp.Schema, g.objects), cp.Grantee, g.privileges, grantOption, cascade))...)
		ch.Reason += fmt.Sprintf("; %s granted by %s, revoked as %s", describeDelegated(g.entries, false), g.grantor, g.grantor)
		if f, _ := c.observed.Owner(g.grantor); g.grantor != c.observed.SessionUser && !f.Member {
			c.lend(in, g.grantor) // SET ROLE needs membership
		}
	}
	ch.Statements = append(ch.Statements, c.grantAgain(cp.Cell, deps, &ch.Reason)...)
	for _, cd := range colDeps {
		ch.Statements = append(ch.Statements, c.grantColumnAgain(cp.Cell, cd.table, cd.column, []Delegated{cd.Delegated}, &ch.Reason)...)
	}
	if !grantOption {
		regrant, again := c.columnRegrants(cp, privs)
		ch.Statements = append(ch.Statements, regrant...)
		ch.Reason += again
	}
	c.add(ch)
	return privs
}

// withholdPassedOn withholds the revoke of the privileges of deps (what
// the grantee of cp passed on from its grant option, described as
// passedOn) on what, and returns privs without them.
func (c *computation) withholdPassedOn(cp CellPrivileges, privs []string, grantOption bool, what string, deps []Delegated, passedOn string) []string {
	held := privilegesOf(deps)
	c.withhold(cp.Cell, "%s keeps %s on %s: revoking it would fail with \"dependent privileges exist\", as %s passed it on "+
		"from its grant option (%s); revoke those from their grantees first, or set cascade: true on the grant entry to "+
		"revoke them with it%s", cp.Grantee, describePrivileges(held, grantOption), what, cp.Grantee, passedOn, where(cp.Pos[0]))
	return without(privs, held)
}

// cellNamed is the managed cell cell, if the grants manage it.
func (c *computation) cellNamed(cell Cell) (CellPrivileges, bool) {
	i, ok := slices.BinarySearchFunc(c.cells, cell, func(cp CellPrivileges, x Cell) int { return compareCells(cp.Cell, x) })
	if !ok {
		return CellPrivileges{}, false
	}
	return c.cells[i], true
}

// privilegesOf are the privileges of ds, in the kind's order.
func privilegesOf(ds []Delegated) []string {
	var out []string
	for _, p := range spec.Privileges(ds[0].Kind) {
		if slices.ContainsFunc(ds, func(d Delegated) bool { return d.Privilege == p }) {
			out = append(out, p)
		}
	}
	return out
}

// without is privs less those of drop, in a new list.
func without(privs, drop []string) []string {
	return slices.DeleteFunc(slices.Clone(privs), func(p string) bool { return slices.Contains(drop, p) })
}

// describePrivileges names privileges, or their grant option.
func describePrivileges(privs []string, grantOption bool) string {
	if grantOption {
		return "the grant option for " + strings.Join(privs, ", ")
	}
	return strings.Join(privs, ", ")
}

// cannotActAs says why the signed-in user cannot revoke as g's grantor,
// or "" when it can: SET ROLE needs membership, which is lent unless the
// grantor is a superuser; and a revoke as the grantor names each object.
func (c *computation) cannotActAs(g grantorRevoke) string {
	me := c.observed.SessionUser
	f, known := c.observed.Owner(g.grantor)
	switch {
	case g.tooMany:
		return fmt.Sprintf("on more objects than pgusers revokes by name (%d); revoke them as %s by hand (SET ROLE %s, then REVOKE ... ON each)",
			MaxDelegatedNamed, g.grantor, g.grantor)
	case g.noUsage:
		return fmt.Sprintf("%s has no USAGE on the schema any more, which it needs to name the objects in a REVOKE; "+
			"grant it USAGE on the schema for the next apply, or revoke them as a superuser by hand", g.grantor)
	case g.grantor == me:
		return ""
	case !known:
		return fmt.Sprintf("pgusers does not know whether it can act as %s; plan again", g.grantor) // a bug: the read brings every grantor's facts
	case f.Super && !f.Member:
		return fmt.Sprintf("%s is a superuser, which the signed-in administrator %s cannot act as; revoke them as %s by hand", g.grantor, me, g.grantor)
	}
	return ""
}

// grantAgain grants again, as the owner, what CASCADE takes from a
// dependent grantee whose own managed cell declares it: its cell counted
// it as held, so nothing else in the plan grants it, and without this one
// apply would not converge.
func (c *computation) grantAgain(cell Cell, deps []Delegated, reason *string) []Statement {
	var out []Statement
	for _, d := range deps {
		dc, ok := c.cellNamed(Cell{Grantee: d.Grantee, Database: cell.Database, On: cell.On, Schema: cell.Schema})
		st := grantPrivilegesStatement(cell.On, cell.Database, cell.Schema, d.Grantee, []string{d.Privilege})
		if !ok || !slices.Contains(dc.Privileges, d.Privilege) || slices.ContainsFunc(out, func(o Statement) bool { return o.SQL == st.SQL }) {
			continue
		}
		out = append(out, st)
		*reason += fmt.Sprintf("; %s granted again to %s, which its grants declare", d.Privilege, d.Grantee)
	}
	return out
}

// schemaOf is the observed schema of a cell in a schema, empty when the
// server has none of that name (a problem the cell's read reports).
func (c *computation) schemaOf(cell Cell) ObservedSchema {
	db, _ := c.observed.DatabaseNamed(cell.Database)
	s, _ := db.SchemaNamed(cell.Schema)
	return s
}

// delegatedIn is what others than the owners granted in cell.
func (c *computation) delegatedIn(cell Cell) []Delegated {
	db, _ := c.observed.DatabaseNamed(cell.Database)
	if cell.On == spec.KindDatabase {
		return db.Delegated
	}
	var out []Delegated
	for _, d := range c.schemaOf(cell).Delegated {
		if d.Kind == cell.On {
			out = append(out, d)
		}
	}
	return out
}

// unmanaged are the entries of deps whose grantee has no cell of the file
// where cell is: a revoke WITH CASCADE would take from it what the files
// do not manage, which only an entry's cascade: true allows. A dependent
// whose cell the files manage loses, by the cascade, what its own cell
// would revoke, or is granted again what it declares (grantAgain).
func (c *computation) unmanaged(cell Cell, deps []Delegated) []Delegated {
	var out []Delegated
	for _, d := range deps {
		if _, ok := c.cellNamed(Cell{Grantee: d.Grantee, Database: cell.Database, On: cell.On, Schema: cell.Schema}); !ok {
			out = append(out, d)
		}
	}
	return out
}

// byOtherGrantor is byGrantor for the grantee of cell, but for the
// grantors whose own cell there revokes what they granted from
// (revokesPassedOn): that change revokes the grantee's entries first, as
// their grantor, before its own revoke, after which a revoke as a grantor
// that no longer holds the privilege would fail.
func (c *computation) byOtherGrantor(cell Cell, delegated []Delegated, privs []string, grantOption bool) []grantorRevoke {
	out := byGrantor(delegated, cell.Grantee, privs, grantOption)
	return slices.DeleteFunc(out, func(g grantorRevoke) bool { return c.revokesPassedOn(cell, delegated, g) })
}

// revokesPassedOn reports whether the change of g's grantor's own cell,
// where cell is, revokes g's entries as it: the grantor's cell revokes
// what it granted them from (a cell never declares a grant option), and
// that revoke goes ahead (its other dependents are the files' too, or it
// may cascade), as a grantor pgusers can act as.
func (c *computation) revokesPassedOn(cell Cell, delegated []Delegated, g grantorRevoke) bool {
	gc, ok := c.cellNamed(Cell{Grantee: g.grantor, Database: cell.Database, On: cell.On, Schema: cell.Schema})
	if !ok || !c.observed.HasRole(g.grantor) || c.cannotActAs(g) != "" {
		return false
	}
	if h, problem := c.heldIn(gc.Cell); problem != "" || slices.ContainsFunc(h.owners, func(oc ObjectCount) bool {
		return oc.Owner == g.grantor && oc.Count > 0
	}) {
		return false // withholdOwnGrantor keeps the grantor's revoke back
	}
	return gc.Cascade || len(c.unmanaged(cell, dependents(delegated, g.grantor, g.privileges))) == 0
}

// revokePassedOnToManaged are the statements that revoke, as the grantee
// of cp, what it passed on of privs to roles whose cells the files manage
// there, with what those passed on in turn (CASCADE): before the
// grantee's own revoke, so that its grant option held through a
// membership (which keeps PostgreSQL's cascade from reaching them) leaves
// nothing behind. What a dependent's cell declares, the change grants
// again (grantAgain).
func (c *computation) revokePassedOnToManaged(cp CellPrivileges, in string, delegated []Delegated, privs []string, reason *string) []Statement {
	var out []Statement
	for _, grantee := range c.managedGrantees(cp.Cell, delegated, cp.Grantee) {
		for _, g := range byGrantor(delegated, grantee, privs, false) {
			if g.grantor != cp.Grantee || !c.revokesPassedOn(Cell{Grantee: grantee, Database: cp.Database, On: cp.On, Schema: cp.Schema}, delegated, g) {
				continue
			}
			out = append(out, asRole(g.grantor, revokeOn(objectsClause(cp.On, cp.Database, cp.Schema, g.objects), grantee, g.privileges, false, true))...)
			*reason += fmt.Sprintf("; first, as %s, revokes what it passed on to %s: %s", g.grantor, grantee, describeDelegated(g.entries, false))
			if f, _ := c.observed.Owner(g.grantor); g.grantor != c.observed.SessionUser && !f.Member {
				c.lend(in, g.grantor) // SET ROLE needs membership
			}
		}
	}
	return out
}

// managedGrantees are the grantees of delegated entries that grantor
// granted, whose cells the files manage where cell is, sorted.
func (c *computation) managedGrantees(cell Cell, delegated []Delegated, grantor string) []string {
	var out []string
	for _, d := range delegated {
		if d.Grantor != grantor || slices.Contains(out, d.Grantee) {
			continue
		}
		if _, ok := c.cellNamed(Cell{Grantee: d.Grantee, Database: cell.Database, On: cell.On, Schema: cell.Schema}); ok {
			out = append(out, d.Grantee)
		}
	}
	slices.Sort(out)
	return out
}

// dependents are the entries of delegated that grantee granted to another
// role, of one of privs, and those that role granted on in turn from the
// grant option it got so, and so on: what a revoke of privs from grantee
// WITH CASCADE takes along (ro → analyst → intern loses intern's too).
func dependents(delegated []Delegated, grantee string, privs []string) []Delegated {
	var out []Delegated
	taken := make([]bool, len(delegated))
	from := []string{grantee}
	for i := 0; i < len(from); i++ {
		for j, d := range delegated {
			if taken[j] || d.Grantor != from[i] || d.Grantee == grantee || !slices.Contains(privs, d.Privilege) {
				continue
			}
			taken[j] = true
			out = append(out, d)
			if d.Grantable && !slices.Contains(from, d.Grantee) {
				from = append(from, d.Grantee)
			}
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
	noUsage    bool // the grantor cannot name them
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
		g.noUsage = g.noUsage || d.GrantorLacksUsage
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
