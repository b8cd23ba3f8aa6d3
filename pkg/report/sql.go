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
func SQL(out io.Writer, results []Result) error {
	w := bufio.NewWriter(out)
	for _, res := range results {
		name, host := Escape(res.Server.Name), Escape(res.Server.Host)
		switch res.Status {
		case Error:
			fmt.Fprintf(w, "-- server %s (%s): error\n--   %s\n\n", name, host, indent(EscapeLines(res.Err.Error()), "--   "))
			continue
		case InSync:
			fmt.Fprintf(w, "-- server %s (%s): in sync, nothing to run\n\n", name, host)
			continue
		}
		port := res.Server.Port
		if port == 0 {
			port = 5432
		}
		plan := res.Plan
		steps := apply.Steps(plan, res.SessionUser)
		at := Escape(net.JoinHostPort(res.Server.Host, strconv.Itoa(port)))
		if len(steps) == 1 {
			fmt.Fprintf(w, "-- server %s (%s): %d change(s), one transaction\n", name, at, len(plan.Changes))
		} else {
			fmt.Fprintf(w, "-- server %s (%s): %d change(s), %d transactions, in order, under a lock held by the session "+
				"(no transaction spans two databases)\n", name, at, len(plan.Changes), len(steps))
			fmt.Fprintf(w, "%s; -- then re-read the server and stop if it changed\n", apply.SessionLockStatement())
		}
		for i, step := range steps {
			if step.In != "" {
				fmt.Fprintf(w, "-- in database %s, on a connection of its own:\n", Escape(step.In))
			}
			fmt.Fprintln(w, "BEGIN;")
			if len(steps) == 1 {
				lock := apply.LockStatements()
				for _, q := range lock[:len(lock)-1] {
					fmt.Fprintf(w, "%s;\n", q)
				}
				fmt.Fprintf(w, "%s; -- then re-read the server and stop if it changed\n", lock[len(lock)-1])
			}
			if i == 0 {
				writeCleanups(w, plan.Cleanups)
			}
			for _, c := range step.Changes {
				for _, s := range c.Statements {
					q := s.Display()
					if e := Escape(q); e != q {
						fmt.Fprintf(w, "-- (a name holds control characters, shown escaped; not runnable as printed) %s; -- %s\n", e, Escape(changeComment(c)))
						continue
					}
					fmt.Fprintf(w, "%s; -- %s\n", q, Escape(changeComment(c)))
				}
			}
			fmt.Fprintln(w, "COMMIT;")
		}
		if len(steps) > 1 {
			fmt.Fprintf(w, "SELECT pg_catalog.pg_advisory_unlock(%d);\n", apply.LockKey)
		}
		fmt.Fprintln(w)
	}
	return w.Flush()
}

func writeCleanups(w *bufio.Writer, cleanups []diff.Cleanup) {
	for _, c := range cleanups {
		fmt.Fprintf(w, "--   meanwhile, in database %s, on a connection of its own (no transaction spans two databases):\n", Escape(c.Database))
		fmt.Fprintln(w, "--   BEGIN;")
		for _, s := range c.Statements {
			fmt.Fprintf(w, "--   %s;\n", Escape(s.Display()))
		}
		fmt.Fprintln(w, "--   COMMIT;")
	}
}

// changeComment names a change after each of its statements.
func changeComment(c diff.Change) string {
	switch c.Action {
	case diff.Grant:
		return fmt.Sprintf("grant %s to %s", c.Role, c.Principal)
	case diff.Revoke:
		return fmt.Sprintf("revoke %s from %s", c.Role, c.Principal)
	case diff.Create, diff.Replace, diff.Drop:
		return fmt.Sprintf("%s %s", c.Action, c.Principal)
	case "lend", "unlend":
		return fmt.Sprintf("%s %s to the signed-in user for this transaction", c.Action, c.Role)
	}
	return string(appendChange(nil, change(c)))
}
