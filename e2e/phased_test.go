package e2e_test

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pgusers/pgusers/internal/pgtest"
)

// shop is a server whose plan runs as a sequence of four transactions (a
// phased apply): the main one (a group role, a principal, its membership,
// CONNECT on two databases), one in database alpha and one in database
// beta (readonly on schema s1), and the drops (a pruned principal). Each
// step leaves a mark the superuser can read, so that what a faulted apply
// says it committed can be checked step by step against the server.
type shop struct {
	s *server
	p *faultProxy
	r *runner
	// viaProxy reaches the server through the proxy, direct without it.
	viaProxy, direct string
}

// shopSteps are the sequence's transactions, in order, as the report
// names them.
var shopSteps = []string{"the main transaction", "database alpha", "database beta", "the drops"}

// shopTargets are where each step's transaction runs: the database of its
// connection, and which BEGIN on it.
var shopTargets = []struct {
	database string
	nth      int
}{{"postgres", 1}, {"alpha", 1}, {"beta", 1}, {"postgres", 2}}

func newShop(t testing.TB) *shop {
	t.Helper()
	s := newServer(t)
	sh := &shop{s: s, r: s.runner(t)}
	sh.p = startProxy(t, fmt.Sprintf("%s:%d", s.c.Host, s.c.Port))
	s.c.SuperExec(t, `CREATE ROLE app_owner NOLOGIN`)
	for _, db := range []string{"alpha", "beta"} {
		s.c.CreateDatabase(t, db, "app_owner")
		s.c.SuperExecIn(t, db, `CREATE SCHEMA s1 AUTHORIZATION app_owner`, `SET ROLE app_owner`, `CREATE TABLE s1.t1 (id int)`, `RESET ROLE`)
	}
	s.createPrincipal(t, "gone-1", "service")
	y := fmt.Sprintf(`    prune: true
    roles:
      - {name: shop_ro}
    principals:
      - {name: svc-1, type: service, objectId: %s, memberOf: [shop_ro]}
    grants:
      - to: shop_ro
        databases: [alpha, beta]
        schemas: [s1]
        profile: readonly
`, pgtest.ObjectID("svc-1"))
	sh.viaProxy = s.file(t, "via-proxy.yaml", sh.p.Port(), y)
	sh.direct = s.file(t, "direct.yaml", s.c.Port, y)
	if got := sh.done(t); slices.Contains(got[:], true) {
		t.Fatalf("the old state has steps done: %v", got)
	}
	return sh
}

// done reads which steps' marks the server holds.
func (sh *shop) done(t testing.TB) [4]bool {
	t.Helper()
	c := sh.s.c
	var d [4]bool
	main := c.SuperStrings(t, "postgres", `SELECT count(*)::text FROM pg_roles WHERE rolname IN ('shop_ro', 'svc-1')`)[0]
	switch main {
	case "0":
	case "2":
		d[0] = true
	default:
		t.Errorf("the main transaction is half there: %s of shop_ro and svc-1 exist", main)
	}
	for i, db := range []string{"alpha", "beta"} {
		acl := c.SuperStrings(t, db, `SELECT coalesce((SELECT relacl::text FROM pg_class WHERE oid = 's1.t1'::regclass), '') || ' ' ||
		  coalesce((SELECT nspacl::text FROM pg_namespace WHERE nspname = 's1'), '')`)[0]
		d[1+i] = strings.Count(acl, "shop_ro=") == 2
		if !d[1+i] && strings.Contains(acl, "shop_ro=") {
			t.Errorf("database %s is half there: %s", db, acl)
		}
	}
	d[3] = c.SuperStrings(t, "postgres", `SELECT count(*)::text FROM pg_roles WHERE rolname = 'gone-1'`)[0] == "0"
	return d
}

