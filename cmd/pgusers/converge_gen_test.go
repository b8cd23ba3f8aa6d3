package main

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/pgusers/pgusers/internal/pgtest"
)

// A generator adds one kind of state to a case: facts (SQL that leaves the
// server the way people and other tools do) and entries (what the file
// says about it). Generators run in this order, each over what the ones
// before it made, and each may be switched off on its own.
type generator struct {
	kind string
	gen  func(*caseGen)
}

var generators = []generator{
	{"objects", genObjects},         // databases, schemas, tables, sequences, functions and their owners
	{"principals", genPrincipals},   // Entra principals on the server and in the file
	{"settings", genSettings},       // reassignOwnedTo, pruneSyncedUsers, protect
	{"roles", genRoles},             // group roles, and principals' memberships of them
	{"renamed", genRenamed},         // an Entra object renamed since its role was made: renamedFrom
	{"groupSync", genGroupSync},     // pgaadauth.enable_group_sync on
	{"grants", genGrants},           // privileges held, and grant entries over them
	{"grantOptions", genGrantOpts},  // privileges held WITH GRANT OPTION, no one granted on
	{"defaults", genDefaults},       // default privileges of the owners, and defaultsFor
	{"public", genPublic},           // PUBLIC's privileges, and entries for PUBLIC
	{"ownerGrants", genOwnerGrants}, // grants to the owner of the database, schema and objects, defaultsFor itself
	{"columns", genColumns},         // column privileges in a managed cell
	{"usedGrantOptions", genUsedGrantOptions},
	{"thirdGrantors", genThirdGrantors},
	{"renamedPrivileges", genRenamedPrivileges},
	{"transitiveRoles", genTransitiveRoles},       // group roles members of group roles: export follows them
	{"granteeOwnsObjects", genGranteeOwnsObjects}, // principals that made a table of their own where grants name them
}

// caseGen builds one case from a seed: what exists, and what the file
// declares, so that later generators name only what earlier ones made.
type caseGen struct {
	r    *rand.Rand
	c    *convergeCase
	kind string // the generator running

	owners     []string            // roles that own databases, schemas and objects
	dbOwner    map[string]string   // database → its owner
	schemas    []string            // schemas of every case database, besides public
	principals map[string]string   // Entra principals on the server or in the file: name → type
	declared   map[string]bool     // principals and group roles the file declares
	onServer   map[string]bool     // principals and group roles the server has
	replaced   map[string]bool     // principals the file replaces (drops and creates again)
	groups     []string            // group roles, on the server or in the file
	holds      map[string]bool     // roles that hold privileges through a fact
	memberOf   map[string][]string // principal or role → the group roles the file says it belongs to
	entryIndex map[string]int      // principal or role → its entry, to add memberOf later
}

const convergeAdmin = pgtest.AdminRole

func newCaseGen(seed int64, enabled func(kind string) bool) *convergeCase {
	g := &caseGen{
		r:          rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15)),
		c:          &convergeCase{Seed: seed, Databases: []string{"cv1"}},
		principals: map[string]string{},
		dbOwner:    map[string]string{},
		declared:   map[string]bool{},
		onServer:   map[string]bool{},
		replaced:   map[string]bool{},
		holds:      map[string]bool{},
		memberOf:   map[string][]string{},
		entryIndex: map[string]int{},
	}
	if g.chance(0.5) {
		g.c.Databases = append(g.c.Databases, "cv-2") // a name SQL must quote
	}
	g.c.Prune = g.chance(0.3)
	for _, gen := range generators {
		if gen.kind != "objects" && !enabled(gen.kind) {
			continue
		}
		g.kind = gen.kind
		gen.gen(g)
	}
	g.writeMemberships()
	return g.c
}

func (g *caseGen) chance(p float64) bool { return g.r.Float64() < p }

func pickOne[T any](g *caseGen, xs []T) T { return xs[g.r.IntN(len(xs))] }

