package main

import (
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pgusers/pgusers/internal/armfake"
	"github.com/pgusers/pgusers/internal/pgtest"
	"github.com/pgusers/pgusers/pkg/connect"
	"github.com/pgusers/pgusers/pkg/report"
	"github.com/pgusers/pgusers/pkg/run"
)

const discoverSub = "3f2b1c0d-0000-4000-8000-0000000000d1"

// discoveredFleet is a fake Azure Resource Manager whose subscription holds
// four servers, two of them on the throwaway cluster's address and one
// with Microsoft Entra authentication off, and the files that discover them.
func discoveredFleet(t *testing.T, adminDelay time.Duration) (*fixture, string) {
	t.Helper()
	f := newFixture(t)
	admin := armfake.Admin{Name: f.c.Admin, Type: armfake.User, ObjectID: pgtest.AdminObjectID}
	var servers []armfake.Server
	// Each server has its own address, as in Azure; pg-a and pg-b reach
	// the cluster, pg-c's is Azure's and never reached here.
	for name, fqdn := range map[string]string{"pg-a": "127.0.0.1", "pg-b": "localhost", "pg-c": ""} {
		servers = append(servers, armfake.Server{Subscription: discoverSub, ResourceGroup: "rg", Name: name, FQDN: fqdn,
			Location: "westeurope", Version: "15", Tags: map[string]string{"env": "prod"}, Entra: "Enabled", Admins: []armfake.Admin{admin}})
	}
	servers = append(servers, armfake.Server{Subscription: discoverSub, ResourceGroup: "rg", Name: "pg-off", FQDN: "127.0.0.2",
		Tags: map[string]string{"env": "prod"}, Entra: "Disabled", Admins: []armfake.Admin{admin}})
	arm := armfake.Start(t, armfake.Options{Servers: servers, AdminDelay: adminDelay})
	f.env.arm = run.ARM{Cloud: arm.Cloud(), Transport: arm.Transport(), Retry: armfake.Retry()}
	// One credential signs in to Resource Manager and to the servers, as
	// DefaultAzureCredential does; its token is the cluster's password.
	f.env.connect.Credentials = connect.NewCredentialsWith(&armfake.Credential{})
	if err := f.c.SetAdminPassword(t.Context(), armfake.Token); err != nil {
		t.Fatal(err)
	}
	file := writeFile(t, f.dir, "fleet.yaml", fmt.Sprintf(`version: 1
discover:
  - subscription: %s
    tags: {env: prod}
    server:
      user: %q
      port: %d
      sslmode: disable
      insecureSkipTLSVerify: true
`, discoverSub, f.c.Admin, f.c.Port))
	return f, file
}

func TestServersListsTheFleetAsAzureKnowsIt(t *testing.T) {
	f, file := discoveredFleet(t, 0)
	r := pgusers(t, f.env, "servers", "-f", file, "--output", "json")
	wantCode(t, r, exitOK)
	var fleet report.Fleet
	if err := json.Unmarshal([]byte(r.stdout), &fleet); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range fleet.Servers {
		got = append(got, fmt.Sprintf("%s %s %s %s %v %d %q", s.Name, s.Source, s.Location, s.Version, *s.EntraAuth, len(s.Admins), s.Problems))
	}
	want := []string{
		`pg-a discovered westeurope 15 true 1 []`,
		`pg-b discovered westeurope 15 true 1 []`,
		`pg-c discovered westeurope 15 true 1 []`,
		`pg-off discovered westeurope 17 false 1 ["Microsoft Entra authentication is disabled (authConfig.activeDirectoryAuth): enable it in the server's authentication settings"]`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("servers (-want +got):\n%s", diff)
	}
	r = pgusers(t, f.env, "servers", "-f", file)
	wantCode(t, r, exitOK)
	mustContain(t, "stdout", r.stdout, "pg-off: Microsoft Entra authentication is disabled", "4 server(s)")
}

