package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/pgusers/pgusers/internal/cli"
	"github.com/pgusers/pgusers/pkg/report"
	"github.com/pgusers/pgusers/pkg/run"
	"github.com/pgusers/pgusers/pkg/spec"
)

// Exit codes, as docs/commands.md documents them.
const (
	exitOK      = 0
	exitError   = 1
	exitChanges = 2
)

// app is one run of the command line: what its commands share.
type app struct {
	env env
	// stdout is env.stdout, watched: an error document goes to stdout
	// only when nothing else did.
	stdout *cli.WatchedWriter
	// args are the arguments as cobra parses them.
	args []string
	// code is the exit code of a command that ran to its end.
	code int
	// running is set once a command's own code runs: an error before it is
	// a mistake in the command line.
	running bool
}

// runCommand runs pgusers with args (without the program name) and returns
// its exit code: 0 success, 1 an error, 2 plan --detailed-exitcode with
// changes or access --compare with access gained.
func runCommand(ctx context.Context, args []string, e env) int {
	out := &cli.WatchedWriter{W: e.stdout}
	e.stdout = out
	a := &app{env: e, stdout: out}
	root := newRootCommand(a)
	if len(args) == 0 {
		// A person who typed the name alone: the usage, on stderr, as an
		// error, so that a script that lost its arguments fails.
		root.SetOut(e.stderr)
		_ = root.Help()
		return exitError
	}
	a.args = args
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return a.code
	}
	if !a.running {
		err = cli.CommandLineError(root, cmd, a.args, err)
	}
	a.fail(cmd, err)
	return exitError
}

// newRootCommand is the pgusers command and its subcommands, bound to a.
func newRootCommand(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "pgusers",
		Short: "Keep Microsoft Entra principals, group roles and privileges on Azure Database for PostgreSQL as files declare them",
		Long: `pgusers keeps the Microsoft Entra principals, group roles and privileges of Azure Database for
PostgreSQL flexible servers as YAML files declare them. plan shows how every server differs from
the files; apply makes each server match, in transactions.

The files are pgusers.yaml in the working directory unless -f names others. Every problem in them
is reported at once with its file:line:column, and no server is touched.

Exit codes: 0 success, 1 an error (bad input, or a server that could not be read or changed: the
others still run), 2 only for plan --detailed-exitcode when a server has changes and none failed,
and for access --compare when access was gained and none failed.`,
		Example: `  pgusers validate -f pgusers/
  pgusers plan -f pgusers/ --detailed-exitcode
  pgusers apply -f pgusers/ --server orders-prod
  pgusers plan -f pgusers/ --out plan.json && pgusers apply plan.json --auto-approve`,
		Version:           versionString(),
		SilenceErrors:     true,
		SilenceUsage:      true,
		DisableAutoGenTag: true, // docs/cli/ must not change with the day it is generated
	}
	root.Flags().Bool("version", false, "print the version, as pgusers version does")
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetIn(a.env.stdin)
	root.SetOut(a.env.stdout)
	root.SetErr(a.env.stderr)
	root.SetFlagErrorFunc(cli.FlagError)
	root.AddCommand(newValidateCommand(a), newPlanCommand(a), newApplyCommand(a), newExportCommand(a), newServersCommand(a),
		newAccessCommand(a),
		newVersionCommand(a))
	// Made now rather than when the command runs, so that the usage and
	// the reference in docs/cli/ list them.
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	cli.StrictCompletion(root)
	for _, c := range root.Commands() {
		// Each command's own flags first, then the common ones, as added.
		c.Flags().SortFlags = false
	}
	return root
}

// run adapts a command's code to cobra: its exit code is kept, and its
// errors are no longer the command line's.
func (a *app) run(f func(ctx context.Context, cmd *cobra.Command, args []string) (int, error)) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		a.running = true
		code, err := f(cmd.Context(), cmd, args)
		a.code = code
		return err
	}
}

// fail reports err: on stderr for people, one problem a line; and, when
// the command line asks a command that has --output for json and nothing was written to
// stdout yet, as a JSON document there, so that stdout is always one
// document for a machine.
func (a *app) fail(cmd *cobra.Command, err error) {
	cli.PrintError(a.env.stderr, cmd, err)
	if cli.JSONRequested(a.args) && !a.stdout.Written && cmd != nil && cmd.Flags().Lookup("output") != nil {
		_ = report.ProblemsJSON(a.env.stdout, report.ProblemsOf(err))
	}
}

