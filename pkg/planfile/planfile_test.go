package planfile

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/pgusers/pgusers/pkg/diff"
	"github.com/pgusers/pgusers/pkg/report"
	"github.com/pgusers/pgusers/pkg/spec"
)

// planned is a fleet of three planned servers: changes, in sync, and drops
// that hand over what a principal owns.
func planned(t *testing.T) Plan {
	t.Helper()
	const oid = "2b7c1d0e-5f4a-4b3c-8d2e-1f0a9b8c7d6e"
	conn := func(host string) spec.Connection {
		return spec.Connection{Host: host, Port: 5432, Database: "postgres", User: "pg-admins", Auth: spec.AuthEntra,
			Credential: "default", SSLMode: "verify-full"}
	}
	orders := spec.Server{Name: "orders-prod", Connection: conn("orders.example"), Prune: true, MaxDrops: 5,
		Protect: []string{"breakglass-*"},
		Principals: []spec.Principal{
			{Name: "orders-api", Type: spec.Service, ObjectID: oid, ManageMemberships: true, MemberOf: []string{"orders_rw"},
				Pos: spec.Position{File: "a.yaml", Line: 3, Column: 7}},
			{Name: "team", Type: spec.Group, MFA: true},
		}}
	ordersSeen := diff.Observed{
		Principals: []diff.ObservedPrincipal{
			{Name: "breakglass-1", Type: "user"},
			{Name: "old-bot", Type: "service", ObjectID: "6f1e9a3c-0d7b-4c1e-9a51-3b2f4d6e8a90"},
			{Name: "pg-admins", Type: "group", Admin: true, MemberOf: []string{"azure_pg_admin"}},
			{Name: "team", Type: "group"},
		},
		Roles: []string{"orders_rw", "team"}, SessionUser: "pg-admins", Database: "postgres",
	}
	quiet := spec.Server{Name: "reporting", Connection: conn("reporting.example"), MaxDrops: 5}
	quietSeen := diff.Observed{SessionUser: "pg-admins", Database: "postgres",
		Principals: []diff.ObservedPrincipal{{Name: "pg-admins", Type: "group", Admin: true}}}
	sales := spec.Server{Name: "sales", Connection: conn("sales.example"), Prune: true, MaxDrops: 5, ReassignOwnedTo: "dba"}
	salesSeen := diff.Observed{
		Principals: []diff.ObservedPrincipal{{Name: "legacy", Type: "service", ObjectID: oid},
			{Name: "pg-admins", Type: "group", Admin: true}},
		Roles: []string{"dba"}, SessionUser: "pg-admins", Database: "postgres", SessionRoles: []string{"dba"},
		Dependencies: []diff.Dependency{{Principal: "legacy", Database: "sales", Kind: diff.Owner, Count: 3}},
	}
	p := Plan{Pgusers: "pgusers test", DesiredDigest: "digest", Files: []string{"a.yaml"}}
	var results []report.Result
	for _, s := range []struct {
		desired  spec.Server
		observed diff.Observed
	}{{orders, ordersSeen}, {quiet, quietSeen}, {sales, salesSeen}} {
		plan, err := diff.Compute(s.desired, s.observed)
		if err != nil {
			t.Fatal(err)
		}
		if s.desired.Name == "sales" {
			// As Describe names them: two tables, one more counted.
			plan.Blockers = []diff.Blocker{
				{Principal: "legacy", Database: "sales", Kind: diff.Owner, ObjectType: "table", Object: "public.a", Count: 1},
				{Principal: "legacy", Database: "sales", Kind: diff.Owner, ObjectType: "table", Object: "public.b", Count: 1},
				{Principal: "legacy", Database: "sales", Kind: diff.Owner, Count: 1},
			}
		}
		s.observed.Normalize()
		p.Servers = append(p.Servers, Server{Desired: s.desired, Observed: s.observed, Fingerprint: s.observed.Fingerprint(), Plan: plan})
		results = append(results, report.Result{Server: s.desired, Plan: plan, Status: report.Changes})
	}
	p.Report = report.Build(results)
	return p
}

