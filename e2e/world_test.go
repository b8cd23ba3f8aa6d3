package e2e_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pgusers/pgusers/internal/pgtest"
)

// world is a server with an old state, a desired-state file whose plan
// turns it into a new state with 84 changes in one transaction, and a
// fault proxy in front of the server.
//
// Old: keep-1..keep-4 and gone-1, service principals in reporting.
// New: keep-1..keep-4 in orders_rw instead (4 revokes, 4 grants), gone-1
// dropped (prune), svc-01..svc-50 created by object id (50 creates), the
// odd ones in reporting (25 grants).
type world struct {
	s *server
	p *faultProxy
	r *runner
	// viaProxy reaches the server through the proxy, direct without it.
	viaProxy, direct string
	old, new         []string
}

const (
	worldCreates = 50
	worldChanges = worldCreates + worldCreates/2 + 4 + 4 + 1
)

func newWorld(t testing.TB) *world {
	t.Helper()
	s := newServer(t)
	w := &world{s: s, r: s.runner(t)}
	w.p = startProxy(t, fmt.Sprintf("%s:%d", s.c.Host, s.c.Port))
	for i := 1; i <= 4; i++ {
		s.createPrincipal(t, fmt.Sprintf("keep-%d", i), "service")
	}
	s.createPrincipal(t, "gone-1", "service")
	s.c.SuperExec(t, `GRANT reporting TO "keep-1", "keep-2", "keep-3", "keep-4", "gone-1"`)

	var y strings.Builder
	y.WriteString("    prune: true\n    maxDrops: 5\n    principals:\n")
	for i := 1; i <= 4; i++ {
		fmt.Fprintf(&y, "      - {name: keep-%d, type: service, objectId: %s, memberOf: [orders_rw]}\n", i, pgtest.ObjectID(fmt.Sprintf("keep-%d", i)))
	}
	for i := 1; i <= worldCreates; i++ {
		n := fmt.Sprintf("svc-%02d", i)
		member := "[]"
		if i%2 == 1 {
			member = "[reporting]"
		}
		fmt.Fprintf(&y, "      - {name: %s, type: service, objectId: %s, memberOf: %s}\n", n, pgtest.ObjectID(n), member)
	}
	w.viaProxy = s.file(t, "via-proxy.yaml", w.p.Port(), y.String())
	w.direct = s.file(t, "direct.yaml", s.c.Port, y.String())

	w.old = s.state(t)
	r := w.r.applyConverged(t, []string{"-f", w.direct}, "--output", "json")
	if sr, err := oneServer(r); err != nil || sr.Status != "applied" || len(sr.Changes) != worldChanges {
		t.Fatalf("the first apply: %v, status %q, %d changes (want applied, %d)\n%s", err, sr.Status, len(sr.Changes), worldChanges, r)
	}
	w.new = s.state(t)
	w.reset(t)
	return w
}

// reset puts the old state back, as the superuser.
func (w *world) reset(t testing.TB) {
	t.Helper()
	w.s.c.SuperExec(t, `DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT rolname FROM pg_roles WHERE rolname LIKE 'svc-%' LOOP
    EXECUTE format('DROP ROLE %I', r.rolname);
  END LOOP;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'gone-1') THEN
    PERFORM pg_catalog.pgaadauth_create_principal_with_oid('gone-1', '`+pgtest.ObjectID("gone-1")+`', 'service', false, false);
  END IF;
  REVOKE orders_rw FROM "keep-1", "keep-2", "keep-3", "keep-4";
  GRANT reporting TO "keep-1", "keep-2", "keep-3", "keep-4", "gone-1";
END $$`)
	if got := w.s.state(t); !sameLines(got, w.old) {
		t.Fatalf("reset did not bring the old state back:\n%s", lineDiff(w.old, got))
	}
}