func TestShardsSplitADiscoveredFleet(t *testing.T) {
	f, file := discoveredFleet(t, 0)
	var union []string
	for k := range 3 {
		r := pgusers(t, f.env, "servers", "-f", file, "--shard", fmt.Sprintf("%d/3", k), "--output", "json")
		wantCode(t, r, exitOK)
		var fleet report.Fleet
		if err := json.Unmarshal([]byte(r.stdout), &fleet); err != nil {
			t.Fatal(err)
		}
		for _, s := range fleet.Servers {
			if slices.Contains(union, s.Name) {
				t.Errorf("%s is in two shards", s.Name)
			}
			union = append(union, s.Name)
		}
	}
	slices.Sort(union)
	if diff := cmp.Diff([]string{"pg-a", "pg-b", "pg-c", "pg-off"}, union); diff != "" {
		t.Errorf("the shards together (-want +got):\n%s", diff)
	}
	r := pgusers(t, f.env, "plan", "-f", file, "--shard", "3/3")
	wantCode(t, r, exitError)
	mustContain(t, "stderr", r.stderr, "K must be from 0 to 2")
}

// A server Azure says cannot be signed in to fails before any connection;
// the others are planned.
func TestPlanOfADiscoveredFleet(t *testing.T) {
	f, file := discoveredFleet(t, 0)
	r := pgusers(t, f.env, "plan", "-f", file, "--server", "pg-a", "--server", "pg-off", "--output", "json")
	wantCode(t, r, exitError)
	rep := jsonReport(t, r.stdout)
	var got []string
	for _, s := range rep.Servers {
		got = append(got, s.Name+" "+string(s.Status)+" "+s.ErrorKind)
	}
	if diff := cmp.Diff([]string{"pg-a in-sync ", "pg-off error sign-in"}, got); diff != "" {
		t.Fatalf("servers (-want +got):\n%s", diff)
	}
	if !strings.Contains(rep.Servers[1].Error, "pgusers did not try") {
		t.Errorf("the unusable server's error: %s", rep.Servers[1].Error)
	}
}

// Discovery is bounded by --timeout: a Resource Manager that does not
// answer fails the run with what took too long, not a hang.
func TestDiscoveryIsBoundedByTheTimeout(t *testing.T) {
	f, file := discoveredFleet(t, time.Minute)
	start := time.Now()
	r := pgusers(t, f.env, "plan", "-f", file, "--timeout", "1s")
	wantCode(t, r, exitError)
	mustContain(t, "stderr", r.stderr, "discovery did not finish within 1s (--timeout)", "nothing was changed")
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("plan took %v with --timeout 1s", took)
	}
}

// A refusal from Resource Manager, answered at once, is reported as what it
// is, not as the timeout; and when discovery fails no server is contacted,
// not even one the files list (it would have been read while the files
// decoded).
func TestRefusedDiscoveryContactsNoServer(t *testing.T) {
	f := newFixture(t)
	list := armfake.ListPath(discoverSub, "")
	arm := armfake.Start(t, armfake.Options{})
	arm.Fail(list, armfake.AuthorizationFailed(list))
	f.env.arm = run.ARM{Cloud: arm.Cloud(), Transport: arm.Transport(), Retry: armfake.Retry()}
	f.env.connect.Credentials = connect.NewCredentialsWith(&armfake.Credential{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var contacted atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			contacted.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	file := writeFile(t, f.dir, "fleet.yaml", fmt.Sprintf(`version: 1
discover:
  - subscription: %s
    server:
      user: %[2]q
      sslmode: disable
      insecureSkipTLSVerify: true
servers:
  - name: listed
    host: 127.0.0.1
    port: %[3]d
    user: %[2]q
    sslmode: disable
    insecureSkipTLSVerify: true
`, discoverSub, f.c.Admin, ln.Addr().(*net.TCPAddr).Port))
	r := pgusers(t, f.env, "plan", "-f", file, "--timeout", "5m")
	wantCode(t, r, exitError)
	mustContain(t, "stderr", r.stderr, "discovery: ", "AuthorizationFailed", "nothing was changed")
	if strings.Contains(r.stderr, "did not finish") {
		t.Errorf("a refusal reads as the timeout:\n%s", r.stderr)
	}
	if n := contacted.Load(); n > 0 {
		t.Errorf("discovery failed, and the listed server was contacted %d time(s)", n)
	}
}
