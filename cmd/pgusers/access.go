package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/pgusers/pgusers/internal/cli"
	"github.com/pgusers/pgusers/pkg/access"
	"github.com/pgusers/pgusers/pkg/run"
)

// accessOptions are access's flags.
type accessOptions struct {
	common
	databases, principals, objects []string
	detail, expandGroups           bool
	output                         cli.Choice
	compare                        string
}

func newAccessCommand(a *app) *cobra.Command {
	o := &accessOptions{output: cli.NewChoice("text", "text", "markdown", "csv", "json")}
	cmd := &cobra.Command{
		Use:   "access [-f FILE]... [--server NAME]... [--database DB]... [--principal NAME]... [--object DB.SCHEMA.NAME]...",
		Short: "Review who can do what on each server, through what, and whether the files declare it; changes nothing",
		Long: `Reviews what every role, group role and Entra principal can do on each server, in each database
(--database, or every one the signed-in role may connect to): each privilege with its source, whether
the files declare it, and the findings an auditor asks about. --compare FILE (an earlier --output
json) shows what was gained and lost, and exits 2 when anything was gained. See docs/access-reviews.md.`,
		Example: `  pgusers access -f pgusers/ --database orders --output markdown > review-2026-Q4.md
  pgusers access -f pgusers/ --principal alice@contoso.com --object orders.sales.payments
  pgusers access -f pgusers/ --compare review.json --output json > today.json   # exit 2: access gained`,
		Args: cli.NoArgs("access takes no arguments (got %q); name files with -f"),
		RunE: a.run(func(ctx context.Context, _ *cobra.Command, _ []string) (int, error) {
			return runAccess(ctx, o, a.env)
		}),
		ValidArgsFunction: cobra.NoFileCompletions,
	}
	fs := cmd.Flags()
	fs.StringArrayVar(&o.databases, "database", nil, "review only database `DB` (repeatable; default: every database the signed-in role may connect to)")
	fs.StringArrayVar(&o.principals, "principal", nil, "review only grantee `NAME`, with what it holds through PUBLIC (repeatable)")
	fs.StringArrayVar(&o.objects, "object", nil, "review only who holds privileges on `DB.SCHEMA.NAME`, a table, sequence or function (repeatable)")
	fs.BoolVar(&o.detail, "detail", false, "list every object, rather than \"*\" for all objects of a kind in a schema")
	fs.VarP(&o.output, "output", "o", "what stdout holds: text for people, markdown for an auditor, csv for a spreadsheet, json for machines and --compare")
	fs.StringVar(&o.compare, "compare", "", "show what was gained and lost since the review in `FILE` (--output json of an earlier run); exit 2 when anything was gained")
	fs.BoolVar(&o.expandGroups, "expand-groups", false, "resolve Entra groups to their members through Microsoft Graph")
	o.common.register(cmd, fleetFlags|parallelFlag)
	for _, name := range []string{"database", "principal", "object"} {
		_ = cmd.RegisterFlagCompletionFunc(name, cobra.NoFileCompletions)
	}
	cli.CompleteChoices(cmd, "output", "text\tfor people", "markdown\tfor an auditor", "csv\tfor a spreadsheet",
		"json\tfor machines and --compare")
	return cmd
}

func runAccess(ctx context.Context, o *accessOptions, e env) (int, error) {
	objects, err := access.ParseObjects(o.objects)
	if err != nil {
		return exitError, cli.Usagef("%v", err)
	}
	if o.compare != "" && o.output.Value == "csv" {
		return exitError, cli.Usagef("--compare shows what changed as text, markdown or json; the CSV has no column for it")
	}
	var earlier access.Document
	if o.compare != "" {
		if earlier, err = access.ReadDocument(o.compare); err != nil { // before any server is read
			return exitError, err
		}
	}
	cfg := o.config(e)
	_, servers, _, err := o.load(ctx, &cfg, e.arm, false)
	if err != nil {
		return exitError, err
	}
	doc := run.Access(ctx, servers, o.databases, access.Options{Detail: o.detail, Principals: o.principals, Objects: objects, ExpandGroups: o.expandGroups}, cfg)
	doc.Generated, doc.Pgusers = time.Now().UTC().Format(time.RFC3339), versionString()
	if o.compare != "" {
		access.Compare(&doc, earlier)
	}
	if err := access.View(o.output.Value, o.detail)(e.stdout, doc); err != nil {
		return exitError, err
	}
	access.Failures(e.stderr, doc)
	switch {
	case doc.Failed():
		return exitError, nil
	case o.compare != "" && doc.Gained():
		return exitChanges, nil
	}
	return exitOK, nil
}
