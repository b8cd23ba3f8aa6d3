package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/pgusers/pgusers/pkg/spec"
)

// A server is read while the files decode. When they turn out to be
// wrong, that read is cancelled and its connection closed: the run reports
// the files' problems alone and leaves nothing open on the server.
func TestEarlyReadOfABadFileLeavesNothingOpen(t *testing.T) {
	f := newFixture(t)
	file := f.file(t, "bad.yaml", "    principals:\n      - {name: app, type: robot}\n")
	r := pgusers(t, f.env, "plan", "-f", file)
	wantCode(t, r, exitError)
	if !strings.Contains(r.stderr, `type "robot" is not one of user, group, service`) {
		t.Errorf("stderr does not report the bad type:\n%s", r.stderr)
	}
	if strings.Contains(r.stderr, "server(s) failed") || r.stdout != "" {
		t.Errorf("the run reports on the server, not just on the file:\n%s%s", r.stdout, r.stderr)
	}
	noConnectionLeft(t, f)
}

// noConnectionLeft fails t while pgusers holds a connection to f's server.
func noConnectionLeft(t *testing.T, f *fixture) {
	t.Helper()
	// The backend of a closed connection goes away a moment later.
	deadline := time.Now().Add(5 * time.Second)
	for {
		open := f.c.SuperStrings(t, "postgres", `SELECT pid::text FROM pg_stat_activity WHERE application_name = 'pgusers'`)
		if len(open) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pgusers holds %d connection(s) to the server", len(open))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// An early read is taken once, by the server it was started for, and
// stop closes the connection of a read nobody took.
func TestEarlyReadsAreTakenOnceOrClosed(t *testing.T) {
	f := newFixture(t)
	d, err := spec.Load(context.Background(), []string{f.file(t, "ok.yaml", "")})
	if err != nil {
		t.Fatal(err)
	}
	s := d.Servers[0]
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	opts := connectOptions(f.env, log)

	reads := startEarlyReads(ctx, d.Servers, 8, opts, log)
	moved := s
	moved.Port++
	if r := reads.take(moved); r != nil {
		t.Fatal("a read was taken by a server reached another way")
	}
	r := reads.take(s)
	if r == nil {
		t.Fatal("the read was not there for its server")
	}
	if again := reads.take(s); again != nil {
		t.Fatal("a read was taken twice")
	}
	conn, snap, err := r.wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if o := snap.Observed(nil); o.SessionUser != f.c.Admin {
		t.Errorf("the read signed in as %q, want %q", o.SessionUser, f.c.Admin)
	}
	reads.stop(ctx) // r was taken: its connection is the caller's
	if err := conn.Ping(ctx); err != nil {
		t.Fatalf("stop closed the connection of a taken read: %v", err)
	}
	conn.Close(ctx)

	reads = startEarlyReads(ctx, d.Servers, 8, opts, log)
	<-reads[s.Name].done // connected and read
	reads.stop(ctx)
	noConnectionLeft(t, f)
}

func TestSameConnection(t *testing.T) {
	base := spec.Server{Name: "a",
		Connection: spec.Connection{Host: "a.example.com", Port: 5432, Database: "postgres", User: "admin", Auth: spec.AuthEntra, Credential: "default", SSLMode: "verify-full"}, MaxDrops: 5}
	policy := base
	policy.Prune, policy.Protect, policy.MaxDrops, policy.ReassignOwnedTo = true, []string{"x*"}, 0, "dba"
	policy.Principals = []spec.Principal{{Name: "p", Type: spec.User}}
	if !sameConnection(base, policy) {
		t.Error("policy and principals made two servers differ")
	}
	for name, change := range map[string]func(*spec.Server){
		"host":       func(s *spec.Server) { s.Host = "b.example.com" },
		"port":       func(s *spec.Server) { s.Port = 6432 },
		"user":       func(s *spec.Server) { s.User = "other" },
		"sslmode":    func(s *spec.Server) { s.SSLMode = "require" },
		"credential": func(s *spec.Server) { s.Credential = "azurecli" },
	} {
		other := base
		change(&other)
		if sameConnection(base, other) {
			t.Errorf("servers that differ in %s reach the same server the same way", name)
		}
	}
}
