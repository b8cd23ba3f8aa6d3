package access

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pgusers/pgusers/pkg/spec"
)

// server is a server of one database, shop, with schema sales of three
// tables of app_owner: a, b granted SELECT to reader, c not.
func server() *Server {
	return &Server{
		Version: 150000,
		Principals: []EntraPrincipal{
			{Name: "alice@contoso.com", Type: "user", ObjectID: "00000000-0000-0000-0000-00000000000a"},
			{Name: "bob@contoso.com", Type: "user"},
		},
		Roles: []Role{
			{Name: "alice@contoso.com", Inherit: true, Login: true},
			{Name: "app_owner", Inherit: true},
			{Name: "bob@contoso.com", Login: true}, // NOINHERIT
			{Name: "pg_read_all_data", Inherit: true},
			{Name: "reader", Inherit: true},
			{Name: "reporting", Inherit: true, CreateRole: true},
		},
		Edges: []Edge{
			{Member: "alice@contoso.com", Role: "reporting", Inherit: true, Set: true},
			{Member: "bob@contoso.com", Role: "reporting", Set: true},
			{Member: "reporting", Role: "reader", Inherit: true, Set: true, Admin: true},
		},
		Databases: []Database{{
			Name: "shop", Owner: "app_owner", Connect: true, Read: true,
			ACL: []Entry{{Grantee: "PUBLIC", Privilege: "CONNECT"}, {Grantee: "reader", Privilege: "CONNECT"}},
			Schemas: []Schema{{Name: "sales", Owner: "app_owner", ACL: []Entry{
				{Grantee: "PUBLIC", Privilege: "CREATE"}, {Grantee: "reader", Privilege: "USAGE"}}}},
			Groups: []Group{
				{Schema: "sales", Kind: KindTable, Owner: "app_owner", Names: []string{"a", "b"},
					ACL: []Entry{{Grantee: "reader", Privilege: "SELECT"}, {Grantee: "reader", Privilege: "UPDATE"}}},
				{Schema: "sales", Kind: KindTable, Owner: "app_owner", Names: []string{"c"},
					ACL: []Entry{{Grantee: "reader", Privilege: "SELECT", Grantable: true}}},
			},
			Columns:  []Column{{Schema: "sales", Table: "c", Column: "price", Grantee: "alice@contoso.com", Privilege: "UPDATE"}},
			Defaults: []Default{{Owner: "app_owner", Schema: "sales", On: "tables", Grantee: "reader", Privilege: "SELECT"}},
		}},
	}
}

// files declares reader's SELECT and USAGE, and alice's memberships.
func files() spec.Server {
	return spec.Server{
		Name: "shop",
		Principals: []spec.Principal{
			{Name: "alice@contoso.com", Type: spec.User, ManageMemberships: true, MemberOf: []string{"reporting"}},
		},
		Roles: []spec.Role{
			{Name: "reader"},
			{Name: "reporting", ManageMemberships: true, MemberOf: []string{"reader"}},
		},
		Grants: []spec.Grant{{To: "reader", Databases: []string{"shop"}, Schemas: []string{"sales"}, Kinds: []spec.KindGrant{
			{Kind: spec.KindSchema, Privileges: []string{"USAGE"}},
			{Kind: spec.KindTables, Privileges: []string{"SELECT"}},
		}}},
	}
}

func rowsOf(t *testing.T, rv Review, grantee string) []string {
	t.Helper()
	var out []string
	for _, r := range rv.Rows {
		if r.Grantee == grantee {
			var b bytes.Buffer
			if err := CSV(&b, Document{Servers: []ServerReview{{Name: "s", Review: Review{Rows: []Row{r}}}}}); err != nil {
				t.Fatal(err)
			}
			line := strings.Split(strings.TrimSpace(b.String()), "\n")[1]
			out = append(out, strings.TrimPrefix(line, "s,"))
		}
	}
	return out
}

