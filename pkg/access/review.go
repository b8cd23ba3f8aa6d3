package access

import (
	"cmp"
	"slices"
	"strings"

	"github.com/pgusers/pgusers/pkg/spec"
)

// Sources that are not a membership path.
const (
	SourceDirect = "direct"
	SourceOwner  = "owner"
	SourcePublic = "PUBLIC"
	// Privileges that are not PostgreSQL's keywords.
	PrivilegeOwner  = "OWNER"
	PrivilegeMember = "MEMBER"
	PrivilegeSet    = "SET"
)

// Predefined roles whose members hold privileges on objects they were
// never granted: PostgreSQL's data roles, and Azure's azure_pg_admin, whose
// members "can manage roles and access objects owned by any nonrestricted
// role" (Azure's documentation): the owner's rights, short of being one.
const (
	ReadAllData  = "pg_read_all_data"
	WriteAllData = "pg_write_all_data"
)

// Review is one server's access review.
type Review struct {
	// Databases are those reviewed, sorted.
	Databases []string `json:"databases"`
	// Principals are the grantees reviewed, sorted by name.
	Principals []Principal `json:"principals"`
	// Rows are sorted as the CSV is.
	Rows     []Row     `json:"rows"`
	Findings []Finding `json:"findings"`
}

// Principal is a grantee of a review and what the files say of it.
type Principal struct {
	Name string `json:"name"`
	// Type is user, group or service (an Entra principal), role, or PUBLIC.
	Type string `json:"type"`
	// ObjectID is an Entra principal's object id.
	ObjectID string `json:"objectId,omitempty"`
	// Status is declared, undeclared or protected; PUBLIC is protected.
	Status string `json:"status"`
	Login  bool   `json:"login"`
}

// Row is one privilege a grantee holds, as a CSV line has it (the server
// aside).
type Row struct {
	Database    string `json:"database"`
	Grantee     string `json:"grantee"`
	GranteeType string `json:"granteeType"`
	Kind        Kind   `json:"kind"`
	Schema      string `json:"schema"`
	Object      string `json:"object"`
	Privilege   string `json:"privilege"`
	GrantOption bool   `json:"grantOption"`
	Source      string `json:"source"`
	Declared    bool   `json:"declared"`
	// Objects is, for object "*", how many objects of the kind the schema
	// has (every one of which the grantee holds it on).
	Objects int `json:"objects,omitempty"`
	// Of is, for an object of a kind the grantee holds the privilege on
	// some but not all of, how many the schema has: "3 of 2,000".
	Of int `json:"of,omitempty"`
}

// Options are what a review shows.
type Options struct {
	// Detail lists every object, never "*".
	Detail bool
	// Principals, when set, are the only grantees reviewed; what they hold
	// through PUBLIC is then listed as theirs (source PUBLIC).
	Principals []string
	// Objects, when set, keep only the rows about these objects (and their
	// columns); they imply Detail.
	Objects []Object
	// ExpandGroups asks Microsoft Graph for each group principal's members
	// (the run does; Compute lists them from Server.Directory).
	ExpandGroups bool
}

// Object names an object as --object does: DATABASE.SCHEMA.NAME, NAME a
// table, sequence or function (its name before the argument list).
type Object struct{ Database, Schema, Name string }

// reviewer computes one server's review.
type reviewer struct {
	srv      *Server
	decl     *declarations
	opt      Options
	graph    *graph
	grantees []string
	// granted are the grantees, as a set.
	granted map[string]bool
	heirs   map[string][]heir
	// entra are the Entra principals by name; roles the roles.
	entra map[string]EntraPrincipal
	roles map[string]Role
	// public are the grantees given what PUBLIC holds as theirs.
	public []string
	rows   []Row
}

