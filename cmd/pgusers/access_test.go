package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pgusers/pgusers/internal/pgtest"
	"github.com/pgusers/pgusers/pkg/access"
)

// accessFixture is the shop of privileges_test.go, applied (its next plan
// empty), then changed behind pgusers' back as reviews find servers: a
// NOINHERIT login in orders_ro, a column privilege, PUBLIC allowed to
// CREATE in a schema, reporting in pg_read_all_data, and a table owned by
// a person's login.
func accessFixture(t *testing.T) (*fixture, string) {
	t.Helper()
	f := shopFixture(t)
	file := f.file(t, "shop.yaml", fmt.Sprintf(shopFile, pgtest.ObjectID("app-api")))
	applyConverged(t, f.env, []string{"-f", file})
	f.createPrincipal(t, "alice@contoso.com", "user", false)
	f.c.SuperExec(t, `CREATE ROLE noinh LOGIN NOINHERIT IN ROLE orders_ro`)
	f.c.SuperExec(t, `GRANT pg_read_all_data TO reporting`)
	f.c.SuperExec(t, `GRANT reporting TO "alice@contoso.com"`)
	f.c.SuperExecIn(t, "orders",
		`GRANT UPDATE (id) ON sales.s2 TO someone`,
		`GRANT CREATE ON SCHEMA sales TO PUBLIC`,
		`GRANT CREATE ON SCHEMA public TO "alice@contoso.com"`,
		`SET ROLE "alice@contoso.com"`,
		`CREATE TABLE public.scratch (id int)`,
		`RESET ROLE`,
	)
	return f, file
}

func csvRows(t *testing.T, stdout string) []string {
	t.Helper()
	records, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
	if err != nil {
		t.Fatalf("stdout is not CSV: %v\n%s", err, stdout)
	}
	if diff := cmp.Diff(access.CSVHeader, records[0]); diff != "" {
		t.Fatalf("header (-want +got):\n%s", diff)
	}
	var out []string
	for _, r := range records[1:] {
		out = append(out, strings.Join(r, ","))
	}
	if !slices.IsSorted(out) {
		t.Errorf("the rows are not sorted by their columns")
	}
	return out
}

func mustHave(t *testing.T, got []string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("missing %q", w)
		}
	}
}

func TestAccessReviewsEffectivePrivilegesWithTheirSource(t *testing.T) {
	f, file := accessFixture(t)
	r := pgusers(t, f.env, "access", "-f", file, "--output", "csv", "--database", "orders", "--database", "billing")
	wantCode(t, r, exitOK)
	rows := csvRows(t, r.stdout)
	mustHave(t, rows,
		// Held directly, declared; and through two memberships.
		"local,orders,orders_ro,role,table,sales,*,SELECT,false,direct,true",
		"local,orders,app-api,service,table,sales,*,SELECT,false,member of orders_rw > orders_ro,true",
		"local,orders,app-api,service,table,sales,*,UPDATE,false,member of orders_rw,true",
		// A new table of alice's in public: SELECT on 3 of 4, each named.
		"local,orders,orders_ro,role,table,public,t1,SELECT,false,direct,true",
		"local,orders,alice@contoso.com,user,table,public,scratch,OWNER,true,owner,false",
		// NOINHERIT: orders_ro only through SET ROLE, nothing of it held.
		"local,,noinh,role,membership,,orders_ro,SET,false,direct,false",
		"local,,noinh,role,attribute,,NOINHERIT,NOINHERIT,false,direct,false",
		// Predefined, column, PUBLIC, default privileges, the database owner.
		"local,orders,alice@contoso.com,user,table,sales,*,SELECT,false,predefined pg_read_all_data,false",
		"local,orders,someone,role,column,sales,s2.id,UPDATE,false,direct,false",
		"local,orders,PUBLIC,PUBLIC,schema,sales,sales,CREATE,false,direct,false",
		"local,orders,orders_rw,role,default,sales,tables by app_owner,INSERT,false,direct,true",
		"local,orders,app_owner,role,database,,orders,OWNER,true,owner,false",
		"local,billing,someone,role,table,public,t2,DELETE,false,direct,false",
		"local,,app-api,service,membership,,orders_rw,MEMBER,false,direct,true",
	)
	for _, row := range rows {
		if strings.HasPrefix(row, "local,orders,noinh,") {
			t.Errorf("noinh holds what only SET ROLE gives: %s", row)
		}
		if strings.HasPrefix(row, "local,postgres,") {
			t.Errorf("a database not asked for was reviewed: %s", row)
		}
	}

	r = pgusers(t, f.env, "access", "-f", file, "--output", "json", "--database", "orders")
	wantCode(t, r, exitOK)
	var doc access.Document
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatal(err)
	}
	var findings []string
	for _, fd := range doc.Servers[0].Findings {
		findings = append(findings, fd.Check+" "+fd.Grantee+" "+fd.Database)
	}
	mustHave(t, findings,
		"attribute pgadmin@contoso.com ", // CREATEROLE, CREATEDB
		"azure_pg_admin pgadmin@contoso.com ",
		"public_create PUBLIC orders",
		"person_owns alice@contoso.com orders",
		"undeclared someone orders",
	)
	if doc.Version != 1 {
		t.Errorf("pgusersAccess %d, want 1", doc.Version)
	}
}

