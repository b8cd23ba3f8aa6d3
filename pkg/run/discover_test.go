package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pgusers/pgusers/internal/armfake"
	"github.com/pgusers/pgusers/internal/pgtest"
	"github.com/pgusers/pgusers/pkg/connect"
	"github.com/pgusers/pgusers/pkg/diff"
	"github.com/pgusers/pgusers/pkg/discover"
	"github.com/pgusers/pgusers/pkg/report"
	"github.com/pgusers/pgusers/pkg/spec"
)

const (
	subA = "3f2b1c0d-0000-4000-8000-00000000000a"
	subB = "3f2b1c0d-0000-4000-8000-00000000000b"
)

// Entra administrators of the fake's servers.
var (
	pgAdmins    = armfake.Admin{Name: "pg-admins", Type: armfake.Group, ObjectID: "22222222-0000-0000-0000-000000000000"}
	alice       = armfake.Admin{Name: "alice@contoso.com", Type: armfake.User, ObjectID: "11111111-0000-0000-0000-000000000000"}
	pgusersApp  = armfake.Admin{Name: "pgusers-app", Type: armfake.ServicePrincipal, ObjectID: "33333333-0000-0000-0000-000000000000"}
	prodOrders  = map[string]string{"env": "prod", "app": "orders"}
	quietLogger = slog.New(slog.NewTextHandler(io.Discard, nil))
)

// azureFleet is what the fake ARM holds: in subscription A, servers the
// first entry's tags and names keep or leave; in B, every kind of server
// the second entry finds.
func azureFleet() []armfake.Server {
	return []armfake.Server{
		{Subscription: subA, ResourceGroup: "rg-orders", Name: "orders-1", Tags: prodOrders, Entra: "Enabled", Admins: []armfake.Admin{pgAdmins, alice}},
		{Subscription: subA, ResourceGroup: "rg-orders", Name: "orders-2", Tags: prodOrders, Entra: "Enabled", Admins: []armfake.Admin{pgAdmins}},
		{Subscription: subA, ResourceGroup: "rg-orders", Name: "orders-dev", Tags: map[string]string{"env": "dev"}, Entra: "Enabled", Admins: []armfake.Admin{pgAdmins}},
		{Subscription: subA, ResourceGroup: "rg-billing", Name: "billing-1", Tags: prodOrders, Entra: "Enabled", Admins: []armfake.Admin{pgAdmins}},
		{Subscription: subB, ResourceGroup: "rg-hr", Name: "hr-1", Entra: "Enabled", Admins: []armfake.Admin{pgAdmins}},
		// Entra authentication off, password on: no Entra sign-in at all.
		{Subscription: subB, ResourceGroup: "rg-hr", Name: "hr-noentra", Entra: "Disabled", Password: "Enabled"},
		// The template's user, pg-admins, is not an administrator.
		{Subscription: subB, ResourceGroup: "rg-hr", Name: "hr-alice", Entra: "Enabled", Admins: []armfake.Admin{alice}},
		// Refined by a servers entry that signs in as pgusers-app.
		{Subscription: subB, ResourceGroup: "rg-hr", Name: "hr-special", Entra: "Enabled", Admins: []armfake.Admin{pgusersApp}},
	}
}

// The entries begin on lines 6 and 13 of fleetFile.
const fleetFile = `version: 1
defaults: {user: pg-admins}
principalSets:
  team: [{name: alice@contoso.com, type: user}]
discover:
  - subscription: ` + subA + `
    tags: {env: prod}
    names: ["orders-*"]
    server:
      include: [team]
      prune: true
      maxDrops: 3
  - subscription: ` + subB + `
servers:
  - name: listed
    host: listed.postgres.database.azure.com
  - name: hr-special
    discovered: true
    user: pgusers-app
    maxDrops: 0
`

// load reads a desired-state file written in a directory of the test's.
func load(t *testing.T, body string) (*spec.Desired, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fleet.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := spec.Load(context.Background(), []string{path})
	if err != nil {
		t.Fatal(err)
	}
	return d, path
}

