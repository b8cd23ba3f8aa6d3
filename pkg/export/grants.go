package export

import (
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/pgusers/pgusers/pkg/diff"
	"github.com/pgusers/pgusers/pkg/spec"
)

// Databases are what export reads of the databases it is asked for: for
// each, what the grantees (the exported principals and the group roles they
// belong to) hold there.
type Databases []diff.ObservedDatabase

// entry is one grant entry being built: a grantee's privileges in one
// database, for the schemas that share them.
type entry struct {
	to, db      string
	schemas     []string
	kinds       map[spec.Kind][]string
	defaultsFor []string
	columns     []spec.ColumnGrant
}

// grants turns what each grantee holds into grant entries that plan in
// sync, and notes what cannot be written as such (privileges held on some
// objects of a kind in a schema and not others, default privileges that
// differ from the objects'). version is server_version_num, for ALL.
func grants(grantees []string, dbs Databases, version int) (out []entry, notes []string) {
	for _, g := range grantees {
		for _, db := range dbs {
			es, ns := grantsIn(g, db, version)
			out = append(out, es...)
			notes = append(notes, ns...)
		}
	}
	return out, notes
}

func grantsIn(grantee string, db diff.ObservedDatabase, version int) ([]entry, []string) {
	var notes []string
	dbPrivs, option := held(db.ACL, grantee)
	if option != nil {
		notes = append(notes, optionNote(grantee, option, "database "+db.Name))
		dbPrivs = nil
	}
	// What the grantee holds in each schema, kind by kind.
	type schemaKinds struct {
		schema  string
		kinds   map[spec.Kind][]string
		columns []spec.ColumnGrant
	}
	var perSchema []schemaKinds
	for _, s := range db.Schemas {
		kinds, columns, ns := heldInSchema(grantee, db.Name, s)
		notes = append(notes, ns...)
		if len(kinds) > 0 {
			perSchema = append(perSchema, schemaKinds{s.Name, kinds, columns})
		}
	}
	// Schemas that hold the same are one entry.
	var out []entry
	for _, sk := range perSchema {
		if i := slices.IndexFunc(out, func(e entry) bool {
			return sameKinds(e.kinds, sk.kinds) && slices.EqualFunc(e.columns, sk.columns, sameColumn)
		}); i >= 0 {
			out[i].schemas = append(out[i].schemas, sk.schema)
			continue
		}
		out = append(out, entry{to: grantee, db: db.Name, schemas: []string{sk.schema}, kinds: sk.kinds, columns: sk.columns})
	}
	if len(dbPrivs) > 0 {
		if len(out) == 0 {
			out = append(out, entry{to: grantee, db: db.Name, kinds: map[spec.Kind][]string{}})
		}
		out[0].kinds[spec.KindDatabase] = order(spec.KindDatabase, dbPrivs)
	}
	for i := range out {
		notes = append(notes, defaultsFor(&out[i], db)...)
	}
	return out, notes
}

// heldInSchema is what grantee holds in schema s of database db, kind by
// kind, and its column privileges, as far as a grant entry can write
// them; and notes of what it cannot.
func heldInSchema(grantee, db string, s diff.ObservedSchema) (map[spec.Kind][]string, []spec.ColumnGrant, []string) {
	var notes []string
	kinds := map[spec.Kind][]string{}
	switch privs, option := held(s.ACL, grantee); {
	case option != nil:
		notes = append(notes, optionNote(grantee, option, "schema "+db+"."+s.Name))
	case privs != nil:
		kinds[spec.KindSchema] = privs
	}
	tablesLeftOut := leftOutNot
	for _, k := range []spec.Kind{spec.KindTables, spec.KindSequences, spec.KindFunctions} {
		privs, ns, leftOut := heldOfKind(grantee, db, s, k)
		notes = append(notes, ns...)
		if privs != nil {
			kinds[k] = privs
		}
		if k == spec.KindTables {
			tablesLeftOut = leftOut
		}
	}
	switch tablesLeftOut { // columns belong to the tables cell
	case leftOutForOption: // its note says so
		return kinds, nil, notes
	case leftOutAsPartial:
		_, ns := columnsIn(grantee, db, s, kinds) // notes the columns left out with the tables
		return kinds, nil, append(notes, ns...)
	}
	columns, ns := columnsIn(grantee, db, s, kinds)
	return kinds, columns, append(notes, ns...)
}

