package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// stringList is a flag that may repeat.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// dryRun is --dry-run[=client|server]: a bare --dry-run means client.
type dryRun string

const (
	dryRunNone   dryRun = ""
	dryRunClient dryRun = "client"
	dryRunServer dryRun = "server"
)

func (d *dryRun) String() string   { return string(*d) }
func (d *dryRun) IsBoolFlag() bool { return true }
func (d *dryRun) Set(v string) error {
	switch v {
	case "true", "client":
		*d = dryRunClient
	case "false", "none":
		*d = dryRunNone
	case "server":
		*d = dryRunServer
	default:
		return fmt.Errorf("want client or server, not %q", v)
	}
	return nil
}

// choice is a flag whose value must be one of a few words.
type choice struct {
	value   string
	allowed []string
}

func (c *choice) String() string { return c.value }
func (c *choice) Set(v string) error {
	for _, a := range c.allowed {
		if v == a {
			c.value = v
			return nil
		}
	}
	return fmt.Errorf("want one of %s, not %q", strings.Join(c.allowed, ", "), v)
}

// usageError is a mistake in the command line; its message says what to do.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// parse parses args, flags and positional arguments in any order (the flag
// package stops at the first positional one), and returns the positionals.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usagef("%v", err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		if args[0] == "--" {
			return append(positional, args[1:]...), nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}