func newValidateCommand(a *app) *cobra.Command {
	var files []string
	cmd := &cobra.Command{
		Use:   "validate [-f FILE]...",
		Short: "Check the desired-state files; touches no server",
		Long: `Reads, merges and checks the desired-state files, and contacts no server. Every problem is
reported at once, on stderr, with its file:line:column; warnings (allowed, and likely a mistake)
too. On success, stdout has one line: how many files, servers and principal declarations.`,
		Example: `  pgusers validate                      # pgusers.yaml in the working directory
  pgusers validate -f pgusers/          # every *.yaml and *.yml in the directory
  pgusers validate -f sets.yaml -f servers.yaml`,
		Args: cli.NoArgs("validate takes no arguments (got %q); name files with -f"),
		RunE: a.run(func(ctx context.Context, _ *cobra.Command, _ []string) (int, error) {
			return exitOK, runValidate(ctx, files, a.env)
		}),
		ValidArgsFunction: cobra.NoFileCompletions,
	}
	addFileFlag(cmd, &files)
	return cmd
}

func newPlanCommand(a *app) *cobra.Command {
	o := &planOptions{output: cli.NewChoice("text", "text", "json", "markdown")}
	cmd := &cobra.Command{
		Use:   "plan [-f FILE]... [--server NAME]...",
		Short: "Show how each server differs from the files; changes nothing",
		Long: `Signs in to every server of the files (or those --server names), reads its principals, group
roles and privileges, and shows the changes apply would make, with the reason for each. Nothing
is changed on any server.

Servers are read in parallel (--parallel); the output keeps the files' order. A server that
cannot be read is reported and the others still are; the run then exits 1. The files must
declare at least one server: an empty set of files is an error, so that a scheduled drift check
of a directory emptied by mistake fails instead of passing.

--out saves the plan for apply PLANFILE, which applies exactly it. --metrics-file writes the
result for Prometheus (node_exporter's textfile collector): per server whether it was read, is in
sync and how many changes it has, and when it was last read without error.`,
		Example: `  pgusers plan -f pgusers/ --detailed-exitcode          # 0 in sync, 2 changes, 1 error
  pgusers plan -f pgusers/ --server orders-prod
  pgusers plan -f pgusers/ --output json > plan.json   # for machines; logs stay on stderr
  pgusers plan -f pgusers/ --output markdown >> "$GITHUB_STEP_SUMMARY"
  pgusers plan -f pgusers/ --out plan.pgusers.json     # review it, then: pgusers apply plan.pgusers.json
  pgusers plan -f /etc/pgusers/ --detailed-exitcode --metrics-file /var/lib/node_exporter/pgusers.prom`,
		Args: cli.NoArgs("plan takes no arguments (got %q); name files with -f"),
		RunE: a.run(func(ctx context.Context, _ *cobra.Command, _ []string) (int, error) {
			return runPlan(ctx, o, a.env)
		}),
		ValidArgsFunction: cobra.NoFileCompletions,
	}
	fs := cmd.Flags()
	fs.VarP(&o.output, "output", "o", "what stdout holds: the plan for people, JSON (docs/json.md) or Markdown for a pull request")
	fs.BoolVar(&o.detailed, "detailed-exitcode", false, "exit 2 when a server has changes (and none failed), 0 when all are in sync")
	fs.StringVar(&o.out, "out", "", "save the plan to `PLANFILE`, for pgusers apply PLANFILE")
	fs.StringVar(&o.metricsFile, "metrics-file", "", "write the result in Prometheus text format to `FILE` (atomically: a temporary file, renamed)")
	o.common.register(cmd, fleetFlags|parallelFlag|maxDropsFlag)
	cli.CompleteChoices(cmd, "output", "text\tfor people", "json\tfor machines (docs/json.md)", "markdown\tfor a pull request or job summary")
	return cmd
}