// heldOfKind is what grantee holds on every object of kind k in schema s
// that it does not own; or, when it holds a privilege on some of them only,
// or one with the grant option (on the columns too, for tables), nothing,
// notes that say why, and leftOut.
func heldOfKind(grantee, db string, s diff.ObservedSchema, k spec.Kind) (privs, notes []string, leftOut leftOutBecause) {
	objects := 0
	for _, oc := range s.Objects {
		if oc.Kind == k && oc.Owner != grantee {
			objects += oc.Count
		}
	}
	count := map[string]int{}
	var option []string
	for _, h := range s.Holdings {
		if h.Kind == k && h.Grantee == grantee {
			count[h.Privilege] += h.Count
			if h.Grantable {
				option = appendNew(option, h.Privilege)
			}
		}
	}
	if k == spec.KindTables {
		option = append(option, columnOptions(grantee, s)...)
	}
	if option != nil {
		return nil, []string{optionNote(grantee, order(k, option), fmt.Sprintf("%s in %s.%s", k, db, s.Name))}, leftOutForOption
	}
	partial := false
	for _, p := range spec.Privileges(k) {
		switch n := count[p]; {
		case n == 0:
		case n == objects:
			privs = append(privs, p)
		default:
			partial = true
			notes = append(notes, fmt.Sprintf("%s holds %s on %d of %d %s in %s.%s: a grant covers all of them or none, "+
				"so it is not exported", grantee, p, n, objects, k, db, s.Name))
		}
	}
	if partial {
		// An entry for the kind would revoke what is held on some objects
		// only: the whole kind is left out.
		return nil, notes, leftOutAsPartial
	}
	return privs, notes, leftOutNot
}

// leftOutBecause says why heldOfKind left a kind out of an export.
type leftOutBecause int

const (
	leftOutNot       leftOutBecause = iota
	leftOutForOption                // a privilege held with the grant option
	leftOutAsPartial                // a privilege held on some objects only
)

// held are the privileges of grantee in acl, in acl's order, and those
// it holds with the grant option (nil for none).
func held(acl []diff.Privilege, grantee string) (privs, option []string) {
	for _, p := range acl {
		if p.Grantee != grantee {
			continue
		}
		privs = appendNew(privs, p.Privilege)
		if p.Grantable {
			option = appendNew(option, p.Privilege)
		}
	}
	return privs, option
}

// optionNote notes a cell left out because grantee holds privileges in it
// with the grant option: a grant entry cannot declare one, and a plan of
// a cell takes it away, so the export of that cell would not plan empty.
func optionNote(grantee string, option []string, cell string) string {
	return fmt.Sprintf("%s holds %s with the grant option on %s: a grant entry cannot declare a grant option, "+
		"so what it holds there is not exported", grantee, strings.Join(option, ", "), cell)
}

// defaultsFor adds to e the owners whose default privileges for e's
// grantee, in e's schemas, are exactly e's privileges of the kinds that
// have defaults; it notes the owners whose are not.
func defaultsFor(e *entry, db diff.ObservedDatabase) []string {
	owners := map[string]bool{}
	for _, d := range db.Defaults {
		if d.Grantee == e.to && slices.Contains(e.schemas, d.Schema) {
			owners[d.Owner] = true
		}
	}
	var notes []string
	for _, owner := range sortedKeys(owners) {
		exact, option := true, false
		for _, schema := range e.schemas {
			for _, k := range []spec.Kind{spec.KindTables, spec.KindSequences, spec.KindFunctions} {
				var have []string
				for _, d := range db.Defaults {
					if d.Owner == owner && d.Schema == schema && d.Kind == k && d.Grantee == e.to {
						have = appendNew(have, d.Privilege.Privilege)
						option = option || d.Grantable
					}
				}
				if !slices.Equal(order(k, have), e.kinds[k]) {
					exact = false
				}
			}
		}
		switch {
		case option:
			notes = append(notes, fmt.Sprintf("the default privileges of %s for %s in database %s give the grant option, which a "+
				"grant entry cannot declare, so they are not exported", owner, e.to, e.db))
		case exact:
			e.defaultsFor = append(e.defaultsFor, owner)
		default:
			notes = append(notes, fmt.Sprintf("the default privileges of %s for %s in database %s differ from what %s holds on the "+
				"objects there, so they are not exported", owner, e.to, e.db, e.to))
		}
	}
	return notes
}

