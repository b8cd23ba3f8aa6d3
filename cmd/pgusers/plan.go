package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/pgusers/pgusers/pkg/planfile"
	"github.com/pgusers/pgusers/pkg/report"
	"github.com/pgusers/pgusers/pkg/run"
	"github.com/pgusers/pgusers/pkg/spec"
)

// planOptions are plan's flags.
type planOptions struct {
	common
	output      choice
	detailed    bool
	out         string
	metricsFile string
}

func runPlan(ctx context.Context, o *planOptions, e env) (int, error) {
	start := time.Now()
	cfg := o.config(e)
	d, servers, reads, err := o.loadAndRead(ctx, &cfg, e.arm)
	if err != nil {
		return exitError, err
	}
	printWarnings(e.stderr, d)
	targets := run.Plan(ctx, servers, cfg, reads, false)
	reads.Stop(ctx)
	r := report.Build(run.Results(targets))
	if err := view(o.output.value, e.color)(e.stdout, r); err != nil {
		return exitError, err
	}
	reportFailures(e.stderr, r)
	// The metrics first: a failed server is what they are for, and it
	// keeps the plan from being saved.
	var metricsErr error
	if o.metricsFile != "" {
		end := time.Now()
		if err := report.WriteMetricsFile(o.metricsFile, r, report.MetricsRun{End: end, Duration: end.Sub(start)}); err != nil {
			metricsErr = fmt.Errorf("the metrics were not written: %w", err)
		}
	}
	if o.out != "" {
		if err := savePlan(o.out, targets, d.Files, (&spec.Desired{Servers: servers}).Digest(), r); err != nil {
			if metricsErr != nil {
				printError(e.stderr, nil, metricsErr)
			}
			return exitError, err
		}
		fmt.Fprintf(e.stderr, "Saved the plan to %s: pgusers apply %s runs exactly these changes, and refuses any server that changed since.\n", o.out, o.out)
	}
	if metricsErr != nil {
		return exitError, metricsErr
	}
	switch {
	case r.Summary.Failed > 0:
		return exitError, nil
	case o.detailed && r.Summary.WithChanges > 0:
		return exitChanges, nil
	}
	return exitOK, nil
}

// view is the output of plan that --output names; the text plan is
// coloured when color says so, the others never are.
func view(output string, color bool) func(io.Writer, report.Report) error {
	switch output {
	case "json":
		return report.JSON
	case "markdown":
		return report.Markdown
	}
	return textView(color)
}

// textView is the text plan, coloured or not.
func textView(color bool) func(io.Writer, report.Report) error {
	if color {
		return report.ColorText
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