// Compute reviews srv, as read, against its entry s of the files: the
// databases of srv that were read (Database.Read) and the server's roles.
func Compute(s spec.Server, srv *Server, opt Options) Review {
	if len(opt.Objects) > 0 {
		opt.Detail = true
	}
	r := &reviewer{srv: srv, decl: declare(s, srv.Version), opt: opt, graph: newGraph(srv.Edges),
		entra: map[string]EntraPrincipal{}, roles: map[string]Role{}, granted: map[string]bool{}}
	for _, p := range srv.Principals {
		r.entra[p.Name] = p
	}
	for _, role := range srv.Roles {
		r.roles[role.Name] = role
		if strings.HasPrefix(role.Name, "pg_") {
			continue // predefined: a source, not a grantee
		}
		if len(opt.Principals) == 0 || slices.Contains(opt.Principals, role.Name) {
			r.grantees = append(r.grantees, role.Name)
			r.granted[role.Name] = true
		}
	}
	if len(opt.Principals) > 0 {
		r.public = r.grantees
	}
	r.heirs = r.graph.heirs(r.grantees)
	// Empty lists are [] in the JSON, never null.
	rv := Review{Databases: []string{}, Principals: []Principal{}}
	for _, g := range r.grantees {
		rv.Principals = append(rv.Principals, r.principal(g))
	}
	if len(opt.Principals) == 0 || slices.Contains(opt.Principals, spec.Public) {
		rv.Principals = append(rv.Principals, Principal{Name: spec.Public, Type: spec.Public, Status: Protected})
		r.heirs[spec.Public] = []heir{{grantee: spec.Public}}
	}
	r.attributes()
	r.memberships()
	for i := range srv.Databases {
		if db := &srv.Databases[i]; db.Read {
			rv.Databases = append(rv.Databases, db.Name)
			r.database(db)
		}
	}
	rv.Principals = r.expandGroups(rv.Principals)
	slices.SortFunc(rv.Principals, func(a, b Principal) int { return strings.Compare(a.Name, b.Name) })
	rv.Rows = SortRows(filterObjects(r.rows, opt.Objects))
	rv.Findings = append(findings(rv.Rows), r.directoryFindings()...)
	sortFindings(rv.Findings)
	if rv.Rows == nil {
		rv.Rows = []Row{}
	}
	if rv.Findings == nil {
		rv.Findings = []Finding{}
	}
	return rv
}

func (r *reviewer) principal(name string) Principal {
	p := Principal{Name: name, Type: r.granteeType(name), Status: r.decl.status(name), Login: r.roles[name].Login}
	if e, ok := r.entra[name]; ok {
		p.ObjectID = e.ObjectID
	}
	return p
}

// granteeType is the CSV's grantee_type of name.
func (r *reviewer) granteeType(name string) string {
	if name == spec.Public {
		return spec.Public
	}
	// Only the types the CSV's contract has: a type pgaadauth may add
	// later, or a server's odd value, is a plain role's.
	switch e := r.entra[name]; spec.PrincipalType(e.Type) {
	case spec.User, spec.Group, spec.Service:
		return e.Type
	}
	return "role"
}

// attributes are the roles' attributes worth an auditor's eye.
func (r *reviewer) attributes() {
	for _, g := range r.grantees {
		role := r.roles[g]
		_, entra := r.entra[g]
		for _, a := range []struct {
			name string
			has  bool
		}{
			{"SUPERUSER", role.Super}, {"CREATEROLE", role.CreateRole}, {"CREATEDB", role.CreateDB},
			{"REPLICATION", role.Replication}, {"BYPASSRLS", role.BypassRLS}, {"LOGIN", role.Login},
			{"NOINHERIT", !role.Inherit},
		} {
			if a.has {
				r.rows = append(r.rows, Row{Grantee: g, GranteeType: r.granteeType(g), Kind: KindAttribute, Object: a.name,
					Privilege: a.name, Source: SourceDirect, Declared: r.decl.attribute(g, a.name, entra)})
			}
		}
	}
}

// memberships are the roles each grantee is a member of, directly or not:
// MEMBER where it has their privileges, SET where it may only SET ROLE to
// them.
func (r *reviewer) memberships() {
	for _, g := range r.grantees {
		for _, set := range []bool{false, true} {
			reaches, privilege := r.graph.inherits[g], PrivilegeMember
			if set {
				reaches, privilege = r.graph.setOnly[g], PrivilegeSet
			}
			for target, p := range reaches {
				r.rows = append(r.rows, Row{Grantee: g, GranteeType: r.granteeType(g), Kind: KindMembership, Object: target,
					Privilege: privilege, GrantOption: p.Admin, Source: memberSource(p.Path[:len(p.Path)-1], SourceDirect),
					Declared: r.decl.chain(g, p.Path)})
			}
		}
	}
}

// target is what a row is about.
type target struct {
	database, schema string
	kind             Kind
	object           string
}