func newApplyCommand(a *app) *cobra.Command {
	o := &applyOptions{output: cli.NewChoice("text", "text", "json")}
	cmd := &cobra.Command{
		Use:   "apply [PLANFILE] [-f FILE]... [--server NAME]...",
		Short: "Make each server match the files, or apply a saved plan",
		Long: `Plans every server as plan does, shows the plan, asks for confirmation, and applies each server
with changes in transactions of its own, under an advisory lock, after reading it again: a server
that changed since the plan is refused. A server that fails is reported; the others still apply.

apply PLANFILE applies exactly a plan saved by plan --out, statement for statement; it reads no
desired-state file, so -f, --server, --shard and --max-drops are refused with it.

Confirmation: only 'yes' applies. Without a terminal (CI, cron, a pipe) apply refuses to run
unless --auto-approve or a dry run is given. With --output json on a terminal, the plan is shown
as text on stderr before the question; stdout gets the JSON report once, after the apply.

--dry-run (or --dry-run=client) prints the exact SQL and runs none of it. --dry-run=server runs
everything in transactions and rolls them back. The value goes after "=": --dry-run server is
refused, as "server" would be read as a plan file.`,
		Example: `  pgusers apply -f pgusers/ --server orders-prod     # shows the plan, asks for 'yes'
  pgusers apply -f pgusers/ --dry-run                # print the SQL, run none of it
  pgusers apply -f pgusers/ --dry-run=server         # run it all and roll it back
  pgusers apply -f pgusers/ --auto-approve --output json > apply.json   # CI
  pgusers apply plan.pgusers.json --auto-approve     # exactly a saved plan`,
		Args: func(_ *cobra.Command, args []string) error {
			if v, ok := cli.DryRunWithSpace(a.args); ok {
				return cli.Usagef("--dry-run takes its value after \"=\": write --dry-run=server (or --dry-run=client); "+
					"written with a space, %q would be read as a plan file; nothing was changed", v)
			}
			if len(args) > 1 {
				return cli.Usagef("apply takes at most one argument, a saved plan (got %q); name files with -f", args)
			}
			return nil
		},
		RunE: a.run(func(ctx context.Context, _ *cobra.Command, args []string) (int, error) {
			planFile := ""
			if len(args) == 1 {
				planFile = args[0]
			}
			return runApply(ctx, o, planFile, a.env)
		}),
		ValidArgsFunction: func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return nil, cobra.ShellCompDirectiveDefault // a saved plan: any file
		},
	}
	fs := cmd.Flags()
	fs.VarP(&o.output, "output", "o", "what stdout holds: text for people, or the JSON report (docs/json.md)")
	fs.Var(&o.dry, "dry-run", "print the SQL and run none of it; --dry-run=server runs it all and rolls it back")
	fs.Lookup("dry-run").NoOptDefVal = string(cli.DryRunClient)
	fs.BoolVar(&o.autoApprove, "auto-approve", false, "apply without asking (CI)")
	o.common.register(cmd, fleetFlags|parallelFlag|maxDropsFlag)
	cli.CompleteChoices(cmd, "output", "text\tfor people", "json\tfor machines (docs/json.md)")
	cli.CompleteChoices(cmd, "dry-run", "client\tprint the SQL, run none of it", "server\trun it all and roll it back")
	return cmd
}

func newExportCommand(a *app) *cobra.Command {
	o := &exportOptions{}
	cmd := &cobra.Command{
		Use:   "export [-f FILE]... --server NAME [--database DB]...",
		Short: "Print a desired-state file declaring what a server has",
		Long: `Prints, on stdout, a desired-state file that declares what one server has: its Entra principals
with their type, object id, flags and memberships, and, with --database, the group roles they
belong to and their grants in each database named. It is the way to adopt a server pgusers did
not set up: planning the printed file against the server shows no change.

The connection settings come from the files (-f), which must define the server; everything else
is read from the server, once, without a lock. --timeout bounds the whole export.`,
		Example: `  pgusers export -f servers.yaml --server orders-prod > orders-prod.yaml
  pgusers export -f pgusers/ --server orders-prod --database orders --database reporting`,
		Args: cli.NoArgs("export takes no arguments (got %q); name the server with --server and its file with -f"),
		RunE: a.run(func(ctx context.Context, _ *cobra.Command, _ []string) (int, error) {
			return runExport(ctx, o, a.env)
		}),
		ValidArgsFunction: cobra.NoFileCompletions,
	}
	cmd.Flags().StringArrayVar(&o.databases, "database", nil, "also export the grants in database `DB` (repeatable)")
	o.common.register(cmd, 0)
	_ = cmd.RegisterFlagCompletionFunc("database", cobra.NoFileCompletions)
	return cmd
}

func newServersCommand(a *app) *cobra.Command {
	o := &serversOptions{output: cli.NewChoice("text", "text", "json")}
	cmd := &cobra.Command{
		Use:   "servers [-f FILE]... [--server NAME]... [--shard K/N]",
		Short: "List the fleet as the files and Azure define it; touches no server",
		Long: `Lists every server of the files, those they name and those their discover entries find in Azure
Resource Manager: name, host, where it came from, and for a discovered server its location,
PostgreSQL version, tags, whether Microsoft Entra authentication is enabled and its Entra
administrators. A server Azure says cannot be signed in to as the files say (Entra authentication
disabled, the sign-in user not one of its administrators, stopped) is flagged with why: plan and
apply report it failed without connecting. No server is connected to.`,
		Example: `  pgusers servers -f pgusers/
  pgusers servers -f pgusers/ --shard 0/4 --output json`,
		Args: cli.NoArgs("servers takes no arguments (got %q); name files with -f"),
		RunE: a.run(func(ctx context.Context, _ *cobra.Command, _ []string) (int, error) {
			return runServers(ctx, o, a.env)
		}),
		ValidArgsFunction: cobra.NoFileCompletions,
	}
	cmd.Flags().VarP(&o.output, "output", "o", "text for people, or JSON")
	o.common.register(cmd, fleetFlags)
	cli.CompleteChoices(cmd, "output", "text", "json")
	return cmd
}

