package run

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/pgusers/pgusers/internal/pgtest"
	"github.com/pgusers/pgusers/pkg/connect"
	"github.com/pgusers/pgusers/pkg/inspect"
	"github.com/pgusers/pgusers/pkg/spec"
)

// testConfig signs in to c as its administrator with a password.
func testConfig(c *pgtest.Cluster) (spec.Server, Config) {
	s := spec.Server{Name: "test", Connection: spec.Connection{Host: c.Host, Port: c.Port, Database: "postgres",
		User: c.Admin, Auth: spec.AuthPassword, PasswordEnv: "PGUSERS_TEST_PASSWORD", SSLMode: "disable"}, MaxDrops: 5}
	getenv := func(k string) string {
		if k == "PGUSERS_TEST_PASSWORD" {
			return c.AdminPassword
		}
		return ""
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return s, Config{Parallel: 8, Timeout: time.Minute, Log: log,
		Connect: connect.Options{Getenv: getenv, Credentials: connect.NewCredentials(getenv), Logger: log}}
}

// openConnections are pgusers' connections to c.
func openConnections(t *testing.T, c *pgtest.Cluster) int {
	t.Helper()
	// The backend of a closed connection goes away a moment later.
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := len(c.SuperStrings(t, "postgres", `SELECT pid::text FROM pg_stat_activity WHERE application_name = 'pgusers'`))
		if n == 0 || time.Now().After(deadline) {
			return n
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// An early read is taken once, by the server it was started for, reached
// the same way; Stop closes the connection of a read nobody took.
func TestEarlyReadsAreTakenOnceOrClosed(t *testing.T) {
	c := pgtest.New(t)
	s, cfg := testConfig(c)
	ctx := context.Background()

	reads := StartReads(ctx, []spec.Server{s}, cfg)
	moved := s
	moved.Port++
	if r := reads.take(moved); r != nil {
		t.Fatal("a read was taken by a server reached another way")
	}
	policy := s
	policy.Prune, policy.Protect, policy.MaxDrops = true, []string{"x*"}, 0
	policy.Principals = []spec.Principal{{Name: "p", Type: spec.User}}
	r := reads.take(policy)
	if r == nil {
		t.Fatal("the read was not there for its server (whose policy and principals are not the read's business)")
	}
	if again := reads.take(s); again != nil {
		t.Fatal("a read was taken twice")
	}
	conn, snap, err := r.wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if o := snap.Observed(inspect.Asked{}); o.SessionUser != c.Admin {
		t.Errorf("the read signed in as %q, want %q", o.SessionUser, c.Admin)
	}
	reads.Stop(ctx) // r was taken: its connection is the caller's
	if err := conn.Ping(ctx); err != nil {
		t.Fatalf("Stop closed the connection of a taken read: %v", err)
	}
	conn.Close(ctx)

	reads = StartReads(ctx, []spec.Server{s}, cfg)
	<-reads.reads[s.Name].done // connected and read
	reads.Stop(ctx)
	if n := openConnections(t, c); n != 0 {
		t.Errorf("pgusers holds %d connection(s) after Stop", n)
	}
}
