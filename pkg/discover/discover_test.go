package discover

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const (
	subA = "00000000-0000-0000-0000-00000000000a"
	subB = "00000000-0000-0000-0000-00000000000b"
)

const listA = "/subscriptions/" + subA + "/providers/Microsoft.DBforPostgreSQL/flexibleServers"

// fleet is the fake's servers: two subscriptions, tagged and untagged, Entra
// on and off, administrators of every kind.
func fleet() []fakeServer {
	return []fakeServer{
		{sub: subA, rg: "rg-prod", name: "pg-prod-1", tags: map[string]string{"env": "prod", "team": "core"}, entra: "Enabled",
			admins: []fakeAdmin{
				{name: "pgusers-app", typ: "ServicePrincipal", objectID: "33333333-0000-0000-0000-000000000000"},
				{name: "alice@contoso.com", typ: "User", objectID: "11111111-0000-0000-0000-000000000000"},
				{name: "pg-admins", typ: "Group", objectID: "22222222-0000-0000-0000-000000000000"},
			}},
		{sub: subA, rg: "rg-prod", name: "pg-prod-2", tags: map[string]string{"env": "prod"}, entra: "Enabled", password: "Enabled",
			admins: []fakeAdmin{{name: "alice@contoso.com", typ: "User", objectID: "11111111-0000-0000-0000-000000000000"}}},
		{sub: subA, rg: "rg-dev", name: "pg-dev-1", tags: map[string]string{"env": "dev", "team": "core"}, entra: "Disabled", password: "Enabled"},
		{sub: subA, rg: "rg-dev", name: "pg-notags", state: "Stopped"},
		{sub: subB, rg: "RG-Prod", name: "pg-b-1", tags: map[string]string{"Env": "prod"}, entra: "Enabled",
			admins: []fakeAdmin{
				{name: "legacy", typ: "Unknown", objectID: "44444444-0000-0000-0000-000000000000"},
				{name: "bob@contoso.com", typ: "user", objectID: "55555555-0000-0000-0000-000000000000"},
				{name: "ci", typ: "servicePrincipal", objectID: "66666666-0000-0000-0000-000000000000"},
			}},
	}
}

func discover(t *testing.T, f *fakeARM, sources ...Source) ([]Server, *fakeCredential, error) {
	t.Helper()
	cred := &fakeCredential{}
	got, err := Discover(context.Background(), cred, sources, f.options())
	if err != nil && strings.Contains(err.Error(), fakeToken) {
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
	f := newFakeARM(t, fleet()...)
	f.pageSize = 3
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
	dev.PasswordAuth, dev.TenantID, dev.Admins = true, fakeTenant, []Admin{}
	noTags := server("rg-dev", "pg-notags")
	noTags.State, noTags.Admins = "Stopped", []Admin{}
	prod1 := server("rg-prod", "pg-prod-1")
	prod1.Tags = map[string]string{"env": "prod", "team": "core"}
	prod1.EntraAuth, prod1.TenantID = true, fakeTenant
	prod1.Admins = []Admin{
		{Name: "alice@contoso.com", Type: AdminUser, ObjectID: "11111111-0000-0000-0000-000000000000", TenantID: fakeTenant},
		{Name: "pg-admins", Type: AdminGroup, ObjectID: "22222222-0000-0000-0000-000000000000", TenantID: fakeTenant},
		{Name: "pgusers-app", Type: AdminServicePrincipal, ObjectID: "33333333-0000-0000-0000-000000000000", TenantID: fakeTenant},
	}
	prod2 := server("rg-prod", "pg-prod-2")
	prod2.Tags = map[string]string{"env": "prod"}
	prod2.EntraAuth, prod2.PasswordAuth, prod2.TenantID = true, true, fakeTenant
	prod2.Admins = []Admin{{Name: "alice@contoso.com", Type: AdminUser, ObjectID: "11111111-0000-0000-0000-000000000000", TenantID: fakeTenant}}

	want := []Server{dev, noTags, prod1, prod2}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("servers (-want +got):\n%s", d)
	}
	if n := len(f.hitsOf(listA)); n != 2 {
		t.Errorf("list pages fetched: %d, want 2 (4 servers, 3 a page)", n)
	}
	for _, s := range want {
		if n := len(f.hitsOf(s.ID + "/administrators")); n != 1 {
			t.Errorf("%s: %d administrator list calls, want 1", s.Name, n)
		}
	}
	calls, scopes := cred.asked()
	if calls == 0 {
		t.Error("the credential was not asked for a token")
	}
	for _, s := range scopes {
		if s != fakeAudience+"/.default" {
			t.Errorf("token asked for scope %q, want %q", s, fakeAudience+"/.default")
		}
	}
}