// reset puts the old state back, as the superuser.
func (sh *shop) reset(t testing.TB) {
	t.Helper()
	c := sh.s.c
	if c.SuperStrings(t, "postgres", `SELECT count(*)::text FROM pg_roles WHERE rolname = 'shop_ro'`)[0] == "1" {
		for _, db := range []string{"alpha", "beta"} {
			c.SuperExecIn(t, db, `REVOKE ALL ON ALL TABLES IN SCHEMA s1 FROM shop_ro`, `REVOKE ALL ON SCHEMA s1 FROM shop_ro`)
		}
		c.SuperExec(t, `REVOKE ALL ON DATABASE alpha, beta FROM shop_ro`)
	}
	c.SuperExec(t, `DROP ROLE IF EXISTS "svc-1"`)
	c.SuperExec(t, `DROP ROLE IF EXISTS shop_ro`)
	if c.SuperStrings(t, "postgres", `SELECT count(*)::text FROM pg_roles WHERE rolname = 'gone-1'`)[0] == "0" {
		sh.s.createPrincipal(t, "gone-1", "service")
	}
	if got := sh.done(t); slices.Contains(got[:], true) {
		t.Fatalf("reset left steps done: %v", got)
	}
}

// mustPlanEmpty plans file and wants exit 0 from --detailed-exitcode: no
// change left.
func mustPlanEmpty(t testing.TB, r *runner, file string) {
	t.Helper()
	if p := r.run(t, "plan", "-f", file, "--detailed-exitcode"); p.code != 0 {
		t.Errorf("plan --detailed-exitcode after the converging apply is not 0:\n%s", p)
	}
}

// converge applies without a fault; every step must then be done and the
// plan empty. It reports whether they are.
func (sh *shop) converge(t testing.TB) bool {
	t.Helper()
	ok := true
	r := sh.r.run(t, "apply", "-f", sh.direct, "--auto-approve", "--output", "json")
	if r.code != 0 {
		ok = false
		t.Errorf("the apply after the fault does not converge:\n%s", r)
	}
	mustPlanEmpty(t, sh.r, sh.direct)
	if got := sh.done(t); got != [4]bool{true, true, true, true} {
		ok = false
		t.Errorf("the converging apply left steps undone: %v", got)
	}
	return ok
}

// view is how a report is read: what it says the status is and which
// steps it says committed.
type view struct {
	name    string
	args    []string
	outcome func(r result) (status string, committed []string, err error)
}

var applyLine = regexp.MustCompile(`(?m)^server local: (.*)$`)

var shopViews = []view{
	{"json", []string{"--output", "json"}, func(r result) (string, []string, error) {
		sr, err := oneServer(r)
		if err != nil {
			return "", nil, err
		}
		return sr.Status, sr.Committed, nil
	}},
	{"text", nil, func(r result) (string, []string, error) {
		m := applyLine.FindStringSubmatch(r.stdout)
		if m == nil {
			return "", nil, fmt.Errorf("no line %q in stdout", "server local: ...")
		}
		line := m[1]
		switch {
		case strings.HasPrefix(line, "applied"):
			return "applied", nil, nil
		case strings.HasPrefix(line, "failed partway; committed: "):
			return "error", strings.Split(strings.TrimPrefix(line, "failed partway; committed: "), ", "), nil
		case line == "failed, nothing changed there":
			return "error", nil, nil
		case strings.HasPrefix(line, "outcome unknown"):
			_, after, _ := strings.Cut(line, "committed before: ")
			var c []string
			if after != "" {
				c = strings.Split(after, ", ")
			}
			return "unknown", c, nil
		}
		return "", nil, fmt.Errorf("unexpected line %q", line)
	}},
}

// faulted runs the apply through the proxy with f armed, in view v, and
// returns the run, the fault as it fired, and the steps done once the
// apply's sessions are gone.
func (sh *shop) faulted(t testing.TB, f *fault, v view) (result, fault, [4]bool) {
	t.Helper()
	sh.p.arm(f)
	args := append([]string{"apply", "-f", sh.viaProxy, "--auto-approve", "--timeout", "5s"}, v.args...)
	r := sh.r.run(t, args...)
	fired := sh.p.result()
	sh.p.arm(nil)
	sh.s.settle(t)
	return r, fired, sh.done(t)
}

