package main

import (
	"testing"
)

// applyConverged runs `pgusers apply SELECTION... --auto-approve`, wants it to
// succeed, then plans the same selection again: that plan must be empty. It
// is the one way a test here applies and expects success, so that no test can
// forget the rule every apply is held to: after one apply, the next plan is
// empty. selection is what both commands take (-f, --server, --shard,
// --database is not one of them); extra apply-only flags go in applyFlags.
func applyConverged(t *testing.T, e env, selection []string, applyFlags ...string) result {
	t.Helper()
	args := append(append([]string{"apply"}, selection...), applyFlags...)
	args = append(args, "--auto-approve")
	r := pgusers(t, e, args...)
	wantCode(t, r, exitOK)
	mustPlanEmpty(t, e, selection...)
	return r
}

// mustPlanEmpty plans selection with --detailed-exitcode and fails the test
// unless every server is in sync (exit 0), showing the plan that is not.
func mustPlanEmpty(t *testing.T, e env, selection ...string) {
	t.Helper()
	args := append(append([]string{"plan"}, selection...), "--detailed-exitcode")
	r := pgusers(t, e, args...)
	if r.code != exitOK {
		t.Fatalf("the plan after apply is not empty (exit %d): after one apply, the next plan must be empty\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}
