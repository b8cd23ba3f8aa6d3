package e2e_test

import (
	"os"
	"strings"
	"testing"
	"time"
)

// TestLostMidPipelineSaysSo cuts the apply's connection in the middle of
// the replies to its statements, with the lock and re-read answered.
// Nothing was committed, and pgusers must say what happened — the
// connection was lost during the change set and the transaction rolled
// back — instead of blaming the statement whose reply was being read
// ("create svc-01: unexpected EOF"). Nothing committed, it applies again
// on a new connection: the report says applied, and stderr why it retried.
// With refuse, no new connection is possible: the report says error.
func TestLostMidPipelineSaysSo(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	sh := w.record(t)
	k := (sh.lockEndByte + sh.rec.commitStart) / 2
	for _, reset := range []bool{false, true} {
		r, f, state := w.faulted(t, &fault{kind: cutAfterByte, k: k, reset: reset})
		if !f.fired || f.phase != phasePipeline {
			t.Fatalf("the cut after byte %d fired: %v, in phase %q; want the pipeline", k, f.fired, f.phase)
		}
		sr, err := oneServer(r)
		if err != nil {
			t.Fatalf("%v\n%s", err, r)
		}
		if sr.Status != "applied" || r.code != 0 || !sameLines(state, w.new) {
			t.Errorf("status %q, exit %d, new state %v; want applied, 0, true (retried on a new connection)", sr.Status, r.code, sameLines(state, w.new))
		}
		if !saidLostAndRetried(r.stderr) {
			t.Errorf("cut after byte %d (RST: %v): stderr does not say the connection was lost, the transaction rolled back and the apply retried:\n%s", k, reset, r.stderr)
		}
		if sr.Failed != nil {
			t.Errorf("cut after message %d (RST: %v): the report blames a statement (failed): %+v", k, reset, *sr.Failed)
		}
		if blamesAChange.MatchString(sr.Error) || blamesAChange.MatchString(r.stderr) {
			t.Errorf("cut after message %d (RST: %v): the error blames one change: %q\nstderr:\n%s", k, reset, sr.Error, r.stderr)
		}
		if problems, detail := w.converge(t); problems != nil {
			t.Errorf("%v\n%s", problems, detail)
		}
		w.reset(t)
	}
}

// TestStalledCommitReplyIsFoundOut forwards COMMIT to the server, which
// commits, and holds its reply until pgusers' --timeout fires. The plan is
// on the server: pgusers must ask the server and say "applied", never
// "unknown" nor that it was not applied.
func TestStalledCommitReplyIsFoundOut(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r, f, state := w.faulted(t, &fault{kind: stallAtCommit})
	t.Logf("%s", brief(r))
	if !f.fired {
		t.Fatalf("the stall at COMMIT did not fire")
	}
	if !sameLines(state, w.new) {
		t.Fatalf("the server did not commit while the reply was held:\n%s", lineDiff(w.new, state))
	}
	if r.took < 5*time.Second {
		t.Errorf("the apply ended after %v, before its --timeout of 5s", r.took)
	}
	if r.took > 20*time.Second {
		t.Errorf("the apply took %v: pgusers must find out within a bounded time after --timeout 5s", r.took)
	}
	wantApplied(t, r, "its reply was held until --timeout")
	if problems, detail := w.converge(t); problems != nil {
		t.Errorf("%v\n%s", problems, detail)
	}
}

// TestStalledPipelineRollsBack holds the server's replies in the middle of
// the statements until --timeout: nothing was committed, and the report
// must say the transaction rolled back.
func TestStalledPipelineRollsBack(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	sh := w.record(t)
	k := (sh.lockEndByte + sh.rec.commitStart) / 2
	r, f, state := w.faulted(t, &fault{kind: stallAfterByte, k: k})
	t.Logf("%s", brief(r))
	if !f.fired || f.phase != phasePipeline {
		t.Fatalf("the stall after byte %d fired: %v, in phase %q; want the pipeline", k, f.fired, f.phase)
	}
	if !sameLines(state, w.old) {
		t.Errorf("after a stall before COMMIT the server does not hold the old state:\n%s", lineDiff(w.old, state))
	}
	sr, err := oneServer(r)
	if err != nil {
		t.Fatalf("%v\n%s", err, r)
	}
	if sr.Status != "error" || r.code != 1 {
		t.Errorf("status %q, exit %d; want error, 1", sr.Status, r.code)
	}
	if !saysRolledBack.MatchString(sr.Error) {
		t.Errorf("the error does not say the transaction rolled back: %q", sr.Error)
	}
	if r.took > 20*time.Second {
		t.Errorf("the apply took %v with --timeout 5s", r.took)
	}
	if problems, detail := w.converge(t); problems != nil {
		t.Errorf("%v\n%s", problems, detail)
	}
}

