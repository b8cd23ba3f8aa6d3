package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/pgusers/pgusers/pkg/diff"
)

// writeText renders a plan for people: a block per server in file order, a
// mark per change with its reason, and one closing line.
func writeText(w io.Writer, r report) {
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
	case statusApplied:
		fmt.Fprintf(w, ": applied %d change(s)\n", len(s.Changes))
	default:
		fmt.Fprintf(w, ": %d change(s)\n", len(s.Changes))
	}
	if s.Status == statusInSync {
		return
	}
	for _, c := range s.Changes {
		fmt.Fprintf(w, "  %-3s %s\n", c.Action.Symbol(), describeChange(c))
		fmt.Fprintf(w, "        %s\n", c.Reason)
	}
	if len(s.Kept) > 0 {
		fmt.Fprintln(w, "  prune keeps:")
		for _, k := range s.Kept {
			fmt.Fprintf(w, "      %s: %s\n", k.Principal, k.Why)
		}
	}
}

func describeChange(c changeReport) string {
	switch c.Action {
	case diff.Grant:
		return fmt.Sprintf("grant %s to %s", c.Role, c.Principal)
	case diff.Revoke:
		return fmt.Sprintf("revoke %s from %s", c.Role, c.Principal)
	}
	var attrs []string
	attrs = append(attrs, c.Type)
	if c.ObjectID != "" {
		attrs = append(attrs, "objectId "+c.ObjectID)
	}
	if c.Admin {
		attrs = append(attrs, "admin")
	}
	if c.MFA {
		attrs = append(attrs, "mfa")
	}
	return fmt.Sprintf("%s %s (%s)", c.Action, c.Principal, strings.Join(attrs, ", "))
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
