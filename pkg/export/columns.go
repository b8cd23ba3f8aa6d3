package export

import (
	"fmt"
	"slices"

	"gopkg.in/yaml.v3"

	"github.com/pgusers/pgusers/pkg/diff"
	"github.com/pgusers/pgusers/pkg/spec"
)

// columnsIn are the column privileges grantee holds in schema s of
// database db, as a grant entry's columns, sorted by table and column.
// Column privileges belong to the tables cell: when kinds (what grantee
// holds in s) has no tables, they are exported with tables: [], which
// says that grantee holds nothing on the whole tables, unless it holds
// some privilege on some of them only: then the cell cannot be written
// exactly, and the column privileges are noted instead.
func columnsIn(grantee, db string, s diff.ObservedSchema, kinds map[spec.Kind][]string) ([]spec.ColumnGrant, []string) {
	var out []spec.ColumnGrant
	for _, c := range s.Columns {
		if c.Owner == grantee {
			continue // an owner's own privileges are never a cell's
		}
		var privs []string
		for _, p := range c.ACL {
			if p.Grantee == grantee {
				privs = appendNew(privs, p.Privilege)
			}
		}
		if len(privs) > 0 {
			out = append(out, spec.ColumnGrant{Table: c.Table, Column: c.Column, Privileges: orderColumn(privs)})
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	if _, ok := kinds[spec.KindTables]; !ok {
		if slices.ContainsFunc(s.Holdings, func(h diff.Holding) bool { return h.Kind == spec.KindTables && h.Grantee == grantee }) {
			return nil, []string{fmt.Sprintf("%s holds column privileges in %s.%s, and privileges on some of its tables only: "+
				"the tables cell cannot be written exactly, so they are not exported", grantee, db, s.Name)}
		}
		kinds[spec.KindTables] = []string{}
	}
	return out, nil
}

// columnOptions are the privileges grantee holds with the grant option on
// columns of s (of tables it does not own).
func columnOptions(grantee string, s diff.ObservedSchema) []string {
	var out []string
	for _, c := range s.Columns {
		for _, p := range c.ACL {
			if p.Grantee == grantee && p.Grantable && c.Owner != grantee {
				out = appendNew(out, p.Privilege)
			}
		}
	}
	return out
}

// orderColumn sorts column privileges in spec.ColumnPrivileges order.
func orderColumn(privs []string) []string {
	var out []string
	for _, p := range spec.ColumnPrivileges {
		if slices.Contains(privs, p) {
			out = append(out, p)
		}
	}
	return out
}

// columnsNode is a grant entry's columns: table → column → privileges.
func columnsNode(cols []spec.ColumnGrant) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode}
	var table *yaml.Node
	for i, c := range cols {
		if i == 0 || cols[i-1].Table != c.Table {
			table = &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle}
			n.Content = append(n.Content, str(c.Table), table)
		}
		table.Content = append(table.Content, str(c.Column), flowList(c.Privileges))
	}
	return n
}

func sameColumn(a, b spec.ColumnGrant) bool {
	return a.Table == b.Table && a.Column == b.Column && slices.Equal(a.Privileges, b.Privileges)
}
