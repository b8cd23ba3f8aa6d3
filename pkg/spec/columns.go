package spec

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// ColumnGrant is what a grant entry declares on one column of a table (or
// view, materialized view, foreign or partitioned table) of each of its
// schemas. Column privileges belong to the entry's tables cell: a cell
// that is managed holds exactly the column privileges its entries declare,
// on top of what tables declares for every table.
type ColumnGrant struct {
	Table  string `json:"table"`
	Column string `json:"column"`
	// Privileges are upper case, in ColumnPrivileges order, without
	// duplicates; empty means none.
	Privileges []string `json:"privileges"`
}

// ColumnPrivileges are the privileges PostgreSQL grants on a column, in
// the order its GRANT documentation lists them. ALL on a column means
// these four.
var ColumnPrivileges = []string{"SELECT", "INSERT", "UPDATE", "REFERENCES"}

func compareColumnGrants(a, b ColumnGrant) int {
	return cmp.Or(strings.Compare(a.Table, b.Table), strings.Compare(a.Column, b.Column))
}

// columns reads a grant entry's columns: a mapping of table names to
// mappings of column names to privileges,
//
//	columns: {orders: {status: [UPDATE], note: [SELECT, UPDATE]}}
//
// sorted by table and column. False means something was refused.
func (d *decoder) columns(n *yaml.Node, sc scope) ([]ColumnGrant, bool) {
	r := d.resolve(n)
	if r == nil {
		return nil, false
	}
	if isNull(r) {
		d.errorf(r, sc, "columns has no value; map tables to their columns' privileges (columns: {orders: {status: [UPDATE]}}), or remove the key")
		return nil, false
	}
	tables, ok := d.mapping(r, sc, "columns")
	if !ok {
		return nil, false
	}
	var out []ColumnGrant
	for _, t := range tables {
		if msg := checkObjectName("a table", t.key); msg != "" {
			d.errorf(t.k, sc, "%s", msg)
			ok = false
			continue
		}
		tv := d.resolve(t.v)
		if tv != nil && isNull(tv) {
			d.errorf(tv, sc, "table %s has no columns; map its columns to privileges ({status: [UPDATE]}), or remove it", t.key)
			ok = false
			continue
		}
		cols, good := d.mapping(t.v, sc, fmt.Sprintf("table %s under columns", t.key))
		if !good {
			ok = false
			continue
		}
		for _, c := range cols {
			if msg := checkObjectName("a column", c.key); msg != "" {
				d.errorf(c.k, sc, "%s", msg)
				ok = false
				continue
			}
			privs, good := d.columnPrivileges(c.v, sc, t.key+"."+c.key)
			ok = ok && good
			out = append(out, ColumnGrant{Table: t.key, Column: c.key, Privileges: privs})
		}
	}
	slices.SortFunc(out, compareColumnGrants)
	return out, ok
}

// columnPrivileges reads the privileges of column where (table.column).
func (d *decoder) columnPrivileges(n *yaml.Node, sc scope, where string) ([]string, bool) {
	r := d.resolve(n)
	if r == nil {
		return nil, false
	}
	if isNull(r) {
		d.errorf(r, sc, "column %s has no value; list its privileges (%s), or remove it", where, strings.Join(ColumnPrivileges, ", "))
		return nil, false
	}
	if r.Kind == yaml.ScalarNode && r.ShortTag() == "!!str" {
		d.errorf(r, sc, "column %s must be a list of privileges, not %s; write [%s]", where, describe(r), r.Value)
		return nil, false
	}
	items, ok := d.sequence(r, sc, "column "+where)
	if !ok {
		return nil, false
	}
	named := map[string]bool{}
	for _, item := range items {
		s, good := d.str(item, sc, "a privilege of column "+where)
		if !good {
			ok = false
			continue
		}
		p, all, msg := parseColumnPrivilege(s)
		switch {
		case msg != "":
			d.errorf(item, sc, "%s", msg)
			ok = false
		case all:
			for _, p := range ColumnPrivileges {
				named[p] = true
			}
		default:
			named[p] = true
		}
	}
	privs := []string{}
	for _, p := range ColumnPrivileges {
		if named[p] {
			privs = append(privs, p)
		}
	}
	return privs, ok
}

// parseColumnPrivilege reads a privilege written for a column, in any
// case, as parsePrivilege does for a kind.
func parseColumnPrivilege(written string) (privilege string, all bool, msg string) {
	p := strings.Join(strings.Fields(asciiUpper(written)), " ")
	switch {
	case p == "ALL" || p == "ALL PRIVILEGES":
		return "", true, ""
	case slices.Contains(ColumnPrivileges, p):
		return p, false, ""
	}
	takes := strings.Join(append(slices.Clone(ColumnPrivileges), "ALL"), ", ")
	if slices.Contains(Privileges(KindTables), p) {
		return "", false, fmt.Sprintf("privilege %q does not apply to a column, only to whole tables (under tables); a column takes %s", written, takes)
	}
	if isPrivilege(p) {
		return "", false, fmt.Sprintf("privilege %q does not apply to a column; a column takes %s", written, takes)
	}
	return "", false, fmt.Sprintf("unknown privilege %q for a column; a column takes %s%s",
		written, takes, didYouMean(written, append(slices.Clone(ColumnPrivileges), "ALL")))
}

// UnionColumns merges column grants, each sorted by table and column,
// into one sorted list: a column named by both holds the union of their
// privileges. The result shares no slice with a or b.
func UnionColumns(a, b []ColumnGrant) []ColumnGrant {
	out := make([]ColumnGrant, len(a))
	for i, c := range a {
		out[i] = ColumnGrant{Table: c.Table, Column: c.Column, Privileges: slices.Clone(c.Privileges)}
	}
	for _, c := range b {
		i, found := slices.BinarySearchFunc(out, c, compareColumnGrants)
		if !found {
			out = slices.Insert(out, i, ColumnGrant{Table: c.Table, Column: c.Column, Privileges: slices.Clone(c.Privileges)})
			continue
		}
		merged := []string{}
		for _, p := range ColumnPrivileges {
			if slices.Contains(out[i].Privileges, p) || slices.Contains(c.Privileges, p) {
				merged = append(merged, p)
			}
		}
		out[i].Privileges = merged
	}
	return out
}
