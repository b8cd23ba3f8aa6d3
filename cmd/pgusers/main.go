// Command pgusers keeps the Microsoft Entra principals of Azure Database for
// PostgreSQL servers as a desired-state file declares them.
//
// main only wires the process to run; everything else takes its inputs as
// arguments so that tests drive the whole command in-process.
package main

// The command-line reference in docs/cli/ is generated from the commands'
// definitions; TestDocs fails when it is out of date.
//go:generate go test . -run ^TestDocs$ -update

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// The first Ctrl-C cancels the run: open transactions roll back and
	// the run reports what was and was not applied. After it, signals act
	// as usual again, so a second Ctrl-C ends the process at once.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	context.AfterFunc(ctx, stop)
	code := runCommand(ctx, os.Args[1:], systemEnv())
	stop()
	os.Exit(code)
}