func TestDiscoverAdminTypes(t *testing.T) {
	t.Parallel()
	f := newFakeARM(t, fleet()...)
	got, _, err := discover(t, f, Source{Subscription: subB})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("got %d servers, want 1", len(got))
	}
	want := []Admin{
		{Name: "bob@contoso.com", Type: AdminUser, ObjectID: "55555555-0000-0000-0000-000000000000", TenantID: fakeTenant},
		{Name: "ci", Type: AdminServicePrincipal, ObjectID: "66666666-0000-0000-0000-000000000000", TenantID: fakeTenant},
		{Name: "legacy", Type: AdminUnknown, ObjectID: "44444444-0000-0000-0000-000000000000", TenantID: fakeTenant},
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
	var servers []fakeServer
	var want []string
	for i := range 25 {
		name := fmt.Sprintf("pg-%02d", i)
		servers = append(servers, fakeServer{sub: subA, rg: "rg", name: name, entra: "Enabled"})
		want = append(want, name+"/a")
	}
	f := newFakeARM(t, servers...)
	f.pageSize = 10
	got, _, err := discover(t, f, Source{Subscription: subA})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, names(got)); d != "" {
		t.Errorf("servers (-want +got):\n%s", d)
	}
	if n := len(f.hitsOf(listA)); n != 3 {
		t.Errorf("pages fetched: %d, want 3", n)
	}
}

func TestDiscoverResourceGroup(t *testing.T) {
	t.Parallel()
	f := newFakeARM(t, fleet()...)
	f.pageSize = 1
	got, _, err := discover(t, f, Source{Subscription: subA, ResourceGroup: "rg-dev"})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"pg-dev-1/a", "pg-notags/a"}, names(got)); d != "" {
		t.Errorf("servers (-want +got):\n%s", d)
	}
	rgList := "/subscriptions/" + subA + "/resourceGroups/rg-dev/providers/Microsoft.DBforPostgreSQL/flexibleServers"
	if n := len(f.hitsOf(rgList)); n != 2 {
		t.Errorf("resource group pages fetched: %d, want 2", n)
	}
	if n := len(f.hitsOf(listA)); n != 0 {
		t.Errorf("the subscription was listed %d times, want 0", n)
	}
}

func TestDiscoverFilters(t *testing.T) {
	t.Parallel()
	f := newFakeARM(t, fleet()...)
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
		fakeServer{sub: subA, rg: "rg-x", name: "pg-same", entra: "Enabled"},
		fakeServer{sub: subB, rg: "rg-x", name: "pg-same", entra: "Enabled"},
	)
	f := newFakeARM(t, servers...)
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
	if n := len(f.hitsOf(listA)); n != 1 {
		t.Errorf("subscription A listed %d times, want 1", n)
	}
	for _, s := range got {
		if n := len(f.hitsOf(s.ID + "/administrators")); n != 1 {
			t.Errorf("%s: %d administrator list calls, want 1", s.ID, n)
		}
	}
}

func TestDiscoverRetryAfter(t *testing.T) {
	t.Parallel()
	f := newFakeARM(t, fleet()...)
	f.failOnce(listA, reply{status: 429, header: map[string]string{"Retry-After": "1"}, code: "TooManyRequests", msg: "The request is being throttled."})
	got, _, err := discover(t, f, Source{Subscription: subA, Names: []string{"pg-prod-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"pg-prod-1/a"}, names(got)); d != "" {
		t.Errorf("servers (-want +got):\n%s", d)
	}
	hits := f.hitsOf(listA)
	if len(hits) != 2 {
		t.Fatalf("list requests: %d, want 2 (429, then the retry)", len(hits))
	}
	if wait := hits[1].Sub(hits[0]); wait < 950*time.Millisecond {
		t.Errorf("retried after %v, want Retry-After's 1s", wait)
	}
}

func TestDiscoverParallelBound(t *testing.T) {
	t.Parallel()
	var servers []fakeServer
	for i := range 40 {
		servers = append(servers, fakeServer{sub: subA, rg: "rg", name: fmt.Sprintf("pg-%02d", i), entra: "Enabled"})
	}
	for _, parallel := range []int{0, 3} {
		t.Run(fmt.Sprint(parallel), func(t *testing.T) {
			f := newFakeARM(t, servers...)
			f.adminDelay = 20 * time.Millisecond
			opts := f.options()
			opts.Parallel = parallel
			got, err := Discover(context.Background(), &fakeCredential{}, []Source{{Subscription: subA}}, opts)
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
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.maxInflight > want {
				t.Errorf("%d administrator calls at once, want at most %d", f.maxInflight, want)
			}
			if f.maxInflight < 2 {
				t.Errorf("%d administrator calls at once: not parallel", f.maxInflight)
			}
		})
	}
}

func TestDiscoverInput(t *testing.T) {
	t.Parallel()
	f := newFakeARM(t, fleet()...)
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
	if _, err := Discover(context.Background(), nil, []Source{{Subscription: subA}}, f.options()); err == nil {
		t.Error("no error without a credential")
	}
	got, _, err := discover(t, f)
	if got != nil || err != nil {
		t.Errorf("no sources: %v, %v; want nothing", got, err)
	}
	if n := f.total(); n != 0 {
		t.Errorf("%d requests, want none", n)
	}
}

func TestDiscoverCancelled(t *testing.T) {
	t.Parallel()
	f := newFakeARM(t, fleet()...)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Discover(ctx, &fakeCredential{}, []Source{{Subscription: subA}}, f.options())
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
}
