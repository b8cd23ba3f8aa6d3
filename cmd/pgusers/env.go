package main

import (
	"io"
	"os"

	"github.com/pgusers/pgusers/internal/cli"
	"github.com/pgusers/pgusers/pkg/connect"
	"github.com/pgusers/pgusers/pkg/run"
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
	// color is true when the text plan on stdout may be coloured: stdout
	// is a terminal and NO_COLOR is not set. colorStderr is the same for
	// stderr, where apply --output json shows the plan it asks about.
	color, colorStderr bool
	// connect holds connection options tests override (credentials, dialer).
	connect connect.Options
	// arm is how discovery reaches Azure Resource Manager: Azure itself,
	// or a fake in tests.
	arm run.ARM
	// graph is how Microsoft Graph is reached: Azure's, or a fake in tests.
	graph run.Graph
}

func systemEnv() env {
	return fileEnv(os.Stdin, os.Stdout, os.Stderr)
}

// fileEnv is the env of a process whose standard streams are these files:
// what is a terminal decides prompts, progress and colour. Tests give it
// files such as /dev/null.
func fileEnv(stdin, stdout, stderr *os.File) env {
	return env{
		stdin:       stdin,
		stdout:      stdout,
		stderr:      stderr,
		getenv:      os.Getenv,
		interactive: cli.IsTerminal(stdin) && cli.IsTerminal(stderr),
		progress:    cli.IsTerminal(stderr),
		color:       cli.WantColor(cli.IsTerminal(stdout), os.LookupEnv),
		colorStderr: cli.WantColor(cli.IsTerminal(stderr), os.LookupEnv),
	}
}
