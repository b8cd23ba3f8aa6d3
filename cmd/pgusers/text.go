package main

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/pgusers/pgusers/pkg/diff"
)

// writeText renders a plan for people: a block per server in file order, a
// mark per change with its reason, and one closing line.
func writeText(out io.Writer, r report) {
	// Buffered: a plan of 10,000 changes is 20,000 lines, not as many writes.
	w := bufio.NewWriter(out)
	defer w.Flush()
	for _, s := range r.Servers {
		writeServerText(w, s)
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, planLine(r.Summary))
}

func writeServerText(w io.Writer, s serverReport) {
	fmt.Fprintf(w, "server %s (%s)", s.Name, s.Host)
	switch s.Status {
	case statusInSync:
		fmt.Fprintf(w, ": in sync, %d Entra principal(s)\n", s.Principals)
	case statusError:
		fmt.Fprintln(w, ": error")
		fmt.Fprintf(w, "  ! %s\n", indent(s.Error, "    "))
		if len(s.Blockers) > 0 {
			fmt.Fprintln(w, "  what blocks the drops:")
			for _, line := range blockerLines(s.Blockers, "") {
				fmt.Fprintf(w, "      %s\n", line)
			}
		}
	case statusApplied:
		fmt.Fprintf(w, ": applied %d change(s)\n", len(s.Changes))
	default:
		fmt.Fprintf(w, ": %d change(s)\n", len(s.Changes))
	}
	if s.Status == statusInSync {
		return
	}
	if len(s.Cleanups) > 0 {
		fmt.Fprintln(w, "  first, each in its own transaction (no transaction spans two databases):")
		for _, c := range s.Cleanups {
			fmt.Fprintf(w, "      database %s: hand over what %s own(s)\n", c.Database, strings.Join(c.Principals, ", "))
		}
	}
	var buf []byte
	for _, c := range s.Changes {
		buf = fmt.Appendf(buf[:0], "  %-3s ", c.Action.Symbol())
		buf = appendChange(buf, c)
		buf = append(buf, "\n        "...)
		buf = append(buf, c.Reason...)
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
			fmt.Fprintf(w, "      %s: %s\n", k.Principal, k.Why)
		}
	}
}

// appendChange appends what a change does to b: "create name (service,
// objectId ...)", "grant role to name".
func appendChange(b []byte, c changeReport) []byte {
	switch c.Action {
	case diff.Grant:
		return fmt.Appendf(b, "grant %s to %s", c.Role, c.Principal)
	case diff.Revoke:
		return fmt.Appendf(b, "revoke %s from %s", c.Role, c.Principal)
	}
	b = append(b, c.Action...)
	b = append(b, ' ')
	b = append(b, c.Principal...)
	b = append(b, " ("...)
	b = append(b, c.Type...)
	if c.ObjectID != "" {
		b = append(b, ", objectId "...)
		b = append(b, c.ObjectID...)
	}
	if c.Admin {
		b = append(b, ", admin"...)
	}
	if c.MFA {
		b = append(b, ", mfa"...)
	}
	return append(b, ')')
}

// blockerLines renders the blockers of principal (of every principal when
// it is "", each line then starting with its name), one a line.
func blockerLines(bs []blockerReport, principal string) []string {
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
		out = append(out, line)
	}
	return out
}

// describeBlocker says what a blocker is: "owns table public.orders in
// database app". others says that objects of the same kind were named
// before, so a count is of "other" objects.
func describeBlocker(b blockerReport, others bool) string {
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

// planLine is the closing line of a plan.
func planLine(s summary) string {
	var b strings.Builder
	changes := s.Create + s.Replace + s.Drop + s.Grant + s.Revoke
	if changes == 0 && s.Failed == 0 {
		fmt.Fprintf(&b, "No changes: %d server(s) in sync.", s.InSync)
		return b.String()
	}
	if changes > 0 {
		fmt.Fprintf(&b, "Plan: %d to create, %d to replace, %d to drop, %d to grant, %d to revoke.",
			s.Create, s.Replace, s.Drop, s.Grant, s.Revoke)
	} else {
		b.WriteString("No changes on the servers that could be read.")
	}
	if s.Failed > 0 {
		fmt.Fprintf(&b, " %d server(s) failed.", s.Failed)
	}
	return b.String()
}

func indent(s, prefix string) string {
	return strings.ReplaceAll(s, "\n", "\n"+prefix)
}