// some returns a random subset of xs, in xs's order, non-empty when min is 1.
func someOf[T any](g *caseGen, xs []T, min int) []T {
	for {
		var out []T
		for _, x := range xs {
			if g.chance(0.5) {
				out = append(out, x)
			}
		}
		if len(out) >= min {
			return out
		}
	}
}

func (g *caseGen) fact(db, sql string, args ...any) {
	g.c.Facts = append(g.c.Facts, caseFact{Kind: g.kind, DB: db, SQL: fmt.Sprintf(sql, args...)})
}

func (g *caseGen) entry(section, yaml string) int {
	g.c.Entries = append(g.c.Entries, caseEntry{Kind: g.kind, Section: section, YAML: yaml})
	return len(g.c.Entries) - 1
}

func sqlIdent(name string) string { return pgx.Identifier{name}.Sanitize() }

func sqlLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// yq quotes a name for YAML (double-quoted, as Go quotes it).
func yq(s string) string { return strconv.Quote(s) }

func yamlList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = yq(x)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// grantees are the roles a grant entry may name: group roles and the
// principals that are not dropped by prune.
func (g *caseGen) grantees() []string {
	var out []string
	out = append(out, g.groups...)
	for _, p := range sortedNames(g.principals) {
		if g.declared[p] || !g.c.Prune {
			out = append(out, p)
		}
	}
	return out
}

// existing are the grantees the server has now, which facts can name.
func (g *caseGen) existing() []string {
	var out []string
	for _, n := range g.grantees() {
		if g.onServer[n] {
			out = append(out, n)
		}
	}
	return out
}

