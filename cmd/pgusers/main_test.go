package main

import (
	"os"
	"testing"

	"github.com/pgusers/pgusers/internal/pgtest"
)

// runAsPgusers makes the test binary pgusers itself, for tests that need a
// pgusers program to run (a shell's completion calls it).
const runAsPgusers = "PGUSERS_TEST_RUN_AS_PGUSERS"

func TestMain(m *testing.M) {
	if os.Getenv(runAsPgusers) == "1" {
		main()
	}
	pgtest.Main(m)
}