// discoverConfig is a run's configuration whose every credential is cred,
// and the ARM of the fake f.
func discoverConfig(f *armfake.ARM, cred *armfake.Credential) (Config, ARM) {
	return Config{Parallel: 8, Timeout: time.Minute, Log: quietLogger,
			Connect: connect.Options{Credentials: connect.NewCredentialsWith(cred), Logger: quietLogger}},
		ARM{Cloud: f.Cloud(), Transport: f.Transport(), Retry: armfake.Retry()}
}

func TestDiscover(t *testing.T) {
	t.Parallel()
	f := armfake.Start(t, armfake.Options{Servers: azureFleet(), PageSize: 3})
	cred := &armfake.Credential{}
	cfg, arm := discoverConfig(f, cred)
	d, path := load(t, fleetFile)

	fleet, err := Discover(t.Context(), d, cfg, arm)
	if err != nil {
		t.Fatal(err)
	}

	// Listed first, then those found, by name; each found server has its
	// entry's template, its name and its Azure host.
	type server struct {
		Name, Host, User, Cloud string
		Prune                   bool
		MaxDrops                int
		Principals              []string
		Pos                     string
	}
	var got []server
	for _, s := range d.Servers {
		var ps []string
		for _, p := range s.Principals {
			ps = append(ps, p.Name)
		}
		got = append(got, server{s.Name, s.Host, s.User, s.Cloud, s.Prune, s.MaxDrops, ps, s.Pos.String()})
	}
	entryA, entryB := path+":6:5", path+":13:5"
	team := []string{"alice@contoso.com"}
	want := []server{
		{"listed", "listed.postgres.database.azure.com", "pg-admins", "", false, 5, nil, path + ":15:5"},
		{"hr-1", "hr-1.postgres.database.azure.com", "pg-admins", "public", false, 5, nil, entryB},
		{"hr-alice", "hr-alice.postgres.database.azure.com", "pg-admins", "public", false, 5, nil, entryB},
		{"hr-noentra", "hr-noentra.postgres.database.azure.com", "pg-admins", "public", false, 5, nil, entryB},
		// The servers entry with discovered: true, whole, with its host.
		{"hr-special", "hr-special.postgres.database.azure.com", "pgusers-app", "public", false, 0, nil, path + ":17:5"},
		{"orders-1", "orders-1.postgres.database.azure.com", "pg-admins", "public", true, 3, team, entryA},
		{"orders-2", "orders-2.postgres.database.azure.com", "pg-admins", "public", true, 3, team, entryA},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("servers (-want +got):\n%s", d)
	}
	if len(d.Refined) != 0 {
		t.Errorf("refined entries left: %v", d.Refined)
	}
	for i, src := range d.Discover {
		if p := src.Pos.String(); p != []string{entryA, entryB}[i] {
			t.Errorf("discover entry %d at %s", i, p)
		}
	}

	// What Azure says of every server found.
	var found []string
	for name, s := range fleet.Azure {
		found = append(found, name+" "+s.ResourceGroup)
	}
	slices.Sort(found)
	if d := cmp.Diff([]string{"hr-1 rg-hr", "hr-alice rg-hr", "hr-noentra rg-hr", "hr-special rg-hr", "orders-1 rg-orders", "orders-2 rg-orders"},
		found); d != "" {
		t.Errorf("fleet.Azure (-want +got):\n%s", d)
	}
	if a := fleet.Azure["orders-1"]; !a.EntraAuth || !cmp.Equal(a.Tags, prodOrders) || len(a.Admins) != 2 || a.Admins[1].Type != discover.AdminGroup {
		t.Errorf("orders-1 as Azure says it: %+v", a)
	}

	// Unusable: Entra off, and the user not an administrator, each with
	// what discover.Server.Problems says. hr-special signs in as its own
	// entry's user, an administrator.
	problems := map[string][]string{}
	for name, err := range fleet.Unusable {
		var ue *UnusableError
		if !errors.As(err, &ue) {
			t.Fatalf("%s: %T is not an *UnusableError", name, err)
		}
		problems[name] = ue.Problems
		if want := "Azure says it cannot be signed in to, so pgusers did not try: " + strings.Join(ue.Problems, "; "); err.Error() != want {
			t.Errorf("%s: error %q, want %q", name, err, want)
		}
		if k := report.Kind(report.Error, err); k != "sign-in" {
			t.Errorf("%s: errorKind %q, want sign-in", name, k)
		}
	}
	wantProblems := map[string][]string{
		"hr-noentra": {
			"Microsoft Entra authentication is disabled (authConfig.activeDirectoryAuth): enable it in the server's authentication settings",
			`"pg-admins" is not one of its Microsoft Entra administrators (it has none): add one in the server's authentication settings`,
		},
		"hr-alice": {
			`"pg-admins" is not one of its Microsoft Entra administrators (alice@contoso.com (user)): sign in as one of them, or add it`,
		},
	}
	if d := cmp.Diff(wantProblems, problems); d != "" {
		t.Errorf("unusable (-want +got):\n%s", d)
	}
	for name, want := range wantProblems {
		if got := fleet.Azure[name].Problems("pg-admins"); !cmp.Equal(want, got) {
			t.Errorf("%s: discover.Server.Problems says %q", name, got)
		}
	}

	// The ARM token is for the fake cloud's audience, from the run's
	// credentials; each scope is listed once.
	if cred.Calls() == 0 {
		t.Error("the credential was not asked for an ARM token")
	}
	for _, s := range cred.Scopes() {
		if s != armfake.Audience+"/.default" {
			t.Errorf("token asked for scope %q, want %q", s, armfake.Audience+"/.default")
		}
	}
	if n, calls := cfg.Connect.Credentials.TokenFetches(), cred.Calls(); n != calls {
		t.Errorf("TokenFetches %d, the credential was asked %d times", n, calls)
	}
	if a, b := len(f.Hits(armfake.ListPath(subA, ""))), len(f.Hits(armfake.ListPath(subB, ""))); a != 2 || b != 2 {
		t.Errorf("list pages fetched: %d of A, %d of B; want 2 and 2 (4 servers each, 3 a page)", a, b)
	}
}

