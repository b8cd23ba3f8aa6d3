package report

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/pgusers/pgusers/pkg/apply"
	"github.com/pgusers/pgusers/pkg/diff"
	"github.com/pgusers/pgusers/pkg/spec"
)

// changeTargets is fleetTargets plus a server whose drop hands over what
// the principal owns, and one whose drop is blocked.
func changeResults(t *testing.T) []Result {
	t.Helper()
	observed := diff.Observed{
		Principals: []diff.ObservedPrincipal{
			{Name: "legacy|etl", Type: "service", ObjectID: "6f1e9a3c-0d7b-4c1e-9a51-3b2f4d6e8a90"},
			{Name: "pg-admins", Type: "group", Admin: true, MemberOf: []string{"azure_pg_admin"}},
		},
		Roles:       []string{"dba"},
		SessionUser: "pg-admins",
		Database:    "postgres",
		Dependencies: []diff.Dependency{
			{Principal: "legacy|etl", Database: "", Kind: diff.Privileges, Count: 1},
			{Principal: "legacy|etl", Database: "sales", Kind: diff.Owner, Count: 23},
		},
		SessionRoles: []string{"dba"},
	}
	named := []diff.Blocker{
		{Principal: "legacy|etl", Database: "", Kind: diff.Privileges, ObjectType: "database", Object: "sales", Count: 1},
		{Principal: "legacy|etl", Database: "sales", Kind: diff.Owner, ObjectType: "table", Object: "public.orders_2019", Count: 1},
		{Principal: "legacy|etl", Database: "sales", Kind: diff.Owner, ObjectType: "table", Object: "public.orders_2020", Count: 1},
		{Principal: "legacy|etl", Database: "sales", Kind: diff.Owner, Count: 21},
	}
	sales := spec.Server{Name: "sales", Connection: spec.Connection{Host: "sales.postgres.database.azure.com"}, Prune: true, MaxDrops: 5, ReassignOwnedTo: "dba"}
	plan, err := diff.Compute(sales, observed)
	if err != nil {
		t.Fatal(err)
	}
	plan.Blockers = named

	legacy := sales
	legacy.Name, legacy.Host, legacy.ReassignOwnedTo = "legacy", "legacy.postgres.database.azure.com", ""
	_, err = diff.Compute(legacy, observed)
	var de *diff.Error
	if !errors.As(err, &de) {
		t.Fatalf("Compute of a blocked drop: %v", err)
	}
	de.Blocked = named
	return append(fleetResults(t),
		Result{Server: sales, Principals: len(observed.Principals), Plan: plan, Status: Changes},
		Result{Server: legacy, Principals: len(observed.Principals), Status: Error, Err: errors.Join(errors.New("cannot plan:"), de)},
	)
}

func TestMarkdownPlanGolden(t *testing.T) {
	var b bytes.Buffer
	Markdown(&b, Build(changeResults(t)))
	golden(t, "plan.md.golden", b.Bytes())
}

func TestBlockersTextGolden(t *testing.T) {
	var b bytes.Buffer
	Text(&b, Build(changeResults(t)[3:]))
	golden(t, "plan-blockers.txt.golden", b.Bytes())
}

func TestBlockersJSONGolden(t *testing.T) {
	var b bytes.Buffer
	if err := JSON(&b, Build(changeResults(t)[3:])); err != nil {
		t.Fatal(err)
	}
	golden(t, "plan-blockers.json.golden", b.Bytes())
}

func TestCleanupSQLGolden(t *testing.T) {
	var b bytes.Buffer
	SQL(&b, changeResults(t)[3:4])
	golden(t, "dry-run-cleanup.sql.golden", b.Bytes())
}

func TestServerDryRunTextGolden(t *testing.T) {
	results := fleetResults(t)
	orders := &results[0]
	create := orders.Plan.Changes[0]
	orders.Status, orders.Err = Error, &apply.StatementError{Change: create, Statement: create.Statements[0],
		Err: errors.New("incorrect object type provided for principal orders-api (SQLSTATE XX000)")}
	sales := changeResults(t)[3]
	sales.Status, sales.Err = Error, &apply.CleanupError{Database: "sales", Statement: sales.Plan.Cleanups[0].Statements[0],
		Err: errors.New("permission denied to reassign objects (SQLSTATE 42501)"), Exec: apply.Rollback}
	results = append(results, sales)
	r := Build(results)
	r.DryRun = "server"
	var b bytes.Buffer
	ApplyText(&b, r)
	golden(t, "dry-run-server.txt.golden", b.Bytes())
}

func TestMarkdownEscapes(t *testing.T) {
	tests := map[string]struct{ got, want string }{
		"code with a pipe":      {mdCode("a|b"), "`a\\|b`"},
		"code with backticks":   {mdCode("a`b``c"), "```a`b``c```"},
		"code edged by a tick":  {mdCode("`x"), "`` `x ``"},
		"text with markup":      {mdText("*x* _y_ <b>|[l](u)"), `\*x\* \_y\_ &lt;b\>\|\[l\](u)`},
		"text on several lines": {mdText("a\nb"), "a b"},
		"fence around a fence":  {fence("```\nx", "text"), "````text\n```\nx\n````"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
}

func BenchmarkRender10k(b *testing.B) {
	s := spec.Server{Name: "bench", Connection: spec.Connection{Host: "bench.postgres.database.azure.com"}}
	for i := range 10000 {
		name := fmt.Sprintf("svc-%05d", i)
		s.Principals = append(s.Principals, spec.Principal{Name: name, Type: spec.Service, ObjectID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i)})
	}
	plan, err := diff.Compute(s, diff.Observed{SessionUser: "admin"})
	if err != nil {
		b.Fatal(err)
	}
	results := []Result{{Server: s, Plan: plan, Status: Applied}}
	b.Run("json", func(b *testing.B) {
		for b.Loop() {
			if err := JSON(io.Discard, Build(results)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("text", func(b *testing.B) {
		for b.Loop() {
			r := Build(results)
			Text(io.Discard, r)
			ApplyText(io.Discard, r)
		}
	})
}
