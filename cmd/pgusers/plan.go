package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/pgusers/pgusers/pkg/planfile"
	"github.com/pgusers/pgusers/pkg/report"
	"github.com/pgusers/pgusers/pkg/run"
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
	cfg := c.config(e)
	d, servers, reads, err := c.loadAndRead(ctx, cfg)
	if err != nil {
		return exitError, err
	}
	printWarnings(e.stderr, d)
	targets := run.Plan(ctx, servers, cfg, reads, false)
	reads.Stop(ctx)
	r := report.Build(run.Results(targets))
	if err := view(output.value)(e.stdout, r); err != nil {
		return exitError, err
	}
	reportFailures(e.stderr, r)
	if *out != "" {
		if err := savePlan(*out, targets, d.Files, (&spec.Desired{Servers: servers}).Digest(), r); err != nil {
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

// view is the output of plan that --output names.
func view(output string) func(io.Writer, report.Report) error {
	switch output {
	case "json":
		return report.JSON
	case "markdown":
		return report.Markdown
	}
	return report.Text
}

// savePlan saves targets, every one of them read and planned.
func savePlan(path string, targets []*run.Target, files []string, digest string, r report.Report) error {
	p := planfile.Plan{Pgusers: versionString(), DesiredDigest: digest, Files: files, Report: r}
	var failed []string
	for _, t := range targets {
		if t.Status != report.InSync && t.Status != report.Changes {
			failed = append(failed, t.Server.Name)
			continue
		}
		p.Servers = append(p.Servers, planfile.Server{Desired: t.Server, Observed: t.Observed,
			Fingerprint: t.Observed.Fingerprint(), Plan: t.Plan})
	}
	if len(failed) > 0 {
		return fmt.Errorf("the plan was not saved: server(s) %v failed, and a saved plan must hold every server it names: "+
			"fix them, or leave them out with --server", failed)
	}
	return planfile.Save(path, p)
}

// reportFailures ends a run with the servers that failed on stderr, so
// that a CI log shows them even when stdout goes to a file.
func reportFailures(w io.Writer, r report.Report) {
	if r.Summary.Failed == 0 && r.Summary.Unknown == 0 {
		return
	}
	for _, s := range r.Servers {
		switch s.Status {
		case report.Error:
			fmt.Fprintf(w, "error: server %s: %s\n", report.Escape(s.Name), indent(report.EscapeLines(s.Error), "  "))
		case report.Unknown:
			fmt.Fprintf(w, "error: server %s: outcome unknown: %s\n", report.Escape(s.Name), indent(report.EscapeLines(s.Error), "  "))
		}
	}
	if r.Summary.Failed > 0 {
		fmt.Fprintf(w, "%d of %d server(s) failed\n", r.Summary.Failed, len(r.Servers))
	}
	if r.Summary.Unknown > 0 {
		fmt.Fprintf(w, "%d of %d server(s) with an unknown outcome: plan again to see what they hold\n", r.Summary.Unknown, len(r.Servers))
	}
}