func sortedNames[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// writeMemberships adds memberOf to the entries of principals and roles
// that other generators gave memberships.
func (g *caseGen) writeMemberships() {
	for _, n := range sortedNames(g.memberOf) {
		i, ok := g.entryIndex[n]
		if !ok {
			continue
		}
		roles := slices.Compact(slices.Sorted(slices.Values(g.memberOf[n])))
		e := &g.c.Entries[i]
		e.YAML = strings.TrimSuffix(e.YAML, "}") + ", memberOf: " + yamlList(roles) + "}"
	}
}

func genObjects(g *caseGen) {
	g.owners = []string{"own_a", "own_b"}
	for _, o := range g.owners {
		g.fact("postgres", "CREATE ROLE %s NOLOGIN", sqlIdent(o))
	}
	g.schemas = []string{"s1", "Sales-Q2"} // a name SQL must quote
	for _, db := range g.c.Databases {
		dbOwner := pickOne(g, append(g.owners, convergeAdmin))
		g.fact("postgres", "ALTER DATABASE %s OWNER TO %s", sqlIdent(db), sqlIdent(dbOwner))
		g.dbOwner[db] = dbOwner
		for _, s := range g.schemas {
			so := pickOne(g, g.owners)
			g.fact(db, "CREATE SCHEMA %s AUTHORIZATION %s", sqlIdent(s), sqlIdent(so))
			objects := []string{
				"CREATE TABLE %s.t1 (a int, b int)",
				"CREATE TABLE %s.t2 (a int)",
				"CREATE SEQUENCE %s.q1",
				"CREATE FUNCTION %s.f1() RETURNS int LANGUAGE sql AS 'SELECT 1'",
				"CREATE TABLE %s.t3 (id serial, p int) PARTITION BY RANGE (p)", // and the sequence of its serial column
				"CREATE PROCEDURE %s.p1() LANGUAGE sql AS 'SELECT 1'",
				"CREATE MATERIALIZED VIEW %s.m1 AS SELECT 1 AS one",
				"CREATE VIEW %s.v1 AS SELECT 1 AS one",
				"CREATE FUNCTION %s.f2(a int, b text) RETURNS int LANGUAGE sql AS 'SELECT a'",
			}
			alter := []string{"TABLE %s.t1", "TABLE %s.t2", "SEQUENCE %s.q1", "FUNCTION %s.f1()", "TABLE %s.t3", "PROCEDURE %s.p1()",
				"MATERIALIZED VIEW %s.m1", "VIEW %s.v1", "FUNCTION %s.f2(int, text)"}
			for i, o := range objects {
				if i > 0 && g.chance(0.15) {
					continue // a schema without one kind of object is in sync for it; t1 is always there
				}
				owner := so
				switch {
				case g.chance(0.05):
					owner = convergeAdmin // made by whoever signs in
				case g.chance(0.2):
					owner = pickOne(g, g.owners)
				}
				// One fact, so that no shrink leaves an object to the superuser.
				g.fact(db, o+"; ALTER "+alter[i]+" OWNER TO %s", sqlIdent(s), sqlIdent(s), sqlIdent(owner))
			}
		}
	}
}

var principalNames = []struct{ name, typ string }{
	{"ann@contoso.com", "user"},
	{"O'Brien@contoso.com", "user"},
	{"Data Team", "group"},
	{`svc "orders"`, "service"},
	{"Ünïcødé-app", "service"},
}

func createPrincipalSQL(name, objectID, typ string, mfa bool) string {
	return fmt.Sprintf("SELECT pg_catalog.pgaadauth_create_principal_with_oid(%s, %s, %s, false, %t)", sqlLiteral(name), sqlLiteral(objectID), sqlLiteral(typ), mfa)
}

func genPrincipals(g *caseGen) {
	for _, p := range someOf(g, principalNames, 1) {
		mfa := g.chance(0.3)
		g.principals[p.name] = p.typ
		if g.chance(0.7) {
			g.fact("postgres", "%s", createPrincipalSQL(p.name, pgtest.ObjectID(p.name), p.typ, mfa))
			g.onServer[p.name] = true
		}
		if !g.onServer[p.name] || g.chance(0.7) {
			g.declared[p.name] = true
			if g.onServer[p.name] && g.c.Prune && g.chance(0.2) {
				mfa = !mfa // a replace
				g.replaced[p.name] = true
			}
			g.entryIndex[p.name] = g.entry("principals", fmt.Sprintf("{name: %s, type: %s, objectId: %s, mfa: %t}", yq(p.name), p.typ, pgtest.ObjectID(p.name), mfa))
		}
	}
}

func genSettings(g *caseGen) {
	if g.c.Prune && g.chance(0.5) {
		g.entry("settings", "reassignOwnedTo: "+pickOne(g, g.owners))
	}
	if g.chance(0.3) {
		g.entry("settings", "pruneSyncedUsers: true")
	}
	if g.chance(0.2) {
		g.entry("settings", `protect: ["ann*", "Data *"]`)
	}
}

func genRoles(g *caseGen) {
	for _, r := range someOf(g, []string{"g1", "g2", "g3"}, 1) {
		g.groups = append(g.groups, r)
		if g.chance(0.7) {
			g.fact("postgres", "CREATE ROLE %s NOLOGIN", sqlIdent(r))
			g.onServer[r] = true
		}
		if !g.onServer[r] || g.chance(0.6) {
			g.declared[r] = true
			comment := ""
			switch {
			case g.chance(0.3):
				comment = ", comment: " + yq("role "+r)
			case g.chance(0.15):
				comment = `, comment: ""` // must have none
			}
			g.entryIndex[r] = g.entry("roles", fmt.Sprintf("{name: %s%s}", yq(r), comment))
		}
	}
	// A role declared absent, which some principals belong to: not a
	// group role the others may name.
	gone := g.chance(0.3)
	if gone {
		g.fact("postgres", "CREATE ROLE g_gone NOLOGIN")
		g.entry("roles", `{name: g_gone, absent: true}`)
	}
	for _, r := range g.groups {
		if g.onServer[r] && g.chance(0.2) {
			g.fact("postgres", "COMMENT ON ROLE %s IS %s", sqlIdent(r), sqlLiteral("set by hand"))
		}
	}
	for _, p := range sortedNames(g.principals) {
		if g.onServer[p] && g.chance(0.15) {
			g.fact("postgres", "GRANT pg_read_all_data TO %s", sqlIdent(p))
		}
		// A group principal's members: other principals.
		if q := "Data Team"; p != q && g.onServer[p] && g.onServer[q] && g.chance(0.3) {
			g.fact("postgres", "GRANT %s TO %s", sqlIdent(q), sqlIdent(p))
		}
		if gone && g.onServer[p] && g.chance(0.3) {
			g.fact("postgres", "GRANT g_gone TO %s", sqlIdent(p))
		}
		for _, r := range g.groups {
			if g.onServer[p] && g.onServer[r] && g.chance(0.3) {
				admin := ""
				if g.chance(0.2) {
					admin = " WITH ADMIN OPTION"
				}
				g.fact("postgres", "GRANT %s TO %s%s", sqlIdent(r), sqlIdent(p), admin)
			}
			if g.declared[p] && g.chance(0.3) {
				g.memberOf[p] = append(g.memberOf[p], r)
			}
		}
		if g.declared[p] && g.chance(0.1) {
			g.memberOf[p] = append(g.memberOf[p], "pg_read_all_data")
		}
		if g.declared[p] && g.memberOf[p] == nil && g.chance(0.3) {
			g.memberOf[p] = []string{} // memberOf: [], every membership revoked
		}
	}
}

func genRenamed(g *caseGen) {
	genRename(g, false)
}

// genRename makes an Entra object whose role still has its old name on
// the server; the file declares the new name with renamedFrom. With
// privileges, the old role holds some in a cell the file manages.
func genRename(g *caseGen, privileges bool) {
	const old, name = "carol.old@contoso.com", "carol.new@contoso.com"
	if _, ok := g.principals[name]; !ok {
		if !g.chance(0.5) {
			return
		}
		id := pgtest.ObjectID(name)
		g.fact("postgres", "%s", createPrincipalSQL(old, id, "user", false))
		// Declared, and on the server under its old name only: facts name it
		// as old, entries as name.
		g.principals[name] = "user"
		g.declared[name] = true
		g.entryIndex[name] = g.entry("principals", fmt.Sprintf("{name: %s, type: user, objectId: %s, renamedFrom: %s}", yq(name), id, yq(old)))
		for _, r := range g.groups {
			if g.onServer[r] && g.chance(0.4) {
				g.fact("postgres", "GRANT %s TO %s", sqlIdent(r), sqlIdent(old))
			}
		}
	}
	if privileges {
		db, s := pickOne(g, g.c.Databases), pickOne(g, g.schemas)
		g.fact(db, "GRANT SELECT, DELETE ON ALL TABLES IN SCHEMA %s TO %s", sqlIdent(s), sqlIdent(old))
		g.entry("grants", fmt.Sprintf("{to: %s, databases: [%s], schemas: [%s], profile: readonly}", yq(name), db, s))
	}
}

func genGroupSync(g *caseGen) {
	if g.chance(0.3) {
		g.fact("postgres", "ALTER DATABASE postgres SET pgaadauth.enable_group_sync = on")
	}
}

var tablePrivileges = []string{"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"}

func genGrants(g *caseGen) {
	// What people granted by hand, to roles the server has.
	for _, who := range g.existing() {
		if !g.chance(0.5) {
			continue
		}
		g.holds[who] = true
		db, s := pickOne(g, g.c.Databases), pickOne(g, g.schemas)
		switch g.r.IntN(6) {
		case 4:
			g.fact(db, "GRANT %s ON ALL SEQUENCES IN SCHEMA %s TO %s", strings.Join(someOf(g, []string{"USAGE", "SELECT", "UPDATE"}, 1), ", "), sqlIdent(s), sqlIdent(who))
		case 5:
			g.fact(db, "GRANT EXECUTE ON ALL ROUTINES IN SCHEMA %s TO %s", sqlIdent(s), sqlIdent(who))
		case 0:
			g.fact(db, "GRANT %s ON ALL TABLES IN SCHEMA %s TO %s", strings.Join(someOf(g, tablePrivileges, 1), ", "), sqlIdent(s), sqlIdent(who))
		case 1:
			g.fact(db, "GRANT %s ON %s.t1 TO %s", strings.Join(someOf(g, tablePrivileges, 1), ", "), sqlIdent(s), sqlIdent(who))
		case 2:
			g.fact(db, "GRANT USAGE ON SCHEMA %s TO %s", sqlIdent(s), sqlIdent(who))
		case 3:
			g.fact("postgres", "GRANT %s ON DATABASE %s TO %s", pickOne(g, []string{"CONNECT", "TEMPORARY", "CREATE", "ALL"}), sqlIdent(db), sqlIdent(who))
		}
	}
	// What the file declares.
	grantees := g.grantees()
	if len(grantees) == 0 {
		return
	}
	for range 1 + g.r.IntN(4) {
		g.entry("grants", g.grantEntry(pickOne(g, grantees)))
	}
}

// grantEntry is a random grant entry for grantee: a profile, kinds of its
// own, or both, over some databases and schemas, with defaultsFor.
func (g *caseGen) grantEntry(grantee string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "{to: %s, databases: %s", yq(grantee), yamlList(someOf(g, g.c.Databases, 1)))
	onlyDatabase := g.chance(0.15)
	if onlyDatabase {
		fmt.Fprintf(&b, ", database: %s}", yamlList(someOf(g, []string{"CONNECT", "TEMPORARY", "CREATE"}, 0)))
		return b.String()
	}
	if g.chance(0.8) {
		fmt.Fprintf(&b, ", schemas: %s", yamlList(someOf(g, append([]string{"public"}, g.schemas...), 1)))
	}
	managesObjects := false
	if g.chance(0.6) {
		fmt.Fprintf(&b, ", profile: %s", pickOne(g, []string{"readonly", "readwrite", "serviceConnector"}))
		managesObjects = true
	}
	if !managesObjects || g.chance(0.3) {
		fmt.Fprintf(&b, ", tables: %s", yamlList(someOf(g, tablePrivileges, 0)))
		managesObjects = true
	}
	if g.chance(0.3) {
		fmt.Fprintf(&b, ", sequences: %s", yamlList(someOf(g, []string{"USAGE", "SELECT", "UPDATE"}, 0)))
	}
	if g.chance(0.3) {
		fmt.Fprintf(&b, ", functions: %s", yamlList(someOf(g, []string{"EXECUTE"}, 0)))
	}
	if g.chance(0.3) {
		fmt.Fprintf(&b, ", schema: %s", yamlList(someOf(g, []string{"USAGE", "CREATE"}, 0)))
	}
	if managesObjects && g.chance(0.5) {
		owners := someOf(g, g.owners, 1)
		if g.chance(0.1) {
			owners = append(owners, convergeAdmin) // what the administrator creates itself
		}
		fmt.Fprintf(&b, ", defaultsFor: %s", yamlList(owners))
	}
	b.WriteString("}")
	return b.String()
}

