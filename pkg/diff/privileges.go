package diff

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/pgusers/pgusers/pkg/spec"
)

// Cell is one set of privileges a plan makes exact: what Grantee holds on
// the database Database itself (On database, Schema ""), on a schema, or
// on every object of a kind in a schema.
type Cell struct {
	Grantee  string    `json:"grantee"`
	Database string    `json:"database"`
	On       spec.Kind `json:"on"`
	Schema   string    `json:"schema,omitempty"`
}

// DefaultsCell is one set of default privileges a plan makes exact: what
// Owner's future objects of kind On in Schema give Grantee.
type DefaultsCell struct {
	Grantee  string    `json:"grantee"`
	Database string    `json:"database"`
	Owner    string    `json:"owner"`
	Schema   string    `json:"schema"`
	On       spec.Kind `json:"on"`
}

func compareCells(a, b Cell) int {
	return cmp.Or(strings.Compare(a.Database, b.Database), strings.Compare(a.Grantee, b.Grantee),
		cmp.Compare(kindRank(a.On), kindRank(b.On)), strings.Compare(a.Schema, b.Schema))
}

func compareDefaultsCells(a, b DefaultsCell) int {
	return cmp.Or(strings.Compare(a.Database, b.Database), strings.Compare(a.Grantee, b.Grantee),
		strings.Compare(a.Owner, b.Owner), strings.Compare(a.Schema, b.Schema), cmp.Compare(kindRank(a.On), kindRank(b.On)))
}

func kindRank(k spec.Kind) int { return slices.Index(spec.Kinds, k) }

// Cells are the cells the grants of s manage, each with the union of what
// every entry declares for it, on a server of the given version: ALL
// expands to every privilege of the kind the server has. Both lists are
// sorted by database, grantee, kind and schema.
func Cells(s spec.Server, serverVersion int) (cells []CellPrivileges, defaults []DefaultsPrivileges) {
	byCell := map[Cell]*CellPrivileges{}
	byDefaults := map[DefaultsCell]*DefaultsPrivileges{}
	for _, g := range s.Grants {
		for _, db := range g.Databases {
			for _, kg := range g.Kinds {
				privs := expand(kg, serverVersion)
				schemas := g.Schemas
				if !kg.Kind.InSchema() {
					schemas = []string{""}
				}
				for _, schema := range schemas {
					c := Cell{Grantee: g.To, Database: db, On: kg.Kind, Schema: schema}
					cp := byCell[c]
					if cp == nil {
						cp = &CellPrivileges{Cell: c}
						byCell[c] = cp
					}
					cp.Privileges = union(kg.Kind, cp.Privileges, privs)
					if kg.Kind == spec.KindTables && len(g.Columns) > 0 {
						cp.Columns = spec.UnionColumns(cp.Columns, g.Columns)
					}
					cp.Pos = append(cp.Pos, g.Pos)
					cp.Cascade = cp.Cascade || g.Cascade
				}
				if !kg.Kind.HasDefaults() {
					continue
				}
				for _, owner := range g.DefaultsFor {
					for _, schema := range g.Schemas {
						c := DefaultsCell{Grantee: g.To, Database: db, Owner: owner, Schema: schema, On: kg.Kind}
						dp := byDefaults[c]
						if dp == nil {
							dp = &DefaultsPrivileges{DefaultsCell: c}
							byDefaults[c] = dp
						}
						dp.Privileges = union(kg.Kind, dp.Privileges, privs)
						dp.Pos = append(dp.Pos, g.Pos)
					}
				}
			}
		}
	}
	for _, cp := range byCell {
		cells = append(cells, *cp)
	}
	for _, dp := range byDefaults {
		defaults = append(defaults, *dp)
	}
	slices.SortFunc(cells, func(a, b CellPrivileges) int { return compareCells(a.Cell, b.Cell) })
	slices.SortFunc(defaults, func(a, b DefaultsPrivileges) int { return compareDefaultsCells(a.DefaultsCell, b.DefaultsCell) })
	return cells, defaults
}

// CellPrivileges is a cell and the privileges it must hold, with the
// positions of the entries that name it. Cascade: one of them lets a
// revoke take what depends on it.
type CellPrivileges struct {
	Cell
	Privileges []string
	// Columns are the column privileges of a tables cell, sorted by
	// table and column: the union of every entry's.
	Columns []spec.ColumnGrant
	Pos     []spec.Position
	Cascade bool
}

