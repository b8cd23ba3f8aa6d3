package schema_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/pgusers/pgusers/pkg/planfile"
	"github.com/pgusers/pgusers/pkg/report"
)

// savedPlan saves a plan of the fleet as plan --out does, and returns the
// file's bytes.
func savedPlan(t *testing.T) []byte {
	t.Helper()
	d := fleet(t)
	p := planfile.Plan{Pgusers: "pgusers test", DesiredDigest: d.Digest(), Files: d.Files}
	var results []report.Result
	for _, x := range planFleet(t, d) {
		p.Servers = append(p.Servers, planfile.Server{Desired: x.desired, Observed: x.observed,
			Fingerprint: x.observed.Fingerprint(), Plan: x.plan})
		status := report.Changes
		if x.plan.InSync() {
			status = report.InSync
		}
		results = append(results, report.Result{Server: x.desired, Status: status, Plan: x.plan,
			Principals: len(x.observed.Principals), SessionUser: x.observed.SessionUser})
	}
	p.Report = report.Build(results)
	path := filepath.Join(t.TempDir(), "plan.pgusers.json")
	if err := planfile.Save(path, p); err != nil {
		t.Fatal(err)
	}
	// A file apply accepts: the fixture is a plan pgusers computes.
	if _, err := planfile.Open(path, "pgusers test"); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestSavedPlan validates a saved plan made in-process against the strict
// plan schema (and so its report against the strict report schema).
func TestSavedPlan(t *testing.T) {
	c := compile(t, true)
	data := savedPlan(t)
	if err := c.validate(planSchema, data); err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	// Each part of a plan the fixture is meant to hold is in it: a
	// schema checked against nothing checks nothing.
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	collectKeys(v, seen)
	for _, key := range []string{"roles", "grants", "kinds", "defaultsFor", "groupRoles", "owners", "databases", "schemas",
		"holdings", "objects", "defaults", "acl", "dependencies", "sessionRoles", "cleanups", "blockers", "lends", "in",
		"statements", "args", "kept", "managed", "clientId", "passwordEnv", "sslrootcert", "cloud", "port",
		"insecureSkipTLSVerify", "renamedFrom", "from", "pruneSyncedUsers", "groupSync"} {
		if !seen[key] {
			t.Errorf("the saved plan has no %q", key)
		}
	}
}

// TestSavedPlanRefused: the plan schema is not a blank cheque.
func TestSavedPlanRefused(t *testing.T) {
	c := compile(t, true)
	data := savedPlan(t)
	edit := func(f func(env map[string]any)) []byte {
		var env map[string]any
		if err := json.Unmarshal(data, &env); err != nil {
			t.Fatal(err)
		}
		f(env)
		b, err := json.Marshal(env)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	server := func(env map[string]any) map[string]any {
		return env["plan"].(map[string]any)["servers"].([]any)[0].(map[string]any)
	}
	for name, doc := range map[string][]byte{
		"format 1":           edit(func(env map[string]any) { env["pgusersPlan"] = 1 }),
		"a short checksum":   edit(func(env map[string]any) { env["checksum"] = "sha256:abc" }),
		"an unknown field":   edit(func(env map[string]any) { env["plan"].(map[string]any)["extra"] = 1 }),
		"no servers":         edit(func(env map[string]any) { env["plan"].(map[string]any)["servers"] = []any{} }),
		"a desired password": edit(func(env map[string]any) { server(env)["desired"].(map[string]any)["password"] = "secret" }),
		"an unknown action": edit(func(env map[string]any) {
			change := server(env)["plan"].(map[string]any)["changes"].([]any)[0].(map[string]any)
			change["action"] = "truncate"
		}),
		"no fingerprint": edit(func(env map[string]any) { delete(server(env), "fingerprint") }),
		"an Entra server that would not verify the certificate": edit(func(env map[string]any) {
			server(env)["desired"].(map[string]any)["sslmode"] = "require"
		}),
		"a principal's type": edit(func(env map[string]any) {
			p := server(env)["desired"].(map[string]any)["principals"].([]any)[0].(map[string]any)
			p["type"] = "robot"
		}),
	} {
		if err := c.validate(planSchema, doc); err == nil {
			t.Errorf("%s: the schema accepts it", name)
		}
	}
}
