package spec

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const discoverFile = `version: 1
defaults: {user: pg-admins}
principalSets:
  team: [{name: alice@contoso.com, type: user}]
discover:
  - subscription: 3F2B1C0D-0000-4000-8000-000000000001
    resourceGroup: rg-orders
    tags: {env: prod}
    names: ["orders-*"]
    server:
      include: [team]
      prune: true
  - subscription: 3f2b1c0d-0000-4000-8000-000000000002
    cloud: usgovernment
servers:
  - name: listed
    host: listed.postgres.database.azure.com
  - name: orders-special
    discovered: true
    maxDrops: 0
`

func TestDiscoverEntries(t *testing.T) {
	writeFiles(t, map[string]string{"a.yaml": discoverFile})
	d, err := Load(context.Background(), []string{"a.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Discover) != 2 || len(d.Servers) != 1 || len(d.Refined) != 1 {
		t.Fatalf("discover %d, servers %d, refined %d; want 2, 1, 1", len(d.Discover), len(d.Servers), len(d.Refined))
	}
	src := d.Discover[0]
	if src.Subscription != "3f2b1c0d-0000-4000-8000-000000000001" || src.ResourceGroup != "rg-orders" ||
		!cmp.Equal(src.Tags, map[string]string{"env": "prod"}) || !cmp.Equal(src.Names, []string{"orders-*"}) {
		t.Errorf("source = %+v", src)
	}
	if !src.Template.Prune || len(src.Template.Principals) != 1 || src.Template.User != "pg-admins" || src.Template.SSLMode != "verify-full" {
		t.Errorf("the template is not a server entry with defaults and sets: %+v", src.Template)
	}
	err = d.AddDiscovered([]Found{
		{Source: 0, Name: "orders-b", Host: "orders-b.postgres.database.azure.com", Cloud: "public"},
		{Source: 0, Name: "orders-special", Host: "orders-special.postgres.database.azure.com", Cloud: "public"},
		{Source: 1, Name: "gov-a", Host: "gov-a.postgres.database.usgovcloudapi.net", Cloud: "usgovernment"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range d.Servers {
		got = append(got, strings.Join([]string{s.Name, s.Host, s.Cloud, strconv.FormatBool(s.Prune), strconv.Itoa(s.MaxDrops), strconv.Itoa(len(s.Principals))}, " "))
	}
	want := []string{
		"listed listed.postgres.database.azure.com  false 5 0",
		"gov-a gov-a.postgres.database.usgovcloudapi.net usgovernment false 5 0",
		"orders-b orders-b.postgres.database.azure.com public true 5 1",
		// Refined by its servers entry: that entry, whole, with the host found.
		"orders-special orders-special.postgres.database.azure.com public false 0 0",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("servers (-want +got):\n%s", diff)
	}
}

func TestAddDiscoveredRefuses(t *testing.T) {
	writeFiles(t, map[string]string{"a.yaml": discoverFile})
	d, err := Load(context.Background(), []string{"a.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	err = d.AddDiscovered([]Found{
		{Source: 0, Name: "listed", Host: "x.postgres.database.azure.com"},
		{Source: 0, Name: "orders-a", Host: "a.postgres.database.azure.com"},
		{Source: 1, Name: "orders-a", Host: "a.postgres.database.azure.com"},
		{Source: 1, Name: "twin", Host: "listed.postgres.database.azure.com"},
	})
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("error = %v, want Errors", err)
	}
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	for _, want := range []string{
		"a.yaml:16:5: server listed: server listed is also found by the discover entry at a.yaml:6:5: add discovered: true",
		"a.yaml:13:5: server orders-a: server orders-a is found by this discover entry and by the one at a.yaml:6:5",
		"a.yaml:18:5: server orders-special: discovered: true, and no discover entry found a server named orders-special",
		"server twin: host listed.postgres.database.azure.com port 5432 is also server listed's",
	} {
		found := false
		for _, g := range got {
			found = found || strings.Contains(g, want)
		}
		if !found {
			t.Errorf("no error says %q:\n%s", want, strings.Join(got, "\n"))
		}
	}
}

func TestDiscoverErrors(t *testing.T) {
	writeFiles(t, map[string]string{"a.yaml": `version: 1
defaults: {user: u}
discover:
  - resourceGroup: rg
    names: ["[a"]
    tags: {env: [x]}
    server: {name: x, host: y, prune: true, sku: small}
  - subscription: nope
servers:
  - {name: s, discovered: true, host: h}
`})
	checkErrors(t, []string{"a.yaml"}, []wantErr{
		{Pos: "a.yaml:4:5", Msg: "subscription is required"},
		{Pos: "a.yaml:5:13", Msg: `name glob "[a" is not a valid glob`},
		{Pos: "a.yaml:6:17", Msg: `tag "env" must be a string, not a list`},
		{Pos: "a.yaml:7:14", Msg: "name is not set here"},
		{Pos: "a.yaml:7:23", Msg: "host is not set here"},
		{Pos: "a.yaml:7:45", Msg: `unknown key "sku"; a discover entry's server takes include, principals, includeRoles, roles, grants, database,`},
		{Pos: "a.yaml:8:19", Msg: `subscription "nope" is not a UUID`},
		{Pos: "a.yaml:10:5", Server: "s", Msg: "host is set, and discovered: true says Azure gives it"},
	})
}