// DefaultsPrivileges is a defaults cell and the privileges it must hold.
type DefaultsPrivileges struct {
	DefaultsCell
	Privileges []string
	Pos        []spec.Position
}

// HasMaintain reports whether a server of this version has the MAINTAIN
// privilege (PostgreSQL 17 and later).
func HasMaintain(serverVersion int) bool { return serverVersion >= 170000 }

// expand is what kg declares on a server of this version.
func expand(kg spec.KindGrant, serverVersion int) []string {
	if !kg.All {
		return kg.Privileges
	}
	var out []string
	for _, p := range spec.Privileges(kg.Kind) {
		if p == spec.Maintain && !HasMaintain(serverVersion) {
			continue
		}
		out = append(out, p)
	}
	return out
}

// union merges two lists of kind k's privileges, in the kind's order.
func union(k spec.Kind, a, b []string) []string {
	var out []string
	for _, p := range spec.Privileges(k) {
		if slices.Contains(a, p) || slices.Contains(b, p) {
			out = append(out, p)
		}
	}
	if out == nil {
		out = []string{} // managed, and must hold nothing
	}
	return out
}

// Database returns the observed database named name.
func (o Observed) DatabaseNamed(name string) (ObservedDatabase, bool) {
	i, ok := slices.BinarySearchFunc(o.Databases, name, func(d ObservedDatabase, n string) int { return strings.Compare(d.Name, n) })
	if !ok {
		return ObservedDatabase{}, false
	}
	return o.Databases[i], true
}

// SchemaNamed returns the observed schema named name.
func (d ObservedDatabase) SchemaNamed(name string) (ObservedSchema, bool) {
	i, ok := slices.BinarySearchFunc(d.Schemas, name, func(s ObservedSchema, n string) int { return strings.Compare(s.Name, n) })
	if !ok {
		return ObservedSchema{}, false
	}
	return d.Schemas[i], true
}

// Owner returns what the plan knows of role name, an owner.
func (o Observed) Owner(name string) (RoleFact, bool) {
	i, ok := slices.BinarySearchFunc(o.Owners, name, func(f RoleFact, n string) int { return strings.Compare(f.Name, n) })
	if !ok {
		return RoleFact{}, false
	}
	return o.Owners[i], true
}

// held is what a grantee holds of a cell: per privilege, on how many of
// the cell's objects (1 for a database or a schema), and on how many with
// the grant option.
type held struct {
	// objects is how many objects the cell covers: those of the kind in
	// the schema, less those the grantee owns.
	objects int
	count   map[string]int
	option  map[string]int
	names   map[string][]string // the objects of a small holding
	owners  []ObjectCount       // who owns the cell's objects
	// schemaOwner owns the schema of a cell of objects: GRANT and REVOKE
	// ON ALL ... IN SCHEMA need USAGE on it, whoever owns the objects.
	schemaOwner string
}

func newHeld(objects int) held {
	return held{objects: objects, count: map[string]int{}, option: map[string]int{}, names: map[string][]string{}}
}

func (h held) add(p Privilege, n int, names []string) {
	h.count[p.Privilege] += n
	if p.Grantable {
		h.option[p.Privilege] += n
	}
	h.names[p.Privilege] = append(h.names[p.Privilege], names...)
}

// privilegeCell computes what one cell's grantee holds on the server, or
// the problem that keeps it from being planned.
func (c *computation) heldIn(cell Cell) (held, string) {
	h, problem := c.observedHeld(cell)
	if problem == "" && c.replacing(cell.Grantee) {
		// The replace drops the role and creates it again: it will hold
		// nothing of what the old one held.
		h.count, h.option, h.names = map[string]int{}, map[string]int{}, map[string][]string{}
	}
	return h, problem
}

// replacing reports whether the plan drops and creates again grantee.
func (c *computation) replacing(grantee string) bool {
	return slices.ContainsFunc(c.byAction[Replace], func(ch Change) bool { return ch.Principal == grantee })
}

