package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/pgusers/pgusers/pkg/discover"
	"github.com/pgusers/pgusers/pkg/report"
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
	stdout *watchedWriter
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
// changes.
func runCommand(ctx context.Context, args []string, e env) int {
	out := &watchedWriter{w: e.stdout}
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
	completing := args[0] == cobra.ShellCompRequestCmd || args[0] == cobra.ShellCompNoDescRequestCmd
	a.args = normalizeArgs(root, args, func(format string, v ...any) {
		if !completing { // a completion's stderr is the shell's
			fmt.Fprintf(e.stderr, "warning: "+format+"\n", v...)
		}
	})
	root.SetArgs(a.args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return a.code
	}
	if !a.running {
		err = commandLineError(root, cmd, a.args, err)
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
others still run), 2 only for plan --detailed-exitcode when a server has changes and none failed.`,
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
	root.SetFlagErrorFunc(flagError)
	root.AddCommand(newValidateCommand(a), newPlanCommand(a), newApplyCommand(a), newExportCommand(a), newServersCommand(a),
		newVersionCommand(a))
	// Made now rather than when the command runs, so that the usage and
	// the reference in docs/cli/ list them.
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	if c, _, err := root.Find([]string{"completion"}); err == nil && c != root {
		// cobra's completion command shows its help for any argument;
		// a shell it does not know is a mistake.
		c.Args = cobra.ArbitraryArgs
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			shells := []string{"bash", "zsh", "fish", "powershell"}
			hint := ""
			if s := spec.Suggest(args[0], shells); s != "" {
				hint = fmt.Sprintf("; did you mean %s?", s)
			}
			return usagef("no completion for shell %q%s (pgusers completion bash, zsh, fish or powershell)", args[0], hint)
		}
	}
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

// noArgs refuses positional arguments with the message msg (%q is them).
func noArgs(msg string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) > 0 {
			return usagef(msg, args)
		}
		return nil
	}
}

// commandLineError is err, an error cobra found in the command line, as
// a usage error: an unknown command says which command was meant.
func commandLineError(root, cmd *cobra.Command, args []string, err error) error {
	var ue *usageError
	if errors.As(err, &ue) {
		return err
	}
	if cmd == root && strings.HasPrefix(err.Error(), "unknown command") {
		name := firstArg(args)
		msg := fmt.Sprintf("unknown command %q for %q", name, root.Name())
		if s := root.SuggestionsFor(name); len(s) > 0 {
			msg += "; did you mean " + strings.Join(s, " or ") + "?"
		}
		return usagef("%s", msg)
	}
	return usagef("%v", err)
}

// firstArg is the first argument that is not a flag.
func firstArg(args []string) string {
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			return a
		}
	}
	return ""
}

// fail reports err: on stderr for people, one problem a line; and, when
// the command line asks for --output json and nothing was written to
// stdout yet, as a JSON document there, so that stdout is always one
// document for a machine.
func (a *app) fail(cmd *cobra.Command, err error) {
	printError(a.env.stderr, cmd, err)
	if jsonRequested(a.args) && !a.stdout.written {
		_ = report.ProblemsJSON(a.env.stdout, report.ProblemsOf(err))
	}
}

// printError writes err to w, one problem a line.
func printError(w io.Writer, cmd *cobra.Command, err error) {
	var specErrs spec.Errors
	if errors.As(err, &specErrs) {
		for _, se := range specErrs {
			fmt.Fprintf(w, "error: %v\n", se)
		}
		fmt.Fprintf(w, "%d error(s) in the desired-state files; nothing was changed\n", len(specErrs))
		return
	}
	var ue *usageError
	if errors.As(err, &ue) {
		path := "pgusers"
		if cmd != nil {
			path = cmd.CommandPath()
		}
		fmt.Fprintf(w, "error: %v\nRun '%s --help' for usage.\n", ue, path)
		return
	}
	fmt.Fprintf(w, "error: %v\n", err)
}

// watchedWriter remembers whether anything was written through it.
type watchedWriter struct {
	w       io.Writer
	written bool
}

func (w *watchedWriter) Write(p []byte) (int, error) {
	if len(p) > 0 {
		w.written = true
	}
	return w.w.Write(p)
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
		Args: noArgs("validate takes no arguments (got %q); name files with -f"),
		RunE: a.run(func(ctx context.Context, _ *cobra.Command, _ []string) (int, error) {
			return exitOK, runValidate(ctx, files, a.env)
		}),
		ValidArgsFunction: cobra.NoFileCompletions,
	}
	addFileFlag(cmd, &files)
	return cmd
}

func newPlanCommand(a *app) *cobra.Command {
	o := &planOptions{output: newChoice("text", "text", "json", "markdown")}
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
		Args: noArgs("plan takes no arguments (got %q); name files with -f"),
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
	o.common.register(cmd)
	completeChoices(cmd, "output", "text\tfor people", "json\tfor machines (docs/json.md)", "markdown\tfor a pull request or job summary")
	return cmd
}

func newApplyCommand(a *app) *cobra.Command {
	o := &applyOptions{output: newChoice("text", "text", "json")}
	cmd := &cobra.Command{
		Use:   "apply [PLANFILE] [-f FILE]... [--server NAME]...",
		Short: "Make each server match the files, or apply a saved plan",
		Long: `Plans every server as plan does, shows the plan, asks for confirmation, and applies each server
with changes in transactions of its own, under an advisory lock, after reading it again: a server
that changed since the plan is refused. A server that fails is reported; the others still apply.

apply PLANFILE applies exactly a plan saved by plan --out, statement for statement; it reads no
desired-state file, so -f, --server and --max-drops are refused with it.

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
			if v, ok := dryRunWithSpace(a.args); ok {
				return usagef("--dry-run takes its value after \"=\": write --dry-run=server (or --dry-run=client); "+
					"written with a space, %q would be read as a plan file; nothing was changed", v)
			}
			if len(args) > 1 {
				return usagef("apply takes at most one argument, a saved plan (got %q); name files with -f", args)
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
	fs.Lookup("dry-run").NoOptDefVal = string(dryRunClient)
	fs.BoolVar(&o.autoApprove, "auto-approve", false, "apply without asking (CI)")
	o.common.register(cmd)
	completeChoices(cmd, "output", "text\tfor people", "json\tfor machines (docs/json.md)")
	completeChoices(cmd, "dry-run", "client\tprint the SQL, run none of it", "server\trun it all and roll it back")
	return cmd
}

// dryRunWithSpace finds "--dry-run server" (or client) in args: the old
// flag package and pflag both read it as a client dry run and a plan file
// named server, which is never what was meant.
func dryRunWithSpace(args []string) (string, bool) {
	for i, arg := range args {
		if arg == "--" {
			break
		}
		if arg == "--dry-run" && i+1 < len(args) {
			switch v := args[i+1]; v {
			case "client", "server":
				return v, true
			}
		}
	}
	return "", false
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
		Args: noArgs("export takes no arguments (got %q); name the server with --server and its file with -f"),
		RunE: a.run(func(ctx context.Context, _ *cobra.Command, _ []string) (int, error) {
			return runExport(ctx, o, a.env)
		}),
		ValidArgsFunction: cobra.NoFileCompletions,
	}
	cmd.Flags().StringArrayVar(&o.databases, "database", nil, "also export the group roles and grants in database `DB` (repeatable)")
	o.common.register(cmd)
	_ = cmd.RegisterFlagCompletionFunc("database", cobra.NoFileCompletions)
	return cmd
}

