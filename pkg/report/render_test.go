package report

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pgusers/pgusers/pkg/apply"
	"github.com/pgusers/pgusers/pkg/connect"
	"github.com/pgusers/pgusers/pkg/diff"
	"github.com/pgusers/pgusers/pkg/spec"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", name, diff)
	}
}

// fleetTargets is a fleet in every state a plan can show.
func fleetResults(t *testing.T) []Result {
	t.Helper()
	const oid = "2b7c1d0e-5f4a-4b3c-8d2e-1f0a9b8c7d6e"
	orders := spec.Server{Name: "orders-prod",
		Connection: spec.Connection{Host: "orders-prod.postgres.database.azure.com"}, Prune: true, MaxDrops: 5,
		Protect: []string{"breakglass-*"},
		Principals: []spec.Principal{
			{Name: "orders-api", Type: spec.Service, ObjectID: oid, ManageMemberships: true, MemberOf: []string{"orders_rw"}},
			{Name: "team", Type: spec.Group, MFA: true},
		}}
	observed := diff.Observed{
		Principals: []diff.ObservedPrincipal{
			{Name: "breakglass-1", Type: "user"},
			{Name: "old-bot", Type: "service", ObjectID: "6f1e9a3c-0d7b-4c1e-9a51-3b2f4d6e8a90"},
			{Name: "pg-admins", Type: "group", Admin: true, MemberOf: []string{"azure_pg_admin"}},
			{Name: "team", Type: "group"},
		},
		Roles:       []string{"orders_rw", "team"},
		SessionUser: "pg-admins",
	}
	plan, err := diff.Compute(orders, observed)
	if err != nil {
		t.Fatal(err)
	}
	return []Result{
		{Server: orders, Principals: len(observed.Principals), Plan: plan, Status: Changes},
		{Server: spec.Server{Name: "reporting-dev", Connection: spec.Connection{Host: "reporting-dev.postgres.database.azure.com"}},
			Principals: 12, Status: InSync, Plan: diff.Plan{Withheld: []diff.Withheld{{
				Cell: diff.Cell{Grantee: "ro", Database: "reports", On: spec.KindTables, Schema: "sales"},
				Why: `ro keeps the grant option for SELECT on tables in schema sales of database reports: revoking it would fail with ` +
					`"dependent privileges exist", as ro passed it on from its grant option (analyst: SELECT on sales.s2); revoke those ` +
					`from their grantees first, or set cascade: true on the grant entry to revoke them with it (declared at f.yaml:9:9)`}}}},
		{Server: spec.Server{Name: "billing", Connection: spec.Connection{Host: "billing.postgres.database.azure.com"}}, Status: Error,
			Err: fmt.Errorf("connect: %w", &net.OpError{Op: "dial", Net: "tcp", Addr: &net.TCPAddr{IP: net.IPv4(10, 0, 0, 9), Port: 5432},
				Err: syscall.ECONNREFUSED})},
	}
}

func TestTextPlanGolden(t *testing.T) {
	var b bytes.Buffer
	Text(&b, Build(fleetResults(t)))
	golden(t, "plan.txt.golden", b.Bytes())
}

func TestJSONPlanGolden(t *testing.T) {
	var b bytes.Buffer
	if err := JSON(&b, Build(fleetResults(t))); err != nil {
		t.Fatal(err)
	}
	golden(t, "plan.json.golden", b.Bytes())
}

func TestDryRunSQLGolden(t *testing.T) {
	var b bytes.Buffer
	SQL(&b, fleetResults(t))
	golden(t, "dry-run.sql.golden", b.Bytes())
}

func TestPlanLine(t *testing.T) {
	tests := map[string]struct {
		s    Summary
		want string
	}{
		"in sync":          {Summary{InSync: 3}, "No changes: 3 server(s) in sync."},
		"changes":          {Summary{Create: 1, Grant: 2, WithChanges: 1}, "Plan: 1 to create, 0 to replace, 0 to drop, 2 to grant, 0 to revoke."},
		"changes and fail": {Summary{Drop: 1, Failed: 1}, "Plan: 0 to create, 0 to replace, 1 to drop, 0 to grant, 0 to revoke. 1 server(s) failed."},
		"only failures":    {Summary{InSync: 1, Failed: 2}, "No changes on the servers that could be read. 2 server(s) failed."},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := PlanLine(tc.s); got != tc.want {
				t.Errorf("planLine = %q, want %q", got, tc.want)
			}
		})
	}
}

