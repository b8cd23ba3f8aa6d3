package report

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
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

func unsafe(r rune) bool {
	switch {
	case unicode.IsControl(r):
		return true
	case r == '\u2028' || r == '\u2029': // line and paragraph separators
		return true
	case r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069', r == '\u200e', r == '\u200f', r == '\u061c':
		return true // bidirectional embeddings, overrides, isolates and marks
	case r == utf8.RuneError:
		// Invalid UTF-8: its bytes are shown, not sent to a terminal
		// that might take them for part of a sequence.
		return true
	}
	return false
}