func TestAccessFilters(t *testing.T) {
	f, file := accessFixture(t)
	// What can alice do? Also what she holds through PUBLIC.
	r := pgusers(t, f.env, "access", "-f", file, "--output", "csv", "--principal", "alice@contoso.com")
	wantCode(t, r, exitOK)
	rows := csvRows(t, r.stdout)
	mustHave(t, rows,
		"local,orders,alice@contoso.com,user,database,,orders,CONNECT,false,PUBLIC,false",
		"local,orders,alice@contoso.com,user,schema,sales,sales,CREATE,false,PUBLIC,false",
		"local,,alice@contoso.com,user,membership,,pg_read_all_data,MEMBER,false,member of reporting,false")
	for _, row := range rows {
		if !strings.HasPrefix(row, "local,") || strings.Split(row, ",")[2] != "alice@contoso.com" {
			t.Errorf("a row of another grantee: %s", row)
		}
	}
	// Who can touch orders.sales.s2, and how?
	r = pgusers(t, f.env, "access", "-f", file, "--output", "csv", "--object", "orders.sales.s2")
	wantCode(t, r, exitOK)
	rows = csvRows(t, r.stdout)
	mustHave(t, rows,
		"local,orders,orders_ro,role,table,sales,s2,SELECT,false,direct,true",
		"local,orders,someone,role,column,sales,s2.id,UPDATE,false,direct,false",
		"local,orders,app_owner,role,table,sales,s2,OWNER,true,owner,false")
	for _, row := range rows {
		if c := strings.Split(row, ","); c[1] != "orders" || c[5] != "sales" || !strings.HasPrefix(c[6], "s2") {
			t.Errorf("a row about another object: %s", row)
		}
	}
	// --detail names every object.
	r = pgusers(t, f.env, "access", "-f", file, "--output", "csv", "--database", "orders", "--detail")
	wantCode(t, r, exitOK)
	rows = csvRows(t, r.stdout)
	mustHave(t, rows, "local,orders,orders_ro,role,table,sales,s1,SELECT,false,direct,true")
	for _, row := range rows {
		if strings.Split(row, ",")[6] == "*" {
			t.Errorf("--detail left a row \"*\": %s", row)
		}
	}
	// Text and markdown say how many of how many.
	r = pgusers(t, f.env, "access", "-f", file, "--database", "orders")
	wantCode(t, r, exitOK)
	mustContain(t, "text", r.stdout, "SELECT on 3 of 4 tables in public: t1, t2, v (direct, declared)",
		"SELECT on all 2 tables in sales (member of orders_ro, declared)",
		"SET ROLE to orders_ro (its privileges only after SET ROLE) (direct, not declared)",
		"! PUBLIC (every role) may CREATE in schema sales of database orders")
	r = pgusers(t, f.env, "access", "-f", file, "--database", "orders", "--output", "markdown")
	wantCode(t, r, exitOK)
	mustContain(t, "markdown", r.stdout, "## Server `local`", "### Database `orders`", "| Grantee | Access | Source |")

	r = pgusers(t, f.env, "access", "-f", file, "--object", "orders.s2")
	wantCode(t, r, exitError)
	mustContain(t, "stderr", r.stderr, "DATABASE.SCHEMA.NAME")
}