func (c *computation) observedHeld(cell Cell) (held, string) {
	db, ok := c.observed.DatabaseNamed(cell.Database)
	switch {
	case !ok || !db.Exists:
		return held{}, fmt.Sprintf("database %q does not exist on the server: create it, or remove it from databases", cell.Database)
	case cell.On == spec.KindDatabase:
		return heldOfOne(spec.KindDatabase, db.Owner, cell.Grantee, db.ACL), ""
	case !db.Read:
		return held{}, fmt.Sprintf("database %q was not read", cell.Database) // a bug: Ask names it
	}
	s, ok := db.SchemaNamed(cell.Schema)
	if !ok {
		return held{}, fmt.Sprintf("schema %q does not exist in database %q: create it, or remove it from schemas", cell.Schema, cell.Database)
	}
	if cell.On == spec.KindSchema {
		return heldOfOne(spec.KindSchema, s.Owner, cell.Grantee, s.ACL), ""
	}
	total := 0
	var owners []ObjectCount
	for _, oc := range s.Objects {
		if oc.Kind != cell.On {
			continue
		}
		owners = append(owners, oc)
		if oc.Owner != cell.Grantee {
			total += oc.Count
		}
	}
	h := newHeld(total)
	h.owners, h.schemaOwner = owners, s.Owner
	for _, hd := range s.Holdings {
		if hd.Kind == cell.On && hd.Grantee == cell.Grantee {
			h.add(Privilege{Grantee: hd.Grantee, Privilege: hd.Privilege, Grantable: hd.Grantable}, hd.Count, hd.Objects)
		}
	}
	return h, ""
}

// heldOfOne is what grantee holds of a cell of one object (a database or
// a schema) owned by owner, whose ACL is acl. The owner holds every
// privilege of its object implicitly, whatever its ACL says (PostgreSQL
// writes the owner's entries only once the ACL is first changed, and the
// reads leave them out): like the objects a grantee owns in a schema, an
// object the grantee owns is not its cell's, which then covers nothing.
func heldOfOne(k spec.Kind, owner, grantee string, acl []Privilege) held {
	if owner == grantee {
		return newHeld(0)
	}
	h := newHeld(1)
	h.owners = []ObjectCount{{Kind: k, Owner: owner, Count: 1}}
	for _, p := range acl {
		if p.Grantee == grantee {
			h.add(p, 1, nil)
		}
	}
	return h
}

// privileges plans every managed cell: grants of what it lacks, revokes of
// what it holds and does not declare, and of grant options it holds.
func (c *computation) privileges() {
	if len(c.desired.Grants) == 0 {
		return
	}
	cells, defaults := Cells(c.desired, c.observed.ServerVersion)
	c.cells = cells
	c.selfConnect = map[string]bool{}
	for _, cp := range cells {
		if cp.On == spec.KindDatabase && cp.Grantee == c.observed.SessionUser && slices.Contains(cp.Privileges, "CONNECT") {
			c.selfConnect[cp.Database] = true
		}
	}
	for _, cp := range cells {
		c.cell(cp)
	}
	for _, dp := range defaults {
		c.defaults(dp)
	}
}