func TestRoundTrip(t *testing.T) {
	p := planned(t)
	path := filepath.Join(t.TempDir(), "plan.json")
	if err := Save(path, p); err != nil {
		t.Fatal(err)
	}
	back, err := Open(path, "pgusers test")
	if err != nil {
		t.Fatal(err)
	}
	// The report keeps what its JSON holds: the port is the SQL view's.
	if diff := cmp.Diff(p, back, cmpopts.IgnoreFields(report.Server{}, "Port")); diff != "" {
		t.Errorf("plan read back (-saved +read):\n%s", diff)
	}
	// Arguments keep their JSON types.
	args := back.Servers[0].Plan.Changes[0].Statements[0].Args
	if diff := cmp.Diff([]any{"orders-api", "2b7c1d0e-5f4a-4b3c-8d2e-1f0a9b8c7d6e", "service", false, false}, args); diff != "" {
		t.Errorf("arguments (-want +got):\n%s", diff)
	}
}

// Open refuses a file it cannot trust, even one whose checksum was
// recomputed by whoever edited it: what is refused then is the content.
func TestOpenRefusesWhatItCannotTrust(t *testing.T) {
	good, err := encode(planned(t))
	if err != nil {
		t.Fatal(err)
	}
	reseal := func(edit func(plan map[string]any)) string {
		var env envelope
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
		out, err := json.Marshal(envelope{PgusersPlan: Format, Checksum: sum, Plan: body})
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	server := func(p map[string]any, i int) map[string]any { return p["servers"].([]any)[i].(map[string]any) }
	statement := func(p map[string]any) map[string]any {
		change := server(p, 0)["plan"].(map[string]any)["changes"].([]any)[0].(map[string]any)
		return change["statements"].([]any)[0].(map[string]any)
	}
	tests := map[string]struct {
		content string
		want    string
	}{
		"a statement's SQL replaced": {reseal(func(p map[string]any) {
			statement(p)["sql"] = "DROP DATABASE orders"
		}), `server "orders-prod": its changes are not what pgusers computes from the state the file records: the file was altered`},
		"an argument replaced": {reseal(func(p map[string]any) {
			statement(p)["args"].([]any)[0] = "someone-else"
		}), "the file was altered"},
		"an argument of another type": {reseal(func(p map[string]any) {
			statement(p)["args"].([]any)[2] = 12
		}), "the file was altered"},
		"a change added": {reseal(func(p map[string]any) {
			plan := server(p, 1)["plan"].(map[string]any)
			plan["changes"] = []any{map[string]any{"action": "drop", "principal": "pg-admins",
				"statements": []any{map[string]any{"sql": `DROP ROLE "pg-admins"`}}}}
		}), `server "reporting": its changes are not what pgusers computes`},
		"a desired principal changed to fit the statements": {reseal(func(p map[string]any) {
			server(p, 0)["desired"].(map[string]any)["maxDrops"] = 0
		}), `server "orders-prod": its recorded state gives no plan`},
		"blockers that do not add up": {reseal(func(p map[string]any) {
			plan := server(p, 2)["plan"].(map[string]any)
			plan["blockers"] = plan["blockers"].([]any)[:1]
		}), `server "sales": what blocks its drops does not add up`},
		"an unknown field": {reseal(func(p map[string]any) { p["extra"] = 1 }), `unknown field "extra"`},
		"a connection weaker than the files allow": {reseal(func(p map[string]any) {
			server(p, 0)["desired"].(map[string]any)["sslmode"] = "require"
		}), `server "orders-prod": sslmode require does not verify the server's certificate`},
		"a state that is not the fingerprinted one": {reseal(func(p map[string]any) {
			server(p, 0)["observed"].(map[string]any)["sessionUser"] = "someone-else"
		}), "the recorded state does not match its fingerprint"},
		"no servers":              {reseal(func(p map[string]any) { p["servers"] = []any{} }), "it holds no server"},
		"whitespace only changed": {strings.ReplaceAll(string(good), "\n      ", "\n\t"), ""},
		"a byte changed":          {strings.Replace(string(good), "orders-api", "orders-apj", 1), "its checksum does not match"},
		"empty":                   {"", "is not a pgusers plan file"},
		"truncated":               {string(good[:len(good)/2]), "was truncated or damaged"},
		"a newer format":          {strings.Replace(string(good), `"pgusersPlan": 2`, `"pgusersPlan": 3`, 1), "was written by a newer pgusers"},
		"an older format":         {strings.Replace(string(good), `"pgusersPlan": 2`, `"pgusersPlan": 1`, 1), "has plan format 1, which this pgusers test does not read"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "plan.json")
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Open(path, "pgusers test")
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
