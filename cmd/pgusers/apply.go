package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"unicode"

	"github.com/pgusers/pgusers/pkg/apply"
	"github.com/pgusers/pgusers/pkg/connect"
	"github.com/pgusers/pgusers/pkg/diff"
	"github.com/pgusers/pgusers/pkg/fleet"
	"github.com/pgusers/pgusers/pkg/spec"
)

func runApply(ctx context.Context, args []string, e env) (int, error) {
	fs := flag.NewFlagSet("apply", flag.ContinueOnError)
	var c common
	c.register(fs)
	output := choice{value: "text", allowed: []string{"text", "json"}}
	fs.Var(&output, "output", "text or json")
	var dry dryRun
	fs.Var(&dry, "dry-run", "client: print the SQL; server: run it and roll back")
	autoApprove := fs.Bool("auto-approve", false, "apply without asking")
	pos, err := parse(fs, args)
	if err != nil {
		return exitError, err
	}
	var planFile string
	switch {
	case len(pos) > 1:
		return exitError, usagef("apply takes at most one argument, a saved plan (got %q); name files with -f", pos)
	case len(pos) == 1:
		planFile = pos[0]
		if len(c.files) > 0 || len(c.servers) > 0 || c.maxDrops >= 0 {
			return exitError, usagef("apply %s runs exactly the saved plan, which holds its servers and how to reach them: "+
				"drop -f, --server and --max-drops (plan again to change them); nothing was changed", planFile)
		}
	}
	// Refuse before reading any server: a CI job without --auto-approve
	// must fail the same way whatever the servers hold.
	if dry == dryRunNone && !*autoApprove && !e.interactive {
		return exitError, usagef("apply asks for confirmation, and stdin is not a terminal: " +
			"pass --auto-approve to apply without asking, or --dry-run to see what would run; nothing was changed")
	}
	log := c.logger(e.stderr)
	opts := connectOptions(e, log)
	var targets []*target
	var servers []spec.Server
	if planFile != "" {
		sp, err := readPlanFile(planFile)
		if err != nil {
			return exitError, err
		}
		if err := c.validate(); err != nil {
			return exitError, err
		}
		fmt.Fprintf(e.stderr, "Applying the saved plan %s, made by %s from desired state %s (files: %s).\n",
			planFile, sp.Pgusers, shortDigest(sp.DesiredDigest), strings.Join(sp.Files, ", "))
		targets = sp.targets()
		for _, t := range targets {
			servers = append(servers, t.server)
		}
		if dry != dryRunClient {
			connectAll(ctx, targets, &c, opts, log)
		}
	} else {
		var reads earlyReads
		if _, servers, reads, err = c.loadAndRead(ctx, opts, log); err != nil {
			return exitError, err
		}
		targets = planAll(ctx, servers, &c, e, opts, reads, log, dry != dryRunClient)
		reads.stop(ctx)
	}
	defer func() {
		for _, t := range targets {
			t.close(ctx)
		}
	}()

	text := output.value == "text"
	pending := 0
	for _, t := range targets {
		if t.status == statusChanges {
			pending++
		}
	}

	switch {
	case dry == dryRunClient:
		r := buildReport(targets)
		r.DryRun = string(dryRunClient)
		if text {
			writeSQL(e.stdout, targets)
			fmt.Fprintln(e.stdout, planLine(r.Summary))
		} else if err := writeJSON(e.stdout, r); err != nil {
			return exitError, err
		}
		reportFailures(e, targets)
		return exitCode(r), nil
	case pending == 0:
		r := buildReport(targets)
		if text {
			writeText(e.stdout, r)
		} else if err := writeJSON(e.stdout, r); err != nil {
			return exitError, err
		}
		reportFailures(e, targets)
		return exitCode(r), nil
	}

	if text {
		// The plan first, as confirmation asks about it; the JSON
		// document is written once, after the apply.
		writeText(e.stdout, buildReport(targets))
	}
	if dry == dryRunNone && !*autoApprove {
		ok, err := confirm(e, pending)
		if err != nil || !ok {
			if err == nil {
				err = errors.New("apply cancelled; nothing was changed")
			}
			return exitError, err
		}
	}

	run := apply.Apply
	if dry == dryRunServer {
		run = apply.Rehearse
	}
	applyAll(ctx, targets, &c, e, log, withOpeners(run, servers, opts), dry == dryRunServer)

	r := buildReport(targets)
	if dry == dryRunServer {
		r.DryRun = string(dryRunServer)
	}
	if text {
		writeApplyText(e.stdout, r, dry == dryRunServer)
	} else if err := writeJSON(e.stdout, r); err != nil {
		return exitError, err
	}
	reportFailures(e, targets)
	return exitCode(r), nil
}