func (c *computation) cell(cp CellPrivileges) {
	if !c.granteeUsable(cp.Grantee, cp.Pos) {
		return
	}
	if cp.On == spec.KindTables && slices.Contains(cp.Privileges, spec.Maintain) && !HasMaintain(c.observed.ServerVersion) {
		c.problem("", "grants to %s in database %s name MAINTAIN, which this server (PostgreSQL %s) does not have; "+
			"it exists from PostgreSQL 17 on%s", cp.Grantee, cp.Database, versionString(c.observed.ServerVersion), where(cp.Pos[0]))
		return
	}
	h, problem := c.heldIn(cp.Cell)
	if problem != "" {
		c.problem("", "grants to %s: %s%s", cp.Grantee, problem, where(cp.Pos[0]))
		return
	}
	what := describeCell(cp.Cell)
	var missing, extra, option []string
	for _, p := range spec.Privileges(cp.On) {
		declared := slices.Contains(cp.Privileges, p)
		switch {
		case declared && h.count[p] < h.objects:
			missing = append(missing, p)
		case !declared && h.count[p] > 0:
			extra = append(extra, p)
		}
		if declared && h.option[p] > 0 {
			option = append(option, p)
		}
	}
	if cp.On == spec.KindDatabase && cp.Grantee == spec.Public && slices.Contains(extra, "CONNECT") {
		if db, _ := c.observed.DatabaseNamed(cp.Database); !db.SelfConnect && !c.selfConnect[cp.Database] {
			c.problem("", "revoking CONNECT on database %s from PUBLIC would lock out %s, the administrator pgusers signs in as, "+
				"which connects through PUBLIC: grant it CONNECT first (a grant entry to: %s, database: [CONNECT]), "+
				"or keep CONNECT for PUBLIC%s", cp.Database, c.observed.SessionUser, c.observed.SessionUser, where(cp.Pos[0]))
			return
		}
	}
	extra, option = c.withholdOwnGrantor(cp, h, extra, option)
	in := c.runsIn(cp.Cell)
	if len(missing) > 0 {
		c.add(Change{Action: GrantPrivileges, Grantee: cp.Grantee, Database: cp.Database, On: cp.On, Schema: cp.Schema,
			Privileges: missing, In: in, Reason: "declared, " + lacking(h, missing, cp.On),
			Statements: []Statement{grantPrivilegesStatement(cp.On, cp.Database, cp.Schema, cp.Grantee, missing)}})
	}
	if len(extra) > 0 {
		extra = c.revokeInCell(cp, in, extra, false, func(privs []string) string { return "not declared, " + holding(h, privs, cp.On, h.count) })
	}
	if len(option) > 0 {
		c.revokeInCell(cp, in, option, true, func(privs []string) string {
			return "declared without the grant option, " + holding(h, privs, cp.On, h.option) + " with it"
		})
	}
	if len(missing)+len(extra)+len(option) > 0 {
		c.actAsOwners(in, what, h.owners, cp.Pos[0])
		c.useSchema(in, h.schemaOwner)
	}
	c.columns(cp, extra)
}

// useSchema lends the owner of a schema whose objects a change grants or
// revokes on, when the signed-in user cannot act as it: PostgreSQL looks
// the schema of ON ALL ... IN SCHEMA up with USAGE, so objects owned by
// one role in a schema of another fail with "permission denied for schema"
// even when their own owner is lent. Nothing is refused here: a superuser
// that owns the schema usually gives USAGE through PUBLIC, and when it does
// not, apply reports the server's error.
func (c *computation) useSchema(in, owner string) {
	if owner == "" || owner == c.observed.SessionUser {
		return
	}
	if f, ok := c.observed.Owner(owner); ok && !f.Usage && !f.Super && !f.Member {
		c.lend(in, owner)
	}
}