func sameKinds(a, b map[spec.Kind][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

// order sorts privileges of kind k in the kind's order.
func order(k spec.Kind, privs []string) []string {
	var out []string
	for _, p := range spec.Privileges(k) {
		if slices.Contains(privs, p) {
			out = append(out, p)
		}
	}
	return out
}

func appendNew(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// all is every privilege of kind k on a server of this version: what ALL
// means there.
func all(k spec.Kind, version int) []string {
	var out []string
	for _, p := range spec.Privileges(k) {
		if p != spec.Maintain || diff.HasMaintain(version) {
			out = append(out, p)
		}
	}
	return out
}

// profileOf returns the built-in profile that grants exactly e's kinds on
// a server of this version, or "".
func profileOf(e entry, version int) string {
	for _, p := range spec.BuiltinProfiles() {
		if len(p.Kinds) != len(e.kinds) {
			continue
		}
		match := true
		for _, kg := range p.Kinds {
			want := kg.Privileges
			if kg.All {
				want = all(kg.Kind, version)
			}
			if !slices.Equal(order(kg.Kind, want), e.kinds[kg.Kind]) {
				match = false
			}
		}
		if match {
			return p.Name
		}
	}
	return ""
}

// grantNode is e as a grant entry of the file.
func grantNode(e entry, version int) *yaml.Node {
	n := mapping("to", str(e.to), "databases", flowList([]string{e.db}))
	hasSchemaKinds := false
	for k := range e.kinds {
		hasSchemaKinds = hasSchemaKinds || k.InSchema()
	}
	if hasSchemaKinds && !slices.Equal(e.schemas, []string{"public"}) {
		n.Content = append(n.Content, str("schemas"), flowList(e.schemas))
	}
	if p := profileOf(e, version); p != "" {
		n.Content = append(n.Content, str("profile"), str(p))
	} else {
		for _, k := range spec.Kinds {
			privs, ok := e.kinds[k]
			if !ok {
				continue
			}
			if slices.Equal(privs, all(k, version)) && len(privs) > 1 {
				privs = []string{"ALL"}
			}
			n.Content = append(n.Content, str(string(k)), flowList(privs))
		}
	}
	if len(e.columns) > 0 {
		n.Content = append(n.Content, str("columns"), columnsNode(e.columns))
	}
	if len(e.defaultsFor) > 0 {
		n.Content = append(n.Content, str("defaultsFor"), flowList(e.defaultsFor))
	}
	return n
}

// rolesOf are the group roles the exported principals reach through their
// memberships, directly or through other group roles (app1 → orders_rw →
// orders_ro): roles on the server that are not Entra principals and not
// Azure's or PostgreSQL's own. Every role a declared principal or role
// names in memberOf is then declared too, so the file stands on its own.
// o knows the memberships of the group roles it was asked about (see
// GroupRoles).
func rolesOf(o diff.Observed) []string {
	var out []string
	add := func(roles []string) {
		for _, r := range roles {
			if _, entra := o.Principal(r); !entra && !spec.Reserved(r) && !slices.Contains(out, r) {
				out = append(out, r)
			}
		}
	}
	for _, p := range o.Principals {
		add(p.MemberOf)
	}
	for i := 0; i < len(out); i++ {
		if r, ok := o.GroupRole(out[i]); ok {
			add(r.MemberOf)
		}
	}
	slices.Sort(out)
	return out
}

// Grantees are whose privileges export writes: the principals that are not
// administrators (Azure manages those), and the group roles the principals
// belong to.
func Grantees(o diff.Observed) []string {
	var out []string
	for _, p := range o.Principals {
		if !p.Admin {
			out = append(out, p.Name)
		}
	}
	out = append(out, rolesOf(o)...)
	slices.Sort(out)
	return slices.Compact(out)
}

// GroupRoles are the names export asks the server about as group roles:
// those o shows the exported principals reach. Asking for them makes their
// own memberships known, which may reach more: the reads ask again until
// the list no longer grows.
func GroupRoles(o diff.Observed) []string { return rolesOf(o) }

func roleNode(r diff.ObservedRole) *yaml.Node {
	n := mapping("name", str(r.Name))
	if r.Comment != "" {
		n.Content = append(n.Content, str("comment"), str(r.Comment))
	}
	n.Content = append(n.Content, str("memberOf"), flowList(withoutAdminRole(r.MemberOf)))
	return n
}

func noteComment(notes []string) string {
	if len(notes) == 0 {
		return ""
	}
	return "Not exported, and so left alone by plans of this file:\n- " + strings.Join(notes, "\n- ")
}
