package report

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/pgusers/pgusers/pkg/diff"
	"github.com/pgusers/pgusers/pkg/spec"
)

// Text renders a plan for people: a block per server in the order of the
// files, a mark per change with its reason, and one closing line.
func Text(out io.Writer, r Report) error {
	// Buffered: a plan of 10,000 changes is 20,000 lines, not as many writes.
	w := bufio.NewWriter(out)
	for _, s := range r.Servers {
		serverText(w, s)
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, PlanLine(r.Summary))
	return w.Flush()
}

func serverText(w *bufio.Writer, s Server) {
	fmt.Fprintf(w, "server %s (%s)", Escape(s.Name), Escape(s.Host))
	switch s.Status {
	case InSync:
		fmt.Fprintf(w, ": in sync, %d Entra principal(s)\n", s.Principals)
		writeWithheld(w, s.Withheld)
		writeManaged(w, s.Managed)
	case Error:
		fmt.Fprintln(w, ": error")
		fmt.Fprintf(w, "  ! %s\n", indent(EscapeLines(s.Error), "    "))
		if len(s.Blockers) > 0 {
			fmt.Fprintln(w, "  what blocks the drops:")
			for _, line := range blockerLines(s.Blockers, "") {
				fmt.Fprintf(w, "      %s\n", line)
			}
		}
	case Applied:
		fmt.Fprintf(w, ": applied %d change(s)\n", len(s.Changes))
	case Unknown:
		fmt.Fprintln(w, ": outcome unknown")
		fmt.Fprintf(w, "  ? %s\n", indent(EscapeLines(s.Error), "    "))
	default:
		fmt.Fprintf(w, ": %d change(s)\n", len(s.Changes))
	}
	if s.Status == InSync {
		return
	}
	if len(s.Cleanups) > 0 {
		fmt.Fprintln(w, "  first, each in its own transaction (no transaction spans two databases):")
		for _, c := range s.Cleanups {
			fmt.Fprintf(w, "      database %s: hand over what %s own(s)\n", Escape(c.Database), Escape(strings.Join(c.Principals, ", ")))
		}
	}
	var buf []byte
	for _, c := range s.Changes {
		buf = fmt.Appendf(buf[:0], "  %-3s ", c.Action.Symbol())
		buf = appendChange(buf, c)
		buf = append(buf, "\n        "...)
		buf = append(buf, Escape(c.Reason)...)
		w.Write(append(buf, '\n'))
		if c.Action == diff.Drop || c.Action == diff.Replace {
			for _, line := range blockerLines(s.Blockers, c.Principal) {
				fmt.Fprintf(w, "        %s\n", line)
			}
		}
	}
	if len(s.Kept) > 0 {
		fmt.Fprintln(w, "  prune keeps:")
		for _, k := range s.Kept {
			fmt.Fprintf(w, "      %s: %s\n", Escape(k.Principal), Escape(k.Why))
		}
	}
	writeWithheld(w, s.Withheld)
	if s.Status != Error {
		// A server that could not be planned makes nothing exact.
		writeManaged(w, s.Managed)
	}
}

// writeWithheld says what the plan leaves out, and why.
func writeWithheld(w *bufio.Writer, ws []Withheld) {
	if len(ws) == 0 {
		return
	}
	fmt.Fprintln(w, "  ! left as it is, needs you (not counted as a change):")
	for _, x := range ws {
		fmt.Fprintf(w, "      %s\n", Escape(x.Why))
	}
}

func writeManaged(w *bufio.Writer, ms []Managed) {
	if len(ms) == 0 {
		return
	}
	fmt.Fprintln(w, "  privileges made exact (every other privilege is left alone):")
	for _, line := range managedLines(ms) {
		fmt.Fprintf(w, "      %s\n", line)
	}
}

