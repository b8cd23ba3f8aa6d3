package discover

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pgusers/pgusers/internal/armfake"
)

const (
	subA = "00000000-0000-0000-0000-00000000000a"
	subB = "00000000-0000-0000-0000-00000000000b"
)

const listA = "/subscriptions/" + subA + "/providers/Microsoft.DBforPostgreSQL/flexibleServers"

// fleet is the fake's servers: two subscriptions, tagged and untagged, Entra
// on and off, administrators of every kind.
func fleet() []armfake.Server {
	return []armfake.Server{
		{Subscription: subA, ResourceGroup: "rg-prod", Name: "pg-prod-1", Tags: map[string]string{"env": "prod", "team": "core"}, Entra: "Enabled",
			Admins: []armfake.Admin{
				{Name: "pgusers-app", Type: "ServicePrincipal", ObjectID: "33333333-0000-0000-0000-000000000000"},
				{Name: "alice@contoso.com", Type: "User", ObjectID: "11111111-0000-0000-0000-000000000000"},
				{Name: "pg-admins", Type: "Group", ObjectID: "22222222-0000-0000-0000-000000000000"},
			}},
		{Subscription: subA, ResourceGroup: "rg-prod", Name: "pg-prod-2", Tags: map[string]string{"env": "prod"}, Entra: "Enabled", Password: "Enabled",
			Admins: []armfake.Admin{{Name: "alice@contoso.com", Type: "User", ObjectID: "11111111-0000-0000-0000-000000000000"}}},
		{Subscription: subA, ResourceGroup: "rg-dev", Name: "pg-dev-1", Tags: map[string]string{"env": "dev", "team": "core"}, Entra: "Disabled", Password: "Enabled"},
		{Subscription: subA, ResourceGroup: "rg-dev", Name: "pg-notags", State: "Stopped"},
		{Subscription: subB, ResourceGroup: "RG-Prod", Name: "pg-b-1", Tags: map[string]string{"Env": "prod"}, Entra: "Enabled",
			Admins: []armfake.Admin{
				{Name: "legacy", Type: "Unknown", ObjectID: "44444444-0000-0000-0000-000000000000"},
				{Name: "bob@contoso.com", Type: "user", ObjectID: "55555555-0000-0000-0000-000000000000"},
				{Name: "ci", Type: "servicePrincipal", ObjectID: "66666666-0000-0000-0000-000000000000"},
			}},
	}
}

// options point Discover at the fake, with short retry delays.
func options(f *armfake.ARM) Options {
	return Options{Cloud: f.Cloud(), Transport: f.Transport(), Retry: armfake.Retry()}
}

func discover(t *testing.T, f *armfake.ARM, sources ...Source) ([]Server, *armfake.Credential, error) {
	t.Helper()
	cred := &armfake.Credential{}
	got, err := Discover(context.Background(), cred, sources, options(f))
	if err != nil && strings.Contains(err.Error(), armfake.Token) {
		t.Errorf("error holds the token: %v", err)
	}
	return got, cred, err
}

// names lists the servers as name/subscription.
func names(servers []Server) []string {
	out := []string{}
	for _, s := range servers {
		out = append(out, s.Name+"/"+s.Subscription[len(s.Subscription)-1:])
	}
	return out
}