func newVersionCommand(a *app) *cobra.Command {
	output := cli.NewChoice("text", "text", "json")
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, the commit, the Go version and the platform",
		Long: `Prints the version of this pgusers: the release it was built from (set by the release build, or
the module version "go install ...@v0.1.0" records; "dev" for a build from a work tree), the
first 12 digits of the commit with "-dirty" when the tree had changes, the Go version and the
platform.`,
		Example: `  pgusers version
  pgusers version --output json`,
		Args: cli.NoArgs("version takes no arguments (got %q)"),
		RunE: a.run(func(context.Context, *cobra.Command, []string) (int, error) {
			v := currentVersion()
			if output.Value == "json" {
				return exitOK, report.WriteJSON(a.env.stdout, v)
			}
			_, err := fmt.Fprintln(a.env.stdout, v)
			return exitOK, err
		}),
		ValidArgsFunction: cobra.NoFileCompletions,
	}
	cmd.Flags().VarP(&output, "output", "o", "text, or JSON: {\"version\", \"commit\", \"go\", \"platform\"}")
	cli.CompleteChoices(cmd, "output", "text", "json")
	return cmd
}

// common are the flags plan, apply and export share.
type common struct {
	files     []string
	servers   []string
	parallel  cli.AtLeast
	timeout   cli.Duration
	maxDrops  cli.MaxDrops
	verbose   bool
	logLevel  cli.Choice
	logFormat cli.Choice
	shard     cli.Shard
	// log is set by logger; load reports through it.
	log *slog.Logger
	// fleet is what Azure Resource Manager says of the servers discovery
	// found.
	fleet run.Fleet
}

// The flags a command takes beyond -f, --timeout and the log flags.
const (
	fleetFlags   = 1 << iota // --server repeatable, and --shard
	parallelFlag             // --parallel
	maxDropsFlag             // --max-drops
)

// register adds the common flags that which names, with -f, --timeout and
// the log flags, to cmd. Without fleetFlags, --server names exactly one
// server.
func (c *common) register(cmd *cobra.Command, which int) {
	addFileFlag(cmd, &c.files)
	fs := cmd.Flags()
	c.parallel, c.timeout, c.maxDrops = cli.AtLeast{Value: 8, Min: 1}, cli.Duration(5*time.Minute), -1
	if which&fleetFlags != 0 {
		fs.StringArrayVar(&c.servers, "server", nil, "only server `NAME` of the files (repeatable; default: every server)")
		fs.Var(&c.shard, "shard", "run only part `K/N` of the fleet: K from 0 to N-1, by a stable hash of the server name "+
			"(a Kubernetes Indexed Job's JOB_COMPLETION_INDEX, a CI matrix index)")
	} else {
		fs.StringArrayVar(&c.servers, "server", nil, "the server `NAME` of the files (exactly one)")
	}
	if which&parallelFlag != 0 {
		fs.Var(&c.parallel, "parallel", "how many servers at once")
	}
	fs.Var(&c.timeout, "timeout", "the time budget of discovery, and of each server per phase (read and plan; apply), e.g. 90s, 10m, 1h")
	if which&maxDropsFlag != 0 {
		fs.Var(&c.maxDrops, "max-drops", "refuse a server whose plan drops or replaces more than N principals (default: the files' maxDrops, else 5)")
	}
	fs.BoolVarP(&c.verbose, "verbose", "v", false, "debug logs on stderr (--log-level debug)")
	c.logLevel = cli.NewChoice("warn", "debug", "info", "warn", "error")
	fs.Var(&c.logLevel, "log-level", "diagnostics on stderr from this level up")
	c.logFormat = cli.NewChoice("text", "text", "json")
	fs.Var(&c.logFormat, "log-format", "diagnostics on stderr as text or JSON lines")
	_ = cmd.RegisterFlagCompletionFunc("server", cli.CompleteServers)
	for _, name := range []string{"parallel", "timeout", "max-drops", "shard"} {
		if fs.Lookup(name) != nil {
			_ = cmd.RegisterFlagCompletionFunc(name, cobra.NoFileCompletions)
		}
	}
	cli.CompleteChoices(cmd, "log-level", "debug", "info", "warn", "error")
	cli.CompleteChoices(cmd, "log-format", "text", "json")
}

// addFileFlag adds -f/--file, repeatable, completed with YAML files and
// directories.
func addFileFlag(cmd *cobra.Command, files *[]string) {
	cmd.Flags().StringArrayVarP(files, "file", "f", nil,
		"desired-state `FILE`, or a directory of *.yaml and *.yml files (repeatable; default: "+spec.DefaultFile+")")
	_ = cmd.MarkFlagFilename("file", "yaml", "yml")
}