// appendChange appends what a change does to b: "create name (service,
// objectId ...)", "grant role to name".
func appendChange(b []byte, c Change) []byte {
	switch c.Action {
	case diff.Grant:
		return fmt.Appendf(b, "grant %s to %s", Escape(c.Role), Escape(c.Principal))
	case diff.Revoke:
		return fmt.Appendf(b, "revoke %s from %s", Escape(c.Role), Escape(c.Principal))
	case diff.CreateRole:
		b = fmt.Appendf(b, "create role %s", Escape(c.Role))
		if c.Comment != "" {
			b = fmt.Appendf(b, " (comment %s)", Escape(strconv.Quote(c.Comment)))
		}
		return b
	case diff.AlterRole:
		return fmt.Appendf(b, "alter role %s: comment %s", Escape(c.Role), Escape(strconv.Quote(c.Comment)))
	case diff.DropRole:
		return fmt.Appendf(b, "drop role %s", Escape(c.Role))
	case diff.Rename:
		return fmt.Appendf(b, "rename %s to %s (%s, objectId %s)", Escape(c.From), Escape(c.Principal), Escape(c.Type), Escape(c.ObjectID))
	case diff.GrantPrivileges, diff.RevokePrivileges:
		verb, to := "grant ", " to "
		if c.Action == diff.RevokePrivileges {
			verb, to = "revoke ", " from "
			if c.GrantOption {
				verb = "revoke grant option for "
			}
		}
		if c.Column != "" {
			// As GRANT writes column privileges: UPDATE (v) on a table.
			cols := make([]string, len(c.Privileges))
			for i, p := range c.Privileges {
				cols[i] = p + " (" + Escape(c.Column) + ")"
			}
			return fmt.Appendf(b, "%s%s on table %s%s%s", verb, strings.Join(cols, ", "),
				Escape(c.Database+"."+c.Schema+"."+c.Table), to, Escape(c.Grantee))
		}
		return fmt.Appendf(b, "%s%s on %s%s%s", verb, strings.Join(c.Privileges, ", "), Escape(cellName(c)), to, Escape(c.Grantee))
	case diff.GrantDefaults, diff.RevokeDefaults:
		verb, to := "grant ", " to "
		if c.Action == diff.RevokeDefaults {
			verb, to = "revoke ", " from "
			if c.GrantOption {
				verb = "revoke grant option for "
			}
		}
		return fmt.Appendf(b, "%s%s on %s created by %s in %s.%s%s%s", verb, strings.Join(c.Privileges, ", "), c.On,
			Escape(c.Owner), Escape(c.Database), Escape(c.Schema), to, Escape(c.Grantee))
	}
	b = append(b, c.Action...)
	b = append(b, ' ')
	b = append(b, Escape(c.Principal)...)
	b = append(b, " ("...)
	b = append(b, Escape(c.Type)...)
	if c.ObjectID != "" {
		b = append(b, ", objectId "...)
		b = append(b, Escape(c.ObjectID)...)
	}
	if c.Admin {
		b = append(b, ", admin"...)
	}
	if c.MFA {
		b = append(b, ", mfa"...)
	}
	return append(b, ')')
}

// cellName names what a privilege change is on: "database orders",
// "schema orders.public", "all tables in orders.public".
func cellName(c Change) string {
	switch c.On {
	case spec.KindDatabase:
		return "database " + c.Database
	case spec.KindSchema:
		return "schema " + c.Database + "." + c.Schema
	}
	return "all " + string(c.On) + " in " + c.Database + "." + c.Schema
}

// managedLines say which cells a server's grants make exact, a line per
// grantee and database.
func managedLines(ms []Managed) []string {
	var out []string
	for _, m := range ms {
		var parts []string
		for _, k := range m.On {
			if len(k.Schemas) == 0 {
				parts = append(parts, string(k.Kind))
				continue
			}
			parts = append(parts, string(k.Kind)+" in "+strings.Join(k.Schemas, ", "))
		}
		line := fmt.Sprintf("%s in %s: %s", m.Grantee, m.Database, strings.Join(parts, "; "))
		if len(m.DefaultsFor) > 0 {
			line += "; default privileges of " + strings.Join(m.DefaultsFor, ", ")
		}
		out = append(out, Escape(line))
	}
	return out
}

// blockerLines renders the blockers of principal (of every principal when
// it is "", each line then starting with its name), one a line, escaped.
func blockerLines(bs []Blocker, principal string) []string {
	var out []string
	named := map[string]bool{}
	for _, b := range bs {
		if principal != "" && b.Principal != principal {
			continue
		}
		key := b.Principal + "\x00" + b.Database + "\x00" + string(b.Dependency)
		line := describeBlocker(b, named[key])
		if b.Object != "" {
			named[key] = true
		}
		if principal == "" {
			line = b.Principal + " " + line
		}
		out = append(out, Escape(line))
	}
	return out
}

// describeBlocker says what a blocker is: "owns table public.orders in
// database app". others says that objects of the same kind were named
// before, so a count is of "other" objects.
func describeBlocker(b Blocker, others bool) string {
	var what string
	if b.Object != "" {
		what = b.ObjectType + " " + b.Object
	} else {
		what = fmt.Sprintf("%d object(s)", b.Count)
		if others {
			what = fmt.Sprintf("%d other object(s)", b.Count)
		}
	}
	var verb string
	switch b.Dependency {
	case diff.Owner:
		verb = "owns " + what
	case diff.Privileges:
		verb = "holds privileges on " + what
	case diff.Policy:
		verb = "is named by " + what
	case diff.InitialPrivileges:
		verb = "has initial privileges on " + what
	default:
		verb = fmt.Sprintf("depends on %s (%s)", what, b.Dependency)
	}
	if b.Database == "" {
		return verb + " (cluster-wide)"
	}
	return verb + " in database " + b.Database
}

