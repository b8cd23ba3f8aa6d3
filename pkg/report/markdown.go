package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/pgusers/pgusers/pkg/diff"
)

// Markdown renders a plan for a pull-request comment or a CI job
// summary (GitHub-flavoured Markdown): a heading, a table of every server,
// the errors in plain sight, a section per server with changes, and the
// servers in sync on one line. Everything a reader could mistake for markup
// (names, reasons, errors) is escaped or in code.
func Markdown(out io.Writer, r Report) error {
	w := bufio.NewWriter(out)
	fmt.Fprintln(w, "## pgusers plan")
	fmt.Fprintln(w)
	fmt.Fprintf(w, "**%s**\n\n", PlanLine(r.Summary))

	fmt.Fprintln(w, "| server | status | create | replace | drop | grant | revoke |")
	fmt.Fprintln(w, "| --- | --- | ---: | ---: | ---: | ---: | ---: |")
	for _, s := range r.Servers {
		n := countActions(s.Changes)
		counts := fmt.Sprintf("%d | %d | %d | %d | %d", n[diff.Create], n[diff.Replace], n[diff.Drop], n[diff.Grant], n[diff.Revoke])
		if s.Status == Error {
			counts = "– | – | – | – | –"
		}
		fmt.Fprintf(w, "| %s | %s | %s |\n", mdCode(s.Name), markdownStatus(s.Status), counts)
	}
	fmt.Fprintln(w)

	for _, s := range r.Servers {
		if s.Status != Error {
			continue
		}
		fmt.Fprintf(w, "> [!CAUTION]\n> **%s** (%s) failed; nothing was changed there.\n>\n", mdCode(s.Name), mdText(s.Host))
		fmt.Fprintln(w, quoteLines(fence(EscapeLines(s.Error), "text")))
		if len(s.Blockers) > 0 {
			fmt.Fprintln(w, ">\n> What blocks the drops:")
			for _, line := range blockerLines(s.Blockers, "") {
				fmt.Fprintf(w, "> - %s\n", mdText(line))
			}
		}
		fmt.Fprintln(w)
	}

	for _, s := range r.Servers {
		if len(s.Withheld) == 0 {
			continue
		}
		fmt.Fprintf(w, "> [!WARNING]\n> **%s** (%s): left as it is, needs you (not counted as a change):\n", mdCode(s.Name), mdText(s.Host))
		for _, x := range s.Withheld {
			fmt.Fprintf(w, "> - %s\n", mdText(x.Why))
		}
		fmt.Fprintln(w)
	}

	var inSync []string
	for _, s := range r.Servers {
		switch s.Status {
		case InSync:
			inSync = append(inSync, fmt.Sprintf("%s (%d principals)", mdCode(s.Name), s.Principals))
			continue
		case Error:
			continue
		}
		serverMarkdown(w, s)
	}
	if len(inSync) > 0 {
		fmt.Fprintf(w, "In sync: %s.\n", strings.Join(inSync, ", "))
	}
	return w.Flush()
}

