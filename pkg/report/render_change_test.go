package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pgusers/pgusers/pkg/apply"
	"github.com/pgusers/pgusers/pkg/diff"
	"github.com/pgusers/pgusers/pkg/inspect"
	"github.com/pgusers/pgusers/pkg/spec"
)

// changeTargets is fleetTargets plus a server whose drop hands over what
// the principal owns, and one whose drop is blocked.
func changeTargets(t *testing.T) []*target {
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
	return append(fleetTargets(t),
		&target{server: sales, observed: observed, plan: plan, status: statusChanges},
		&target{server: legacy, observed: observed, status: statusError, err: errors.Join(errors.New("cannot plan:"), de)},
	)
}

func TestMarkdownPlanGolden(t *testing.T) {
	var b bytes.Buffer
	writeMarkdown(&b, buildReport(changeTargets(t)))
	golden(t, "plan.md.golden", b.Bytes())
}

func TestBlockersTextGolden(t *testing.T) {
	var b bytes.Buffer
	writeText(&b, buildReport(changeTargets(t)[3:]))
	golden(t, "plan-blockers.txt.golden", b.Bytes())
}

func TestBlockersJSONGolden(t *testing.T) {
	var b bytes.Buffer
	if err := writeJSON(&b, buildReport(changeTargets(t)[3:])); err != nil {
		t.Fatal(err)
	}
	golden(t, "plan-blockers.json.golden", b.Bytes())
}

func TestCleanupSQLGolden(t *testing.T) {
	var b bytes.Buffer
	writeSQL(&b, changeTargets(t)[3:4])
	golden(t, "dry-run-cleanup.sql.golden", b.Bytes())
}

func TestServerDryRunTextGolden(t *testing.T) {
	targets := fleetTargets(t)
	orders := targets[0]
	create := orders.plan.Changes[0]
	orders.fail(&apply.StatementError{Change: create, Statement: create.Statements[0],
		Err: errors.New("incorrect object type provided for principal orders-api (SQLSTATE XX000)")})
	sales := changeTargets(t)[3]
	sales.fail(&apply.CleanupError{Database: "sales", Statement: sales.plan.Cleanups[0].Statements[0],
		Err: errors.New("permission denied to reassign objects (SQLSTATE 42501)"), Rehearsal: true})
	targets = append(targets, sales)
	r := buildReport(targets)
	r.DryRun = "server"
	var b bytes.Buffer
	writeApplyText(&b, r, true)
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

func TestPlanFileRoundTrip(t *testing.T) {
	targets := changeTargets(t)
	saved := []*target{targets[0], targets[1], targets[3]} // the servers that planned
	for _, tg := range saved {
		tg.roleNames = inspect.RoleNames(tg.server)
		tg.server.User = "pg-admins"
		tg.plan.Server = tg.server.Name
	}
	sp, err := newSavedPlan(saved, []string{"a.yaml"}, "digest")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "plan.json")
	if err := writePlanFile(path, sp); err != nil {
		t.Fatal(err)
	}
	back, err := readPlanFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got := back.targets()
	for i, want := range saved {
		if diff := cmp.Diff(want.plan, got[i].plan); diff != "" {
			t.Errorf("server %s: plan (-saved +read):\n%s", want.server.Name, diff)
		}
		if w, g := want.plan.Basis(want.observed).Fingerprint(), got[i].observed.Fingerprint(); w != g {
			t.Errorf("server %s: the state read back has another fingerprint", want.server.Name)
		}
		if want.server.Host != got[i].server.Host || got[i].status != want.status {
			t.Errorf("server %s: host %q status %q, want %q %q", want.server.Name, got[i].server.Host, got[i].status, want.server.Host, want.status)
		}
	}
	// Arguments keep their JSON types.
	args := got[0].plan.Changes[0].Statements[0].Args
	if diff := cmp.Diff([]any{"orders-api", "2b7c1d0e-5f4a-4b3c-8d2e-1f0a9b8c7d6e", "service", false, false}, args); diff != "" {
		t.Errorf("arguments (-want +got):\n%s", diff)
	}
	var rendered bytes.Buffer
	writeText(&rendered, buildReport(got))
	var original bytes.Buffer
	writeText(&original, buildReport(saved))
	if diff := cmp.Diff(original.String(), rendered.String()); diff != "" {
		t.Errorf("the saved plan renders differently (-planned +read):\n%s", diff)
	}
}

func TestPlanFileRefusesWhatItCannotTrust(t *testing.T) {
	targets := fleetTargets(t)[:2]
	for _, tg := range targets {
		tg.server.User = "pg-admins"
	}
	sp, err := newSavedPlan(targets, nil, "digest")
	if err != nil {
		t.Fatal(err)
	}
	good, err := encodePlan(sp)
	if err != nil {
		t.Fatal(err)
	}
	// reseal edits the plan and recomputes the checksum, as someone who
	// edits on purpose would: what is refused then is the content itself.
	reseal := func(edit func(plan map[string]any)) string {
		var env planEnvelope
		if err := json.Unmarshal(good, &env); err != nil {
			t.Fatal(err)
		}
		var plan map[string]any
		if err := json.Unmarshal(env.Plan, &plan); err != nil {
			t.Fatal(err)
		}
		edit(plan)
		body, err := json.Marshal(plan)
		if err != nil {
			t.Fatal(err)
		}
		sum, err := checksum(body)
		if err != nil {
			t.Fatal(err)
		}
		out, err := json.Marshal(planEnvelope{PgusersPlan: planFormat, Checksum: sum, Plan: body})
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	server0 := func(plan map[string]any) map[string]any {
		return plan["servers"].([]any)[0].(map[string]any)
	}
	tests := map[string]struct {
		content string
		want    string
	}{
		"an argument of another type": {reseal(func(p map[string]any) {
			change := server0(p)["plan"].(map[string]any)["changes"].([]any)[0].(map[string]any)
			change["statements"].([]any)[0].(map[string]any)["args"].([]any)[2] = 12
		}), "has an argument 12 of type float64"},
		"an unknown field": {reseal(func(p map[string]any) { p["extra"] = 1 }), `unknown field "extra"`},
		"a state that is not the fingerprinted one": {reseal(func(p map[string]any) {
			server0(p)["observed"].(map[string]any)["sessionUser"] = "someone-else"
		}), "the recorded state does not match its fingerprint"},
		"an in-sync server with changes": {reseal(func(p map[string]any) { server0(p)["status"] = "in-sync" }),
			"has status in-sync and 4 change(s)"},
		"whitespace only changed": {strings.ReplaceAll(string(good), "\n      ", "\n\t"), ""},
		"a byte changed":          {strings.Replace(string(good), "orders-api", "orders-apj", 1), "its checksum does not match"},
		"empty":                   {"", "is not a pgusers plan file"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "plan.json")
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := readPlanFile(path)
			if tc.want == "" {
				if err != nil {
					t.Errorf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want one saying %q", err, tc.want)
			}
		})
	}
}
