package diff

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pgusers/pgusers/pkg/spec"
)

func TestColumnPrivileges(t *testing.T) {
	pos := spec.Position{File: "f.yaml", Line: 4, Column: 7}
	grant := func(tables []string, cols ...spec.ColumnGrant) spec.Grant {
		return spec.Grant{To: "readers", Databases: []string{"orders"}, Schemas: []string{"public"},
			Kinds: kinds(kg(spec.KindTables, tables...)), Columns: cols, Pos: pos}
	}
	col := func(table, column string, privs ...string) spec.ColumnGrant {
		if privs == nil {
			privs = []string{}
		}
		return spec.ColumnGrant{Table: table, Column: column, Privileges: privs}
	}
	// db is orders whose tables readers holds tables (on all 2000), and
	// whose columns are cols.
	db := func(tables []string, cols ...ObservedColumn) Observed {
		var hs []Holding
		for _, p := range tables {
			hs = append(hs, Holding{Kind: spec.KindTables, Grantee: "readers", Privilege: p, Count: 2000})
		}
		d := ordersDB(nil, nil, hs, nil)
		d.Schemas[0].Columns = cols
		return privObserved(d)
	}
	held := func(table, column, owner string, acl ...Privilege) ObservedColumn {
		return ObservedColumn{Table: table, Column: column, Owner: owner, ACL: acl}
	}
	update := Privilege{Grantee: "readers", Privilege: "UPDATE"}
	selectOption := Privilege{Grantee: "readers", Privilege: "SELECT", Grantable: true}
	change := func(a Action, table, column string, privs []string, option bool, reason, sql string) Change {
		return Change{Action: a, Grantee: "readers", Database: "orders", On: spec.KindTables, Schema: "public",
			Table: table, Column: column, Privileges: privs, GrantOption: option, In: "orders", Reason: reason,
			Statements: []Statement{{SQL: sql}}}
	}
	lent := []Lend{{In: "orders", Roles: []string{"app_owner"}}}
	tests := map[string]struct {
		grant spec.Grant
		seen  Observed
		want  []Change
		lends []Lend
	}{
		"an undeclared column privilege in a managed cell is revoked": {
			grant: grant([]string{"SELECT"}),
			seen:  db([]string{"SELECT"}, held("t1", "v", "app_owner", update)),
			want: []Change{change(RevokePrivileges, "t1", "v", []string{"UPDATE"}, false,
				"not declared in columns, held on column v of table public.t1 in database orders",
				`REVOKE UPDATE ("v") ON TABLE "public"."t1" FROM "readers"`)},
			lends: lent,
		},
		"a declared column privilege is granted, with the table's owner lent": {
			grant: grant([]string{"SELECT"}, col("t1", "v", "SELECT", "UPDATE")),
			seen:  db([]string{"SELECT"}, held("t1", "v", "app_owner", update)),
			want: []Change{change(GrantPrivileges, "t1", "v", []string{"SELECT"}, false,
				"declared in columns, not held on column v of table public.t1 in database orders",
				`GRANT SELECT ("v") ON TABLE "public"."t1" TO "readers"`)},
			lends: lent,
		},
		"declared and held is in sync, redundant with the tables' or not": {
			grant: grant([]string{"SELECT"}, col("t1", "v", "SELECT", "UPDATE")),
			seen:  db([]string{"SELECT"}, held("t1", "v", "app_owner", Privilege{Grantee: "readers", Privilege: "SELECT"}, update)),
		},
		"a grant option on a declared column privilege is taken away": {
			grant: grant([]string{}, col("t1", "w", "SELECT")),
			seen:  db(nil, held("t1", "w", "app_owner", selectOption)),
			want: []Change{change(RevokePrivileges, "t1", "w", []string{"SELECT"}, true,
				"declared in columns without the grant option, held with it on column w of table public.t1 in database orders",
				`REVOKE GRANT OPTION FOR SELECT ("w") ON TABLE "public"."t1" FROM "readers"`)},
			lends: lent,
		},
		"a revoke on the whole tables grants the declared column privileges again": {
			grant: grant([]string{"SELECT"}, col("t1", "v", "UPDATE"), col("t2", "w", "UPDATE")),
			seen: db([]string{"SELECT", "UPDATE"}, held("t1", "v", "app_owner", update), held("t2", "w", "app_owner"),
				held("t3", "x", "app_owner", update)),
			want: []Change{{Action: RevokePrivileges, Grantee: "readers", Database: "orders", On: spec.KindTables, Schema: "public",
				Privileges: []string{"UPDATE"}, In: "orders",
				Reason: "not declared, UPDATE held on 2000 of 2000 tables; the revoke takes these privileges from the tables' columns too, " +
					"and the declared ones are granted again: UPDATE (v) on public.t1, UPDATE (w) on public.t2",
				Statements: []Statement{{SQL: `REVOKE UPDATE ON ALL TABLES IN SCHEMA "public" FROM "readers"`},
					{SQL: `GRANT UPDATE ("v") ON TABLE "public"."t1" TO "readers"`},
					{SQL: `GRANT UPDATE ("w") ON TABLE "public"."t2" TO "readers"`}}}},
			lends: lent,
		},
		"the grantee's own table is not its cell's": {
			grant: grant([]string{}, col("t1", "v", "SELECT")),
			seen:  db(nil, held("t1", "v", "readers"), held("t2", "v", "readers")),
		},
		"a column privilege of another grantee is left alone": {
			grant: grant([]string{}),
			seen:  db(nil, held("t1", "v", "app_owner", Privilege{Grantee: "someone", Privilege: "UPDATE"})),
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Compute(grantServer([]spec.Grant{tt.grant}), tt.seen)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got.Changes); d != "" {
				t.Errorf("changes (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.lends, got.Lends); d != "" {
				t.Errorf("lends (-want +got):\n%s", d)
			}
		})
	}
}

