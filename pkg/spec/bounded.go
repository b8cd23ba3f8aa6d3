package spec

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// quoteMax is how much of a value from the files an error shows. A value
// can be as long as the files (a 60 MB name is valid YAML), and an error
// that echoes it whole costs seconds and hundreds of megabytes, and buries
// the message.
const quoteMax = 64

// bounded is a value from the files as an error shows it: %q and %s print
// at most quoteMax bytes of it, then "…" and its size, without formatting
// the rest.
type bounded string

func (b bounded) Format(f fmt.State, verb rune) {
	s := string(b)
	if len(s) <= quoteMax {
		if verb == 'q' {
			f.Write([]byte(strconv.Quote(s)))
		} else {
			f.Write([]byte(s))
		}
		return
	}
	cut := runeCut(s)
	if verb == 'q' {
		fmt.Fprintf(f, "%q (%s bytes)", s[:cut]+"…", thousands(len(s)))
	} else {
		fmt.Fprintf(f, "%s… (%s bytes)", s[:cut], thousands(len(s)))
	}
}

// errorMsg is fmt.Sprintf for an error's message: every string argument
// of a %q verb, a value from the files, is bounded (the %s ones are
// pgusers' own words and lists).
func errorMsg(format string, args ...any) string {
	out := make([]any, len(args))
	copy(out, args)
	n := 0
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		i++
		for i < len(format) && strings.IndexByte("+-# 0123456789.", format[i]) >= 0 {
			i++
		}
		if i >= len(format) || format[i] == '%' {
			continue
		}
		if format[i] == 'q' && n < len(args) {
			if s, ok := args[n].(string); ok {
				out[n] = bounded(s)
			}
		}
		n++
	}
	return fmt.Sprintf(format, out...)
}

// thousands writes n with commas: 60,000,000.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// Quote quotes a value for an error message, as the files' own errors do:
// whole up to 64 bytes, else its first 64 bytes, "…" and its size. For
// values read from elsewhere (a plan file, the command line).
func Quote(s string) string {
	return fmt.Sprintf("%q", bounded(s))
}

// quotePrefix quotes s, or only its first quoteMax bytes and "…" when
// it is longer: for a message that gives the size itself.
func quotePrefix(s string) string {
	if len(s) <= quoteMax {
		return strconv.Quote(s)
	}
	return strconv.Quote(s[:runeCut(s)] + "…")
}

// runeCut is where to cut s, longer than quoteMax, at most quoteMax bytes
// in and not inside a character.
func runeCut(s string) int {
	cut := quoteMax
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return cut
}
