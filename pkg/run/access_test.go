package run

import (
	"context"
	"slices"
	"testing"

	"github.com/pgusers/pgusers/internal/pgtest"
	"github.com/pgusers/pgusers/pkg/connect"
	"github.com/pgusers/pgusers/pkg/spec"
)

// TestReadAccessRoundTrips: a review of every database takes one round
// trip per database after sign-in (the postgres database's with the shared
// catalog), and one more when --database leaves postgres out; it leaves
// no connection open.
func TestReadAccessRoundTrips(t *testing.T) {
	c := pgtest.New(t)
	c.SuperExec(t, `CREATE ROLE app_owner NOLOGIN`)
	c.CreateDatabase(t, "one", "app_owner")
	c.CreateDatabase(t, "two", "app_owner")
	s, cfg := testConfig(c)
	ctx := context.Background()
	for _, tc := range []struct {
		databases []string
		want      int // round trips after sign-in
		reviewed  int
	}{
		{nil, 3, 3},                     // postgres (with the shared catalog), one, two
		{[]string{"one", "two"}, 3, 2},  // the shared catalog, then one and two
		{[]string{"postgres"}, 1, 1},    // all in one
		{[]string{"one", "nope"}, 2, 1}, // nope is missing
	} {
		counter := &pgtest.RoundTripCounter{}
		cfg.Connect.DialFunc = counter.Dial(nil)
		reads := ReadAccess(ctx, []spec.Server{s}, tc.databases, cfg)
		if reads[0].Err != nil {
			t.Fatal(reads[0].Err)
		}
		total := counter.Count()
		reviewed := 0
		for _, db := range reads[0].Read.Databases {
			if db.Read {
				reviewed++
			}
		}
		connections := tc.reviewed
		if len(tc.databases) > 0 && !slices.Contains(tc.databases, "postgres") {
			connections++
		}
		counter.Reset()
		for range connections {
			conn, err := connect.Open(ctx, s, cfg.Connect)
			if err != nil {
				t.Fatal(err)
			}
			conn.Close(ctx)
		}
		if got := total - counter.Count(); got != tc.want || reviewed != tc.reviewed {
			t.Errorf("--database %v: %d round trips after sign-in, %d databases read; want %d and %d", tc.databases, got, reviewed, tc.want, tc.reviewed)
		}
	}
	if n := openConnections(t, c); n != 0 {
		t.Errorf("%d connections left open", n)
	}
}
