package report

import (
	"fmt"
	"io"
)

// View is the view of a plan that --output names ("text", "json",
// "markdown"); the text plan is coloured when color says so, the others
// never are.
func View(output string, color bool) func(io.Writer, Report) error {
	switch output {
	case "json":
		return JSON
	case "markdown":
		return Markdown
	}
	return TextView(color)
}

// TextView is the text plan, coloured or not.
func TextView(color bool) func(io.Writer, Report) error {
	if color {
		return ColorText
	}
	return Text
}

// Failures ends a run with the servers that failed or whose outcome is
// unknown, one line each, for stderr: a CI log shows them even when stdout
// goes to a file. It writes nothing when every server succeeded.
func Failures(w io.Writer, r Report) {
	if r.Summary.Failed == 0 && r.Summary.Unknown == 0 {
		return
	}
	for _, s := range r.Servers {
		switch s.Status {
		case Error:
			fmt.Fprintf(w, "error: server %s: %s\n", Escape(s.Name), indent(EscapeLines(s.Error), "  "))
		case Unknown:
			fmt.Fprintf(w, "error: server %s: outcome unknown: %s\n", Escape(s.Name), indent(EscapeLines(s.Error), "  "))
		}
	}
	if r.Summary.Failed > 0 {
		fmt.Fprintf(w, "%d of %d server(s) failed\n", r.Summary.Failed, len(r.Servers))
	}
	if r.Summary.Unknown > 0 {
		fmt.Fprintf(w, "%d of %d server(s) with an unknown outcome: plan again to see what they hold\n", r.Summary.Unknown, len(r.Servers))
	}
}