func (c *computation) defaults(dp DefaultsPrivileges) {
	if !c.granteeUsable(dp.Grantee, dp.Pos) {
		return
	}
	if dp.Owner == dp.Grantee {
		// An owner holds every privilege on what it creates: its default
		// privileges for itself are the difference from that built-in
		// default, which a grant cannot add to.
		return
	}
	if !c.observed.HasRole(dp.Owner) {
		c.problem("", "defaultsFor names role %q, which does not exist on the server: create it, or remove it from defaultsFor%s",
			dp.Owner, where(dp.Pos[0]))
		return
	}
	db, ok := c.observed.DatabaseNamed(dp.Database)
	if !ok || !db.Exists || !db.Read {
		return // the cells of the same entries report the database
	}
	if _, ok := db.SchemaNamed(dp.Schema); !ok {
		return // and the schema
	}
	h := newHeld(1)
	for _, d := range db.Defaults {
		if d.Owner == dp.Owner && d.Schema == dp.Schema && d.Kind == dp.On && d.Grantee == dp.Grantee && !c.replacing(dp.Grantee) {
			h.add(d.Privilege, 1, nil)
		}
	}
	var missing, extra, option []string
	for _, p := range spec.Privileges(dp.On) {
		declared := slices.Contains(dp.Privileges, p)
		switch {
		case declared && h.count[p] == 0:
			missing = append(missing, p)
		case !declared && h.count[p] > 0:
			extra = append(extra, p)
		}
		if declared && h.option[p] > 0 {
			option = append(option, p)
		}
	}
	in := c.runsIn(Cell{Database: dp.Database, On: dp.On})
	what := fmt.Sprintf("%s created by %s in schema %s", dp.On, dp.Owner, dp.Schema)
	if len(missing) > 0 {
		c.add(Change{Action: GrantDefaults, Grantee: dp.Grantee, Database: dp.Database, Owner: dp.Owner, Schema: dp.Schema, On: dp.On,
			Privileges: missing, In: in, Reason: "declared in defaultsFor, not among the default privileges of " + what,
			Statements: []Statement{defaultsStatement(true, dp.Owner, dp.Schema, dp.On, dp.Grantee, missing, false)}})
	}
	if len(extra) > 0 {
		c.add(Change{Action: RevokeDefaults, Grantee: dp.Grantee, Database: dp.Database, Owner: dp.Owner, Schema: dp.Schema, On: dp.On,
			Privileges: extra, In: in, Reason: "among the default privileges of " + what + ", not declared",
			Statements: []Statement{defaultsStatement(false, dp.Owner, dp.Schema, dp.On, dp.Grantee, extra, false)}})
	}
	if len(option) > 0 {
		c.add(Change{Action: RevokeDefaults, Grantee: dp.Grantee, Database: dp.Database, Owner: dp.Owner, Schema: dp.Schema, On: dp.On,
			Privileges: option, GrantOption: true, In: in, Reason: "declared without the grant option, held with it by default on " + what,
			Statements: []Statement{defaultsStatement(false, dp.Owner, dp.Schema, dp.On, dp.Grantee, option, true)}})
	}
	if len(missing)+len(extra)+len(option) > 0 {
		// ALTER DEFAULT PRIVILEGES FOR ROLE needs membership of the owner.
		c.actAs(in, dp.Owner, "the default privileges of "+dp.Owner, dp.Pos[0], true)
	}
}

// runsIn is the transaction that changes the cell: privileges on a
// database are in the shared catalog, changed from the main transaction;
// those of objects in another database, there.
func (c *computation) runsIn(cell Cell) string {
	if cell.On == spec.KindDatabase || cell.Database == c.observed.Database {
		return ""
	}
	return cell.Database
}

// granteeUsable reports whether a cell's grantee will exist when its
// privileges change: PUBLIC, a role on the server or one the plan creates,
// and not one the plan drops. The problem is reported once per grantee.
func (c *computation) granteeUsable(g string, pos []spec.Position) bool {
	if g == spec.Public {
		return true
	}
	if c.checkedGrantees == nil {
		c.checkedGrantees = map[string]bool{}
	}
	if ok, seen := c.checkedGrantees[g]; seen {
		return ok
	}
	ok := true
	switch {
	case c.dropping(g):
		c.problem("", "grants name %s, which this plan drops: declare it, or remove its grants%s", g, where(pos[0]))
		ok = false
	case !c.observed.HasRole(g) && !c.creates(g):
		c.problem("", "grants name %s, which is not a role on the server and is not declared: declare it under roles or principals, "+
			"or remove its grants%s", g, where(pos[0]))
		ok = false
	}
	c.checkedGrantees[g] = ok
	return ok
}

// actAsOwners makes sure the signed-in user can act as every owner of what
// a change touches: a member already, or lent the role for the
// transaction, or else a problem that names what stands in the way.
func (c *computation) actAsOwners(in, what string, owners []ObjectCount, pos spec.Position) {
	for _, oc := range owners {
		c.actAs(in, oc.Owner, fmt.Sprintf("%s (%d owned by %s)", what, oc.Count, oc.Owner), pos, false)
	}
}

// actAs is actAsOwners for one owner. member asks for membership (default
// privileges), otherwise having the owner's privileges is enough.
func (c *computation) actAs(in, owner, what string, pos spec.Position, member bool) {
	me := c.observed.SessionUser
	if owner == me {
		return
	}
	f, ok := c.observed.Owner(owner)
	switch {
	case !ok:
		c.problem("", "%s: pgusers does not know whether it can act as %s; plan again%s", what, owner, where(pos))
	case f.Usage || (member && f.Member):
		return
	case f.Super:
		c.problem("", "%s: %s is a superuser, which the signed-in administrator %s cannot act as; "+
			"change those privileges as %s by hand, or give the objects another owner%s", what, owner, me, owner, where(pos))
	case f.Member:
		c.problem("", "%s: %s is a member of %s without inheriting its privileges (NOINHERIT), so it cannot grant as it; "+
			"grant the membership with INHERIT, or change those privileges as %s by hand%s", what, me, owner, owner, where(pos))
	default:
		c.lend(in, owner)
	}
}