func genGrantOpts(g *caseGen) {
	for _, who := range g.existing() {
		if !g.chance(0.3) {
			continue
		}
		g.holds[who] = true
		db, s := pickOne(g, g.c.Databases), pickOne(g, g.schemas)
		g.fact(db, "GRANT SELECT ON ALL TABLES IN SCHEMA %s TO %s WITH GRANT OPTION", sqlIdent(s), sqlIdent(who))
		if g.chance(0.7) {
			g.entry("grants", fmt.Sprintf("{to: %s, databases: [%s], schemas: [%s], tables: %s}", yq(who), db, s, pickOne(g, []string{"[SELECT]", "[]", "[SELECT, INSERT]"})))
		}
	}
}

func genDefaults(g *caseGen) {
	for _, who := range g.existing() {
		if !g.chance(0.4) {
			continue
		}
		g.holds[who] = true
		db, s, owner := pickOne(g, g.c.Databases), pickOne(g, g.schemas), pickOne(g, g.owners)
		what := pickOne(g, []string{"SELECT ON TABLES", "SELECT, INSERT ON TABLES", "USAGE ON SEQUENCES", "EXECUTE ON FUNCTIONS"})
		g.fact(db, "ALTER DEFAULT PRIVILEGES FOR ROLE %s IN SCHEMA %s GRANT %s TO %s", sqlIdent(owner), sqlIdent(s), what, sqlIdent(who))
		if g.chance(0.7) {
			g.entry("grants", fmt.Sprintf("{to: %s, databases: [%s], schemas: [%s], profile: %s, defaultsFor: [%s]}", yq(who), db, s,
				pickOne(g, []string{"readonly", "readwrite"}), owner))
		}
	}
}