// A name with a line break must not end a comment of the dry-run SQL and
// start a statement of its own in a script someone pastes into psql.
func TestDryRunSQLKeepsNamesInsideComments(t *testing.T) {
	s := spec.Server{Name: "srv\nDROP DATABASE prod;", Connection: spec.Connection{Host: "h\rDROP DATABASE prod2;"}, MaxDrops: 5, Prune: true}
	// A role made by hand on the server with a line break in its name.
	observed := diff.Observed{SessionUser: "me", Principals: []diff.ObservedPrincipal{{Name: "x\nDROP DATABASE prod3; --", Type: "user"}}}
	plan, err := diff.Compute(s, observed)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	SQL(&b, []Result{{Server: s, Plan: plan, Status: Changes}})
	for _, line := range strings.FieldsFunc(b.String(), func(r rune) bool { return r == '\n' || r == '\r' }) {
		for _, payload := range []string{"DROP DATABASE prod;", "DROP DATABASE prod2;", "DROP DATABASE prod3;"} {
			if i := strings.Index(line, payload); i >= 0 && !strings.Contains(line[:i], "--") && !strings.HasPrefix(line, "DROP DATABASE prod3; --\"") {
				t.Errorf("a name broke out of a comment: %q\nin:\n%s", line, b.String())
			}
		}
	}
}

func TestAppendChange(t *testing.T) {
	for _, tc := range []struct {
		c    Change
		want string
	}{
		{Change{Action: diff.Create, Principal: "a@contoso.com", Type: "user", Admin: true, MFA: true}, "create a@contoso.com (user, admin, mfa)"},
		{Change{Action: diff.Replace, Principal: "bot", Type: "service", ObjectID: "oid", Admin: true}, "replace bot (service, objectId oid, admin)"},
		{Change{Action: diff.Drop, Principal: "team", Type: "group"}, "drop team (group)"},
		{Change{Action: diff.Grant, Principal: "bot", Role: "orders_rw"}, "grant orders_rw to bot"},
		{Change{Action: diff.Revoke, Principal: "bot", Role: "orders_rw"}, "revoke orders_rw from bot"},
		{Change{Action: diff.RevokePrivileges, Grantee: "ro", Database: "app", On: spec.KindTables, Schema: "s1", Table: "t1", Column: "v",
			Privileges: []string{"UPDATE"}}, "revoke UPDATE (v) on table app.s1.t1 from ro"},
		{Change{Action: diff.GrantPrivileges, Grantee: "ro", Database: "app", On: spec.KindTables, Schema: "s1", Table: "t\x1b[2J", Column: "v\nw",
			Privileges: []string{"SELECT", "UPDATE"}}, `grant SELECT (v\nw), UPDATE (v\nw) on table app.s1.t\x1b[2J to ro`},
		{Change{Action: diff.RevokePrivileges, GrantOption: true, Grantee: "ro", Database: "app", On: spec.KindTables, Schema: "s1", Table: "t1", Column: "w",
			Privileges: []string{"SELECT"}}, "revoke grant option for SELECT (w) on table app.s1.t1 from ro"},
	} {
		if got := string(appendChange([]byte("x "), tc.c)); got != "x "+tc.want {
			t.Errorf("appendChange(%+v) = %q, want %q", tc.c, got, "x "+tc.want)
		}
	}
}

func TestErrorKind(t *testing.T) {
	tests := map[string]struct {
		status Status
		err    error
		want   string
	}{
		"a lost COMMIT reply":       {Unknown, errors.New("x"), "unknown-outcome"},
		"the lock":                  {Error, fmt.Errorf("apply: %w", apply.ErrLocked), "locked"},
		"stale":                     {Error, &apply.StaleError{Changes: []string{"x"}}, "stale"},
		"a timeout":                 {Error, fmt.Errorf("timed out: %w", context.DeadlineExceeded), "timeout"},
		"Ctrl-C":                    {Error, fmt.Errorf("interrupted: %w", context.Canceled), "interrupted"},
		"a statement":               {Error, &apply.StatementError{Err: errors.New("no")}, "statement"},
		"a lost connection":         {Error, &apply.LostError{During: "the change set", Err: io.ErrUnexpectedEOF}, "connection-lost"},
		"a lost reply, rolled back": {Error, &apply.LostReplyError{Step: "the main transaction", Err: io.ErrUnexpectedEOF}, "connection-lost"},
		"a partial commit":          {Error, &apply.PartialError{Err: errors.New("no")}, "partial"},
		"a plan refused":            {Error, &diff.Error{Problems: []diff.Problem{{Msg: "x"}}}, "plan"},
		"a blocked drop":            {Error, &diff.Error{Blocked: []diff.Blocker{{Principal: "p"}}}, "blocked"},
		"a name that resolves":      {Error, &net.DNSError{Err: "no such host", Name: "x"}, "unreachable"},
		"something else":            {Error, errors.New("x"), "other"},
		"a refused sign-in":         {Error, &connect.SignInError{Server: "s", Refused: true}, "sign-in"},
		"a timeout in a commit":     {Unknown, context.DeadlineExceeded, "unknown-outcome"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := Kind(tc.status, tc.err); got != tc.want {
				t.Errorf("Kind = %q, want %q", got, tc.want)
			}
		})
	}
}