// emit adds the rows of what the heirs of e.Grantee have through it on
// t: declared says whether the files declare e.Grantee's privilege.
func (r *reviewer) emit(t target, e Entry, declared bool) {
	for _, h := range r.heirs[e.Grantee] {
		r.rows = append(r.rows, Row{Database: t.database, Grantee: h.grantee, GranteeType: r.granteeType(h.grantee),
			Kind: t.kind, Schema: t.schema, Object: t.object, Privilege: e.Privilege, GrantOption: e.Grantable,
			Source: memberSource(h.path, SourceDirect), Declared: declared && r.decl.chain(h.grantee, h.path)})
	}
	if e.Grantee == spec.Public {
		for _, g := range r.public {
			r.rows = append(r.rows, Row{Database: t.database, Grantee: g, GranteeType: r.granteeType(g),
				Kind: t.kind, Schema: t.schema, Object: t.object, Privilege: e.Privilege, GrantOption: e.Grantable,
				Source: SourcePublic, Declared: declared})
		}
	}
}

// ownerSources are who has an owner's rights on what owner owns, and the
// source of each.
func (r *reviewer) ownerSources(owner string) []heir {
	out := slices.Clone(r.heirs[owner])
	if !r.restricted(owner) {
		for _, h := range r.heirs[spec.AdminRole] {
			if h.grantee != spec.AdminRole {
				out = append(out, heir{grantee: h.grantee, path: []string{"predefined " + spec.AdminRole}})
			}
		}
	}
	return out
}

// restricted reports whether azure_pg_admin's members cannot reach what
// role owns: a superuser's or a reserved role's.
func (r *reviewer) restricted(role string) bool {
	return r.roles[role].Super || spec.Reserved(role)
}

func ownerSource(h heir) string {
	if len(h.path) == 1 && strings.HasPrefix(h.path[0], "predefined ") {
		return h.path[0]
	}
	return memberSource(h.path, SourceOwner)
}

func (r *reviewer) owned(t target, owner string) {
	for _, h := range r.ownerSources(owner) {
		r.rows = append(r.rows, Row{Database: t.database, Grantee: h.grantee, GranteeType: r.granteeType(h.grantee),
			Kind: t.kind, Schema: t.schema, Object: t.object, Privilege: PrivilegeOwner, GrantOption: true,
			Source: ownerSource(h)})
	}
}

// predefined gives the members of a data role its privilege.
func (r *reviewer) predefined(t target, role string, privileges ...string) {
	for _, h := range r.heirs[role] {
		if h.grantee == role {
			continue
		}
		for _, p := range privileges {
			r.rows = append(r.rows, Row{Database: t.database, Grantee: h.grantee, GranteeType: r.granteeType(h.grantee),
				Kind: t.kind, Schema: t.schema, Object: t.object, Privilege: p, Source: "predefined " + role})
		}
	}
}

func (r *reviewer) database(db *Database) {
	t := target{database: db.Name, kind: KindDatabase, object: db.Name}
	for _, e := range db.ACL {
		r.emit(t, e, r.decl.privilege(e.Grantee, db.Name, KindDatabase, "", e.Privilege))
	}
	r.owned(t, db.Owner)
	for _, s := range db.Schemas {
		t := target{database: db.Name, schema: s.Name, kind: KindSchema, object: s.Name}
		for _, e := range s.ACL {
			r.emit(t, e, r.decl.privilege(e.Grantee, db.Name, KindSchema, s.Name, e.Privilege))
		}
		r.owned(t, s.Owner)
		r.predefined(t, ReadAllData, "USAGE")
		r.predefined(t, WriteAllData, "USAGE")
	}
	r.objects(db)
	for _, c := range db.Columns {
		t := target{database: db.Name, schema: c.Schema, kind: KindColumn, object: c.Table + "." + c.Column}
		r.emit(t, Entry{Grantee: c.Grantee, Privilege: c.Privilege, Grantable: c.Grantable}, false)
	}
	for _, d := range db.Defaults {
		t := target{database: db.Name, schema: d.Schema, kind: KindDefault, object: d.On + " by " + d.Owner}
		r.emitDefault(t, db.Name, d)
	}
}

func (r *reviewer) emitDefault(t target, database string, d Default) {
	e := Entry{Grantee: d.Grantee, Privilege: d.Privilege, Grantable: d.Grantable}
	if d.Grantee == spec.Public {
		r.emit(t, e, r.decl.defaultPrivilege(spec.Public, database, d))
		return
	}
	for _, h := range r.heirs[d.Grantee] {
		r.rows = append(r.rows, Row{Database: t.database, Grantee: h.grantee, GranteeType: r.granteeType(h.grantee),
			Kind: t.kind, Schema: t.schema, Object: t.object, Privilege: e.Privilege, GrantOption: e.Grantable,
			Source:   memberSource(h.path, SourceDirect),
			Declared: r.decl.defaultPrivilege(d.Grantee, database, d) && r.decl.chain(h.grantee, h.path)})
	}
}

