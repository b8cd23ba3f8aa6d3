package main

import (
	"strings"
	"testing"
	"time"
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