func TestDiscoverSubscription(t *testing.T) {
	t.Parallel()
	f := armfake.Start(t, armfake.Options{Servers: fleet(), PageSize: 3})
	got, cred, err := discover(t, f, Source{Subscription: subA})
	if err != nil {
		t.Fatal(err)
	}
	server := func(rg, name string) Server {
		return Server{
			Name: name, ResourceGroup: rg, Subscription: subA,
			ID:       "/subscriptions/" + subA + "/resourceGroups/" + rg + "/providers/Microsoft.DBforPostgreSQL/flexibleServers/" + name,
			Location: "westeurope", Version: "17", State: "Ready", FQDN: name + ".postgres.database.azure.com",
		}
	}
	dev := server("rg-dev", "pg-dev-1")
	dev.Tags = map[string]string{"env": "dev", "team": "core"}
	dev.PasswordAuth, dev.TenantID, dev.Admins = true, armfake.TenantID, []Admin{}
	noTags := server("rg-dev", "pg-notags")
	noTags.State, noTags.Admins = "Stopped", []Admin{}
	prod1 := server("rg-prod", "pg-prod-1")
	prod1.Tags = map[string]string{"env": "prod", "team": "core"}
	prod1.EntraAuth, prod1.TenantID = true, armfake.TenantID
	prod1.Admins = []Admin{
		{Name: "alice@contoso.com", Type: AdminUser, ObjectID: "11111111-0000-0000-0000-000000000000", TenantID: armfake.TenantID},
		{Name: "pg-admins", Type: AdminGroup, ObjectID: "22222222-0000-0000-0000-000000000000", TenantID: armfake.TenantID},
		{Name: "pgusers-app", Type: AdminServicePrincipal, ObjectID: "33333333-0000-0000-0000-000000000000", TenantID: armfake.TenantID},
	}
	prod2 := server("rg-prod", "pg-prod-2")
	prod2.Tags = map[string]string{"env": "prod"}
	prod2.EntraAuth, prod2.PasswordAuth, prod2.TenantID = true, true, armfake.TenantID
	prod2.Admins = []Admin{{Name: "alice@contoso.com", Type: AdminUser, ObjectID: "11111111-0000-0000-0000-000000000000", TenantID: armfake.TenantID}}

	want := []Server{dev, noTags, prod1, prod2}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("servers (-want +got):\n%s", d)
	}
	if n := len(f.Hits(listA)); n != 2 {
		t.Errorf("list pages fetched: %d, want 2 (4 servers, 3 a page)", n)
	}
	for _, s := range want {
		if n := len(f.Hits(s.ID + "/administrators")); n != 1 {
			t.Errorf("%s: %d administrator list calls, want 1", s.Name, n)
		}
	}
	calls, scopes := cred.Calls(), cred.Scopes()
	if calls == 0 {
		t.Error("the credential was not asked for a token")
	}
	for _, s := range scopes {
		if s != armfake.Audience+"/.default" {
			t.Errorf("token asked for scope %q, want %q", s, armfake.Audience+"/.default")
		}
	}
}

func TestDiscoverAdminTypes(t *testing.T) {
	t.Parallel()
	f := armfake.Start(t, armfake.Options{Servers: fleet()})
	got, _, err := discover(t, f, Source{Subscription: subB})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("got %d servers, want 1", len(got))
	}
	want := []Admin{
		{Name: "bob@contoso.com", Type: AdminUser, ObjectID: "55555555-0000-0000-0000-000000000000", TenantID: armfake.TenantID},
		{Name: "ci", Type: AdminServicePrincipal, ObjectID: "66666666-0000-0000-0000-000000000000", TenantID: armfake.TenantID},
		{Name: "legacy", Type: AdminUnknown, ObjectID: "44444444-0000-0000-0000-000000000000", TenantID: armfake.TenantID},
	}
	if d := cmp.Diff(want, got[0].Admins); d != "" {
		t.Errorf("admins (-want +got):\n%s", d)
	}
	if got[0].ResourceGroup != "RG-Prod" {
		t.Errorf("resource group %q, want RG-Prod as the id spells it", got[0].ResourceGroup)
	}
}

func TestDiscoverPages(t *testing.T) {
	t.Parallel()
	var servers []armfake.Server
	var want []string
	for i := range 25 {
		name := fmt.Sprintf("pg-%02d", i)
		servers = append(servers, armfake.Server{Subscription: subA, ResourceGroup: "rg", Name: name, Entra: "Enabled"})
		want = append(want, name+"/a")
	}
	f := armfake.Start(t, armfake.Options{Servers: servers, PageSize: 10})
	got, _, err := discover(t, f, Source{Subscription: subA})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, names(got)); d != "" {
		t.Errorf("servers (-want +got):\n%s", d)
	}
	if n := len(f.Hits(listA)); n != 3 {
		t.Errorf("pages fetched: %d, want 3", n)
	}
}