// TestCommitOutcomeUnknownWhenUnreachable cuts the connection once COMMIT
// was sent (right after it, and in the middle of its CommandComplete), and
// from then on the server cannot be reached: every new connection is
// reset. The server committed, pgusers cannot read it to find out, so it
// must say so — "unknown", errorKind "unknown-outcome", "outcome unknown:
// plan again", exit 1 — and never "error" (not applied). "applied" is
// true too, for a client that read COMMIT's CommandComplete whole.
func TestCommitOutcomeUnknownWhenUnreachable(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	sh := w.record(t)
	for _, j := range []sweepJob{
		{kind: cutAfterMessage, k: sh.rec.commitIndex},
		{kind: cutAfterByte, k: sh.rec.commitStart + 6},
	} {
		r, f, state := w.faulted(t, &fault{kind: j.kind, k: j.k, refuse: true})
		if !f.fired || beforeCommit(f.phase) {
			t.Fatalf("fault %s fired: %v, in phase %q; want after COMMIT was sent", j, f.fired, f.phase)
		}
		t.Logf("fault %s (then unreachable), phase %s, server holds the new state: %v\n%s", j, f.phase, sameLines(state, w.new), brief(r))
		jd := judge(r, f.phase, state, w.old, w.new, false)
		for _, p := range jd.problems {
			t.Errorf("fault %s, then unreachable: %s", j, p)
		}
		if jd.outcome != "unknown" && jd.outcome != "applied" {
			t.Errorf("fault %s, then unreachable: outcome %q; pgusers cannot read the server, so it must say unknown (or applied, if it read COMMIT's reply)", j, jd.outcome)
		}
		if problems, detail := w.converge(t); problems != nil {
			t.Errorf("%v\n%s", problems, detail)
		}
		w.reset(t)
	}
}

// TestInterruptAtCommitIsFoundOut forwards COMMIT to the server, which
// commits, holds its reply, and sends pgusers SIGINT (Ctrl-C) while it
// waits for it. The plan is on the server: pgusers must ask the server
// before it exits and say "applied", never "unknown" nor that nothing
// changed.
func TestInterruptAtCommitIsFoundOut(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.p.arm(&fault{kind: stallAtCommit})
	p := w.r.start(t, "apply", "-f", w.viaProxy, "--auto-approve", "--output", "json")
	deadline := time.Now().Add(30 * time.Second)
	for !w.p.result().fired {
		if time.Now().After(deadline) {
			t.Fatal("COMMIT did not reach the proxy within 30s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // pgusers is waiting for COMMIT's reply
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	r := p.wait(t)
	w.p.arm(nil)
	w.s.settle(t)
	t.Logf("%s", brief(r))
	if state := w.s.state(t); !sameLines(state, w.new) {
		t.Fatalf("the server did not commit while the reply was held:\n%s", lineDiff(w.new, state))
	}
	wantApplied(t, r, "pgusers was interrupted waiting for the reply")
	if r.took > 30*time.Second {
		t.Errorf("the interrupted apply took %v to exit", r.took)
	}
	if problems, detail := w.converge(t); problems != nil {
		t.Errorf("%v\n%s", problems, detail)
	}
}

// wantApplied checks the report of an apply whose server committed while
// the reply was kept from pgusers (what says how): the server could be
// reached again, so pgusers must have asked it and say "applied" (exit 0),
// never "unknown" nor that nothing changed.
func wantApplied(t *testing.T, r result, what string) {
	t.Helper()
	sr, err := oneServer(r)
	if err != nil {
		t.Fatalf("%v\n%s", err, r)
	}
	if sr.Status != "applied" || r.code != 0 {
		t.Errorf("the server committed and %s: status %q (error %q), exit %d; want applied (asked the server), exit 0", what, sr.Status, sr.Error, r.code)
	}
}

// TestDelayedCommitIsAnswered closes the client's side of the connection
// as COMMIT is sent, and delivers that COMMIT to the server 300 ms later:
// the server commits after pgusers lost the connection. pgusers read the
// server at once and said "nothing was applied"; it must ask PostgreSQL,
// wait while the transaction is in progress, and say "applied", in every
// view.
func TestDelayedCommitIsAnswered(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	for _, output := range []string{"json", "text"} {
		w.p.arm(&fault{kind: delayCommit, delay: 300 * time.Millisecond})
		r := w.r.run(t, "apply", "-f", w.viaProxy, "--auto-approve", "--output", output, "--timeout", "5s")
		f := w.p.result()
		w.p.arm(nil)
		w.s.settle(t)
		if !f.fired {
			t.Fatal("the delayed COMMIT did not fire")
		}
		if state := w.s.state(t); !sameLines(state, w.new) {
			t.Fatalf("the delayed COMMIT did not commit:\n%s", lineDiff(w.new, state))
		}
		if output == "json" {
			wantApplied(t, r, "its COMMIT arrived after the client's side was gone")
		} else if m := applyLine.FindStringSubmatch(r.stdout); m == nil || !strings.HasPrefix(m[1], "applied") || r.code != 0 {
			t.Errorf("text view: want \"server local: applied ...\" and exit 0:\n%s", r)
		}
		if problems, detail := w.converge(t); problems != nil {
			t.Errorf("%v\n%s", problems, detail)
		}
		w.reset(t)
	}
}
