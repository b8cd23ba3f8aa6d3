package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pgusers/pgusers/internal/pgtest"
)

// sessionCounter records the database of each session the connections it
// dials sign in to, read from the startup message (sslmode: disable).
type sessionCounter struct {
	mu        sync.Mutex
	databases []string
}

func (s *sessionCounter) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &startupConn{Conn: c, counter: s}, nil
}

// perDatabase counts the sessions of each database.
func (s *sessionCounter) perDatabase() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := map[string]int{}
	for _, db := range s.databases {
		n[db]++
	}
	return n
}

type startupConn struct {
	net.Conn
	counter *sessionCounter
	seen    bool
}

func (c *startupConn) Write(b []byte) (int, error) {
	if !c.seen {
		c.seen = true
		// Length, protocol version, then key\0value\0 pairs.
		if len(b) > 8 {
			fields := bytes.Split(b[8:], []byte{0})
			for i := 0; i+1 < len(fields); i += 2 {
				if string(fields[i]) == "database" {
					c.counter.mu.Lock()
					c.counter.databases = append(c.counter.databases, string(fields[i+1]))
					c.counter.mu.Unlock()
				}
			}
		}
	}
	return c.Conn.Write(b)
}

// An apply that changes privileges in several databases signs in to each
// database once: the sessions that read them for the plan are the ones
// that re-read and change them, first apply and repair alike.
func TestPrivilegesApplyOpensOneSessionPerDatabase(t *testing.T) {
	f := shopFixture(t)
	file := f.file(t, "shop.yaml", fmt.Sprintf(shopFile, pgtest.ObjectID("app-api")))
	apply := func(what string) {
		t.Helper()
		counter, rt := &sessionCounter{}, &pgtest.RoundTripCounter{}
		e := f.env
		e.connect.DialFunc = rt.Dial(counter.dial)
		wantCode(t, pgusers(t, e, "apply", "-f", file, "--auto-approve"), exitOK)
		t.Logf("%s: %d round trips, sign-ins included", what, rt.Count())
		mustPlanEmpty(t, f.env, "-f", file)
		got := counter.perDatabase()
		for _, db := range []string{"postgres", "billing", "orders"} {
			if got[db] != 1 {
				t.Errorf("%s: %d sessions in database %s, want 1 (all: %v)", what, got[db], db, got)
			}
		}
		if len(got) != 3 {
			t.Errorf("%s: sessions in %d databases, want 3: %v", what, len(got), got)
		}
	}
	apply("first apply")

	// Drift in both databases, behind pgusers' back.
	for _, db := range []string{"billing", "orders"} {
		f.c.SuperExecIn(t, db, `REVOKE SELECT ON public.t1 FROM orders_ro`)
	}
	if got := f.privileges(t, "orders"); slices.Contains(got, "orders_ro t1 SELECT") {
		t.Fatalf("the drift did not take: %s", strings.Join(got, "\n"))
	}
	apply("repair")
}