// PlanLine is the closing line of a plan.
func PlanLine(s Summary) string {
	var b strings.Builder
	if s.Changes() == 0 && s.Failed == 0 {
		fmt.Fprintf(&b, "No changes: %d server(s) in sync.", s.InSync)
		return b.String()
	}
	if s.Changes() > 0 {
		fmt.Fprintf(&b, "Plan: %d to create, %d to replace, %d to drop, %d to grant, %d to revoke", s.Create, s.Replace, s.Drop, s.Grant, s.Revoke)
		if s.Rename > 0 {
			fmt.Fprintf(&b, ", %d to rename", s.Rename)
		}
		if s.roleChanges() > 0 {
			fmt.Fprintf(&b, "; roles: %d to create, %d to alter, %d to drop", s.CreateRole, s.AlterRole, s.DropRole)
		}
		if s.privilegeChanges() > 0 {
			fmt.Fprintf(&b, "; privileges: %d to grant, %d to revoke; default privileges: %d to grant, %d to revoke",
				s.GrantPrivileges, s.RevokePrivileges, s.GrantDefaults, s.RevokeDefaults)
		}
		b.WriteString(".")
	} else {
		b.WriteString("No changes on the servers that could be read.")
	}
	if s.Failed > 0 {
		fmt.Fprintf(&b, " %d server(s) failed.", s.Failed)
	}
	return b.String()
}

// ApplyText renders what apply did (or, rehearsed, would do) on each
// server, after the plan it showed, and one closing line.
func ApplyText(out io.Writer, r Report) error {
	w := bufio.NewWriter(out)
	rehearsal := r.DryRun == "server"
	fmt.Fprintln(w)
	for _, s := range r.Servers {
		name := Escape(s.Name)
		switch {
		case s.Status == Error && rehearsal && s.Failed != nil:
			fmt.Fprintf(w, "server %s: would fail, and was rolled back\n  ! %s\n", name, indent(describeFailure(*s.Failed), "    "))
		case s.Status == Error && len(s.Committed) > 0:
			fmt.Fprintf(w, "server %s: failed partway; committed: %s\n  ! %s\n", name, Escape(strings.Join(s.Committed, ", ")),
				indent(EscapeLines(s.Error), "    "))
		case s.Status == Error:
			fmt.Fprintf(w, "server %s: failed, nothing changed there\n  ! %s\n", name, indent(EscapeLines(s.Error), "    "))
		case s.Status == Unknown && len(s.Committed) > 0:
			fmt.Fprintf(w, "server %s: outcome unknown, plan again to see what it holds; committed before: %s\n  ? %s\n", name,
				Escape(strings.Join(s.Committed, ", ")), indent(EscapeLines(s.Error), "    "))
		case s.Status == Unknown:
			fmt.Fprintf(w, "server %s: outcome unknown, plan again to see what it holds\n  ? %s\n", name, indent(EscapeLines(s.Error), "    "))
		case s.Status == InSync:
			fmt.Fprintf(w, "server %s: in sync\n", name)
		case rehearsal:
			fmt.Fprintf(w, "server %s: would apply %d change(s) (ran them and rolled back)\n", name, len(s.Changes))
		default:
			fmt.Fprintf(w, "server %s: applied %d change(s)\n", name, len(s.Changes))
		}
	}
	sum := r.Summary
	verb := "Apply complete"
	if rehearsal {
		verb = "Dry run complete, nothing changed"
	}
	fmt.Fprintf(w, "%s: %d created, %d replaced, %d dropped, %d granted, %d revoked", verb,
		sum.Create, sum.Replace, sum.Drop, sum.Grant, sum.Revoke)
	if sum.Rename > 0 {
		fmt.Fprintf(w, ", %d renamed", sum.Rename)
	}
	if sum.roleChanges() > 0 {
		fmt.Fprintf(w, "; roles: %d created, %d altered, %d dropped", sum.CreateRole, sum.AlterRole, sum.DropRole)
	}
	if sum.privilegeChanges() > 0 {
		fmt.Fprintf(w, "; privileges: %d granted, %d revoked; default privileges: %d granted, %d revoked",
			sum.GrantPrivileges, sum.RevokePrivileges, sum.GrantDefaults, sum.RevokeDefaults)
	}
	if sum.Failed > 0 {
		fmt.Fprintf(w, "; %d server(s) failed", sum.Failed)
	}
	if sum.Unknown > 0 {
		fmt.Fprintf(w, "; %d server(s) with an unknown outcome", sum.Unknown)
	}
	fmt.Fprintln(w, ".")
	return w.Flush()
}

// describeFailure says which statement failed and what the server said.
func describeFailure(f Failed) string {
	if f.Database != "" {
		return EscapeLines(fmt.Sprintf("in database %s (before the main transaction), %s: %s", f.Database, f.SQL, f.Error))
	}
	return EscapeLines(fmt.Sprintf("%s %s: %s: %s", f.Action, f.Principal, f.SQL, f.Error))
}

func indent(s, prefix string) string {
	return strings.ReplaceAll(s, "\n", "\n"+prefix)
}