func genPublic(g *caseGen) {
	db := pickOne(g, g.c.Databases)
	s := pickOne(g, g.schemas)
	if g.chance(0.5) {
		g.fact("postgres", "REVOKE TEMPORARY ON DATABASE %s FROM PUBLIC", sqlIdent(db))
	}
	if g.chance(0.4) {
		g.fact(db, "GRANT SELECT ON ALL TABLES IN SCHEMA %s TO PUBLIC", sqlIdent(s))
	}
	if g.chance(0.4) {
		g.fact(db, "REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA %s FROM PUBLIC", sqlIdent(s))
	}
	switch g.r.IntN(3) {
	case 0:
		g.entry("grants", fmt.Sprintf("{to: PUBLIC, databases: [%s], database: [CONNECT]}", db))
	case 1:
		// PUBLIC loses CONNECT: whoever signs in keeps its own, unless it
		// owns the database (a grant to the owner is another kind's).
		g.entry("grants", fmt.Sprintf("{to: PUBLIC, databases: [%s], database: []}", db))
		if g.dbOwner[db] != convergeAdmin {
			g.entry("grants", fmt.Sprintf("{to: %s, databases: [%s], database: [CONNECT]}", yq(convergeAdmin), db))
		}
	case 2:
		g.entry("grants", fmt.Sprintf("{to: PUBLIC, databases: [%s], schemas: [%s], tables: [], functions: [EXECUTE]}", db, s))
	}
}

