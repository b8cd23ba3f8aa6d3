package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/pgusers/pgusers/internal/armfake"
	"github.com/pgusers/pgusers/internal/graphfake"
	"github.com/pgusers/pgusers/internal/pgtest"
	"github.com/pgusers/pgusers/pkg/connect"
	"github.com/pgusers/pgusers/pkg/run"
)

// graphFixture is the shop with Entra principals whose objects a fake
// Graph holds: the group "Data Readers" (a member of orders_ro) with alice,
// a guest, a service principal and a nested group holding bob; carol,
// renamed in Entra; dave, disabled; and gone@contoso.com, deleted.
func graphFixture(t *testing.T) (*fixture, string, *graphfake.Graph) {
	t.Helper()
	f := shopFixture(t)
	file := f.file(t, "shop.yaml", fmt.Sprintf(shopFile, pgtest.ObjectID("app-api")))
	for _, p := range []struct{ name, typ string }{
		{"Data Readers", "group"}, {"carol@contoso.com", "user"}, {"dave@contoso.com", "user"}, {"gone@contoso.com", "user"},
	} {
		f.createPrincipal(t, p.name, p.typ, false)
	}
	f.c.SuperExec(t, `CREATE ROLE orders_ro NOLOGIN`)
	f.c.SuperExec(t, `GRANT orders_ro TO "Data Readers"`)
	f.c.SuperExecIn(t, "orders", `GRANT SELECT ON ALL TABLES IN SCHEMA sales TO orders_ro`)
	id := pgtest.ObjectID
	g := graphfake.Start(t, armfake.Token,
		graphfake.Object{ID: id("Data Readers"), Type: "group", Name: "Data Readers",
			Members: []string{id("alice@contoso.com"), id("guest"), id("etl"), id("nested")}},
		graphfake.Object{ID: id("nested"), Type: "group", Name: "nested", Members: []string{id("bob@contoso.com")}},
		graphfake.Object{ID: id("alice@contoso.com"), Type: "user", Name: "alice@contoso.com"},
		graphfake.Object{ID: id("bob@contoso.com"), Type: "user", Name: "bob@contoso.com"},
		graphfake.Object{ID: id("guest"), Type: "user", Name: "eve_fabrikam.com#EXT#@contoso.com", Guest: true},
		graphfake.Object{ID: id("etl"), Type: "servicePrincipal", Name: "etl-job"},
		graphfake.Object{ID: id("carol@contoso.com"), Type: "user", Name: "carol.new@contoso.com"},
		graphfake.Object{ID: id("dave@contoso.com"), Type: "user", Name: "dave@contoso.com", Disabled: true},
		graphfake.Object{ID: id("app-api"), Type: "servicePrincipal", Name: "app-api"},
		graphfake.Object{ID: id("pgadmin@contoso.com"), Type: "user", Name: "pgadmin@contoso.com"},
	)
	g.PageSize = 2
	f.env.connect.Credentials = connect.NewCredentialsWith(&armfake.Credential{})
	f.env.graph = run.Graph{Endpoint: g.URL(), Transport: g.Transport(), Retry: &policy.RetryOptions{MaxRetries: 2, RetryDelay: time.Millisecond}}
	return f, file, g
}

