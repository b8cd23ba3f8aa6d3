package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pgusers/pgusers/internal/cli"
	"github.com/pgusers/pgusers/pkg/access"
	"github.com/pgusers/pgusers/pkg/report"
	"github.com/pgusers/pgusers/pkg/run"
)

// accessOptions are access's flags.
type accessOptions struct {
	common
	databases    []string
	principals   []string
	objects      []string
	detail       bool
	output       cli.Choice
	compare      string
	expandGroups bool
}

func newAccessCommand(a *app) *cobra.Command {
	o := &accessOptions{output: cli.NewChoice("text", "text", "markdown", "csv", "json")}
	cmd := &cobra.Command{
		Use:   "access [-f FILE]... [--server NAME]... [--database DB]... [--principal NAME]... [--object DB.SCHEMA.NAME]...",
		Short: "Review who can do what on each server: effective privileges, their source, and findings; changes nothing",
		Long: `Signs in to every server of the files (or those --server names) and reviews, in each database
(--database, or every one the signed-in role may connect to), what every role, group role and
Entra principal can do: the privileges it holds directly, through memberships (with the path,
honouring NOINHERIT: a role it may only SET ROLE to is listed apart), through PUBLIC, by owning
the object, schema or database, and through predefined roles (pg_read_all_data,
pg_write_all_data, azure_pg_admin); column privileges; and the default privileges future objects
will get. Each is marked declared when a file declares it. Findings list what an auditor asks
about: CREATEROLE, CREATEDB, BYPASSRLS, REPLICATION or SUPERUSER, members of azure_pg_admin,
PUBLIC allowed to CREATE, objects owned by a person's login, privileges outside the files.

Without --detail, a privilege held on every object of a kind in a schema is one row, object
"*". --compare FILE, a review written earlier with --output json, shows what was gained and
lost since; the run then exits 2 when anything was gained and nothing failed. Nothing is
changed on any server. docs/access-reviews.md describes the review for auditors.`,
		Example: `  pgusers access -f pgusers/
  pgusers access -f pgusers/ --database orders --output markdown > review-2026-Q4.md
  pgusers access -f pgusers/ --principal alice@contoso.com
  pgusers access -f pgusers/ --object orders.sales.payments
  pgusers access -f pgusers/ --output csv > access.csv
  pgusers access -f pgusers/ --output json > review.json
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

// parseObjects reads --object values: DB.SCHEMA.NAME, split at the first
// two dots (NAME may hold more).
func parseObjects(values []string) ([]access.Object, error) {
	var out []access.Object
	for _, v := range values {
		parts := strings.SplitN(v, ".", 3)
		if len(parts) != 3 || slices.Contains(parts, "") {
			return nil, cli.Usagef("--object %q: want DATABASE.SCHEMA.NAME, e.g. orders.sales.payments", v)
		}
		out = append(out, access.Object{Database: parts[0], Schema: parts[1], Name: parts[2]})
	}
	return out, nil
}

func runAccess(ctx context.Context, o *accessOptions, e env) (int, error) {
	objects, err := parseObjects(o.objects)
	if err != nil {
		return exitError, err
	}
	if o.expandGroups {
		return exitError, cli.Usagef("--expand-groups is not available in this build: it needs Microsoft Graph, which this pgusers does not reach yet")
	}
	if o.compare != "" && o.output.Value == "csv" {
		return exitError, cli.Usagef("--compare shows what changed as text, markdown or json; the CSV has no column for it")
	}
	var earlier access.Document
	if o.compare != "" {
		// Before any server is read: a wrong file fails at once.
		if earlier, err = access.ReadDocument(o.compare); err != nil {
			return exitError, err
		}
	}
	cfg := o.config(e)
	_, servers, _, err := o.load(ctx, &cfg, e.arm, false)
	if err != nil {
		return exitError, err
	}
	reads := run.ReadAccess(ctx, servers, o.databases, cfg)
	doc := access.Document{Version: access.FormatVersion}
	opt := access.Options{Detail: o.detail, Principals: o.principals, Objects: objects}
	for _, r := range reads {
		s := access.ServerReview{Name: r.Server.Name, MissingDatabases: r.Missing}
		if r.Err != nil {
			s.Error, s.Review = r.Err.Error(), access.Unreviewed()
		} else {
			s.Review = access.Compute(r.Server, &r.Read, opt)
		}
		doc.Servers = append(doc.Servers, s)
	}
	if o.compare != "" {
		access.Compare(&doc, earlier)
	}
	switch o.output.Value {
	case "json":
		err = access.WriteJSON(e.stdout, doc)
	case "csv":
		err = access.CSV(e.stdout, doc)
	case "markdown":
		err = access.Markdown(e.stdout, doc, o.detail)
	default:
		err = access.Text(e.stdout, doc, o.detail)
	}
	if err != nil {
		return exitError, err
	}
	for _, r := range reads {
		if r.Err != nil {
			fmt.Fprintf(e.stderr, "error: server %s: %s\n", report.Escape(r.Server.Name), report.EscapeLines(r.Err.Error()))
		}
	}
	switch {
	case doc.Failed():
		return exitError, nil
	case o.compare != "" && doc.Gained():
		return exitChanges, nil
	}
	return exitOK, nil
}