// A name read from a server cannot forge a line or rewrite a terminal, in
// any view: its control characters are shown escaped.
func TestViewsEscapeNamesFromTheServer(t *testing.T) {
	const evil = "evil\x1b[2J\x1b[H\nserver other (other.example): in sync\u202e"
	s := spec.Server{Name: "orders", Connection: spec.Connection{Host: "orders.example"}, Prune: true, MaxDrops: 5}
	observed := diff.Observed{SessionUser: "admin", Principals: []diff.ObservedPrincipal{{Name: evil, Type: "user"}}}
	plan, err := diff.Compute(s, observed)
	if err != nil {
		t.Fatal(err)
	}
	// The same name in a refused plan's message.
	blocked := s
	blocked.MaxDrops = 0
	_, planErr := diff.Compute(blocked, observed)
	if planErr == nil {
		t.Fatal("a drop over maxDrops was planned")
	}
	stale := &apply.StaleError{Changes: diff.Changes(diff.Observed{}, observed)}
	results := []Result{
		{Server: s, Status: Changes, Plan: plan, SessionUser: "admin"},
		{Server: spec.Server{Name: "b\x1b[31m", Connection: spec.Connection{Host: "b.example"}}, Status: Error, Err: planErr},
		{Server: spec.Server{Name: "c", Connection: spec.Connection{Host: "c.example"}}, Status: Error, Err: stale},
	}
	r := Build(results)
	views := map[string]func(*bytes.Buffer) error{
		"text":     func(b *bytes.Buffer) error { return Text(b, r) },
		"markdown": func(b *bytes.Buffer) error { return Markdown(b, r) },
		"apply":    func(b *bytes.Buffer) error { return ApplyText(b, r) },
		"sql":      func(b *bytes.Buffer) error { return SQL(b, results) },
	}
	for name, view := range views {
		var b bytes.Buffer
		if err := view(&b); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if strings.ContainsAny(out, "\x1b\u202e") {
			t.Errorf("%s: a raw escape or bidi character reached the output:\n%q", name, out)
		}
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(strings.TrimLeft(line, " -#>|"), "server other") {
				t.Errorf("%s: a name forged a line: %q", name, line)
			}
		}
	}
}

// Every view renders one outcome: a server whose hand-overs in other
// databases committed before its main transaction failed is not "nothing
// changed" in the text, and JSON lists them as committed; nor is a server
// whose outcome is unknown after part of a sequence committed.
func TestNoViewSaysNothingChangedWhereSomethingCommitted(t *testing.T) {
	stmt := &apply.StatementError{Change: diff.Change{Action: diff.Drop, Principal: "old"}, Statement: diff.Statement{SQL: `DROP ROLE "old"`},
		Err: errors.New("no"), HandedOver: []string{"app"}}
	cleanup := &apply.CleanupError{Database: "b", Statement: diff.Statement{SQL: "REASSIGN OWNED BY x TO y"}, Err: errors.New("no"), Done: []string{"a"}}
	unknown := &apply.PartialError{Committed: []string{"the main transaction"}, Failed: "database d",
		Err: &apply.UnknownOutcomeError{Step: "database d", Err: io.ErrUnexpectedEOF, Asked: errors.New("refused")}}
	for name, tc := range map[string]struct {
		status Status
		err    error
		want   []string
		line   string
	}{
		"hand-overs, then a statement": {Error, stmt, []string{"hand-over in database app"}, "failed partway; committed: hand-over in database app"},
		"hand-overs, then a cleanup":   {Error, cleanup, []string{"hand-over in database a"}, "failed partway; committed: hand-over in database a"},
		"a sequence, then unknown": {Unknown, unknown, []string{"the main transaction"},
			"outcome unknown, plan again to see what it holds; committed before: the main transaction"},
	} {
		t.Run(name, func(t *testing.T) {
			r := Build([]Result{{Server: spec.Server{Name: "s"}, Status: tc.status, Err: tc.err}})
			if diff := cmp.Diff(tc.want, r.Servers[0].Committed); diff != "" {
				t.Errorf("committed (-want +got):\n%s", diff)
			}
			var b bytes.Buffer
			if err := ApplyText(&b, r); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(b.String(), "server s: "+tc.line+"\n") || strings.Contains(b.String(), "nothing changed") {
				t.Errorf("the text says:\n%s\nwant the line %q and no \"nothing changed\"", b.String(), tc.line)
			}
		})
	}
}
