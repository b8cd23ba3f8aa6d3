package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pgusers/pgusers/pkg/fleet"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/pgusers/pgusers/pkg/spec"
)

// The flag values below check what they are given as it is parsed, so that
// a bad value is reported with the flag's name before anything is read:
// "--timeout needs a unit", not a failure later.

// dryRun is --dry-run[=client|server]: a bare --dry-run means client.
type dryRun string

const (
	dryRunNone   dryRun = ""
	dryRunClient dryRun = "client"
	dryRunServer dryRun = "server"
)

func (d *dryRun) String() string { return string(*d) }
func (d *dryRun) Type() string   { return "" } // shown as --dry-run[=client]
func (d *dryRun) Set(v string) error {
	switch v {
	case "true", "client":
		*d = dryRunClient
	case "false", "none":
		*d = dryRunNone
	case "server":
		*d = dryRunServer
	default:
		return fmt.Errorf("must be client or server, not %q", v)
	}
	return nil
}

// choice is a flag whose value must be one of a few words.
type choice struct {
	value   string
	allowed []string
}

func newChoice(value string, allowed ...string) choice { return choice{value: value, allowed: allowed} }

func (c *choice) String() string { return c.value }
func (c *choice) Type() string   { return strings.Join(c.allowed, "|") }
func (c *choice) Set(v string) error {
	for _, a := range c.allowed {
		if v == a {
			c.value = v
			return nil
		}
	}
	return fmt.Errorf("must be one of %s, not %q", strings.Join(c.allowed, ", "), v)
}

// duration is a positive Go duration that says what a bare number lacks.
type duration time.Duration

func (d *duration) String() string { return shortDuration(time.Duration(*d)) }
func (d *duration) Type() string   { return "duration" }
func (d *duration) Set(v string) error {
	if _, err := strconv.ParseFloat(v, 64); err == nil {
		return fmt.Errorf("needs a unit: %q is a number, not a duration; write it as 5s, 2m or 1h30m", v)
	}
	parsed, err := time.ParseDuration(v)
	if err != nil {
		return fmt.Errorf("must be a duration such as 5s, 2m or 1h30m, not %q", v)
	}
	if parsed <= 0 {
		return fmt.Errorf("must be positive, not %q", v)
	}
	*d = duration(parsed)
	return nil
}

// shortDuration is d as written by hand: 5m, not 5m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// atLeast is an integer flag with a lower bound.
type atLeast struct {
	value int
	min   int
}

func (a *atLeast) String() string { return strconv.Itoa(a.value) }
func (a *atLeast) Type() string   { return "N" }
func (a *atLeast) Set(v string) error {
	n, err := strconv.Atoi(v)
	if err != nil {
		return fmt.Errorf("must be a whole number, not %q", v)
	}
	if n < a.min {
		return fmt.Errorf("must be at least %d, not %d", a.min, n)
	}
	a.value = n
	return nil
}

// maxDrops is --max-drops N: -1 until given, so that the files decide.
type maxDrops int

func (m *maxDrops) String() string {
	if *m < 0 {
		return "" // not given: no default to show, the files decide
	}
	return strconv.Itoa(int(*m))
}
func (m *maxDrops) Type() string { return "N" }
func (m *maxDrops) Set(v string) error {
	n, err := strconv.Atoi(v)
	if err != nil {
		return fmt.Errorf("must be a whole number, not %q", v)
	}
	if n < 0 {
		return fmt.Errorf("must be 0 or more, not %d (leave the flag out to use the files' maxDrops)", n)
	}
	*m = maxDrops(n)
	return nil
}

