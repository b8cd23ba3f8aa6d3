package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/pgusers/pgusers/internal/cli"
	"github.com/pgusers/pgusers/pkg/planfile"
	"github.com/pgusers/pgusers/pkg/report"
	"github.com/pgusers/pgusers/pkg/run"
)

// applyOptions are apply's flags.
type applyOptions struct {
	common
	output      cli.Choice
	dry         cli.DryRun
	autoApprove bool
}

func runApply(ctx context.Context, o *applyOptions, planFile string, e env) (int, error) {
	c, dry, autoApprove := &o.common, o.dry, o.autoApprove
	if planFile != "" && (len(c.files) > 0 || len(c.servers) > 0 || c.maxDrops >= 0 || c.shard.N > 0) {
		return exitError, cli.Usagef("apply %s runs exactly the saved plan, which holds its servers and how to reach them: "+
			"drop -f, --server, --shard and --max-drops (plan again to change them); nothing was changed", planFile)
	}
	// Refuse before reading any server: a CI job without --auto-approve
	// must fail the same way whatever the servers hold.
	if dry == cli.DryRunNone && !autoApprove && !e.interactive {
		return exitError, cli.Usagef("apply asks for confirmation, and stdin is not a terminal: " +
			"pass --auto-approve to apply without asking, or --dry-run to see what would run; nothing was changed")
	}
	cfg := c.config(e)
	var targets []*run.Target
	if planFile != "" {
		p, err := planfile.Open(planFile, versionString())
		if err != nil {
			return exitError, err
		}
		fmt.Fprintf(e.stderr, "Applying the saved plan %s, %s.\n", planFile, p.Origin())
		for _, s := range p.Servers {
			targets = append(targets, run.Planned(s.Desired, s.Observed, s.Plan))
		}
		if dry != cli.DryRunClient {
			run.Connect(ctx, targets, cfg)
		}
	} else {
		d, servers, reads, err := c.load(ctx, &cfg, e.arm, true)
		if err != nil {
			return exitError, err
		}
		printWarnings(e.stderr, d)
		targets = run.Plan(ctx, servers, cfg, reads, dry != cli.DryRunClient)
		reads.Stop(ctx)
	}
	defer run.Close(ctx, targets)

	output := o.output
	show := report.JSON
	if output.Value == "text" {
		show = report.TextView(e.color)
	}
	results := run.Results(targets)
	r := report.Build(results)
	switch {
	case dry == cli.DryRunClient:
		r.DryRun = string(cli.DryRunClient)
		if output.Value == "text" {
			show = func(w io.Writer, r report.Report) error {
				if err := report.SQL(w, results); err != nil {
					return err
				}
				_, err := fmt.Fprintln(w, report.PlanLine(r.Summary))
				return err
			}
		}
		return finish(e, show, r)
	case run.Pending(targets) == 0:
		return finish(e, show, r)
	}

	if output.Value == "text" {
		// The plan first, as confirmation asks about it.
		if err := report.TextView(e.color)(e.stdout, r); err != nil {
			return exitError, err
		}
	}
	if dry == cli.DryRunNone && !autoApprove {
		if output.Value != "text" {
			// The JSON document is written once, after the apply: the
			// plan the question is about goes to the terminal, stderr.
			if err := report.TextView(e.colorStderr)(e.stderr, r); err != nil {
				return exitError, err
			}
		}
		ok, err := confirm(e, run.Pending(targets))
		if err != nil || !ok {
			if err == nil {
				err = errors.New("apply cancelled; nothing was changed")
			}
			return exitError, err
		}
	}

	run.Apply(ctx, targets, cfg, dry == cli.DryRunServer)
	r = report.Build(run.Results(targets))
	if dry == cli.DryRunServer {
		r.DryRun = string(cli.DryRunServer)
	}
	if output.Value == "text" {
		show = report.ApplyText
	}
	return finish(e, show, r)
}

// finish shows r and ends the run: exit 1 when a server failed.
func finish(e env, show func(io.Writer, report.Report) error, r report.Report) (int, error) {
	if err := show(e.stdout, r); err != nil {
		return exitError, err
	}
	report.Failures(e.stderr, r)
	if r.Summary.Failed > 0 || r.Summary.Unknown > 0 {
		return exitError, nil
	}
	return exitOK, nil
}

// confirm asks on the terminal; only "yes" applies, as in Terraform.
func confirm(e env, servers int) (bool, error) {
	fmt.Fprintf(e.stderr, "\nApply these changes to %d server(s)? Only 'yes' will be accepted: ", servers)
	line, err := bufio.NewReader(e.stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return false, err
	}
	return strings.TrimSpace(line) == "yes", nil
}
