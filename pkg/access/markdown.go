package access

import (
	"bufio"
	"fmt"
	"io"

	"github.com/pgusers/pgusers/pkg/report"
)

// Markdown writes d for an auditor: a section per server with its
// findings and principals, and a table per database. Every name is
// escaped.
func Markdown(out io.Writer, d Document, detail bool) error {
	w := bufio.NewWriter(out)
	w.WriteString("# Access review\n")
	code := report.MarkdownCode
	if d.Generated != "" {
		fmt.Fprintf(w, "\nTaken %s by %s.\n", report.MarkdownText(d.Generated), report.MarkdownText(d.Pgusers))
	}
	for _, s := range d.Servers {
		fmt.Fprintf(w, "\n## Server %s\n\n", code(s.Name))
		if s.Error != "" {
			fmt.Fprintf(w, "Not reviewed: %s\n", report.MarkdownText(s.Error))
			continue
		}
		fmt.Fprintf(w, "%s\n", summary(s, code))
		if s.Changes != nil {
			for _, part := range []struct {
				title string
				rows  []Row
			}{{"Gained", s.Changes.Gained}, {"Lost", s.Changes.Lost}} {
				fmt.Fprintf(w, "\n### %s since the earlier review: %d\n", part.title, len(part.rows))
				if len(part.rows) > 0 {
					w.WriteString("\n| Grantee | Database | Access | Source |\n| --- | --- | --- | --- |\n")
					for _, l := range lines(part.rows) {
						db := ""
						if l.Database != "" {
							db = code(l.Database)
						}
						fmt.Fprintf(w, "| %s | %s | %s | %s |\n", code(l.Grantee), db, l.what(code, detail), l.how(report.MarkdownText))
					}
				}
			}
			continue
		}
		fmt.Fprintf(w, "\n### Findings\n\n")
		if len(s.Findings) == 0 {
			w.WriteString("None.\n")
		}
		for _, f := range s.Findings {
			fmt.Fprintf(w, "- %s\n", report.MarkdownText(f.Message))
		}
		fmt.Fprintf(w, "\n### Principals\n\n| Grantee | Type | Status | Login |\n| --- | --- | --- | --- |\n")
		for _, p := range s.Principals {
			fmt.Fprintf(w, "| %s | %s | %s | %s |\n", code(p.Name), p.Type, p.Status, yesNo(p.Login))
		}
		for _, sec := range sections(s) {
			fmt.Fprintf(w, "\n### %s\n\n| Grantee | Access | Source |\n| --- | --- | --- |\n", sec.title(code))
			for _, g := range sec.grantees {
				for _, l := range lines(g.rows) {
					fmt.Fprintf(w, "| %s (%s) | %s | %s |\n", code(g.name), g.what, l.what(code, detail), l.how(report.MarkdownText))
				}
			}
		}
	}
	return w.Flush()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
