package e2e_test

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pgusers/pgusers/internal/pgtest"
)

var (
	namesTheLock      = regexp.MustCompile(`another pgusers apply is running`)
	namesTheStaleness = regexp.MustCompile(`changed since the plan`)
)

// gates hold an apply's BEGIN or COMMIT back at the proxy, to make two
// applies overlap the way a round wants. Every wait ends when either
// process exits, or after 15 s, so that a gate never hangs a test.
type gates struct {
	mode   string // "free", "lock" or "stale"
	exited chan struct{}
	both   chan struct{} // closed when two BEGINs arrived

	mu       sync.Mutex
	begins   int
	commits  int
	timedOut []string
}

func newGates(mode string) *gates {
	return &gates{mode: mode, exited: make(chan struct{}), both: make(chan struct{})}
}

func (g *gates) wait(ch chan struct{}, what string) {
	select {
	case <-ch:
	case <-g.exited:
	case <-time.After(15 * time.Second):
		g.mu.Lock()
		g.timedOut = append(g.timedOut, what)
		g.mu.Unlock()
	}
}

// beforeBegin holds both BEGINs until each apply has read the server and
// begun (a barrier). In mode lock both then go on together; in mode stale
// the second waits until the first apply's process has exited, having
// committed.
func (g *gates) beforeBegin(int) {
	g.mu.Lock()
	g.begins++
	n := g.begins
	if n == 2 {
		close(g.both)
	}
	g.mu.Unlock()
	if n > 2 {
		return
	}
	g.wait(g.both, "the second BEGIN")
	if g.mode == "stale" && n == 2 {
		g.wait(g.exited, "an apply to end while the other's BEGIN was held")
	}
}

// beforeCommit, in mode lock, holds the first COMMIT (the one of the apply
// that took the lock) until the other apply has exited: that one must
// fail fast on the lock, not wait for it.
func (g *gates) beforeCommit(int) {
	g.mu.Lock()
	g.commits++
	n := g.commits
	g.mu.Unlock()
	if g.mode == "lock" && n == 1 {
		g.wait(g.exited, "the apply without the lock to fail while the other held its COMMIT")
	}
}

