package report

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strconv"

	"github.com/pgusers/pgusers/pkg/apply"
	"github.com/pgusers/pgusers/pkg/diff"
)

// SQL prints, per server with changes, exactly what apply would send, for
// apply --dry-run: meant to be read, and to be pasted into psql. Names
// reach comments escaped, so that a line break cannot end a comment and
// start a statement. A statement that holds a control character (in the
// name of a role read from a server) is printed escaped inside a comment,
// and said to be so: the terminal never receives the raw character.
func SQL(out io.Writer, r Report) error {
	w := bufio.NewWriter(out)
	for _, s := range r.Servers {
		name, host := Escape(s.Name), Escape(s.Host)
		switch s.Status {
		case Error:
			fmt.Fprintf(w, "-- server %s (%s): error\n--   %s\n\n", name, host, indent(EscapeLines(s.Error), "--   "))
			continue
		case InSync:
			fmt.Fprintf(w, "-- server %s (%s): in sync, nothing to run\n\n", name, host)
			continue
		}
		port := s.Port
		if port == 0 {
			port = 5432
		}
		fmt.Fprintf(w, "-- server %s (%s): %d change(s), one transaction\n", name, Escape(net.JoinHostPort(s.Host, strconv.Itoa(port))), len(s.Changes))
		fmt.Fprintln(w, "BEGIN;")
		fmt.Fprintf(w, "SELECT pg_catalog.pg_try_advisory_xact_lock(%d); -- then re-read the server and stop if it changed\n", apply.LockKey)
		for _, c := range s.Cleanups {
			fmt.Fprintf(w, "--   meanwhile, in database %s, on a connection of its own (no transaction spans two databases):\n", Escape(c.Database))
			fmt.Fprintln(w, "--   BEGIN;")
			for _, q := range c.SQL {
				fmt.Fprintf(w, "--   %s;\n", Escape(q))
			}
			fmt.Fprintln(w, "--   COMMIT;")
		}
		for _, c := range s.Changes {
			for _, q := range c.SQL {
				if e := Escape(q); e != q {
					fmt.Fprintf(w, "-- (a name holds control characters, shown escaped; not runnable as printed) %s; -- %s\n", e, Escape(changeComment(c)))
					continue
				}
				fmt.Fprintf(w, "%s; -- %s\n", q, Escape(changeComment(c)))
			}
		}
		fmt.Fprintln(w, "COMMIT;")
		fmt.Fprintln(w)
	}
	return w.Flush()
}

// changeComment names a change after each of its statements.
func changeComment(c Change) string {
	switch c.Action {
	case diff.Grant:
		return fmt.Sprintf("grant %s to %s", c.Role, c.Principal)
	case diff.Revoke:
		return fmt.Sprintf("revoke %s from %s", c.Role, c.Principal)
	}
	return fmt.Sprintf("%s %s", c.Action, c.Principal)
}