// judgeShop checks what view v of run r says against the steps done:
// "applied" exactly when all are, otherwise "error" listing exactly the
// steps done as committed; never "unknown" (the server can be reached
// again); and the order of the sequence holds.
func judgeShop(r result, v view, done [4]bool) []string {
	var problems []string
	for i := 1; i < len(done); i++ {
		if done[i] && !done[i-1] {
			problems = append(problems, fmt.Sprintf("%s is done but %s is not", shopSteps[i], shopSteps[i-1]))
		}
	}
	var want []string
	for i, d := range done {
		if d {
			want = append(want, shopSteps[i])
		}
	}
	status, committed, err := v.outcome(r)
	switch {
	case err != nil:
		problems = append(problems, fmt.Sprintf("%s view: %v", v.name, err))
	case status == "applied":
		if len(want) != len(shopSteps) {
			problems = append(problems, fmt.Sprintf("%s view says applied; the server holds only %v", v.name, want))
		}
		if r.code != 0 {
			problems = append(problems, fmt.Sprintf("applied with exit %d", r.code))
		}
	case status == "error":
		if len(want) == len(shopSteps) {
			problems = append(problems, fmt.Sprintf("%s view says error (committed %v); the server holds every step", v.name, committed))
		} else if !slices.Equal(committed, want) {
			problems = append(problems, fmt.Sprintf("%s view says committed %v; the server holds %v", v.name, committed, want))
		}
		if r.code != 1 {
			problems = append(problems, fmt.Sprintf("error with exit %d", r.code))
		}
	default:
		problems = append(problems, fmt.Sprintf("%s view says %q (committed %v); the server holds %v", v.name, status, committed, want))
	}
	return problems
}

// shopFaults are the faults of the phased sweep on step i's transaction,
// sized by its dry run rec: a cut after every message from its BEGIN
// through its COMMIT (FIN and RST in turn), a cut after every byte of
// COMMIT's reply, the reply held until --timeout, and COMMIT delivered
// after the client's side is gone.
func shopFaults(i int, rec recording) []*fault {
	tg := shopTargets[i]
	var out []*fault
	add := func(f fault) {
		f.database, f.nth = tg.database, tg.nth
		out = append(out, &f)
	}
	for k := 0; k <= rec.commitIndex; k++ {
		add(fault{kind: cutAfterMessage, k: k, reset: k%2 == 1})
	}
	for k := rec.commitStart + 1; k <= rec.total; k++ {
		add(fault{kind: cutAfterByte, k: k})
	}
	add(fault{kind: stallAtCommit})
	add(fault{kind: delayCommit, delay: 300 * time.Millisecond})
	return out
}

func (f *fault) String() string {
	switch f.kind {
	case cutAfterMessage, cutAfterByte, killAfterMessage:
		rst := ""
		if f.reset {
			rst = "/rst"
		}
		return fmt.Sprintf("%s %d%s on BEGIN %d of %s", f.kind, f.k, rst, f.nth, f.database)
	}
	return fmt.Sprintf("%s on BEGIN %d of %s", f.kind, f.nth, f.database)
}

