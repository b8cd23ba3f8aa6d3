package main

import (
	"context"
	"fmt"
	"time"

	"github.com/pgusers/pgusers/internal/cli"
	"github.com/pgusers/pgusers/pkg/planfile"
	"github.com/pgusers/pgusers/pkg/report"
	"github.com/pgusers/pgusers/pkg/run"
	"github.com/pgusers/pgusers/pkg/spec"
)

// planOptions are plan's flags.
type planOptions struct {
	common
	output      cli.Choice
	detailed    bool
	out         string
	metricsFile string
}

func runPlan(ctx context.Context, o *planOptions, e env) (int, error) {
	start := time.Now()
	cfg := o.config(e)
	d, servers, reads, err := o.load(ctx, &cfg, e.arm, true)
	if err != nil {
		return exitError, err
	}
	printWarnings(e.stderr, d)
	targets := run.Plan(ctx, servers, cfg, reads, false)
	reads.Stop(ctx)
	r := report.Build(run.Results(targets))
	if err := report.View(o.output.Value, e.color)(e.stdout, r); err != nil {
		return exitError, err
	}
	report.Failures(e.stderr, r)
	for _, w := range run.DirectoryWarnings(ctx, targets, cfg) {
		fmt.Fprintf(e.stderr, "warning: %s\n", report.EscapeLines(w))
	}
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
		saved, err := run.Saved(targets, r, versionString(), d.Files, (&spec.Desired{Servers: servers}).Digest())
		if err == nil {
			err = planfile.Save(o.out, saved)
		}
		if err != nil {
			if metricsErr != nil {
				cli.PrintError(e.stderr, nil, metricsErr)
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