func newServersCommand(a *app) *cobra.Command {
	o := &serversOptions{output: newChoice("text", "text", "json")}
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
		Args: noArgs("servers takes no arguments (got %q); name files with -f"),
		RunE: a.run(func(ctx context.Context, _ *cobra.Command, _ []string) (int, error) {
			return runServers(ctx, o, a.env)
		}),
		ValidArgsFunction: cobra.NoFileCompletions,
	}
	cmd.Flags().VarP(&o.output, "output", "o", "text for people, or JSON")
	o.common.register(cmd)
	completeChoices(cmd, "output", "text", "json")
	return cmd
}

func newVersionCommand(a *app) *cobra.Command {
	output := newChoice("text", "text", "json")
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, the commit, the Go version and the platform",
		Long: `Prints the version of this pgusers: the release it was built from (set by the release build, or
the module version "go install ...@v0.1.0" records; "dev" for a build from a work tree), the
first 12 digits of the commit with "-dirty" when the tree had changes, the Go version and the
platform.`,
		Example: `  pgusers version
  pgusers version --output json`,
		Args: noArgs("version takes no arguments (got %q)"),
		RunE: a.run(func(context.Context, *cobra.Command, []string) (int, error) {
			v := currentVersion()
			if output.value == "json" {
				return exitOK, writeJSON(a.env.stdout, v)
			}
			_, err := fmt.Fprintln(a.env.stdout, v)
			return exitOK, err
		}),
		ValidArgsFunction: cobra.NoFileCompletions,
	}
	cmd.Flags().VarP(&output, "output", "o", "text, or JSON: {\"version\", \"commit\", \"go\", \"platform\"}")
	completeChoices(cmd, "output", "text", "json")
	return cmd
}

