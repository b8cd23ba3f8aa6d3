package e2e_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pgusers/pgusers/internal/pgtest"
)

// TestReadRetriedAfterReset resets the connection (RST) at the first
// message pgusers sends after signing in, the start of the plan's read.
// Reading changes nothing, so pgusers must sign in again and read: plan
// and apply both succeed.
func TestReadRetriedAfterReset(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	p := startProxy(t, fmt.Sprintf("%s:%d", s.c.Host, s.c.Port))
	file := s.file(t, "p.yaml", p.Port(), `    principals:
      - {name: retry-svc, type: service, objectId: `+pgtest.ObjectID("retry-svc")+`, memberOf: [reporting]}
`)
	run := s.runner(t)

	p.arm(&fault{kind: resetFirstQuery})
	r := run.run(t, "plan", "-f", file, "--output", "json", "--detailed-exitcode")
	if f := p.result(); !f.fired {
		t.Fatalf("the reset did not fire\n%s", r)
	}
	if sr, err := oneServer(r); err != nil || sr.Status != "changes" || r.code != 2 {
		t.Errorf("plan after a reset at the first query: want status changes and exit 2 (the read retried)\n%s", brief(r))
	}

	p.arm(&fault{kind: resetFirstQuery})
	r = run.run(t, "apply", "-f", file, "--output", "json", "--auto-approve")
	if f := p.result(); !f.fired {
		t.Fatalf("the reset did not fire\n%s", r)
	}
	if sr, err := oneServer(r); err != nil || sr.Status != "applied" || r.code != 0 {
		t.Errorf("apply after a reset at the first query: want applied and exit 0 (the read retried)\n%s", brief(r))
	}
	p.arm(nil)
	run.mustPlanEmpty(t, "-f", file)
}

// TestDirectoryLookupFaultRetried makes the emulated directory fail the
// first two look-ups of a name with SQLSTATE 0LP01, as Microsoft Graph
// does transiently: the apply retries, each time in a fresh transaction,
// and succeeds.
func TestDirectoryLookupFaultRetried(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	p := startProxy(t, fmt.Sprintf("%s:%d", s.c.Host, s.c.Port))
	const name = "flaky@contoso.com"
	s.c.AddDirectoryObject(t, name, "user", pgtest.ObjectID(name))
	file := s.file(t, "p.yaml", p.Port(), `    principals:
      - {name: `+name+`, type: user, memberOf: [reporting]}
      - {name: steady-svc, type: service, objectId: `+pgtest.ObjectID("steady-svc")+`}
`)
	s.c.InjectDirectoryFault(t, name, 2)
	run := s.runner(t)
	r := run.run(t, "apply", "-f", file, "--output", "json", "--auto-approve")
	begins, commits := p.counts()
	t.Logf("%d BEGIN(s), %d COMMIT(s)\n%s", begins, commits, brief(r))
	if sr, err := oneServer(r); err != nil || sr.Status != "applied" || r.code != 0 {
		t.Errorf("a directory look-up failing twice with 0LP01: want applied and exit 0 after retries")
	}
	if begins < 3 || commits != 1 {
		t.Errorf("%d transactions begun and %d committed; want 3 begun (two failed look-ups, each retried in a fresh transaction) and 1 committed", begins, commits)
	}
	want := []string{name, "pgadmin@contoso.com", "steady-svc"}
	if got := s.c.SuperStrings(t, "postgres", `SELECT rolname::text FROM pg_catalog.pgaadauth_list_principals(false) ORDER BY 1`); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("principals %v, want %v", got, want)
	}
	run.mustPlanEmpty(t, "-f", file)
}

// TestMembershipCycleNotRetried declares a membership PostgreSQL refuses
// with its own SQLSTATE 0LP01 (invalid_grant_operation: the role is
// already a member of the principal): that is no transient directory
// fault, and retrying it is pointless. One transaction, one failure.
func TestMembershipCycleNotRetried(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	p := startProxy(t, fmt.Sprintf("%s:%d", s.c.Host, s.c.Port))
	s.createPrincipal(t, "cycle-svc", "service")
	s.c.SuperExec(t, `GRANT "cycle-svc" TO reporting`)
	file := s.file(t, "p.yaml", p.Port(), `    principals:
      - {name: cycle-svc, type: service, objectId: `+pgtest.ObjectID("cycle-svc")+`, memberOf: [reporting]}
`)
	before := s.state(t)
	run := s.runner(t)
	r := run.run(t, "apply", "-f", file, "--output", "json", "--auto-approve")
	begins, _ := p.counts()
	t.Logf("%d BEGIN(s)\n%s", begins, brief(r))
	sr, err := oneServer(r)
	if err != nil {
		t.Fatalf("%v\n%s", err, r)
	}
	if sr.Status != "error" || r.code != 1 {
		t.Errorf("status %q, exit %d; want error, 1", sr.Status, r.code)
	}
	switch {
	case begins == 0:
		t.Logf("refused before any transaction: the server's 0LP01 was not reached")
	case begins > 1:
		t.Errorf("PostgreSQL's own 0LP01 (a membership cycle) was retried: %d transactions begun, want 1", begins)
	}
	if begins == 1 && !strings.Contains(sr.Error, "is a member of role") {
		t.Errorf("the error does not carry the server's reason (role ... is a member of role ...): %q", sr.Error)
	}
	if got := s.state(t); !sameLines(got, before) {
		t.Errorf("the server changed:\n%s", lineDiff(before, got))
	}
}