func TestComputeSourcesAndSummaries(t *testing.T) {
	rv := Compute(files(), server(), Options{})
	tests := map[string][]string{
		// Through two memberships; UPDATE on 2 of 3 tables is a row each,
		// SELECT on all three one row "*" (held WITH GRANT OPTION on c:
		// that is a row of its own).
		"alice@contoso.com": {
			",alice@contoso.com,user,attribute,,LOGIN,LOGIN,false,direct,true", // a principal of the files
			",alice@contoso.com,user,membership,,reader,MEMBER,false,member of reporting,true",
			",alice@contoso.com,user,membership,,reporting,MEMBER,false,direct,true",
			"shop,alice@contoso.com,user,column,sales,c.price,UPDATE,false,direct,false",
			"shop,alice@contoso.com,user,database,,shop,CONNECT,false,member of reporting > reader,false",
			"shop,alice@contoso.com,user,default,sales,tables by app_owner,SELECT,false,member of reporting > reader,false",
			"shop,alice@contoso.com,user,schema,sales,sales,USAGE,false,member of reporting > reader,true",
			"shop,alice@contoso.com,user,table,sales,a,SELECT,false,member of reporting > reader,true",
			"shop,alice@contoso.com,user,table,sales,a,UPDATE,false,member of reporting > reader,false",
			"shop,alice@contoso.com,user,table,sales,b,SELECT,false,member of reporting > reader,true",
			"shop,alice@contoso.com,user,table,sales,b,UPDATE,false,member of reporting > reader,false",
			"shop,alice@contoso.com,user,table,sales,c,SELECT,true,member of reporting > reader,true",
		},
		// NOINHERIT: reporting and reader only through SET ROLE, nothing
		// of theirs held.
		"bob@contoso.com": {
			",bob@contoso.com,user,attribute,,LOGIN,LOGIN,false,direct,false",
			",bob@contoso.com,user,attribute,,NOINHERIT,NOINHERIT,false,direct,false",
			",bob@contoso.com,user,membership,,reader,SET,false,member of reporting,false",
			",bob@contoso.com,user,membership,,reporting,SET,false,direct,false",
		},
		"PUBLIC": {
			"shop,PUBLIC,PUBLIC,database,,shop,CONNECT,false,direct,false",
			"shop,PUBLIC,PUBLIC,schema,sales,sales,CREATE,false,direct,false",
		},
		"app_owner": {
			"shop,app_owner,role,database,,shop,OWNER,true,owner,false",
			"shop,app_owner,role,schema,sales,sales,OWNER,true,owner,false",
			"shop,app_owner,role,table,sales,*,OWNER,true,owner,false",
		},
	}
	for grantee, want := range tests {
		t.Run(grantee, func(t *testing.T) {
			if diff := cmp.Diff(want, rowsOf(t, rv, grantee)); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
		})
	}
	var findings []string
	for _, f := range rv.Findings {
		findings = append(findings, f.Check+" "+f.Grantee+" "+f.Database)
	}
	want := []string{
		"attribute reporting ",
		"public_create PUBLIC shop",
		"undeclared alice@contoso.com shop", // the column privilege
		"undeclared bob@contoso.com ",       // its memberships
		"undeclared reader shop",            // CONNECT, UPDATE, default SELECT
	}
	if diff := cmp.Diff(want, findings); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
}

func TestComputeSummarisesOnlyWhatIsHeldEverywhere(t *testing.T) {
	rv := Compute(files(), server(), Options{Principals: []string{"reader"}})
	got := rowsOf(t, rv, "reader")
	want := []string{
		"shop,reader,role,database,,shop,CONNECT,false,PUBLIC,false",
		"shop,reader,role,database,,shop,CONNECT,false,direct,false",
		"shop,reader,role,default,sales,tables by app_owner,SELECT,false,direct,false",
		"shop,reader,role,schema,sales,sales,CREATE,false,PUBLIC,false",
		"shop,reader,role,schema,sales,sales,USAGE,false,direct,true",
		"shop,reader,role,table,sales,a,SELECT,false,direct,true",
		"shop,reader,role,table,sales,a,UPDATE,false,direct,false",
		"shop,reader,role,table,sales,b,SELECT,false,direct,true",
		"shop,reader,role,table,sales,b,UPDATE,false,direct,false",
		"shop,reader,role,table,sales,c,SELECT,true,direct,true",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("--principal reader (-want +got):\n%s", diff)
	}
	for _, r := range rv.Rows {
		if r.Object == "a" && r.Privilege == "UPDATE" && r.Of != 3 {
			t.Errorf("UPDATE on a: Of %d, want 3 (2 of 3 tables)", r.Of)
		}
	}
}

