package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/pgusers/pgusers/pkg/spec"
)

// UsageError is a mistake in the command line; its message says what to do.
type UsageError struct{ msg string }

func (e *UsageError) Error() string { return e.msg }

// Usagef is a UsageError with a formatted message.
func Usagef(format string, args ...any) error {
	return &UsageError{msg: fmt.Sprintf(format, args...)}
}

// NoArgs refuses positional arguments with the message msg (%q is them).
func NoArgs(msg string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) > 0 {
			return Usagef(msg, args)
		}
		return nil
	}
}

// FlagError turns what pflag reports into a usage error that names the
// flag, and, for an unknown flag, the closest flag of the command or the
// command that has it. It is a cobra.Command's flag error function.
func FlagError(cmd *cobra.Command, err error) error {
	var invalid *pflag.InvalidValueError
	if errors.As(err, &invalid) {
		return Usagef("--%s %v", invalid.GetFlag().Name, errors.Unwrap(err))
	}
	var missing *pflag.ValueRequiredError
	if errors.As(err, &missing) {
		return Usagef("--%s needs a value", missing.GetFlag().Name)
	}
	var unknown *pflag.NotExistError
	if errors.As(err, &unknown) {
		name := unknown.GetSpecifiedName()
		if name == "" {
			return Usagef("%v", err)
		}
		return Usagef("%v%s", err, suggestFlag(cmd, name))
	}
	return Usagef("%v", err)
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

// CommandLineError is err, an error cobra found in the command line
// args, as a usage error: an unknown command says which command was meant.
func CommandLineError(root, cmd *cobra.Command, args []string, err error) error {
	var ue *UsageError
	if errors.As(err, &ue) {
		return err
	}
	if cmd == root && strings.HasPrefix(err.Error(), "unknown command") {
		name := firstArg(args)
		msg := fmt.Sprintf("unknown command %q for %q", name, root.Name())
		if s := root.SuggestionsFor(name); len(s) > 0 {
			msg += "; did you mean " + strings.Join(s, " or ") + "?"
		}
		return Usagef("%s", msg)
	}
	return Usagef("%v", err)
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

// PrintError writes err, from command cmd (nil: none ran), to w, one
// problem a line: every problem in the files with its place, or a usage
// error with where to read the usage.
func PrintError(w io.Writer, cmd *cobra.Command, err error) {
	var specErrs spec.Errors
	if errors.As(err, &specErrs) {
		for _, se := range specErrs {
			fmt.Fprintf(w, "error: %v\n", se)
		}
		fmt.Fprintf(w, "%d error(s) in the desired-state files; nothing was changed\n", len(specErrs))
		return
	}
	var ue *UsageError
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