func genOwnerGrants(g *caseGen) {
	owner := pickOne(g, g.owners)
	db := pickOne(g, g.c.Databases)
	g.fact("postgres", "ALTER DATABASE %s OWNER TO %s", sqlIdent(db), sqlIdent(owner))
	g.dbOwner[db] = owner
	s := pickOne(g, g.schemas)
	g.fact(db, "ALTER SCHEMA %s OWNER TO %s", sqlIdent(s), sqlIdent(owner))
	defaults := ""
	if g.chance(0.5) {
		defaults = fmt.Sprintf(", defaultsFor: [%s]", owner)
		if g.chance(0.5) {
			// Default privileges of the owner for itself, as a tool leaves them.
			g.fact(db, "ALTER DEFAULT PRIVILEGES FOR ROLE %s IN SCHEMA %s GRANT SELECT ON TABLES TO %s", sqlIdent(owner), sqlIdent(s), sqlIdent(owner))
		}
	}
	g.entry("grants", fmt.Sprintf("{to: %s, databases: [%s], schemas: [%s], profile: readwrite%s}", owner, db, s, defaults))
}

func genColumns(g *caseGen) {
	who := g.existing()
	if len(who) == 0 {
		return
	}
	r, db, s := pickOne(g, who), pickOne(g, g.c.Databases), pickOne(g, g.schemas)
	g.holds[r] = true
	g.fact(db, "GRANT UPDATE (b) ON %s.t1 TO %s", sqlIdent(s), sqlIdent(r))
	g.entry("grants", fmt.Sprintf("{to: %s, databases: [%s], schemas: [%s], profile: readonly}", yq(r), db, s))
}