// TestDiscoverForbidden: ARM's 403 on the second entry's subscription is an
// error that names the entry's position, and the desired state is left as
// it was.
func TestDiscoverForbidden(t *testing.T) {
	t.Parallel()
	f := armfake.Start(t, armfake.Options{Servers: azureFleet()})
	listB := armfake.ListPath(subB, "")
	f.Fail(listB, armfake.AuthorizationFailed(listB))
	cfg, arm := discoverConfig(f, &armfake.Credential{})
	d, path := load(t, fleetFile)

	_, err := Discover(t.Context(), d, cfg, arm)
	if err == nil {
		t.Fatal("no error")
	}
	want := "discover entry at " + path + ":13:5: subscription " + subB + ": listing PostgreSQL flexible servers: access denied: " +
		"the signed-in identity needs the Reader role on the subscription (or a role with Microsoft.DBforPostgreSQL/flexibleServers/read and " +
		"flexibleServers/administrators/read) (403 AuthorizationFailed); Azure said: The client 'alice@contoso.com' with object id " +
		"'11111111-0000-0000-0000-000000000000' does not have authorization to perform action 'Microsoft.DBforPostgreSQL/flexibleServers/read' " +
		"over scope '/subscriptions/" + subB + "' or the scope is invalid. If access was recently granted, please refresh your credentials."
	if d := cmp.Diff(want, err.Error()); d != "" {
		t.Errorf("error (-want +got):\n%s", d)
	}
	if strings.Contains(err.Error(), armfake.Token) {
		t.Errorf("the error holds the token")
	}
	var de *discover.Error
	if !errors.As(err, &de) || de.StatusCode != 403 || de.Code != "AuthorizationFailed" {
		t.Errorf("no *discover.Error 403 AuthorizationFailed under %v", err)
	}
	if len(d.Servers) != 1 || len(d.Refined) != 1 {
		t.Errorf("the desired state changed: %d servers, %d refined; want 1 and 1", len(d.Servers), len(d.Refined))
	}
	if n := len(f.Hits(listB)); n != 1 {
		t.Errorf("%d requests for B's servers, want 1 (a 403 is not retried)", n)
	}
}