func TestAccessExpandsEntraGroupsThroughGraph(t *testing.T) {
	f, file, g := graphFixture(t)
	g.Fail("/groups/"+pgtest.ObjectID("Data Readers")+"/transitiveMembers", graphfake.Throttled(1))
	r := pgusers(t, f.env, "access", "-f", file, "--expand-groups", "--database", "orders", "--output", "csv")
	wantCode(t, r, exitOK)
	rows := csvRows(t, r.stdout)
	mustHave(t, rows,
		"local,,alice@contoso.com,user,membership,,Data Readers,MEMBER,false,Entra,false",
		"local,orders,alice@contoso.com,user,table,sales,*,SELECT,false,member of Data Readers > orders_ro,false",
		"local,orders,bob@contoso.com,user,table,sales,*,SELECT,false,member of Data Readers > orders_ro,false",
		"local,orders,etl-job,service,table,sales,*,SELECT,false,member of Data Readers > orders_ro,false",
		"local,,etl-job,service,membership,,orders_ro,MEMBER,false,member of Data Readers,false")
	// One batch of look-ups; the members' first page, throttled once,
	// then its three pages of two.
	if n, sizes := g.Batches(); n != 5 {
		t.Errorf("%d Graph round trips (%v), want 5", n, sizes)
	}
	for _, row := range rows {
		if strings.Split(row, ",")[2] == "nested" {
			t.Errorf("a nested group is listed as a member rather than its members: %s", row)
		}
	}
	r = pgusers(t, f.env, "access", "-f", file, "--expand-groups", "--database", "orders")
	wantCode(t, r, exitOK)
	mustContain(t, "findings", r.stdout,
		"! gone@contoso.com: its Entra object "+pgtest.ObjectID("gone@contoso.com")+" no longer exists",
		"! dave@contoso.com is disabled in Entra",
		"! carol@contoso.com is named carol.new@contoso.com in Entra: declare it as carol.new@contoso.com with renamedFrom: carol@contoso.com",
		"! group Data Readers has 1 guest member(s)",
		"eve_fabrikam.com#EXT#@contoso.com (user, entra-member)")
}

func TestAccessNamesTheGraphPermissionItLacks(t *testing.T) {
	f, file, g := graphFixture(t)
	g.Fail("/groups/"+pgtest.ObjectID("Data Readers")+"/transitiveMembers", graphfake.Forbidden())
	r := pgusers(t, f.env, "access", "-f", file, "--expand-groups", "--database", "orders")
	wantCode(t, r, exitError)
	mustContain(t, "stderr", r.stderr, "error: server local: ", "Microsoft Graph refused to read the members of group",
		"GroupMember.Read.All")
	if strings.Contains(r.stdout+r.stderr, armfake.Token) {
		t.Errorf("the token reached the output")
	}
}

// TestDirectoryGraphWarnsInPlan: directory: graph makes plan warn of
// declared principals gone, disabled or renamed in Entra, and access
// report them as findings, without --expand-groups; Graph's refusal is a
// warning, never a failed plan.
func TestDirectoryGraphWarnsInPlan(t *testing.T) {
	f, _, g := graphFixture(t)
	id := pgtest.ObjectID
	file := f.file(t, "dir.yaml", fmt.Sprintf(`    directory: graph
    principals:
      - {name: carol@contoso.com, type: user, objectId: %s}
      - {name: dave@contoso.com, type: user, objectId: %s}
      - {name: gone@contoso.com, type: user, objectId: %s}
      - {name: Data Readers, type: group, objectId: %s}
`, id("carol@contoso.com"), id("dave@contoso.com"), id("gone@contoso.com"), id("Data Readers")))
	r := pgusers(t, f.env, "plan", "-f", file, "--detailed-exitcode")
	wantCode(t, r, exitOK)
	mustContain(t, "stderr", r.stderr,
		"warning: server local: principal carol@contoso.com ("+file+":13:9) is named carol.new@contoso.com in Entra: declare it as carol.new@contoso.com with renamedFrom: carol@contoso.com",
		"warning: server local: principal dave@contoso.com ("+file+":14:9) is disabled in Entra",
		"warning: server local: principal gone@contoso.com ("+file+":15:9): its object id "+id("gone@contoso.com")+" does not exist in Entra")
	if strings.Contains(r.stderr, "Data Readers") {
		t.Errorf("a principal in order in Entra was warned about")
	}

	r = pgusers(t, f.env, "access", "-f", file, "--database", "orders", "--output", "json")
	wantCode(t, r, exitOK)
	mustContain(t, "access", r.stdout, `"check": "directory_gone"`, `"check": "directory_disabled"`, `"check": "directory_renamed"`)
	if strings.Contains(r.stdout, "entra-member") {
		t.Errorf("group members listed without --expand-groups")
	}

	g.Fail("/directoryObjects/"+id("carol@contoso.com"), graphfake.Forbidden())
	r = pgusers(t, f.env, "plan", "-f", file, "--detailed-exitcode")
	wantCode(t, r, exitOK)
	mustContain(t, "stderr", r.stderr, "warning: server local: directory: graph: the principals were not checked in Entra: Microsoft Graph refused",
		"User.Read.All")
}