// objects adds the rows of the tables, sequences and functions of db:
// per schema and kind, a privilege held on every object is one row "*"
// (unless Detail), else a row per object.
func (r *reviewer) objects(db *Database) {
	for lo := 0; lo < len(db.Groups); {
		hi := lo + 1
		for hi < len(db.Groups) && db.Groups[hi].Schema == db.Groups[lo].Schema && db.Groups[hi].Kind == db.Groups[lo].Kind {
			hi++
		}
		r.kindInSchema(db.Name, db.Groups[lo:hi])
		lo = hi
	}
}

// kindInSchema adds the rows of groups, every group of one kind in one
// schema.
func (r *reviewer) kindInSchema(database string, groups []Group) {
	total := 0
	for _, g := range groups {
		total += len(g.Names)
	}
	// The rows of each group, made once for a placeholder object, then
	// gathered per row: a privilege every group gives is one row "*".
	type held struct {
		row    Row
		groups []int
	}
	byRow := map[Row]*held{}
	var order []Row
	for gi, g := range groups {
		before := len(r.rows)
		t := target{database: database, schema: g.Schema, kind: g.Kind}
		for _, e := range g.ACL {
			r.emit(t, e, r.decl.privilege(e.Grantee, database, g.Kind, g.Schema, e.Privilege))
		}
		r.owned(t, g.Owner)
		switch g.Kind {
		case KindTable:
			r.predefined(t, ReadAllData, "SELECT")
			r.predefined(t, WriteAllData, "INSERT", "UPDATE", "DELETE")
		case KindSequence:
			r.predefined(t, ReadAllData, "SELECT")
			r.predefined(t, WriteAllData, "UPDATE")
		}
		for _, row := range r.rows[before:] {
			h := byRow[row]
			if h == nil {
				h = &held{row: row}
				byRow[row] = h
				order = append(order, row)
			}
			if len(h.groups) == 0 || h.groups[len(h.groups)-1] != gi {
				h.groups = append(h.groups, gi)
			}
		}
		r.rows = r.rows[:before]
	}
	for _, key := range order {
		h := byRow[key]
		n := 0
		for _, gi := range h.groups {
			n += len(groups[gi].Names)
		}
		if n == total && !r.opt.Detail {
			row := h.row
			row.Object, row.Objects = "*", total
			r.rows = append(r.rows, row)
			continue
		}
		for _, gi := range h.groups {
			for _, name := range groups[gi].Names {
				row := h.row
				row.Object = name
				if n < total {
					row.Of = total
				}
				r.rows = append(r.rows, row)
			}
		}
	}
}

// filterObjects keeps the rows about objects, or every row when there is
// none.
func filterObjects(rows []Row, objects []Object) []Row {
	if len(objects) == 0 {
		return rows
	}
	return slices.DeleteFunc(rows, func(row Row) bool {
		for _, o := range objects {
			if row.Database != o.Database || row.Schema != o.Schema {
				continue
			}
			name := row.Object
			switch row.Kind {
			case KindColumn:
				name, _, _ = strings.Cut(name, ".")
			case KindFunction:
				name, _, _ = strings.Cut(name, "(")
			case KindTable, KindSequence:
			default:
				continue
			}
			if name == o.Name {
				return false
			}
		}
		return true
	})
}

// SortRows sorts rows as the CSV is sorted, by its columns in order, and
// drops repeats.
func SortRows(rows []Row) []Row {
	slices.SortFunc(rows, compareRows)
	return slices.Compact(rows)
}

func compareRows(a, b Row) int {
	return cmp.Or(strings.Compare(a.Database, b.Database), strings.Compare(a.Grantee, b.Grantee),
		strings.Compare(a.GranteeType, b.GranteeType), strings.Compare(string(a.Kind), string(b.Kind)),
		strings.Compare(a.Schema, b.Schema), strings.Compare(a.Object, b.Object), strings.Compare(a.Privilege, b.Privilege),
		strings.Compare(boolString(a.GrantOption), boolString(b.GrantOption)), strings.Compare(a.Source, b.Source),
		strings.Compare(boolString(a.Declared), boolString(b.Declared)))
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