// TestPhasedApplyTellsWhatCommitted injects faults into each transaction
// of a phased apply (the N-th BEGIN on a connection to a given database),
// and checks that the report lists exactly the steps the server holds:
// "applied" only when all are, "error" with exactly those committed
// otherwise, never "unknown", never a commit that did not happen nor
// "nothing changed" where one did. Every fault from COMMIT on (where the
// outcome is PostgreSQL's answer) is checked in the text and the JSON view;
// the cuts before it, in one view each, in turn (in both with
// PGUSERS_E2E_EXHAUSTIVE=1). Every fault is followed by an apply without it
// that converges, and an empty plan.
func TestPhasedApplyTellsWhatCommitted(t *testing.T) {
	if testing.Short() {
		t.Skip("a sweep of about 300 faulted applies, 3 minutes")
	}
	exhaustive := os.Getenv("PGUSERS_E2E_EXHAUSTIVE") == "1"
	sh := newShop(t)
	var recs []recording
	for i, tg := range shopTargets {
		r, f, done := sh.faulted(t, &fault{kind: faultRecord, database: tg.database, nth: tg.nth}, shopViews[0])
		if r.code != 0 || done != [4]bool{true, true, true, true} || !f.rec.complete {
			t.Fatalf("the dry run of %s through the proxy did not apply (done %v, transaction seen whole: %v):\n%s",
				shopSteps[i], done, f.rec.complete, r)
		}
		recs = append(recs, f.rec)
		sh.reset(t)
	}
	counts := map[string]int{}
	faults, partials, misreported, converged := 0, 0, 0, 0
	for i := range shopSteps {
		for n, f := range shopFaults(i, recs[i]) {
			views := shopViews
			if beforeCommit := f.kind == cutAfterMessage && f.k < recs[i].commitIndex; beforeCommit && !exhaustive {
				views = shopViews[n%2 : n%2+1]
			}
			for _, v := range views {
				ff := *f
				r, fired, done := sh.faulted(t, &ff, v)
				faults++
				if !fired.fired {
					t.Errorf("%s: did not fire", f)
				}
				problems := judgeShop(r, v, done)
				if len(problems) > 0 {
					misreported++
					t.Errorf("%s, %s view: %s\n%s", f, v.name, strings.Join(problems, "; "), brief(r))
				}
				status, _, _ := v.outcome(r)
				partial := done != [4]bool{} && done != [4]bool{true, true, true, true}
				if partial {
					partials++
				}
				counts[fmt.Sprintf("%s: %s, partial=%v", shopSteps[i], status, partial)]++
				if sh.converge(t) {
					converged++
				}
				sh.reset(t)
			}
		}
	}
	var keys []string
	for k := range counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "  %4d × %s\n", counts[k], k)
	}
	t.Logf("%d faulted applies, %d left the server partly applied, %d misreported, %d converged "+
		"(the next apply, then an empty plan); by the step faulted, the status reported:\n%s", faults, partials, misreported, converged, b.String())
}

// faultedInEveryView runs the faulted apply once per view (resetting the
// server with reset between), and checks each against the steps done.
func (sh *shop) faultedInEveryView(t *testing.T, f fault, reset func()) {
	t.Helper()
	for _, v := range shopViews {
		ff := f
		r, fired, done := sh.faulted(t, &ff, v)
		if !fired.fired {
			t.Fatalf("%s: did not fire", &f)
		}
		for _, p := range judgeShop(r, v, done) {
			t.Errorf("%s, %s view: %s\n%s", &f, v.name, p, brief(r))
		}
		if strings.Contains(r.stderr, "panic") || strings.Contains(r.stderr, "goroutine ") || r.code == 2 {
			t.Errorf("%s, %s view: pgusers crashed:\n%s", &f, v.name, r)
		}
		sh.converge(t)
		reset()
	}
}