// common are the flags plan, apply and export share.
type common struct {
	files     []string
	servers   []string
	parallel  atLeast
	timeout   duration
	maxDrops  maxDrops
	verbose   bool
	logLevel  choice
	logFormat choice
	shard     shardFlag
	// log is set by logger; load reports through it.
	log *slog.Logger
	// azure is what Azure Resource Manager says of the servers discovery
	// found, by name.
	azure map[string]discover.Server
}

func (c *common) register(cmd *cobra.Command) {
	addFileFlag(cmd, &c.files)
	fs := cmd.Flags()
	fs.StringArrayVar(&c.servers, "server", nil, "only server `NAME` of the files (repeatable; default: every server)")
	c.parallel = atLeast{value: 8, min: 1}
	fs.Var(&c.parallel, "parallel", "how many servers at once")
	c.timeout = duration(5 * time.Minute)
	fs.Var(&c.timeout, "timeout", "each server's time budget per phase (read and plan; apply), e.g. 90s, 10m, 1h")
	c.maxDrops = -1
	fs.Var(&c.maxDrops, "max-drops", "refuse a server whose plan drops or replaces more than N principals (default: the files' maxDrops, else 5)")
	fs.BoolVarP(&c.verbose, "verbose", "v", false, "debug logs on stderr (--log-level debug)")
	c.logLevel = newChoice("warn", "debug", "info", "warn", "error")
	fs.Var(&c.logLevel, "log-level", "diagnostics on stderr from this level up")
	c.logFormat = newChoice("text", "text", "json")
	fs.Var(&c.logFormat, "log-format", "diagnostics on stderr as text or JSON lines")
	fs.Var(&c.shard, "shard", "run only part `K/N` of the fleet: K from 0 to N-1, by a stable hash of the server name "+
		"(a Kubernetes Indexed Job's JOB_COMPLETION_INDEX, a CI matrix index)")
	_ = cmd.RegisterFlagCompletionFunc("server", completeServers)
	_ = cmd.RegisterFlagCompletionFunc("parallel", cobra.NoFileCompletions)
	_ = cmd.RegisterFlagCompletionFunc("timeout", cobra.NoFileCompletions)
	_ = cmd.RegisterFlagCompletionFunc("max-drops", cobra.NoFileCompletions)
	_ = cmd.RegisterFlagCompletionFunc("shard", cobra.NoFileCompletions)
	completeChoices(cmd, "log-level", "debug", "info", "warn", "error")
	completeChoices(cmd, "log-format", "text", "json")
}

// addFileFlag adds -f/--file, repeatable, completed with YAML files and
// directories.
func addFileFlag(cmd *cobra.Command, files *[]string) {
	cmd.Flags().StringArrayVarP(files, "file", "f", nil,
		"desired-state `FILE`, or a directory of *.yaml and *.yml files (repeatable; default: "+spec.DefaultFile+")")
	_ = cmd.MarkFlagFilename("file", "yaml", "yml")
}

var _ pflag.Value = (*choice)(nil)
