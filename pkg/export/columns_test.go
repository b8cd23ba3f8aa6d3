package export

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/pgusers/pgusers/pkg/diff"
	"github.com/pgusers/pgusers/pkg/spec"
)

// Column privileges are exported with the tables cell they belong to.
func TestGrantsExportColumns(t *testing.T) {
	update := diff.Privilege{Grantee: "ro", Privilege: "UPDATE"}
	refs := diff.Privilege{Grantee: "ro", Privilege: "REFERENCES"}
	schema := func(name string, holdings []diff.Holding, cols ...diff.ObservedColumn) diff.ObservedSchema {
		return diff.ObservedSchema{Name: name, Owner: "app_owner",
			Objects:  []diff.ObjectCount{{Kind: spec.KindTables, Owner: "app_owner", Count: 2}},
			Holdings: holdings, Columns: cols}
	}
	all := func(p string) diff.Holding {
		return diff.Holding{Kind: spec.KindTables, Grantee: "ro", Privilege: p, Count: 2}
	}
	db := diff.ObservedDatabase{Name: "orders", Exists: true, Read: true, Schemas: []diff.ObservedSchema{
		// SELECT on every table, and column privileges, one redundant.
		schema("a", []diff.Holding{all("SELECT")},
			diff.ObservedColumn{Table: "t1", Column: "v", Owner: "app_owner", ACL: []diff.Privilege{refs, update}},
			diff.ObservedColumn{Table: "t1", Column: "w", Owner: "app_owner", ACL: []diff.Privilege{{Grantee: "ro", Privilege: "SELECT"}}},
			diff.ObservedColumn{Table: "t2", Column: "v", Owner: "app_owner", ACL: []diff.Privilege{{Grantee: "other", Privilege: "SELECT"}}},
			diff.ObservedColumn{Table: "mine", Column: "v", Owner: "ro", ACL: []diff.Privilege{update}}),
		// Column privileges alone: tables: [].
		schema("b", nil, diff.ObservedColumn{Table: "t1", Column: "v", Owner: "app_owner", ACL: []diff.Privilege{update}}),
		// And with DELETE on one table of two: the cell cannot be written.
		schema("c", []diff.Holding{{Kind: spec.KindTables, Grantee: "ro", Privilege: "DELETE", Count: 1}},
			diff.ObservedColumn{Table: "t1", Column: "v", Owner: "app_owner", ACL: []diff.Privilege{update}}),
	}}
	entries, notes := grants([]string{"ro"}, Databases{db}, 150004)
	var got []string
	for _, e := range entries {
		b, err := yaml.Marshal(grantNode(e, 150004))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(b))
	}
	want := []string{
		"to: ro\ndatabases: [orders]\nschemas: [a]\ntables: [SELECT]\ncolumns:\n    t1: {v: [UPDATE, REFERENCES], w: [SELECT]}\n",
		"to: ro\ndatabases: [orders]\nschemas: [b]\ntables: []\ncolumns:\n    t1: {v: [UPDATE]}\n",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("entries (-want +got):\n%s", d)
	}
	if len(notes) != 2 || !strings.Contains(notes[1], "ro holds column privileges in orders.c, and privileges on some of its tables only") {
		t.Errorf("notes = %q, want the DELETE on 1 of 2 tables and the column privileges of c", notes)
	}
}
