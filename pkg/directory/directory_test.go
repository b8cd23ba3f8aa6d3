package directory_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/google/go-cmp/cmp"

	"github.com/pgusers/pgusers/internal/armfake"
	"github.com/pgusers/pgusers/internal/graphfake"
	"github.com/pgusers/pgusers/pkg/directory"
)

func id(n int) string { return fmt.Sprintf("00000000-0000-0000-0000-%012d", n) }

func client(g *graphfake.Graph, cred *armfake.Credential) *directory.Client {
	retry := policy.RetryOptions{MaxRetries: 2, RetryDelay: time.Millisecond}
	return directory.New(cred, directory.Options{Endpoint: g.URL(), Transport: g.Transport(), Retry: &retry})
}

// A directory: alice (enabled), bob (disabled), a guest, a service
// principal, group "readers" holding alice and group "nested", which holds
// the guest and the service principal; id(99) was deleted.
func directoryObjects() []graphfake.Object {
	return []graphfake.Object{
		{ID: id(1), Type: "user", Name: "alice@contoso.com"},
		{ID: id(2), Type: "user", Name: "bob@contoso.com", Disabled: true},
		{ID: id(3), Type: "user", Name: "guest_fabrikam.com#EXT#@contoso.com", Guest: true},
		{ID: id(4), Type: "servicePrincipal", Name: "app-api"},
		{ID: id(10), Type: "group", Name: "readers", Members: []string{id(1), id(11)}},
		{ID: id(11), Type: "group", Name: "nested", Members: []string{id(3), id(4)}},
	}
}

func TestLookupAndMembers(t *testing.T) {
	g := graphfake.Start(t, armfake.Token, directoryObjects()...)
	g.PageSize = 2 // readers has 4 transitive members: two pages
	g.Fail("/directoryObjects/"+id(2), graphfake.Throttled(1))
	cred := &armfake.Credential{}
	c := client(g, cred)
	ctx := context.Background()

	start := time.Now()
	got, err := c.Lookup(ctx, []string{id(1), strings.ToUpper(id(2)), id(4), id(10), id(99)})
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(start) < time.Second {
		t.Errorf("the throttled request was sent again before its Retry-After")
	}
	var names []string
	for _, n := range []int{1, 2, 4, 10, 99} {
		o, ok := got[id(n)]
		names = append(names, fmt.Sprintf("%s %s %s enabled=%v", id(n)[len(id(n))-2:], o.Type, o.Name(), o.Enabled && ok))
	}
	want := []string{"01 user alice@contoso.com enabled=true", "02 user bob@contoso.com enabled=false",
		"04 servicePrincipal app-api enabled=true", "10 group readers enabled=true", "99   enabled=false"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	members, err := c.Members(ctx, []string{id(10), id(99)})
	if err != nil {
		t.Fatal(err)
	}
	var ms []string
	for _, m := range members[id(10)] {
		ms = append(ms, fmt.Sprintf("%s %s guest=%v", m.Type, m.Name(), m.Guest))
	}
	want = []string{"user alice@contoso.com guest=false", "servicePrincipal app-api guest=false",
		"user guest_fabrikam.com#EXT#@contoso.com guest=true", "group nested guest=false"}
	if diff := cmp.Diff(want, ms); diff != "" {
		t.Errorf("members (-want +got):\n%s", diff)
	}
	if len(members[id(99)]) != 0 {
		t.Errorf("a deleted group has members: %v", members[id(99)])
	}

	// Cached: asking again costs nothing.
	before := c.RoundTrips()
	if _, err := c.Lookup(ctx, []string{id(1), id(99)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Members(ctx, []string{id(10)}); err != nil {
		t.Fatal(err)
	}
	if c.RoundTrips() != before {
		t.Errorf("cached answers were asked again: %d round trips, then %d", before, c.RoundTrips())
	}
	for _, s := range cred.Scopes() {
		if s != g.URL()+"/.default" {
			t.Errorf("token asked for scope %q, want Graph's %s/.default", s, g.URL())
		}
	}
}

func TestRefusalNamesThePermission(t *testing.T) {
	g := graphfake.Start(t, armfake.Token, directoryObjects()...)
	g.Fail("/groups/"+id(10)+"/transitiveMembers", graphfake.Forbidden())
	_, err := client(g, &armfake.Credential{}).Members(context.Background(), []string{id(10)})
	var refused *directory.RefusedError
	if !errors.As(err, &refused) || refused.Permission != "GroupMember.Read.All" {
		t.Fatalf("want a refusal naming GroupMember.Read.All, got %v", err)
	}
	if !strings.Contains(err.Error(), "grant the identity") || strings.Contains(err.Error(), armfake.Token) {
		t.Errorf("the message does not say what to do, or holds the token: %v", err)
	}
}

// TestMembersOf50GroupsOf200: 50 groups of 200 members each are 3
// batches (20, 20, 10 groups), one page each: at most 3 round trips per 20
// groups.
func TestMembersOf50GroupsOf200(t *testing.T) {
	var objects []graphfake.Object
	var groups []string
	for gi := range 50 {
		grp := graphfake.Object{ID: id(100000 + gi), Type: "group", Name: fmt.Sprintf("group-%02d", gi)}
		for m := range 200 {
			u := graphfake.Object{ID: id(gi*1000 + m), Type: "user", Name: fmt.Sprintf("u%d-%d@contoso.com", gi, m)}
			objects = append(objects, u)
			grp.Members = append(grp.Members, u.ID)
		}
		objects = append(objects, grp)
		groups = append(groups, grp.ID)
	}
	g := graphfake.Start(t, armfake.Token, objects...)
	g.PageSize = 999
	c := client(g, &armfake.Credential{})
	members, err := c.Members(context.Background(), groups)
	if err != nil {
		t.Fatal(err)
	}
	for _, grp := range groups {
		if len(members[grp]) != 200 {
			t.Fatalf("group %s: %d members, want 200", grp, len(members[grp]))
		}
	}
	n, sizes := g.Batches()
	t.Logf("50 groups × 200 members: %d Graph round trips, batches of %v", n, sizes)
	if n != 3 || c.RoundTrips() != 3 {
		t.Errorf("%d round trips (the client counted %d), want 3", n, c.RoundTrips())
	}
}
