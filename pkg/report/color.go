package report

import (
	"bytes"
	"fmt"
	"io"

	"github.com/pgusers/pgusers/pkg/diff"
)

// ColorText is Text for a terminal: each change's line in the colour of
// its mark (+ green, - red, -/+ and ~ yellow), the "!" of an error red,
// and the server headers and the closing line bold. Without its escape
// codes the output is exactly Text's. Only the text plan is ever coloured:
// JSON, Markdown and SQL are read by programs or pasted elsewhere.
//
// It colours Text's lines as they stream out rather than asking Text to:
// a change line is one that starts with two spaces and a mark padded to
// three, a header one that starts with "server ". Nothing that came from
// a server or a file can start a line, since Escape keeps line breaks out
// of names, hosts, reasons and errors.
func ColorText(out io.Writer, r Report) error {
	c := &colorLines{w: out}
	if err := Text(c, r); err != nil {
		return err
	}
	return c.flush()
}

// ANSI SGR sequences.
const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
)

// changeMarks maps the start of a change line ("  +   ", "  -/+ ") to
// the colour of its mark.
var changeMarks = func() map[string]string {
	colors := map[string]string{"+": ansiGreen, "-": ansiRed, "-/+": ansiYellow, "~": ansiYellow}
	m := map[string]string{}
	for _, a := range diff.Actions {
		sym := a.Symbol()
		if color, ok := colors[sym]; ok {
			m[fmt.Sprintf("  %-3s ", sym)] = color
		}
	}
	return m
}()

// colorLines colours the lines written to it, and writes them to w.
type colorLines struct {
	w       io.Writer
	partial []byte // the start of a line not yet ended
	out     []byte
}

func (c *colorLines) Write(p []byte) (int, error) {
	n := len(p)
	c.out = c.out[:0]
	for {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			c.partial = append(c.partial, p...)
			break
		}
		line := p[:i]
		if len(c.partial) > 0 {
			c.partial = append(c.partial, line...)
			line = c.partial
		}
		c.out = append(colorLine(c.out, line), '\n')
		c.partial = c.partial[:0]
		p = p[i+1:]
	}
	if _, err := c.w.Write(c.out); err != nil {
		return 0, err
	}
	return n, nil
}

// flush writes a last line that has no line break.
func (c *colorLines) flush() error {
	if len(c.partial) == 0 {
		return nil
	}
	_, err := c.w.Write(colorLine(nil, c.partial))
	c.partial = c.partial[:0]
	return err
}

// colorLine appends line, coloured, to b.
func colorLine(b, line []byte) []byte {
	paint := func(color string) []byte {
		b = append(b, color...)
		b = append(b, line...)
		return append(b, ansiReset...)
	}
	switch {
	case len(line) == 0:
		return b
	case bytes.HasPrefix(line, []byte("server ")),
		bytes.HasPrefix(line, []byte("Plan: ")),
		bytes.HasPrefix(line, []byte("No changes")):
		return paint(ansiBold)
	case bytes.HasPrefix(line, []byte("  ! ")):
		b = append(b, "  "+ansiRed+"!"+ansiReset...)
		return append(b, line[3:]...)
	}
	if len(line) >= 6 {
		if color, ok := changeMarks[string(line[:6])]; ok {
			return paint(color)
		}
	}
	return append(b, line...)
}