func TestDiscoverResourceGroup(t *testing.T) {
	t.Parallel()
	f := armfake.Start(t, armfake.Options{Servers: fleet(), PageSize: 1})
	got, _, err := discover(t, f, Source{Subscription: subA, ResourceGroup: "rg-dev"})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"pg-dev-1/a", "pg-notags/a"}, names(got)); d != "" {
		t.Errorf("servers (-want +got):\n%s", d)
	}
	rgList := "/subscriptions/" + subA + "/resourceGroups/rg-dev/providers/Microsoft.DBforPostgreSQL/flexibleServers"
	if n := len(f.Hits(rgList)); n != 2 {
		t.Errorf("resource group pages fetched: %d, want 2", n)
	}
	if n := len(f.Hits(listA)); n != 0 {
		t.Errorf("the subscription was listed %d times, want 0", n)
	}
}

func TestDiscoverFilters(t *testing.T) {
	t.Parallel()
	f := armfake.Start(t, armfake.Options{Servers: fleet()})
	for _, tc := range []struct {
		name string
		src  Source
		want []string
	}{
		{"no filter", Source{Subscription: subA}, []string{"pg-dev-1/a", "pg-notags/a", "pg-prod-1/a", "pg-prod-2/a"}},
		{"one tag", Source{Subscription: subA, Tags: map[string]string{"env": "prod"}}, []string{"pg-prod-1/a", "pg-prod-2/a"}},
		{"every tag must match", Source{Subscription: subA, Tags: map[string]string{"env": "prod", "team": "core"}}, []string{"pg-prod-1/a"}},
		{"tag on no server", Source{Subscription: subA, Tags: map[string]string{"owner": "x"}}, []string{}},
		{"tag values match exactly", Source{Subscription: subA, Tags: map[string]string{"env": "Prod"}}, []string{}},
		{"tag names in any case", Source{Subscription: subB, Tags: map[string]string{"ENV": "prod"}}, []string{"pg-b-1/b"}},
		{"empty tag value", Source{Subscription: subA, Tags: map[string]string{"env": ""}}, []string{}},
		{"glob", Source{Subscription: subA, Names: []string{"pg-prod-*"}}, []string{"pg-prod-1/a", "pg-prod-2/a"}},
		{"any glob", Source{Subscription: subA, Names: []string{"pg-dev-?", "pg-notags"}}, []string{"pg-dev-1/a", "pg-notags/a"}},
		{"glob and tags", Source{Subscription: subA, Names: []string{"*-1"}, Tags: map[string]string{"team": "core"}}, []string{"pg-dev-1/a", "pg-prod-1/a"}},
		{"glob matching none", Source{Subscription: subA, Names: []string{"PG-*"}}, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := discover(t, f, tc.src)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, names(got)); d != "" {
				t.Errorf("servers (-want +got):\n%s", d)
			}
		})
	}
}

func TestDiscoverTwoSourcesOnce(t *testing.T) {
	t.Parallel()
	servers := append(fleet(),
		armfake.Server{Subscription: subA, ResourceGroup: "rg-x", Name: "pg-same", Entra: "Enabled"},
		armfake.Server{Subscription: subB, ResourceGroup: "rg-x", Name: "pg-same", Entra: "Enabled"},
	)
	f := armfake.Start(t, armfake.Options{Servers: servers})
	got, _, err := discover(t, f,
		Source{Subscription: subA, Tags: map[string]string{"env": "prod"}},
		Source{Subscription: subA, ResourceGroup: "rg-prod"},
		Source{Subscription: subA, Names: []string{"pg-prod-1", "pg-same"}},
		Source{Subscription: subB},
		Source{Subscription: subB, Names: []string{"*"}},
	)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"pg-b-1/b", "pg-prod-1/a", "pg-prod-2/a", "pg-same/a", "pg-same/b"}
	if d := cmp.Diff(want, names(got)); d != "" {
		t.Errorf("servers (-want +got):\n%s", d)
	}
	// Each scope is listed once, each server's administrators read once.
	if n := len(f.Hits(listA)); n != 1 {
		t.Errorf("subscription A listed %d times, want 1", n)
	}
	for _, s := range got {
		if n := len(f.Hits(s.ID + "/administrators")); n != 1 {
			t.Errorf("%s: %d administrator list calls, want 1", s.ID, n)
		}
	}
}