// The defects of a sequence's report, one fault each, in every view: a
// connection lost just before the drops' BEGIN crashed pgusers (a nil
// transaction unlocked); a database whose COMMIT reply was lost was
// reported "rolled back" and left out of committed though it had
// committed, and so were the drops; a COMMIT delivered after the client's
// side was gone read "unknown".
func TestPhasedApplyFaultsOnOneStep(t *testing.T) {
	t.Parallel()
	sh := newShop(t)
	var alpha, drops recording
	for i, rec := range []*recording{&alpha, &drops} {
		tg := shopTargets[[]int{1, 3}[i]]
		r, f, _ := sh.faulted(t, &fault{kind: faultRecord, database: tg.database, nth: tg.nth}, shopViews[0])
		if r.code != 0 || !f.rec.complete {
			t.Fatalf("the dry run did not apply:\n%s", r)
		}
		*rec = f.rec
		sh.reset(t)
	}
	reset := func() { sh.reset(t) }
	for _, f := range []fault{
		{kind: cutAfterMessage, k: 0, database: "postgres", nth: 2},                            // before the drops' BEGIN
		{kind: cutAfterByte, k: alpha.commitStart, database: "alpha", nth: 1},                  // alpha's COMMIT sent, no reply
		{kind: cutAfterByte, k: alpha.commitStart + 3, database: "alpha", nth: 1, reset: true}, // in its reply
		{kind: cutAfterByte, k: drops.commitStart, database: "postgres", nth: 2},               // the drops' COMMIT sent, no reply
		{kind: delayCommit, delay: 300 * time.Millisecond, database: "postgres", nth: 1},       // the main COMMIT after the client left
		{kind: stallAtCommit, database: "beta", nth: 1},
	} {
		sh.faultedInEveryView(t, f, reset)
	}
}

// A sequence whose main transaction changes nothing (every change is in
// other databases) and whose first database fails committed nothing, and
// must say so: it said "committed: the main transaction", as it did for a
// revoke that failed with "dependent privileges exist".
func TestPhasedApplyClaimsNoEmptyCommit(t *testing.T) {
	t.Parallel()
	sh := newShop(t)
	sh.converge(t)
	// Only the privileges in alpha and beta are left to apply.
	revoke := func() {
		for _, db := range []string{"alpha", "beta"} {
			sh.s.c.SuperExecIn(t, db, `REVOKE ALL ON ALL TABLES IN SCHEMA s1 FROM shop_ro`, `REVOKE ALL ON SCHEMA s1 FROM shop_ro`)
		}
	}
	revoke()
	r, f, _ := sh.faulted(t, &fault{kind: faultRecord, database: "alpha", nth: 1}, shopViews[0])
	if r.code != 0 || !f.rec.complete {
		t.Fatalf("the dry run did not apply:\n%s", r)
	}
	revoke()
	for _, v := range shopViews {
		// Cut in alpha's pipeline, after its re-read: alpha rolls back.
		ff := fault{kind: cutAfterMessage, k: f.rec.commitIndex - 1, database: "alpha", nth: 1}
		r, fired, done := sh.faulted(t, &ff, v)
		if !fired.fired {
			t.Fatal("the cut did not fire")
		}
		// Nothing committed, so pgusers may also have tried again, on a
		// new connection, and applied.
		status, committed, err := v.outcome(r)
		switch {
		case err != nil:
			t.Errorf("%s view: %v\n%s", v.name, err, brief(r))
		case status == "applied" && done == [4]bool{true, true, true, true}:
		case status == "error" && len(committed) == 0 && done == [4]bool{true, false, false, true}:
		default:
			t.Errorf("%s view: status %q, committed %v, the server holds %v; want error with nothing committed (or applied, retried)\n%s",
				v.name, status, committed, done, brief(r))
		}
		sh.converge(t)
		revoke()
	}
	sh.converge(t)
}

