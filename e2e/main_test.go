// Package e2e_test runs the pgusers binary as a subprocess against
// throwaway PostgreSQL clusters (internal/pgtest), through a proxy that
// parses the PostgreSQL wire protocol and injects faults: connections cut
// at every message and at chosen bytes of an apply's transaction, replies
// stalled until --timeout, two applies started together, and a canary
// secret that must never reach any output.
//
// The tests are black-box on purpose: they depend only on the command line,
// the desired-state file format, the JSON report and the server's state as
// the superuser reads it, so that the command's internals may change under
// them.
//
// Environment:
//
//	PGUSERS_E2E_EXHAUSTIVE=1  sweep every byte of the server's replies, not a sample
//	PGUSERS_E2E_FAULT=msg:57  run only that cut (msg:K or byte:K) of the sweeps
//	PGUSERS_E2E_WORKERS=N     clusters a sweep runs on at once (default: one per core, 2 to 4)
package e2e_test

import (
	"os"
	"testing"

	"github.com/pgusers/pgusers/internal/pgtest"
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pgusers-e2e-")
	if err != nil {
		panic(err)
	}
	binDir = dir
	pgtest.Main(m)
	os.RemoveAll(dir)
}
