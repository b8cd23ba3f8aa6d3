package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The randomized convergence test: from a seed, a server state the way
// people and other tools leave servers, and a desired-state file over it
// (converge_gen_test.go); for each case, the checks of runCase
// (converge_check_test.go). docs/maintainers.md says how to run more
// cases, rerun a seed and keep a case.
const (
	envCases = "PGUSERS_CONVERGE_CASES" // run this many cases, whatever the time
	envTime  = "PGUSERS_CONVERGE_TIME"  // run cases for this long (a Go duration)
	envSeed  = "PGUSERS_CONVERGE_SEED"  // run this one seed
	envKinds = "PGUSERS_CONVERGE_KINDS" // a comma-separated list of generator kinds (default: all)
	envFrom  = "PGUSERS_CONVERGE_FROM"  // the first seed of the run, or "clock"
)

// firstSeed is the first seed of a run: every run (CI's too) goes through
// the same sequence, so that it judges a change, not the luck of a draw,
// and a failure reproduces; PGUSERS_CONVERGE_FROM=clock draws new seeds
// from the clock, to look for the next bug.
const firstSeed = 1_000_000

// convergeDir holds the saved cases TestConvergeRegressions runs.
var convergeDir = filepath.Join("testdata", "converge")

// convergeKinds says which generator kinds run: every kind, or those
// PGUSERS_CONVERGE_KINDS lists.
func convergeKinds(t *testing.T) func(string) bool {
	v := os.Getenv(envKinds)
	switch v {
	case "", "all":
		return func(string) bool { return true }
	}
	list := strings.Split(v, ",")
	for _, k := range list {
		if !slices.ContainsFunc(generators, func(g generator) bool { return g.kind == k }) {
			t.Fatalf("%s: unknown kind %q", envKinds, k)
		}
	}
	return func(k string) bool { return slices.Contains(list, k) }
}

// convergeBudget is how many cases to run and for how long: about 60 s, 5 s with
// -short, or what the variables say.
func convergeBudget(t *testing.T) (cases int, d time.Duration) {
	d = 60 * time.Second
	if testing.Short() {
		d = 5 * time.Second
	}
	if v := os.Getenv(envTime); v != "" {
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			t.Fatalf("%s=%q: %v", envTime, v, err)
		}
	}
	cases = -1
	if v := os.Getenv(envCases); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q: want a number of cases, at least 1", envCases, v)
		}
		cases, d = n, 24*time.Hour
	}
	return cases, d
}

func TestConvergeRandom(t *testing.T) {
	enabled := convergeKinds(t)
	w := newConvergeWorld(t)
	if v := os.Getenv(envSeed); v != "" {
		seed, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: want a number", envSeed, v)
		}
		w.check(t, newCaseGen(seed, enabled), enabled)
		return
	}
	cases, d := convergeBudget(t)
	start := time.Now()
	first := int64(firstSeed)
	switch v := os.Getenv(envFrom); v {
	case "":
	case "clock":
		first = start.UnixNano() % 1_000_000_000
	default:
		var err error
		if first, err = strconv.ParseInt(v, 10, 64); err != nil {
			t.Fatalf("%s=%q: want a number, or clock", envFrom, v)
		}
	}
	n := 0
	for ; (cases < 0 || n < cases) && (n == 0 || time.Since(start) < d); n++ {
		if !w.check(t, newCaseGen(first+int64(n), enabled), enabled) {
			break
		}
	}
	t.Logf("%d random cases in %v (seeds %d to %d): %v", n, time.Since(start).Round(time.Millisecond), first, first+int64(n)-1, w.outcomes)
}

// check runs a case; on a failure it shrinks it, prints and saves the
// reproduction, and fails t. It tells whether the case passed.
func (w *convergeWorld) check(t *testing.T, c *convergeCase, enabled func(string) bool) bool {
	t.Helper()
	failure, err := w.runCase(t, c)
	if err != nil {
		t.Fatalf("seed %d: the generator made a fact that cannot run (a bug of the generator): %v\n%s", c.Seed, err, c.setupSQL())
	}
	if failure == nil {
		return true
	}
	small := w.shrink(t, c, failure.check)
	small.Expect, small.Kinds = failure.check, os.Getenv(envKinds)
	last, _ := w.runCase(t, small)
	if last == nil {
		last = failure
	}
	path := filepath.Join(convergeDir, fmt.Sprintf("seed-%d.case", c.Seed))
	saved := "saved as cmd/pgusers/" + path
	if err := os.MkdirAll(convergeDir, 0o755); err != nil {
		saved = "not saved: " + err.Error()
	} else if err := os.WriteFile(path, []byte(small.format()), 0o644); err != nil {
		saved = "not saved: " + err.Error()
	}
	t.Errorf("seed %d: %s (kinds %s; %s)\n\nminimal reproduction, SQL setup as the superuser:\n%s\nthe file's server entry:\n%s\nwhat it did:\n%s",
		c.Seed, failure.check, strings.Join(small.kinds(), ", "), saved, small.setupSQL(), small.serverYAML(), last.detail)
	return false
}

// shrink drops the case's facts and entries one at a time, keeping each
// removal after which the case still fails the same check, until no single
// removal does: a minimal reproduction.
func (w *convergeWorld) shrink(t *testing.T, c *convergeCase, check string) *convergeCase {
	t.Helper()
	w.shrinking = true
	defer func() { w.shrinking = false }()
	stillFails := func(try *convergeCase) bool {
		f, err := w.runCase(t, try)
		return err == nil && f != nil && f.check == check
	}
	cur := *c
	for changed := true; changed; {
		changed = false
		for i := len(cur.Entries) - 1; i >= 0; i-- {
			try := cur
			try.Entries = slices.Delete(slices.Clone(cur.Entries), i, i+1)
			if stillFails(&try) {
				cur, changed = try, true
			}
		}
		for i := len(cur.Facts) - 1; i >= 0; i-- {
			try := cur
			try.Facts = slices.Delete(slices.Clone(cur.Facts), i, i+1)
			if stillFails(&try) {
				cur, changed = try, true
			}
		}
		if len(cur.Databases) > 1 {
			try := cur
			try.Databases = cur.Databases[:1]
			if stillFails(&try) {
				cur, changed = try, true
			}
		}
		if cur.Prune {
			try := cur
			try.Prune = false
			if stillFails(&try) {
				cur, changed = try, true
			}
		}
	}
	return &cur
}

// TestConvergeRegressions runs every saved case: each must pass every
// check. (Cases of defects not fixed yet wait in testdata/converge-open,
// which it does not run.)
func TestConvergeRegressions(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join(convergeDir, "*.case"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no saved case in " + convergeDir)
	}
	w := newConvergeWorld(t)
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			c, err := parseCase(path)
			if err != nil {
				t.Fatal(err)
			}
			failure, err := w.runCase(t, c)
			if err != nil {
				t.Fatalf("the case cannot be set up: %v", err)
			}
			if failure == nil {
				return
			}
			t.Errorf("%s\n%s", failure.check, failure.detail)
		})
	}
}