func TestAccessCompareExitsTwoOnGainedAccess(t *testing.T) {
	f, file := accessFixture(t)
	review := filepath.Join(t.TempDir(), "review.json")
	r := pgusers(t, f.env, "access", "-f", file, "--output", "json")
	wantCode(t, r, exitOK)
	if err := os.WriteFile(review, []byte(r.stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	r = pgusers(t, f.env, "access", "-f", file, "--compare", review)
	wantCode(t, r, exitOK)
	mustContain(t, "text", r.stdout, "Gained since the earlier review: 0", "Lost since the earlier review: 0")

	f.c.SuperExecIn(t, "billing", `GRANT INSERT ON other.o1 TO someone`, `REVOKE DELETE ON public.t2 FROM someone`)
	f.c.SuperExec(t, `GRANT orders_rw TO noinh`)
	r = pgusers(t, f.env, "access", "-f", file, "--compare", review, "--output", "json")
	wantCode(t, r, exitChanges)
	var doc access.Document
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatal(err)
	}
	var gained, lost []string
	for _, row := range doc.Servers[0].Changes.Gained {
		gained = append(gained, fmt.Sprintf("%s %s %s.%s %s", row.Grantee, row.Database, row.Schema, row.Object, row.Privilege))
	}
	for _, row := range doc.Servers[0].Changes.Lost {
		lost = append(lost, fmt.Sprintf("%s %s %s.%s %s", row.Grantee, row.Database, row.Schema, row.Object, row.Privilege))
	}
	if diff := cmp.Diff([]string{"noinh  .orders_rw SET", "someone billing other.* INSERT"}, gained); diff != "" {
		t.Errorf("gained (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"someone billing public.t2 DELETE"}, lost); diff != "" {
		t.Errorf("lost (-want +got):\n%s", diff)
	}

	r = pgusers(t, f.env, "access", "-f", file, "--compare", review, "--output", "csv")
	wantCode(t, r, exitError)
	r = pgusers(t, f.env, "access", "-f", file, "--compare", file)
	wantCode(t, r, exitError)
	mustContain(t, "stderr", r.stderr, "not a review written by pgusers access --output json")
}

// TestAccessOfAFleetWithAServerDown: the server that cannot be read fails
// (exit 1), the other is still reviewed.
func TestAccessOfAFleetWithAServerDown(t *testing.T) {
	f := shopFixture(t)
	file := f.file(t, "shop.yaml", fmt.Sprintf(shopFile, pgtest.ObjectID("app-api"))+
		fmt.Sprintf("  - name: gone\n    host: 127.0.0.1\n    port: %d\n", closedPort(t)))
	r := pgusers(t, f.env, "access", "-f", file, "--output", "json", "--timeout", "5s")
	wantCode(t, r, exitError)
	var doc access.Document
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Servers) != 2 || doc.Servers[0].Error != "" || len(doc.Servers[0].Rows) == 0 || doc.Servers[1].Error == "" {
		t.Errorf("want local reviewed and gone failed: %+v", doc.Servers)
	}
	mustContain(t, "stderr", r.stderr, "error: server gone:")
}

// TestAccessEscapesNames: a role name made to forge terminal output or a
// spreadsheet formula reaches neither.
func TestAccessEscapesNames(t *testing.T) {
	f := shopFixture(t)
	file := f.file(t, "shop.yaml", fmt.Sprintf(shopFile, pgtest.ObjectID("app-api")))
	f.c.SuperExec(t, `CREATE ROLE "=HYPERLINK(""http://x"")`+"\x1b[2J"+`" NOLOGIN`)
	f.c.SuperExecIn(t, "orders", `GRANT SELECT ON sales.s1 TO "=HYPERLINK(""http://x"")`+"\x1b[2J"+`"`)
	r := pgusers(t, f.env, "access", "-f", file, "--database", "orders")
	wantCode(t, r, exitOK)
	if strings.Contains(r.stdout, "\x1b") {
		t.Errorf("text: an escape code reached the terminal")
	}
	mustContain(t, "text", r.stdout, `=HYPERLINK("http://x")\x1b[2J`)
	r = pgusers(t, f.env, "access", "-f", file, "--database", "orders", "--output", "csv")
	wantCode(t, r, exitOK)
	mustContain(t, "csv", r.stdout, `"'=HYPERLINK(""http://x"")`+"\x1b[2J\"")
}