// TestTwoAppliesNeverInterleave starts two applies of conflicting files on
// one server together, 20 times: file A declares a1..a20 with prune, file B
// b1..b20 with prune. The server must end with exactly one file's
// principals, never a mix; the other apply exits 1 naming the lock or the
// staleness; and a plan of the winner's file is in sync.
//
// Rounds take turns: free (started together, nothing held), lock (both
// read, both begin, the first COMMIT is held until the other apply exits:
// it must fail fast on the lock) and stale (both read, the second BEGIN is
// held until the first apply exited: the plan it read is stale).
func TestTwoAppliesNeverInterleave(t *testing.T) {
	s := newServer(t)
	p := startProxy(t, fmt.Sprintf("%s:%d", s.c.Host, s.c.Port))
	declare := func(prefix string) string {
		var y strings.Builder
		y.WriteString("    prune: true\n    maxDrops: 25\n    principals:\n")
		for i := 1; i <= 20; i++ {
			n := fmt.Sprintf("%s%d", prefix, i)
			fmt.Fprintf(&y, "      - {name: %s, type: service, objectId: %s}\n", n, pgtest.ObjectID(n))
		}
		return y.String()
	}
	files := map[string]string{
		"A": s.file(t, "a.yaml", p.Port(), declare("a")),
		"B": s.file(t, "b.yaml", p.Port(), declare("b")),
	}
	direct := map[string]string{
		"A": s.file(t, "a-direct.yaml", s.c.Port, declare("a")),
		"B": s.file(t, "b-direct.yaml", s.c.Port, declare("b")),
	}
	want := map[string][]string{}
	for _, f := range []string{"A", "B"} {
		for i := 1; i <= 20; i++ {
			want[f] = append(want[f], fmt.Sprintf("%s%d", strings.ToLower(f), i))
		}
		want[f] = append(want[f], s.c.Admin)
		sort.Strings(want[f])
	}
	run := s.runner(t)
	principals := func() []string {
		return s.c.SuperStrings(t, "postgres", `SELECT rolname::text FROM pg_catalog.pgaadauth_list_principals(false) ORDER BY rolname::text COLLATE "C"`)
	}
	outcomes := map[string]int{}
	start := time.Now()
	for round := 1; round <= 20; round++ {
		mode := []string{"free", "lock", "stale"}[(round-1)%3]
		s.c.SuperExec(t, `DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT rolname FROM pg_roles WHERE rolname ~ '^[ab][0-9]+$' LOOP
    EXECUTE format('DROP ROLE %I', r.rolname);
  END LOOP;
END $$`)
		g := newGates(mode)
		if mode != "free" {
			p.setHooks(g.beforeBegin, g.beforeCommit)
		}
		procs := map[string]*process{}
		for _, f := range []string{"A", "B"} {
			procs[f] = run.start(t, "apply", "-f", files[f], "--auto-approve", "--output", "json", "--timeout", "60s")
		}
		select {
		case <-procs["A"].done:
		case <-procs["B"].done:
		}
		close(g.exited)
		res := map[string]result{"A": procs["A"].wait(t), "B": procs["B"].wait(t)}
		p.setHooks(nil, nil)
		s.settle(t)
		got := principals()

		desc := fmt.Sprintf("round %d (%s)", round, mode)
		for _, what := range g.timedOut {
			t.Errorf("%s: waited 15 s for %s", desc, what)
		}
		winner := ""
		for _, f := range []string{"A", "B"} {
			if sameLines(got, want[f]) {
				winner = f
			}
		}
		if winner == "" {
			t.Errorf("%s: the server holds a mix of the two files (or neither): %v\nA: %s\nB: %s", desc, got, brief(res["A"]), brief(res["B"]))
			continue
		}
		loser := map[string]string{"A": "B", "B": "A"}[winner]
		w, l := res[winner], res[loser]
		if sr, err := oneServer(w); err != nil || sr.Status != "applied" || w.code != 0 {
			t.Errorf("%s: the server holds file %s's principals, but its apply did not say applied with exit 0:\n%s", desc, winner, brief(w))
		}
		lr, err := oneServer(l)
		switch {
		case err != nil:
			t.Errorf("%s: the other apply: %v\n%s", desc, err, l)
		case l.code == 0 && mode == "free":
			// The two did not overlap: the loser applied first and
			// the winner's plan then dropped its principals.
			outcomes["serialized (both applied, one after the other)"]++
		case l.code == 0:
			t.Errorf("%s: both applies succeeded although both read the server before either committed:\nwinner %s: %s\nloser %s: %s", desc, winner, brief(w), loser, brief(l))
		case lr.Status != "error" || l.code != 1:
			t.Errorf("%s: the other apply: status %q, exit %d; want error, 1", desc, lr.Status, l.code)
		case namesTheLock.MatchString(lr.Error) && mode != "stale":
			outcomes["the other failed on the lock"]++
		case namesTheStaleness.MatchString(lr.Error) && mode != "lock":
			outcomes["the other failed as stale"]++
		default:
			wantWhat := "the lock (" + namesTheLock.String() + ") or the staleness (" + namesTheStaleness.String() + ")"
			if mode == "lock" {
				wantWhat = "the lock (" + namesTheLock.String() + ")"
			} else if mode == "stale" {
				wantWhat = "the staleness (" + namesTheStaleness.String() + ")"
			}
			t.Errorf("%s: the other apply's error does not name %s:\n%s", desc, wantWhat, brief(l))
		}
		if r, ok := run.planEmpty(t, "-f", direct[winner]); !ok {
			t.Errorf("%s: a plan of the winner's file %s is not in sync:\n%s", desc, winner, r)
		}
	}
	t.Logf("20 rounds in %v: %v", time.Since(start).Round(time.Millisecond), outcomes)
}
