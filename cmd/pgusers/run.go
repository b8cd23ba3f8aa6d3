package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/pgusers/pgusers/pkg/connect"
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

const usage = `pgusers keeps Microsoft Entra principals on Azure Database for PostgreSQL as files declare them.

Usage:
  pgusers validate [-f FILE]...
  pgusers plan     [-f FILE]... [--server NAME]... [--output text|json|markdown] [--detailed-exitcode] [--out PLANFILE]
  pgusers apply    [-f FILE]... [--server NAME]... [--dry-run[=client|server]] [--auto-approve] [--output text|json]
  pgusers apply    PLANFILE [--dry-run[=client|server]] [--auto-approve] [--output text|json]
                                apply exactly a saved plan; refuses a server that changed since
  pgusers export   [-f FILE]... --server NAME
                                print a desired-state file declaring what the server has
  pgusers version

Common flags:
  -f, --file FILE        a desired-state file or a directory of them (repeatable; default pgusers.yaml)
  --server NAME          only this server (repeatable; default every server)
  --parallel N           servers at once (default 8)
  --timeout DURATION     per server: connect, inspect and apply (default 5m)
  --max-drops N          refuse a server whose plan drops or replaces more (default: the file's maxDrops, else 5)
  -v, --log-level LEVEL  diagnostics on stderr: debug (-v), info, warn (default), error
  --log-format text|json

Exit codes: 0 success (plan --detailed-exitcode: in sync), 1 error, 2 plan --detailed-exitcode: changes.
`

func runCommand(ctx context.Context, args []string, e env) int {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, usage)
		return exitError
	}
	cmd, rest := args[0], args[1:]
	var err error
	code := exitOK
	switch cmd {
	case "validate":
		err = runValidate(ctx, rest, e)
	case "plan":
		code, err = runPlan(ctx, rest, e)
	case "apply":
		code, err = runApply(ctx, rest, e)
	case "export":
		code, err = runExport(ctx, rest, e)
	case "version", "--version":
		fmt.Fprintln(e.stdout, versionString())
	case "help", "-h", "--help":
		fmt.Fprint(e.stdout, usage)
	default:
		err = usagef("unknown command %q; run pgusers help", cmd)
	}
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(e.stdout, usage)
		return exitOK
	}
	if err != nil {
		printError(e.stderr, err)
		return exitError
	}
	return code
}

// printError writes err to stderr, one problem a line.
func printError(w io.Writer, err error) {
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
		fmt.Fprintf(w, "error: %v\n(pgusers help shows the usage)\n", ue)
		return
	}
	fmt.Fprintf(w, "error: %v\n", err)
}

// common are the flags plan and apply share.
type common struct {
	files     stringList
	servers   stringList
	parallel  int
	timeout   time.Duration
	maxDrops  int
	verbose   bool
	logLevel  choice
	logFormat choice
	// log is set by logger; load reports through it.
	log *slog.Logger
}

func (c *common) register(fs *flag.FlagSet) {
	fs.Var(&c.files, "f", "desired-state file or directory (repeatable)")
	fs.Var(&c.files, "file", "desired-state file or directory (repeatable)")
	fs.Var(&c.servers, "server", "only this server (repeatable)")
	fs.IntVar(&c.parallel, "parallel", 8, "servers at once")
	fs.DurationVar(&c.timeout, "timeout", 5*time.Minute, "per server")
	fs.IntVar(&c.maxDrops, "max-drops", -1, "drops and replaces allowed per server")
	fs.BoolVar(&c.verbose, "v", false, "debug logs (--log-level debug)")
	c.logLevel = choice{value: "warn", allowed: []string{"debug", "info", "warn", "error"}}
	fs.Var(&c.logLevel, "log-level", "debug, info, warn or error")
	c.logFormat = choice{value: "text", allowed: []string{"text", "json"}}
	fs.Var(&c.logFormat, "log-format", "text or json")
}

// logger returns the run's logger, made once from the flags.
func (c *common) logger(w io.Writer) *slog.Logger {
	if c.log != nil {
		return c.log
	}
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.logLevel.value)) // choice allows only valid names
	if c.verbose {
		level = slog.LevelDebug
	}
	opts := &slog.HandlerOptions{Level: level}
	if c.logFormat.value == "json" {
		c.log = slog.New(slog.NewJSONHandler(w, opts))
	} else {
		c.log = slog.New(slog.NewTextHandler(w, opts))
	}
	return c.log
}

