package main

import (
	"io"
	"os"

	"github.com/pgusers/pgusers/pkg/connect"
)

// env is everything a run takes from the process, so that tests can give
// their own.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	// interactive is true when a person can answer a prompt: stdin and
	// stderr are terminals.
	interactive bool
	// progress is true when stderr is a terminal a person watches.
	progress bool
	// connect holds connection options tests override (credentials, dialer).
	connect connect.Options
}

func systemEnv() env {
	return env{
		stdin:       os.Stdin,
		stdout:      os.Stdout,
		stderr:      os.Stderr,
		getenv:      os.Getenv,
		interactive: isTerminal(os.Stdin) && isTerminal(os.Stderr),
		progress:    isTerminal(os.Stderr),
	}
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