// TestKilledMidSequenceLeavesWholeSteps kills pgusers with SIGKILL right
// after chosen messages of each transaction of a sequence (after BEGIN,
// before COMMIT, right after COMMIT): no report is printed, so the next
// plan is the view. The server must hold whole steps, in order; the plan,
// in text and JSON, must show changes exactly when a step is missing; and
// an apply must then converge.
func TestKilledMidSequenceLeavesWholeSteps(t *testing.T) {
	t.Parallel()
	sh := newShop(t)
	var recs []recording
	for _, tg := range shopTargets {
		r, f, _ := sh.faulted(t, &fault{kind: faultRecord, database: tg.database, nth: tg.nth}, shopViews[0])
		if r.code != 0 || !f.rec.complete {
			t.Fatalf("the dry run did not apply:\n%s", r)
		}
		recs = append(recs, f.rec)
		sh.reset(t)
	}
	for i, tg := range shopTargets {
		for _, k := range []int{1, recs[i].commitIndex - 1, recs[i].commitIndex} {
			// The proxy may reach the message before start returns: it
			// waits for the process on a channel, not on a variable.
			started := make(chan *process, 1)
			killed := make(chan struct{})
			f := &fault{kind: killAfterMessage, k: k, database: tg.database, nth: tg.nth, kill: func() {
				p := <-started
				p.cmd.Process.Kill()
				<-p.done
				close(killed)
			}}
			sh.p.arm(f)
			p := sh.r.start(t, "apply", "-f", sh.viaProxy, "--auto-approve", "--output", "json")
			started <- p
			select {
			case <-killed:
			case <-p.done:
				// Ended by the kill, or before it.
				select {
				case <-killed:
				case <-time.After(5 * time.Second):
					t.Fatalf("%s: pgusers ended before the kill:\nstdout:\n%s\nstderr:\n%s", f, p.out.String(), p.errOut.String())
				}
			}
			sh.p.arm(nil)
			sh.s.settle(t)
			done := sh.done(t)
			for j := 1; j < len(done); j++ {
				if done[j] && !done[j-1] {
					t.Errorf("%s: %s is done but %s is not", f, shopSteps[j], shopSteps[j-1])
				}
			}
			all := done == [4]bool{true, true, true, true}
			for _, v := range []string{"text", "json"} {
				r := sh.r.run(t, "plan", "-f", sh.direct, "--detailed-exitcode", "--output", v)
				if want := map[bool]int{true: 0, false: 2}[all]; r.code != want {
					t.Errorf("%s: the server holds %v; plan --output %s exits %d, want %d:\n%s", f, done, v, r.code, want, r)
				}
			}
			sh.converge(t)
			sh.reset(t)
		}
	}
}

// TestPhasedApplyUnreachableAfterTheCut loses the reply to database
// alpha's COMMIT, and from then on the server cannot be reached: PostgreSQL
// cannot be asked, so alpha's outcome is unknown, and every view must say
// so, with exactly what committed before it.
func TestPhasedApplyUnreachableAfterTheCut(t *testing.T) {
	t.Parallel()
	sh := newShop(t)
	r, f, _ := sh.faulted(t, &fault{kind: faultRecord, database: "alpha", nth: 1}, shopViews[0])
	if r.code != 0 || !f.rec.complete {
		t.Fatalf("the dry run did not apply:\n%s", r)
	}
	sh.reset(t)
	for _, v := range shopViews {
		ff := fault{kind: cutAfterByte, k: f.rec.commitStart, database: "alpha", nth: 1, refuse: true}
		r, fired, done := sh.faulted(t, &ff, v)
		if !fired.fired {
			t.Fatal("the cut did not fire")
		}
		status, committed, err := v.outcome(r)
		if err != nil || status != "unknown" || !slices.Equal(committed, []string{"the main transaction"}) || r.code != 1 {
			t.Errorf("%s view: status %q, committed %v, exit %d (%v); want unknown, [the main transaction], 1\n%s", v.name, status, committed, r.code, err, brief(r))
		}
		if sr, err := oneServer(r); v.name == "json" && (err != nil || sr.ErrorKind != "unknown-outcome" || !strings.Contains(sr.Error, unknownOutcome)) {
			t.Errorf("json view: errorKind %q, error %q (%v)", sr.ErrorKind, sr.Error, err)
		}
		if !done[0] || done[2] || done[3] {
			t.Errorf("the server holds %v; want the main transaction, alpha either way, nothing after", done)
		}
		sh.converge(t)
		sh.reset(t)
	}
}