// TestPlanDiscovered plans a fleet found in Azure, end to end: the fake ARM
// lists a server whose host is a throwaway cluster (its entry's template
// gives the port, and password sign-in) and one whose Entra authentication
// is off. Plan reads the first and plans its create; it reports the second
// failed, a sign-in problem, without connecting to it.
func TestPlanDiscovered(t *testing.T) {
	c := pgtest.New(t)
	// The unusable server's port: a listener that counts connections.
	trap, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { trap.Close() })
	var dialed atomic.Int64
	go func() {
		for {
			conn, err := trap.Accept()
			if err != nil {
				return
			}
			dialed.Add(1)
			conn.Close()
		}
	}()

	f := armfake.Start(t, armfake.Options{Servers: []armfake.Server{
		{Subscription: subA, ResourceGroup: "rg-local", Name: "local-pg", FQDN: c.Host, Entra: "Enabled", Password: "Enabled",
			Admins: []armfake.Admin{{Name: c.Admin, Type: armfake.User, ObjectID: "44444444-0000-0000-0000-000000000000"}}},
		{Subscription: subA, ResourceGroup: "rg-local", Name: "other-pg", Entra: "Enabled", Admins: []armfake.Admin{pgAdmins}},
		{Subscription: subB, ResourceGroup: "rg-far", Name: "far-pg", FQDN: "127.0.0.1", Entra: "Disabled", Password: "Enabled"},
	}})
	d, _ := load(t, fmt.Sprintf(`version: 1
defaults: {user: pg-admins}
discover:
  - subscription: %s
    names: ["local-*"]
    server:
      user: %s
      port: %d
      auth: password
      passwordEnv: PGUSERS_TEST_PASSWORD
      sslmode: disable
      principals: [{name: alice@contoso.com, type: user}]
  - subscription: %s
    server:
      port: %d
`, subA, c.Admin, c.Port, subB, trap.Addr().(*net.TCPAddr).Port))

	_, cfg := testConfig(c)
	cred := &armfake.Credential{}
	cfg.Connect.Credentials = connect.NewCredentialsWith(cred)
	fleet, err := Discover(t.Context(), d, cfg, ARM{Cloud: f.Cloud(), Transport: f.Transport(), Retry: armfake.Retry()})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Unusable = fleet.Unusable
	targets := Plan(t.Context(), d.Servers, cfg, nil, false)
	rep := report.Build(Results(targets))

	type server struct {
		Name, Host string
		Port       int
		Status     report.Status
		ErrorKind  string
		Changes    []report.Change
	}
	var got []server
	for _, s := range rep.Servers {
		got = append(got, server{s.Name, s.Host, s.Port, s.Status, s.ErrorKind, s.Changes})
	}
	want := []server{
		{"far-pg", "127.0.0.1", trap.Addr().(*net.TCPAddr).Port, report.Error, "sign-in", []report.Change{}},
		{"local-pg", c.Host, c.Port, report.Changes, "", []report.Change{{Action: diff.Create, Principal: "alice@contoso.com", Type: "user",
			Reason: "declared, not on the server", SQL: []string{"SELECT pg_catalog.pgaadauth_create_principal('alice@contoso.com', false, false)"}}}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("report (-want +got):\n%s", d)
	}
	wantErr := "Azure says it cannot be signed in to, so pgusers did not try: Microsoft Entra authentication is disabled " +
		"(authConfig.activeDirectoryAuth): enable it in the server's authentication settings; " +
		`"pg-admins" is not one of its Microsoft Entra administrators (it has none): add one in the server's authentication settings`
	if len(rep.Servers) > 0 && rep.Servers[0].Error != wantErr {
		t.Errorf("far-pg's error:\n%s\nwant\n%s", rep.Servers[0].Error, wantErr)
	}
	if s := rep.Summary; s.WithChanges != 1 || s.Failed != 1 || s.Create != 1 {
		t.Errorf("summary %+v, want 1 with changes, 1 failed, 1 create", s)
	}
	if targets[1].Observed.SessionUser != c.Admin {
		t.Errorf("local-pg was read as %q, want %q", targets[1].Observed.SessionUser, c.Admin)
	}

	// Nothing reached far-pg, and no token was asked for it: the only
	// tokens were ARM's.
	if n := dialed.Load(); n != 0 {
		t.Errorf("%d connection(s) to the unusable server", n)
	}
	for _, s := range cred.Scopes() {
		if s != armfake.Scope {
			t.Errorf("a token was asked for %q", s)
		}
	}
}
