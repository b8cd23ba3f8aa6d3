package cli

import (
	"io"
	"log/slog"
	"os"

	"golang.org/x/term"
)

// IsTerminal reports whether f is a terminal a person types at or watches.
// It asks the terminal driver (an ioctl) rather than the file's mode: a
// character device is not enough, as /dev/null is one, and apply </dev/null
// must not wait for an answer nobody can give.
func IsTerminal(f *os.File) bool {
	return term.IsTerminal(int(f.Fd()))
}

// WantColor decides colour for an output: only on a terminal, and never
// with NO_COLOR set, whatever its value (https://no-color.org), or on a
// terminal that says it cannot (TERM=dumb).
func WantColor(terminal bool, lookup func(string) (string, bool)) bool {
	if !terminal {
		return false
	}
	if _, set := lookup("NO_COLOR"); set {
		return false
	}
	term, _ := lookup("TERM")
	return term != "dumb"
}

// NewLogger is the diagnostics logger of --log-level (debug, info, warn or
// error; debug when verbose) and --log-format (text or json), writing to w.
func NewLogger(w io.Writer, level, format string, verbose bool) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level)) // a Choice allows only valid names
	if verbose {
		l = slog.LevelDebug
	}
	opts := &slog.HandlerOptions{Level: l}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