// usageError is a mistake in the command line; its message says what to do.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// flagError turns what pflag reports into a usage error that names the
// flag, and, for an unknown flag, the closest flag of the command or the
// command that has it.
func flagError(cmd *cobra.Command, err error) error {
	var invalid *pflag.InvalidValueError
	if errors.As(err, &invalid) {
		return usagef("--%s %v", invalid.GetFlag().Name, errors.Unwrap(err))
	}
	var missing *pflag.ValueRequiredError
	if errors.As(err, &missing) {
		return usagef("--%s needs a value", missing.GetFlag().Name)
	}
	var unknown *pflag.NotExistError
	if errors.As(err, &unknown) {
		name := unknown.GetSpecifiedName()
		if name == "" {
			return usagef("%v", err)
		}
		return usagef("%v%s", err, suggestFlag(cmd, name))
	}
	return usagef("%v", err)
}

// suggestFlag is "; did you mean --server?" for a misspelt flag of cmd,
// "; --auto-approve is a flag of apply" for a flag of another command, or "".
func suggestFlag(cmd *cobra.Command, name string) string {
	var names []string
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if !f.Hidden {
			names = append(names, f.Name)
		}
	})
	if s := spec.Suggest(name, names); s != "" {
		return fmt.Sprintf("; did you mean --%s?", s)
	}
	if root := cmd.Root(); root != nil {
		var others []string
		for _, c := range root.Commands() {
			if c != cmd && c.IsAvailableCommand() && c.Flags().Lookup(name) != nil {
				others = append(others, c.Name())
			}
		}
		if len(others) > 0 {
			return fmt.Sprintf("; --%s is a flag of %s, not of %s", name, strings.Join(others, " and "), cmd.Name())
		}
	}
	return ""
}

// normalizeArgs keeps old command lines working: the flag package pgusers
// parsed with before took -server like --server, and --f like -f. Such a
// flag is rewritten, with a note on warn, to the spelling cobra parses.
// Arguments after "--", and values of flags, are left alone.
func normalizeArgs(root *cobra.Command, args []string, warn func(format string, a ...any)) []string {
	cmd, _, err := root.Find(args)
	if err != nil || cmd == nil {
		return args
	}
	cmd.InitDefaultHelpFlag() // -help, as the flag package took it
	fs := cmd.Flags()
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			out = append(out, a)
			continue
		}
		dashes := 1
		if strings.HasPrefix(a, "--") {
			dashes = 2
		}
		name, _, hasValue := strings.Cut(a[dashes:], "=")
		var f *pflag.Flag
		switch {
		case dashes == 1 && len(name) > 1 && fs.Lookup(name) != nil:
			f = fs.Lookup(name)
			warn("%s is read as --%s; write two dashes", a[:1+len(name)], name)
			a = "-" + a
		case dashes == 2 && len(name) == 1 && fs.Lookup(name) == nil && fs.ShorthandLookup(name) != nil:
			f = fs.ShorthandLookup(name)
			a = a[1:]
		case dashes == 2:
			f = fs.Lookup(name)
		case len(name) == 1:
			f = fs.ShorthandLookup(name)
		}
		out = append(out, a)
		// A flag that takes a value in the next argument: keep it as is.
		if f != nil && !hasValue && f.NoOptDefVal == "" && i+1 < len(args) {
			i++
			out = append(out, args[i])
		}
	}
	return out
}

// jsonRequested reports whether the command line asks for --output json
// (-o json, --output=json), before any "--".
func jsonRequested(args []string) bool {
	for i, a := range args {
		switch {
		case a == "--":
			return false
		case a == "--output=json", a == "-o=json", a == "-ojson":
			return true
		case (a == "--output" || a == "-o") && i+1 < len(args) && args[i+1] == "json":
			return true
		}
	}
	return false
}

// shardFlag is --shard K/N.
type shardFlag struct{ fleet.Shard }

func (s *shardFlag) String() string {
	if s.N == 0 {
		return ""
	}
	return s.Shard.String()
}
func (s *shardFlag) Type() string { return "K/N" }
func (s *shardFlag) Set(v string) error {
	sh, err := fleet.ParseShard(v)
	if err != nil {
		return fmt.Errorf("--shard: %w", err)
	}
	s.Shard = sh
	return nil
}
