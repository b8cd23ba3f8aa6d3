package access

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/pgusers/pgusers/pkg/report"
)

// maxNames is how many objects a line names without --detail.
const maxNames = 10

// line is a row, or rows alike but for their object, as a line of text.
type line struct {
	Row
	names []string
}

// lines gathers a grantee's rows: those that differ only by object (of
// the object kinds, not "*") are one line naming the objects, where the
// first of them was.
func lines(rows []Row) []line {
	var out []line
	index := map[Row]int{}
	for _, r := range rows {
		if r.Object != "*" && isObjectKind(r.Kind) {
			key := r
			key.Object = ""
			if i, ok := index[key]; ok {
				out[i].names = append(out[i].names, r.Object)
				continue
			}
			index[key] = len(out)
		}
		out = append(out, line{Row: r, names: []string{r.Object}})
	}
	return out
}

func isObjectKind(k Kind) bool {
	return k == KindTable || k == KindSequence || k == KindFunction || k == KindColumn
}

// plural is kind's objects' name.
func plural(k Kind, n int) string {
	s := string(k)
	if n != 1 {
		s += "s"
	}
	return s
}

// count writes n with thousands separators, as a reviewer reads it.
func count(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// describe is what l is about, its names passed through quote.
func (l line) describe(quote func(string) string, detail bool) string {
	switch l.Kind {
	case KindAttribute:
		return "attribute " + l.Object
	case KindMembership:
		if l.Privilege == PrivilegeSet {
			return "SET ROLE to " + quote(l.Object) + " (its privileges only after SET ROLE)"
		}
		return "member of " + quote(l.Object)
	case KindDatabase:
		return "database " + quote(l.Object)
	case KindSchema:
		return "schema " + quote(l.Object)
	case KindDefault:
		where := "in schema " + quote(l.Schema)
		if l.Schema == "" {
			where = "in every schema"
		}
		on, owner, _ := strings.Cut(l.Object, " by ")
		return fmt.Sprintf("future %s created by %s %s", on, quote(owner), where)
	}
	if l.Object == "*" {
		if l.Objects == 1 {
			return fmt.Sprintf("the only %s in %s", l.Kind, quote(l.Schema))
		}
		return fmt.Sprintf("all %s %s in %s", count(l.Objects), plural(l.Kind, l.Objects), quote(l.Schema))
	}
	shown := l.names
	more := ""
	if !detail && len(shown) > maxNames {
		more = fmt.Sprintf(" and %s more (--detail lists them)", count(len(shown)-maxNames))
		shown = shown[:maxNames]
	}
	quoted := make([]string, len(shown))
	for i, n := range shown {
		quoted[i] = quote(n)
	}
	of, n := "", len(l.names)
	if l.Of > 0 {
		of, n = " of "+count(l.Of), l.Of
	}
	return fmt.Sprintf("%s%s %s in %s: %s%s", count(len(l.names)), of, plural(l.Kind, n),
		quote(l.Schema), strings.Join(quoted, ", "), more)
}

// what is what a line gives: the privilege and what it is on, its names
// passed through quote.
func (l line) what(quote func(string) string, detail bool) string {
	switch l.Kind {
	case KindAttribute:
		return l.Object
	case KindMembership:
		s := l.describe(quote, detail)
		if l.GrantOption {
			s += " WITH ADMIN OPTION"
		}
		return s
	}
	privilege := l.Privilege
	if l.GrantOption && l.Privilege != PrivilegeOwner {
		privilege += " WITH GRANT OPTION"
	}
	return privilege + " on " + l.describe(quote, detail)
}

// how is a line's source and declaration.
func (l line) how(quote func(string) string) string {
	source := quote(l.Source)
	if l.Declared {
		source += ", declared"
	} else {
		source += ", not declared"
	}
	return source
}

// Text writes d for people, every name escaped.
func Text(out io.Writer, d Document, detail bool) error {
	w := bufio.NewWriter(out)
	for i, s := range d.Servers {
		if i > 0 {
			w.WriteString("\n")
		}
		serverText(w, s, detail)
	}
	return w.Flush()
}

func serverText(w *bufio.Writer, s ServerReview, detail bool) {
	if s.Error != "" {
		fmt.Fprintf(w, "Server %s: not reviewed: %s\n", report.Escape(s.Name), report.EscapeLines(s.Error))
		return
	}
	fmt.Fprintf(w, "Server %s: %s\n", report.Escape(s.Name), summary(s, report.Escape))
	if s.Changes != nil {
		changesText(w, s.Changes, detail)
		return
	}
	if len(s.Findings) > 0 {
		fmt.Fprintf(w, "\nFindings (%d):\n", len(s.Findings))
		for _, f := range s.Findings {
			fmt.Fprintf(w, "  ! %s\n", report.Escape(f.Message))
		}
	}
	for _, section := range sections(s) {
		fmt.Fprintf(w, "\n%s\n", section.title(report.Escape))
		for _, g := range section.grantees {
			fmt.Fprintf(w, "  %s (%s)\n", report.Escape(g.name), g.what)
			for _, l := range lines(g.rows) {
				fmt.Fprintf(w, "    %s (%s)\n", l.what(report.Escape, detail), l.how(report.Escape))
			}
		}
	}
}

func changesText(w *bufio.Writer, c *Changes, detail bool) {
	for _, part := range []struct {
		title string
		rows  []Row
	}{{"Gained", c.Gained}, {"Lost", c.Lost}} {
		fmt.Fprintf(w, "\n%s since the earlier review: %d\n", part.title, len(part.rows))
		for _, l := range lines(part.rows) {
			where := ""
			if l.Database != "" {
				where = " in " + report.Escape(l.Database)
			}
			fmt.Fprintf(w, "  %s%s: %s (%s)\n", report.Escape(l.Grantee), where, l.what(report.Escape, detail), l.how(report.Escape))
		}
	}
}

// summary is a server's first line: what was reviewed.
func summary(s ServerReview, quote func(string) string) string {
	var dbs []string
	for _, d := range s.Databases {
		dbs = append(dbs, quote(d))
	}
	n := map[string]int{}
	for _, p := range s.Principals {
		n[p.Status]++
	}
	out := fmt.Sprintf("%d database(s) (%s); %d grantee(s): %d declared, %d undeclared, %d protected",
		len(s.Databases), strings.Join(dbs, ", "), len(s.Principals), n[Declared], n[Undeclared], n[Protected])
	if len(s.MissingDatabases) > 0 {
		var missing []string
		for _, d := range s.MissingDatabases {
			missing = append(missing, quote(d))
		}
		out += "; no database " + strings.Join(missing, ", ")
	}
	return out
}

// section is the server's roles (attributes and memberships), or one
// database, with its grantees' rows.
type section struct {
	database string // "" for the roles
	grantees []granteeRows
}

func (s section) title(quote func(string) string) string {
	if s.database == "" {
		return "Roles: attributes and memberships"
	}
	return "Database " + quote(s.database)
}

type granteeRows struct {
	name, what string
	rows       []Row
}

// sections splits a server's rows (sorted by database, then grantee) into
// sections.
func sections(s ServerReview) []section {
	status := map[string]Principal{}
	for _, p := range s.Principals {
		status[p.Name] = p
	}
	var out []section
	for _, r := range s.Rows {
		if len(out) == 0 || out[len(out)-1].database != r.Database {
			out = append(out, section{database: r.Database})
		}
		sec := &out[len(out)-1]
		if n := len(sec.grantees); n == 0 || sec.grantees[n-1].name != r.Grantee {
			what := r.GranteeType
			if p, ok := status[r.Grantee]; ok && p.Type != "PUBLIC" {
				what += ", " + p.Status
			}
			sec.grantees = append(sec.grantees, granteeRows{name: r.Grantee, what: what})
		}
		g := &sec.grantees[len(sec.grantees)-1]
		g.rows = append(g.rows, r)
	}
	return out
}