// validate checks the flags that do not depend on the files.
func (c *common) validate() error {
	if c.parallel < 1 {
		return usagef("--parallel must be at least 1")
	}
	if c.timeout <= 0 {
		return usagef("--timeout must be positive")
	}
	return nil
}

// load reads the files and picks the servers the command line names.
func (c *common) load(ctx context.Context) (*spec.Desired, []spec.Server, error) {
	if err := c.validate(); err != nil {
		return nil, nil, err
	}
	start := time.Now()
	files, err := spec.Read(ctx, c.files)
	if err != nil {
		return nil, nil, err
	}
	return c.decode(ctx, start, files)
}

// loadAndRead is load that also starts reading the servers while the files
// decode (run.StartReads). The caller stops the reads once planning is over.
func (c *common) loadAndRead(ctx context.Context, cfg run.Config) (*spec.Desired, []spec.Server, *run.Reads, error) {
	if err := c.validate(); err != nil {
		return nil, nil, nil, err
	}
	start := time.Now()
	files, err := spec.Read(ctx, c.files)
	if err != nil {
		return nil, nil, nil, err
	}
	var reads *run.Reads
	if conns, ok := files.Connections(ctx); ok {
		// A --server that names no server is reported by decode.
		if servers, err := selectServers(&spec.Desired{Servers: conns}, c.servers); err == nil {
			reads = run.StartReads(ctx, servers, cfg)
		}
	}
	d, servers, err := c.decode(ctx, start, files)
	if err != nil {
		reads.Stop(ctx)
		return nil, nil, nil, err
	}
	return d, servers, reads, nil
}

// config is the run's configuration from the flags and the process: one
// set of credentials, and so one token cache, for every connection.
func (c *common) config(e env) run.Config {
	log := c.logger(e.stderr)
	opts := e.connect
	opts.Logger = log
	if opts.Credentials == nil {
		opts.Credentials = connect.NewCredentials(e.getenv)
	}
	if opts.Getenv == nil {
		opts.Getenv = e.getenv
	}
	cfg := run.Config{Parallel: c.parallel, Timeout: c.timeout, Connect: opts, Log: log}
	if e.progress {
		cfg.Progress = e.stderr
	}
	return cfg
}

// decode decodes the files read since start and picks the servers the
// command line names.
func (c *common) decode(ctx context.Context, start time.Time, files *spec.Files) (*spec.Desired, []spec.Server, error) {
	d, err := files.Decode(ctx)
	if err != nil {
		return nil, nil, err
	}
	c.log.Debug("loaded the desired state", "files", len(d.Files), "servers", len(d.Servers), "took", time.Since(start))
	servers, err := selectServers(d, c.servers)
	if err != nil {
		return nil, nil, err
	}
	if c.maxDrops >= 0 {
		// A copy: the override is this run's, not the desired state's.
		servers = slices.Clone(servers)
		for i := range servers {
			servers[i].MaxDrops = c.maxDrops
		}
	}
	return d, servers, nil
}

func selectServers(d *spec.Desired, names []string) ([]spec.Server, error) {
	if len(names) == 0 {
		return d.Servers, nil
	}
	want := map[string]bool{}
	for _, n := range names {
		if _, ok := d.Server(n); !ok {
			known := make([]string, len(d.Servers))
			for i, s := range d.Servers {
				known[i] = s.Name
			}
			return nil, usagef("--server %q is not in the files (servers: %v); nothing was changed", n, known)
		}
		want[n] = true
	}
	var out []spec.Server
	for _, s := range d.Servers {
		if want[s.Name] {
			out = append(out, s)
		}
	}
	return out, nil
}

func runValidate(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	var files stringList
	fs.Var(&files, "f", "")
	fs.Var(&files, "file", "")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("validate takes no arguments (got %q); name files with -f", pos)
	}
	d, err := spec.Load(ctx, files)
	if err != nil {
		return err
	}
	printWarnings(e.stderr, d)
	n := 0
	for _, s := range d.Servers {
		n += len(s.Principals)
	}
	fmt.Fprintf(e.stdout, "The files are valid: %d file(s), %d server(s), %d principal declaration(s).\n", len(d.Files), len(d.Servers), n)
	return nil
}

// printWarnings says on stderr what the files do that is allowed and
// likely a mistake.
func printWarnings(w io.Writer, d *spec.Desired) {
	for _, warning := range d.Warnings {
		fmt.Fprintf(w, "warning: %s\n", report.EscapeLines(warning.Error()))
	}
}
