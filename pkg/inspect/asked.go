package inspect

import (
	"slices"

	"github.com/pgusers/pgusers/pkg/spec"
)

// Asked is what a plan for one server asks of it, beyond its Entra
// principals: which names exist as roles, and what each database the
// grants name holds of their cells.
type Asked struct {
	// Names are the roles whose existence matters to the plan: principals,
	// group roles and their memberOf roles, reassignOwnedTo, grantees and
	// the owners named by defaultsFor. Sorted, without duplicates.
	Names []string `json:"names"`
	// Scopes are the databases the grants name, sorted by database.
	Scopes []Scope `json:"scopes,omitempty"`
}

// Scope is what the grants ask of one database.
type Scope struct {
	Database string `json:"database"`
	// Schemas are those of the grants' schema-level kinds and defaults.
	Schemas []string `json:"schemas,omitempty"`
	// AllSchemas asks for every schema that is not the system's (all but
	// pg_catalog, information_schema, pg_toast* and pg_temp*), Schemas or
	// not: what export reads. Ask never sets it.
	AllSchemas bool `json:"allSchemas,omitempty"`
	// Grantees are every grantee of the database's cells; spec.Public
	// for PUBLIC.
	Grantees []string `json:"grantees"`
	// Owners are the owners named by defaultsFor in this database.
	Owners []string `json:"owners,omitempty"`
	// Columns are the columns the grants declare privileges on, sorted.
	Columns []ColumnRef `json:"columns,omitempty"`
	// PublicColumns asks for PUBLIC's column privileges: PUBLIC has a
	// tables cell here. They cost a scan of every column of the database,
	// which no other grantee's do.
	PublicColumns bool `json:"publicColumns,omitempty"`
}

// ReadsObjects reports whether the database itself must be read
// (ReadDatabase): its grants name schema-level kinds or default
// privileges, or it asks for every schema. Database-level privileges alone
// are read from the shared catalog.
func (s Scope) ReadsObjects() bool { return len(s.Schemas) > 0 || len(s.Owners) > 0 || s.AllSchemas }

// Ask is what a plan for s asks of its server.
func Ask(s spec.Server) Asked {
	var names []string
	for _, p := range s.Principals {
		names = append(names, p.Name)
		names = append(names, p.MemberOf...)
	}
	former := formerNames(s)
	for _, old := range former {
		names = append(names, old)
	}
	for _, r := range s.Roles {
		names = append(names, r.Name)
		names = append(names, r.MemberOf...)
	}
	if s.ReassignOwnedTo != "" {
		names = append(names, s.ReassignOwnedTo)
	}
	scopes := map[string]*Scope{}
	for _, g := range s.Grants {
		if g.To != spec.Public {
			names = append(names, g.To)
		}
		names = append(names, g.DefaultsFor...)
		inSchema := false
		for _, k := range g.Kinds {
			inSchema = inSchema || k.Kind.InSchema()
		}
		for _, db := range g.Databases {
			sc := scopes[db]
			if sc == nil {
				sc = &Scope{Database: db}
				scopes[db] = sc
			}
			sc.Grantees = withFormer(append(sc.Grantees, g.To), former, g.To)
			if inSchema {
				sc.Schemas = append(sc.Schemas, g.Schemas...)
			}
			sc.Owners = withFormer(append(sc.Owners, g.DefaultsFor...), former, g.DefaultsFor...)
			askColumns(sc, g)
		}
	}
	a := Asked{Names: sortedSet(names)}
	for _, sc := range scopes {
		sc.Schemas, sc.Grantees, sc.Owners = sortedSet(sc.Schemas), sortedSet(sc.Grantees), sortedSet(sc.Owners)
		sc.Columns = sortColumnRefs(sc.Columns)
		a.Scopes = append(a.Scopes, *sc)
	}
	slices.SortFunc(a.Scopes, func(x, y Scope) int {
		switch {
		case x.Database < y.Database:
			return -1
		case x.Database > y.Database:
			return 1
		}
		return 0
	})
	return a
}

// formerNames maps each principal the files rename (renamedFrom) to its
// former name: until the plan's rename runs, what the principal holds,
// owns and is a member of is on the server under that name, and the plan
// must see it to compare the declaration with it.
func formerNames(s spec.Server) map[string]string {
	former := map[string]string{}
	for _, p := range s.Principals {
		if p.RenamedFrom != "" {
			former[p.Name] = p.RenamedFrom
		}
	}
	return former
}

// withFormer appends to list the former name of each of names that has
// one.
func withFormer(list []string, former map[string]string, names ...string) []string {
	for _, n := range names {
		if old, ok := former[n]; ok {
			list = append(list, old)
		}
	}
	return list
}

// Scope returns the scope of database db, if the grants name it.
func (a Asked) Scope(db string) (Scope, bool) {
	i, ok := slices.BinarySearchFunc(a.Scopes, db, func(s Scope, db string) int {
		switch {
		case s.Database < db:
			return -1
		case s.Database > db:
			return 1
		}
		return 0
	})
	if !ok {
		return Scope{}, false
	}
	return a.Scopes[i], true
}

func sortedSet(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}