// lend adds owner to the roles lent in the transaction of in.
func (c *computation) lend(in, owner string) {
	if c.lends == nil {
		c.lends = map[string][]string{}
	}
	if !slices.Contains(c.lends[in], owner) {
		c.lends[in] = append(c.lends[in], owner)
	}
}

// describeCell names a cell for a message: "tables in schema public of
// database orders".
func describeCell(cell Cell) string {
	switch cell.On {
	case spec.KindDatabase:
		return "database " + cell.Database
	case spec.KindSchema:
		return fmt.Sprintf("schema %s of database %s", cell.Schema, cell.Database)
	}
	return fmt.Sprintf("%s in schema %s of database %s", cell.On, cell.Schema, cell.Database)
}

// lacking says where declared privileges are missing: "missing" for a
// database or a schema, "missing on 3 of 2000 tables" for objects.
func lacking(h held, privs []string, k spec.Kind) string {
	if !k.InSchema() || k == spec.KindSchema {
		return "not held"
	}
	var parts []string
	for _, p := range privs {
		if h.count[p] == 0 {
			parts = append(parts, fmt.Sprintf("%s on none of %d %s", p, h.objects, k))
		} else {
			parts = append(parts, fmt.Sprintf("%s missing on %d of %d %s", p, h.objects-h.count[p], h.objects, k))
		}
	}
	return strings.Join(parts, "; ")
}

// holding says where privileges are held: "held" for a database or a
// schema, "DELETE on 1 of 2000 tables (public.orders)" for objects.
func holding(h held, privs []string, k spec.Kind, count map[string]int) string {
	if !k.InSchema() || k == spec.KindSchema {
		return "held"
	}
	var parts []string
	for _, p := range privs {
		part := fmt.Sprintf("%s held on %d of %d %s", p, count[p], h.objects, k)
		if names := h.names[p]; len(names) > 0 && len(names) == count[p] {
			part += " (" + strings.Join(names, ", ") + ")"
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, "; ")
}

func versionString(v int) string {
	if v == 0 {
		return "of unknown version"
	}
	return fmt.Sprintf("%d.%d", v/10000, v%10000)
}

// withholdOwnGrantor withholds, saying why, the revokes of privileges that
// the grantee holds with the grant option on others' objects of a cell in
// which it owns objects too: ON ALL ... IN SCHEMA needs the grantee's own
// objects acted on as it, and acting as it, PostgreSQL may pick the
// grantee itself as the grantor of the revoke on the others' objects (it
// holds the grant option there), and then revokes nothing. It returns
// extra and option less what it withholds.
func (c *computation) withholdOwnGrantor(cp CellPrivileges, h held, extra, option []string) ([]string, []string) {
	if !slices.ContainsFunc(h.owners, func(oc ObjectCount) bool { return oc.Owner == cp.Grantee && oc.Count > 0 }) {
		return extra, option
	}
	var blocked []string
	for _, p := range spec.Privileges(cp.On) {
		if h.option[p] > 0 && (slices.Contains(extra, p) || slices.Contains(option, p)) {
			blocked = append(blocked, p)
		}
	}
	if len(blocked) == 0 {
		return extra, option
	}
	onlyOption := !slices.ContainsFunc(blocked, func(p string) bool { return slices.Contains(extra, p) })
	c.withhold(cp.Cell, "%s keeps %s on %s: it owns some of them and holds the grant option on others, so that PostgreSQL, "+
		"acting for the owners, may record %s itself as the grantor of the revoke, which then removes nothing; revoke it "+
		"by hand as each other object's owner (SET ROLE owner; REVOKE GRANT OPTION FOR ... ON TABLE ... FROM %s)%s",
		cp.Grantee, describePrivileges(blocked, onlyOption), describeCell(cp.Cell), cp.Grantee, cp.Grantee, where(cp.Pos[0]))
	return without(extra, blocked), without(option, blocked)
}
