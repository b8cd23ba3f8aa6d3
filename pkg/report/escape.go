package report

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/pgusers/pgusers/pkg/diff"
)

// Escape returns s fit for one line of a terminal, a log or a SQL comment:
// every control character (line breaks, tabs, the escape codes that move a
// cursor or clear a screen) and every character that reorders or breaks
// text (bidirectional overrides, line and paragraph separators) is written
// as its Go escape, \n or \x1b or \u202e. Role names, hosts and server
// messages reach the output through it: a name cannot forge a line or
// rewrite what a terminal shows.
func Escape(s string) string {
	if !strings.ContainsFunc(s, unsafe) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unsafe(r):
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// EscapeLines is Escape for a message of several lines that pgusers
// formats itself: its line breaks stay, everything else is escaped.
func EscapeLines(s string) string {
	if !strings.ContainsFunc(s, unsafe) {
		return s
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = Escape(l)
	}
	return strings.Join(lines, "\n")
}

// unsafe is diff.Unsafe: one list of what no name shows as it is.
func unsafe(r rune) bool { return diff.Unsafe(r) }