// connectAll opens a connection to every server of a saved plan that has
// changes, on the pool; a server that cannot be reached fails alone.
func connectAll(ctx context.Context, targets []*target, c *common, opts connect.Options, log *slog.Logger) {
	fleet.Each(ctx, len(targets), c.parallel, func(ctx context.Context, i int) {
		t := targets[i]
		if t.status != statusChanges {
			return
		}
		ctx, cancel := context.WithTimeout(ctx, c.timeout)
		defer cancel()
		if err := ctx.Err(); err != nil {
			t.fail(fmt.Errorf("not started: %w", context.Cause(ctx)))
			return
		}
		conn, err := connect.Open(ctx, t.server, opts)
		if err != nil {
			t.fail(err)
			return
		}
		t.conn = conn
		log.Debug("connected", "server", t.server.Name, "host", hostPort(t.server))
	})
}

func exitCode(r report) int {
	if r.Summary.Failed > 0 {
		return exitError
	}
	return exitOK
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

// writeSQL prints, per server with changes, exactly what apply would send.
// Names from the files and the servers reach SQL comments only through
// commentSafe: the output is meant to be read and may be pasted into psql,
// so a name with a line break must not end a comment and start a statement.
func writeSQL(out io.Writer, targets []*target) {
	w := bufio.NewWriter(out)
	defer w.Flush()
	for _, t := range targets {
		name, host := commentSafe(t.server.Name), commentSafe(t.server.Host)
		switch t.status {
		case statusError:
			fmt.Fprintf(w, "-- server %s (%s): error\n--   %s\n\n", name, host, indent(t.err.Error(), "--   "))
			continue
		case statusInSync:
			fmt.Fprintf(w, "-- server %s (%s): in sync, nothing to run\n\n", name, host)
			continue
		}
		fmt.Fprintf(w, "-- server %s (%s): %d change(s), one transaction\n", name, commentSafe(hostPort(t.server)), len(t.plan.Changes))
		fmt.Fprintln(w, "BEGIN;")
		fmt.Fprintf(w, "SELECT pg_catalog.pg_try_advisory_xact_lock(%d); -- then re-read the server and stop if it changed\n", apply.LockKey)
		for _, cl := range t.plan.Cleanups {
			fmt.Fprintf(w, "--   meanwhile, in database %s, on a connection of its own (no transaction spans two databases):\n", commentSafe(cl.Database))
			fmt.Fprintln(w, "--   BEGIN;")
			for _, s := range cl.Statements {
				fmt.Fprintf(w, "--   %s;\n", commentSafe(s.Display()))
			}
			fmt.Fprintln(w, "--   COMMIT;")
		}
		for _, c := range t.plan.Changes {
			for _, s := range c.Statements {
				fmt.Fprintf(w, "%s; -- %s\n", s.Display(), commentSafe(changeComment(c)))
			}
		}
		fmt.Fprintln(w, "COMMIT;")
		fmt.Fprintln(w)
	}
}

// changeComment names a change after each of its statements.
func changeComment(c diff.Change) string {
	switch c.Action {
	case diff.Grant:
		return fmt.Sprintf("grant %s to %s", c.Role, c.Principal)
	case diff.Revoke:
		return fmt.Sprintf("revoke %s from %s", c.Role, c.Principal)
	}
	return fmt.Sprintf("%s %s", c.Action, c.Principal)
}

// commentSafe escapes the control characters of s (line breaks above all)
// so that it stays inside one SQL comment line.
func commentSafe(s string) string {
	if !strings.ContainsFunc(s, unicode.IsControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func writeApplyText(w io.Writer, r report, rehearsal bool) {
	fmt.Fprintln(w)
	for _, s := range r.Servers {
		switch {
		case s.Status == statusError && rehearsal && s.Failed != nil:
			fmt.Fprintf(w, "server %s: would fail, and was rolled back\n  ! %s\n", s.Name, indent(describeFailure(*s.Failed), "    "))
		case s.Status == statusError:
			fmt.Fprintf(w, "server %s: failed, nothing changed there\n  ! %s\n", s.Name, indent(s.Error, "    "))
		case s.Status == statusInSync:
			fmt.Fprintf(w, "server %s: in sync\n", s.Name)
		case rehearsal:
			fmt.Fprintf(w, "server %s: would apply %d change(s) (ran them and rolled back)\n", s.Name, len(s.Changes))
		default:
			fmt.Fprintf(w, "server %s: applied %d change(s)\n", s.Name, len(s.Changes))
		}
	}
	sum := r.Summary
	verb := "Apply complete"
	if rehearsal {
		verb = "Dry run complete, nothing changed"
	}
	fmt.Fprintf(w, "%s: %d created, %d replaced, %d dropped, %d granted, %d revoked", verb,
		sum.Create, sum.Replace, sum.Drop, sum.Grant, sum.Revoke)
	if sum.Failed > 0 {
		fmt.Fprintf(w, "; %d server(s) failed", sum.Failed)
	}
	fmt.Fprintln(w, ".")
}

// describeFailure says which statement failed and what the server said.
func describeFailure(f failedReport) string {
	if f.Database != "" {
		return fmt.Sprintf("in database %s (before the main transaction), %s: %s", f.Database, f.SQL, f.Error)
	}
	return fmt.Sprintf("%s %s: %s: %s", f.Action, f.Principal, f.SQL, f.Error)
}

func shortDigest(d string) string {
	if len(d) > 12 {
		return d[:12]
	}
	return d
}