func serverMarkdown(w io.Writer, s Server) {
	fmt.Fprintf(w, "### %s: %d change(s)\n\n", mdCode(s.Name), len(s.Changes))
	fmt.Fprintf(w, "Host %s.", mdText(s.Host))
	if len(s.Cleanups) > 0 {
		var dbs []string
		for _, c := range s.Cleanups {
			dbs = append(dbs, mdCode(c.Database))
		}
		fmt.Fprintf(w, " First, in their own transactions (no transaction spans two databases): hand over what dropped principals own in %s.",
			strings.Join(dbs, ", "))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| | change | why |")
	fmt.Fprintln(w, "| --- | --- | --- |")
	for _, c := range s.Changes {
		why := mdText(c.Reason)
		if c.Action == diff.Drop || c.Action == diff.Replace {
			for _, line := range blockerLines(s.Blockers, c.Principal) {
				why += "<br>↳ " + mdText(line)
			}
		}
		fmt.Fprintf(w, "| %s | %s | %s |\n", mdCode(c.Action.Symbol()), markdownChange(c), why)
	}
	fmt.Fprintln(w)
	if len(s.Kept) > 0 {
		var kept []string
		for _, k := range s.Kept {
			kept = append(kept, fmt.Sprintf("%s (%s)", mdCode(k.Principal), mdText(k.Why)))
		}
		fmt.Fprintf(w, "Prune keeps %s.\n\n", strings.Join(kept, ", "))
	}
	fmt.Fprintln(w, "<details><summary>SQL</summary>")
	fmt.Fprintln(w)
	var sql strings.Builder
	for _, c := range s.Cleanups {
		fmt.Fprintf(&sql, "-- in database %s, its own transaction, first\n", Escape(c.Database))
		for _, q := range c.SQL {
			fmt.Fprintf(&sql, "%s;\n", Escape(q))
		}
	}
	if len(s.Cleanups) > 0 {
		sql.WriteString("-- then, in one transaction\n")
	}
	for _, c := range s.Changes {
		for _, q := range c.SQL {
			fmt.Fprintf(&sql, "%s;\n", Escape(q))
		}
	}
	fmt.Fprintln(w, fence(strings.TrimSuffix(sql.String(), "\n"), "sql"))
	fmt.Fprintln(w)
	fmt.Fprintln(w, "</details>")
	fmt.Fprintln(w)
}

func markdownStatus(s Status) string {
	switch s {
	case InSync:
		return "✅ in sync"
	case Changes:
		return "📝 changes"
	case Applied:
		return "✔️ applied"
	case Error:
		return "❌ **error**"
	}
	return mdText(string(s))
}

func markdownChange(c Change) string {
	switch c.Action {
	case diff.Create, diff.Replace, diff.Drop, diff.Grant, diff.Revoke:
	default:
		return mdText(string(appendChange(nil, c)))
	}
	switch c.Action {
	case diff.Grant:
		return fmt.Sprintf("grant %s to %s", mdCode(c.Role), mdCode(c.Principal))
	case diff.Revoke:
		return fmt.Sprintf("revoke %s from %s", mdCode(c.Role), mdCode(c.Principal))
	}
	attrs := []string{mdText(c.Type)}
	if c.ObjectID != "" {
		attrs = append(attrs, "objectId "+mdText(c.ObjectID))
	}
	if c.Admin {
		attrs = append(attrs, "admin")
	}
	if c.MFA {
		attrs = append(attrs, "mfa")
	}
	return fmt.Sprintf("**%s** %s (%s)", c.Action, mdCode(c.Principal), strings.Join(attrs, ", "))
}

func countActions(cs []Change) map[diff.Action]int {
	n := map[diff.Action]int{}
	for _, c := range cs {
		n[c.Action]++
	}
	return n
}

// mdCode puts s in a code span that survives a table cell: a fence longer
// than any run of backticks in s, and pipes escaped (GitHub splits cells on
// them even inside code).
func mdCode(s string) string {
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	tick := strings.Repeat("`", longest+1)
	pad := ""
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		pad = " "
	}
	return tick + pad + strings.ReplaceAll(oneLine(s), "|", `\|`) + pad + tick
}

// mdText escapes what Markdown (and HTML in it) would interpret.
func mdText(s string) string {
	var b strings.Builder
	for _, r := range oneLine(s) {
		switch r {
		case '\\', '`', '*', '_', '[', ']', '|', '#', '~', '>':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '<':
			b.WriteString("&lt;")
		case '&':
			b.WriteString("&amp;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// oneLine is s on one line, every other control character escaped.
func oneLine(s string) string {
	return Escape(strings.ReplaceAll(strings.ReplaceAll(s, "\r", ""), "\n", " "))
}

// fence puts s in a fenced code block longer than any fence inside it.
func fence(s, lang string) string {
	n := 3
	for strings.Contains(s, strings.Repeat("`", n)) {
		n++
	}
	f := strings.Repeat("`", n)
	return f + lang + "\n" + s + "\n" + f
}

func quoteLines(s string) string {
	return "> " + strings.ReplaceAll(s, "\n", "\n> ")
}