func TestColumnPrivilegesUnionAcrossEntries(t *testing.T) {
	a := spec.Grant{To: "readers", Databases: []string{"orders"}, Schemas: []string{"public"}, Kinds: kinds(kg(spec.KindTables, "SELECT")),
		Columns: []spec.ColumnGrant{{Table: "t1", Column: "v", Privileges: []string{"UPDATE"}}}}
	b := a
	b.Columns = []spec.ColumnGrant{{Table: "t1", Column: "v", Privileges: []string{"SELECT"}}, {Table: "t2", Column: "a", Privileges: []string{"INSERT"}}}
	cells, _ := Cells(grantServer([]spec.Grant{a, b}), pg15)
	want := []spec.ColumnGrant{{Table: "t1", Column: "v", Privileges: []string{"SELECT", "UPDATE"}}, {Table: "t2", Column: "a", Privileges: []string{"INSERT"}}}
	if len(cells) != 1 {
		t.Fatalf("cells = %+v, want one", cells)
	}
	if d := cmp.Diff(want, cells[0].Columns); d != "" {
		t.Errorf("columns (-want +got):\n%s", d)
	}
}

func TestColumnPrivilegesRefuse(t *testing.T) {
	g := spec.Grant{To: "readers", Databases: []string{"orders"}, Schemas: []string{"public"}, Kinds: kinds(kg(spec.KindTables)),
		Columns: []spec.ColumnGrant{{Table: "t1", Column: "nope", Privileges: []string{"SELECT"}}},
		Pos:     spec.Position{File: "f.yaml", Line: 4, Column: 7}}
	d := ordersDB(nil, nil, nil, nil)
	d.Schemas[0].Columns = []ObservedColumn{{Table: "t1", Column: "v", Owner: "app_owner"}}
	_, err := Compute(grantServer([]spec.Grant{g}), privObserved(d))
	want := "grants to readers: table t1 in schema public of database orders has no column nope, or there is no such table: " +
		"create it, or remove it from columns (declared at f.yaml:4:7)"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error = %v\nwant one saying %q", err, want)
	}
}