func TestDiscoverRetryAfter(t *testing.T) {
	t.Parallel()
	f := armfake.Start(t, armfake.Options{Servers: fleet()})
	f.Fail(listA, armfake.Throttled(time.Second)) // Retry-After: 1
	got, _, err := discover(t, f, Source{Subscription: subA, Names: []string{"pg-prod-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"pg-prod-1/a"}, names(got)); d != "" {
		t.Errorf("servers (-want +got):\n%s", d)
	}
	hits := f.Hits(listA)
	if len(hits) != 2 {
		t.Fatalf("list requests: %d, want 2 (429, then the retry)", len(hits))
	}
	if wait := hits[1].Sub(hits[0]); wait < 950*time.Millisecond {
		t.Errorf("retried after %v, want Retry-After's 1s", wait)
	}
}

func TestDiscoverParallelBound(t *testing.T) {
	t.Parallel()
	var servers []armfake.Server
	for i := range 40 {
		servers = append(servers, armfake.Server{Subscription: subA, ResourceGroup: "rg", Name: fmt.Sprintf("pg-%02d", i), Entra: "Enabled"})
	}
	for _, parallel := range []int{0, 3} {
		t.Run(fmt.Sprint(parallel), func(t *testing.T) {
			f := armfake.Start(t, armfake.Options{Servers: servers, AdminDelay: 20 * time.Millisecond})
			opts := options(f)
			opts.Parallel = parallel
			got, err := Discover(context.Background(), &armfake.Credential{}, []Source{{Subscription: subA}}, opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 40 {
				t.Errorf("got %d servers, want 40", len(got))
			}
			want := parallel
			if want == 0 {
				want = DefaultParallel
			}
			most := f.MaxAdminsInFlight()
			if most > want {
				t.Errorf("%d administrator calls at once, want at most %d", most, want)
			}
			if most < 2 {
				t.Errorf("%d administrator calls at once: not parallel", most)
			}
		})
	}
}

func TestDiscoverInput(t *testing.T) {
	t.Parallel()
	f := armfake.Start(t, armfake.Options{Servers: fleet()})
	for _, tc := range []struct {
		name    string
		sources []Source
		want    string
	}{
		{"no subscription", []Source{{Subscription: subA}, {ResourceGroup: "rg"}}, "discover: source 2: no subscription"},
		{"bad glob", []Source{{Subscription: subA, Names: []string{"pg-[a"}}}, `discover: source 1: name glob "pg-[a": syntax error in pattern`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := discover(t, f, tc.sources...)
			if err == nil || err.Error() != tc.want {
				t.Errorf("error %v, want %s", err, tc.want)
			}
		})
	}
	if _, err := Discover(context.Background(), nil, []Source{{Subscription: subA}}, options(f)); err == nil {
		t.Error("no error without a credential")
	}
	got, _, err := discover(t, f)
	if got != nil || err != nil {
		t.Errorf("no sources: %v, %v; want nothing", got, err)
	}
	if n := f.Requests(); n != 0 {
		t.Errorf("%d requests, want none", n)
	}
}

func TestDiscoverCancelled(t *testing.T) {
	t.Parallel()
	f := armfake.Start(t, armfake.Options{Servers: fleet()})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Discover(ctx, &armfake.Credential{}, []Source{{Subscription: subA}}, options(f))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
}
