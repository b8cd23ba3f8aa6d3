package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/pgusers/pgusers/pkg/spec"
)

func runPlan(ctx context.Context, args []string, e env) (int, error) {
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	var c common
	c.register(fs)
	output := choice{value: "text", allowed: []string{"text", "json", "markdown"}}
	fs.Var(&output, "output", "text, json or markdown")
	detailed := fs.Bool("detailed-exitcode", false, "exit 2 when a server has changes")
	out := fs.String("out", "", "save the plan to this file, for apply PLANFILE")
	pos, err := parse(fs, args)
	if err != nil {
		return exitError, err
	}
	if len(pos) > 0 {
		return exitError, usagef("plan takes no arguments (got %q); name files with -f", pos)
	}
	log := c.logger(e.stderr)
	opts := connectOptions(e, log)
	d, servers, reads, err := c.loadAndRead(ctx, opts, log)
	if err != nil {
		return exitError, err
	}
	targets := planAll(ctx, servers, &c, e, opts, reads, log, false)
	reads.stop(ctx)
	r := buildReport(targets)
	switch output.value {
	case "json":
		if err := writeJSON(e.stdout, r); err != nil {
			return exitError, err
		}
	case "markdown":
		writeMarkdown(e.stdout, r)
	default:
		writeText(e.stdout, r)
	}
	reportFailures(e, targets)
	if *out != "" {
		sp, err := newSavedPlan(targets, d.Files, (&spec.Desired{Servers: servers}).Digest())
		if err == nil {
			err = writePlanFile(*out, sp)
		}
		if err != nil {
			return exitError, err
		}
		fmt.Fprintf(e.stderr, "Saved the plan to %s: pgusers apply %s runs exactly these changes, and refuses any server that changed since.\n", *out, *out)
	}
	switch {
	case r.Summary.Failed > 0:
		return exitError, nil
	case *detailed && r.Summary.WithChanges > 0:
		return exitChanges, nil
	}
	return exitOK, nil
}

// reportFailures ends a run with the servers that failed on stderr, so
// that a CI log shows them even when stdout goes to a file.
func reportFailures(e env, targets []*target) {
	failed := 0
	for _, t := range targets {
		if t.status == statusError {
			failed++
			msg := t.err.Error()
			if prefix := "server " + t.server.Name + ": "; !strings.HasPrefix(msg, prefix) {
				msg = prefix + msg
			}
			fmt.Fprintf(e.stderr, "error: %s\n", indent(msg, "  "))
		}
	}
	if failed > 0 {
		fmt.Fprintf(e.stderr, "%d of %d server(s) failed\n", failed, len(targets))
	}
}