// grantOnward makes a hold a privilege WITH GRANT OPTION and grant it on to
// b, as a does when it is lent the option: b's privilege is a's grant.
func (g *caseGen) grantOnward() (a, b, db, s string, ok bool) {
	// Not a principal the file replaces: DROP OWNED revokes only what the
	// objects' owners granted, so a drop of a role that holds, or granted,
	// a third grantor's privilege fails: the limit docs/guarantees.md
	// states under "Drops that own things"; pgusers does not hand those
	// over yet.
	who := slices.DeleteFunc(g.existing(), func(n string) bool { return g.replaced[n] })
	if len(who) < 2 {
		return "", "", "", "", false
	}
	a, b = pickOne(g, who), pickOne(g, who)
	for b == a {
		b = pickOne(g, who)
	}
	db, s = pickOne(g, g.c.Databases), pickOne(g, g.schemas)
	g.holds[a], g.holds[b] = true, true
	// a needs USAGE on the schema to name its tables when it grants on.
	g.fact(db, "GRANT SELECT ON ALL TABLES IN SCHEMA %s TO %s WITH GRANT OPTION; GRANT USAGE ON SCHEMA %s TO %s", sqlIdent(s), sqlIdent(a), sqlIdent(s), sqlIdent(a))
	g.fact(db, "SET ROLE %s; GRANT SELECT ON ALL TABLES IN SCHEMA %s TO %s; RESET ROLE", sqlIdent(a), sqlIdent(s), sqlIdent(b))
	return a, b, db, s, true
}

func genUsedGrantOptions(g *caseGen) {
	if a, _, db, s, ok := g.grantOnward(); ok {
		g.entry("grants", fmt.Sprintf("{to: %s, databases: [%s], schemas: [%s], tables: [SELECT]}", yq(a), db, s))
	}
}

func genThirdGrantors(g *caseGen) {
	if _, b, db, s, ok := g.grantOnward(); ok {
		g.entry("grants", fmt.Sprintf("{to: %s, databases: [%s], schemas: [%s], tables: []}", yq(b), db, s))
	}
}

func genRenamedPrivileges(g *caseGen) { genRename(g, true) }

// genGranteeOwnsObjects makes principals own a table where grants may
// name them, which a drop must also hand over.
func genGranteeOwnsObjects(g *caseGen) {
	for _, p := range sortedNames(g.principals) {
		if g.onServer[p] && g.chance(0.3) {
			db, s, name := g.c.Databases[0], g.schemas[0], sqlIdent("made by "+p)
			g.fact(db, "CREATE TABLE %s.%s (a int); ALTER TABLE %s.%s OWNER TO %s", sqlIdent(s), name, sqlIdent(s), name, sqlIdent(p))
		}
	}
}

func genTransitiveRoles(g *caseGen) {
	// g3 → g2 → g1 (a higher role is a member of a lower one), so no
	// membership can close a cycle.
	for i, r := range g.groups {
		for _, lower := range g.groups[:i] {
			if g.onServer[r] && g.onServer[lower] && g.chance(0.4) {
				g.fact("postgres", "GRANT %s TO %s", sqlIdent(lower), sqlIdent(r))
			}
			if g.declared[r] && g.chance(0.4) {
				g.memberOf[r] = append(g.memberOf[r], lower)
			}
		}
		if g.onServer[r] && g.chance(0.5) {
			db, s := pickOne(g, g.c.Databases), pickOne(g, g.schemas)
			g.holds[r] = true
			g.fact(db, "GRANT SELECT ON ALL TABLES IN SCHEMA %s TO %s", sqlIdent(s), sqlIdent(r))
		}
	}
}
