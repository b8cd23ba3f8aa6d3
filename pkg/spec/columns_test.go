package spec

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLoadColumns(t *testing.T) {
	got := grantsOf(t, `servers:
  - name: a
    host: h
    grants:
      - to: app
        databases: [d]
        schemas: [sales]
        profile: readonly
        columns:
          orders: {status: [update, Select, UPDATE], note: [all]}
          "2024": {id: [references]}
          lines: {qty: []}
`)
	want := []ColumnGrant{
		{Table: "2024", Column: "id", Privileges: []string{"REFERENCES"}},
		{Table: "lines", Column: "qty", Privileges: []string{}},
		{Table: "orders", Column: "note", Privileges: []string{"SELECT", "INSERT", "UPDATE", "REFERENCES"}},
		{Table: "orders", Column: "status", Privileges: []string{"SELECT", "UPDATE"}},
	}
	if len(got) != 1 {
		t.Fatalf("grants = %+v, want one", got)
	}
	if d := cmp.Diff(want, got[0].Columns); d != "" {
		t.Errorf("columns (-want +got):\n%s", d)
	}
}

func TestLoadColumnsErrors(t *testing.T) {
	body := `servers:
  - name: a
    host: k
    grants:
      - {to: x, databases: [d], database: [CONNECT], columns: {t: {v: [SELECT]}}}
      - {to: x, databases: [d], tables: [], columns: ~}
      - {to: x, databases: [d], tables: [], columns: [t]}
      - {to: x, databases: [d], tables: [], columns: {t: ~, u: [v]}}
      - {to: x, databases: [d], tables: [], columns: {t: {v: UPDATE, w: ~, x: {a: b}}}}
      - {to: x, databases: [d], tables: [], columns: {t: {v: [DELETE, usage, updte, true]}}}
      - {to: x, databases: [d], tables: [], columns: {"": {v: [SELECT]}, t: {"a\tb": [SELECT], ` + strings.Repeat("c", MaxNameBytes+1) + `: [SELECT]}}}
`
	writeFiles(t, map[string]string{"a.yaml": head + body})
	checkErrors(t, []string{"a.yaml"}, []wantErr{
		{Pos: "a.yaml:8:54", Server: "a", Msg: "columns belong to the tables cell, and this entry manages no tables; add tables (tables: [] for column privileges alone) or a profile that manages tables"},
		{Pos: "a.yaml:9:54", Server: "a", Msg: "columns has no value; map tables to their columns' privileges (columns: {orders: {status: [UPDATE]}}), or remove the key"},
		{Pos: "a.yaml:10:54", Server: "a", Msg: "columns must be a mapping (key: value lines), not a list"},
		{Pos: "a.yaml:11:58", Server: "a", Msg: "table t has no columns; map its columns to privileges ({status: [UPDATE]}), or remove it"},
		{Pos: "a.yaml:11:64", Server: "a", Msg: "table u under columns must be a mapping (key: value lines), not a list"},
		{Pos: "a.yaml:12:62", Server: "a", Msg: `column t.v must be a list of privileges, not the string "UPDATE"; write [UPDATE]`},
		{Pos: "a.yaml:12:73", Server: "a", Msg: "column t.w has no value; list its privileges (SELECT, INSERT, UPDATE, REFERENCES), or remove it"},
		{Pos: "a.yaml:12:79", Server: "a", Msg: "column t.x must be a list, not a mapping"},
		{Pos: "a.yaml:13:63", Server: "a", Msg: `privilege "DELETE" does not apply to a column, only to whole tables (under tables); a column takes SELECT, INSERT, UPDATE, REFERENCES, ALL`},
		{Pos: "a.yaml:13:71", Server: "a", Msg: `privilege "usage" does not apply to a column; a column takes SELECT, INSERT, UPDATE, REFERENCES, ALL`},
		{Pos: "a.yaml:13:78", Server: "a", Msg: `unknown privilege "updte" for a column; a column takes SELECT, INSERT, UPDATE, REFERENCES, ALL; did you mean "UPDATE"?`},
		{Pos: "a.yaml:13:85", Server: "a", Msg: "a privilege of column t.v must be a string, not the boolean true"},
		{Pos: "a.yaml:14:55", Server: "a", Msg: "a table is empty"},
		{Pos: "a.yaml:14:78", Server: "a", Msg: `a column "a\tb" contains a control character`},
		{Pos: "a.yaml:14:96", Server: "a", Msg: "is 64 bytes; PostgreSQL silently truncates names over 63 bytes"},
	})
}