func TestComputePredefinedAndObjects(t *testing.T) {
	srv := server()
	srv.Edges = append(srv.Edges, Edge{Member: "bob@contoso.com", Role: "pg_read_all_data", Inherit: true, Set: true})
	rv := Compute(files(), srv, Options{Principals: []string{"bob@contoso.com"}, Objects: []Object{{"shop", "sales", "c"}}})
	want := []string{"shop,bob@contoso.com,user,table,sales,c,SELECT,false,predefined pg_read_all_data,false"}
	if diff := cmp.Diff(want, rowsOf(t, rv, "bob@contoso.com")); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestCompare(t *testing.T) {
	row := func(object, privilege string) Row {
		return Row{Database: "shop", Grantee: "reader", Kind: KindTable, Schema: "sales", Object: object, Privilege: privilege, Source: SourceDirect}
	}
	earlier := Document{Servers: []ServerReview{{Name: "s", Review: Review{Rows: []Row{row("*", "SELECT"), row("a", "DELETE")}}}}}
	now := Document{Servers: []ServerReview{
		// A new table without SELECT turns "*" into a list: no gain.
		{Name: "s", Review: Review{Rows: []Row{row("a", "SELECT"), row("b", "SELECT"), row("b", "INSERT")}}},
		{Name: "failed", Error: "boom"},
	}}
	Compare(&now, earlier)
	want := &Changes{Gained: []Row{row("b", "INSERT")}, Lost: []Row{row("*", "SELECT"), row("a", "DELETE")}}
	if diff := cmp.Diff(want, now.Servers[0].Changes); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if now.Servers[1].Changes != nil || !now.Gained() || !now.Failed() {
		t.Errorf("failed server compared, or Gained/Failed wrong: %+v", now)
	}
}

func TestCSVNeutralisesFormulas(t *testing.T) {
	d := Document{Servers: []ServerReview{{Name: "=cmd|' /C calc'!A0", Review: Review{Rows: []Row{
		{Database: "+db", Grantee: "@x", GranteeType: "role", Kind: KindTable, Schema: "-s", Object: "\tt", Privilege: "SELECT", Source: SourceDirect},
	}}}}}
	var b bytes.Buffer
	if err := CSV(&b, d); err != nil {
		t.Fatal(err)
	}
	want := strings.Join(CSVHeader, ",") + "\n" + `'=cmd|' /C calc'!A0,'+db,'@x,role,table,'-s,'` + "\t" + `t,SELECT,false,direct,false` + "\n"
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestTextAndMarkdownEscapeNames(t *testing.T) {
	evil := "x\x1b[2Jy|`*"
	d := Document{Servers: []ServerReview{{Name: evil, Review: Review{
		Databases:  []string{evil},
		Principals: []Principal{{Name: evil, Type: "role", Status: Undeclared}},
		Rows: []Row{{Database: evil, Grantee: evil, GranteeType: "role", Kind: KindTable, Schema: evil, Object: evil,
			Privilege: "SELECT", Source: SourceDirect, Of: 3}},
		Findings: []Finding{{Check: CheckUndeclared, Grantee: evil, Message: evil + " holds"}},
	}}}}
	for name, view := range map[string]func(*bytes.Buffer) error{
		"text":     func(b *bytes.Buffer) error { return Text(b, d, false) },
		"markdown": func(b *bytes.Buffer) error { return Markdown(b, d, false) },
	} {
		var b bytes.Buffer
		if err := view(&b); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(b.String(), "\x1b") {
			t.Errorf("%s: an escape code reached the output:\n%q", name, b.String())
		}
		if name == "markdown" && strings.Contains(b.String(), "y|") {
			t.Errorf("markdown: a name's | reached a table unescaped:\n%s", b.String())
		}
	}
}

// TestGranteeTypesAreTheContracts: a principal type pgaadauth does not
// have today (or a hostile server's) is a plain role's, never shown as is.
func TestGranteeTypesAreTheContracts(t *testing.T) {
	srv := server()
	srv.Principals = append(srv.Principals, EntraPrincipal{Name: "reader", Type: "x\x1b[2J|evil"})
	rv := Compute(files(), srv, Options{})
	for _, r := range rv.Rows {
		if r.Grantee == "reader" && r.GranteeType != "role" {
			t.Fatalf("grantee_type %q", r.GranteeType)
		}
	}
}
