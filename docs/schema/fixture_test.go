package schema_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/pgusers/pgusers/pkg/apply"
	"github.com/pgusers/pgusers/pkg/diff"
	"github.com/pgusers/pgusers/pkg/report"
	"github.com/pgusers/pgusers/pkg/spec"
)

// fleetFile is a desired state that uses every part of the format a plan
// carries: principals from a set and the server's own, group roles from a
// role set and one declared absent, grants with a profile, kinds of their
// own, columns and defaultsFor, and the settings a plan records.
const fleetFile = `version: 1
defaults:
  user: pg-admins
  reassignOwnedTo: dba
principalSets:
  team:
    - {name: alice@contoso.com, type: user, objectId: 6F1E9A3C-0D7B-4C1E-9A51-3B2F4D6E8A90, memberOf: [reporting], renamedFrom: alice@fabrikam.com}
roleSets:
  app:
    - {name: reporting, comment: reads the orders database}
    - {name: orders_rw, memberOf: [reporting]}
servers:
  - name: orders-prod
    host: orders-prod.postgres.database.azure.com
    credential: managedidentity
    clientId: 3c1d2e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f
    sslrootcert: ca.pem
    cloud: public
    include: [team]
    includeRoles: [app]
    prune: true
    protect: ["breakglass-*"]
    principals:
      - {name: orders-api, type: service, objectId: 2b7c1d0e-5f4a-4b3c-8d2e-1f0a9b8c7d6e, memberOf: [orders_rw]}
      - {name: team, type: group, mfa: true, admin: true}
    roles:
      - {name: legacy_rw, absent: true}
    grants:
      - {to: reporting, databases: [orders], schemas: [public], profile: readonly, defaultsFor: [app_owner], columns: {orders: {note: [update]}}}
      - {to: orders_rw, databases: [orders], tables: [INSERT, UPDATE, DELETE, TRUNCATE], sequences: [ALL], defaultsFor: [app_owner]}
      - {to: public, databases: [orders], database: [CONNECT]}
  - name: staging
    host: orders-staging.postgres.database.azure.com
    sslmode: require
    insecureSkipTLSVerify: true
    pruneSyncedUsers: true
  - name: local
    host: 127.0.0.1
    port: 5433
    auth: password
    user: postgres
    passwordEnv: LOCAL_PG_PASSWORD
    sslmode: disable
`

// fleet loads fleetFile.
func fleet(t *testing.T) *spec.Desired {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "pgusers.yaml")
	if err := os.WriteFile(path, []byte(fleetFile), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := spec.Load(context.Background(), []string{path})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

const (
	oldBotID = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
	tenantID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
)

// ordersSeen is what orders-prod has: a principal to rename, one to
// replace, one to drop that owns objects in another database, one
// protected, a role to alter and one to drop, and database orders with objects, privileges and
// default privileges to make exact.
func ordersSeen() diff.Observed {
	return diff.Observed{
		Principals: []diff.ObservedPrincipal{
			{Name: "alice@fabrikam.com", Type: "user", ObjectID: "6f1e9a3c-0d7b-4c1e-9a51-3b2f4d6e8a90", TenantID: tenantID},
			{Name: "breakglass-1", Type: "user", ObjectID: "0c4d8e2a-7b1f-4a3e-9c5d-2e8f6a1b3c7d", TenantID: tenantID},
			{Name: "old-bot", Type: "service", ObjectID: oldBotID, TenantID: tenantID, MemberOf: []string{"reporting"}},
			{Name: "pg-admins", Type: "group", ObjectID: "7d3f1c2b-8a4e-4f6d-9b1a-2c5e8f0a3d71", TenantID: tenantID, Admin: true,
				MemberOf: []string{"azure_pg_admin"}},
			{Name: "team", Type: "group", ObjectID: "1f0a9b8c-7d6e-4b3c-8d2e-2b7c1d0e5f4a", TenantID: tenantID},
		},
		Roles:       []string{"app_owner", "dba", "legacy_rw", "reporting", "team"},
		SessionUser: "pg-admins",
		Database:    "postgres",
		Dependencies: []diff.Dependency{
			{Principal: "old-bot", Database: "sales", Kind: diff.Owner, Count: 3},
			{Principal: "old-bot", Database: "", Kind: diff.Privileges, Count: 1},
		},
		SessionRoles:  []string{"dba", "old-bot"},
		ServerVersion: 160004,
		GroupRoles: []diff.ObservedRole{
			{Name: "app_owner"},
			{Name: "dba", Comment: "database administrators"},
			{Name: "legacy_rw", MemberOf: []string{"reporting"}},
			{Name: "reporting", Comment: "old comment"},
		},
		Owners: []diff.RoleFact{{Name: "app_owner"}, {Name: "azure_pg_admin", Member: true, Usage: true}, {Name: "postgres", Super: true}},
		Databases: []diff.ObservedDatabase{{
			Name: "orders", Exists: true, Owner: "app_owner", Read: true,
			ACL: []diff.Privilege{{Grantee: spec.Public, Privilege: "CONNECT"}, {Grantee: spec.Public, Privilege: "TEMPORARY"},
				{Grantee: "reporting", Privilege: "CONNECT", Grantable: true}},
			Schemas: []diff.ObservedSchema{{
				Name: "public", Owner: "azure_pg_admin",
				ACL: []diff.Privilege{{Grantee: spec.Public, Privilege: "USAGE"}},
				Objects: []diff.ObjectCount{
					{Kind: spec.KindTables, Owner: "app_owner", Count: 10},
					{Kind: spec.KindSequences, Owner: "app_owner", Count: 2},
				},
				Holdings: []diff.Holding{
					{Kind: spec.KindTables, Grantee: "reporting", Privilege: "SELECT", Count: 9},
					{Kind: spec.KindTables, Grantee: "reporting", Privilege: "DELETE", Grantable: true, Count: 1, Objects: []string{"public.orders"}},
				},
				// reporting passed its DELETE on: the revoke is withheld.
				Delegated: []diff.Delegated{
					{Kind: spec.KindTables, Grantor: "reporting", Grantee: "auditor", Privilege: "DELETE", Count: 1, Objects: []string{"public.orders"}},
				},
				Columns: []diff.ObservedColumn{
					{Table: "orders", Column: "note", Owner: "app_owner"},
					{Table: "orders", Column: "status", Owner: "app_owner", ACL: []diff.Privilege{{Grantee: "reporting", Privilege: "UPDATE"}}},
				},
			}},
			Defaults: []diff.DefaultPrivilege{
				{Owner: "app_owner", Schema: "public", Kind: spec.KindTables, Privilege: diff.Privilege{Grantee: "reporting", Privilege: "SELECT"}},
				{Owner: "app_owner", Schema: "public", Kind: spec.KindFunctions, Privilege: diff.Privilege{Grantee: spec.Public, Privilege: "EXECUTE", Grantable: true}},
			},
		}},
	}
}

// localSeen is the password server, in sync.
func localSeen() diff.Observed {
	return diff.Observed{SessionUser: "postgres", Database: "postgres", Roles: []string{"dba"}}
}

// planned is each server of the fleet with what it has and its plan, the
// observed state normalized as a saved plan holds it.
type planned struct {
	desired  spec.Server
	observed diff.Observed
	plan     diff.Plan
}

func planFleet(t *testing.T, d *spec.Desired) []planned {
	t.Helper()
	seen := map[string]diff.Observed{"orders-prod": ordersSeen(), "local": localSeen(),
		"staging": {SessionUser: "pg-admins", Database: "postgres", Roles: []string{"dba"}, GroupSync: true}}
	var out []planned
	for _, s := range d.Servers {
		o := seen[s.Name]
		plan, err := diff.Compute(s, o)
		if err != nil {
			t.Fatalf("server %s: %v", s.Name, err)
		}
		// As inspect names them: one table named, the rest counted.
		var blockers []diff.Blocker
		for _, b := range plan.Blockers {
			if b.Database == "sales" && b.Count > 1 {
				named := b
				named.ObjectType, named.Object, named.Count = "table", "public.a", 1
				b.Count--
				blockers = append(blockers, b, named)
				continue
			}
			blockers = append(blockers, b)
		}
		plan.Blockers = blockers
		o.Normalize()
		out = append(out, planned{desired: s, observed: o, plan: plan})
	}
	return out
}

// reports are reports of the fleet as plan and apply print them: a plan,
// a server dry run, and applies where one server committed and another
// failed partway, on a statement of the main transaction after a cleanup
// committed, or on a cleanup, or where the reply to COMMIT was lost.
func reports(t *testing.T) map[string]report.Report {
	t.Helper()
	d := fleet(t)
	ps := planFleet(t, d)
	orders, local := ps[0], ps[2]
	result := func(p planned, status report.Status, err error) report.Result {
		return report.Result{Server: p.desired, Status: status, Err: err, Plan: p.plan,
			Principals: len(p.observed.Principals), SessionUser: p.observed.SessionUser}
	}
	statementFailed := &apply.PartialError{
		Committed: []string{"the main transaction"},
		Failed:    "database orders",
		Err: &apply.StatementError{Change: orders.plan.Changes[0], Statement: orders.plan.Changes[0].Statements[0],
			Err: errors.New("permission denied for schema public (SQLSTATE 42501)"), HandedOver: []string{"sales"}},
	}
	cleanupFailed := &apply.CleanupError{Database: "sales", Statement: diff.Statement{SQL: "COMMIT"},
		Err: errors.New("connection reset by peer")}
	dryRun := report.Build([]report.Result{result(orders, report.Changes, nil), result(local, report.InSync, nil)})
	dryRun.DryRun = "server"
	return map[string]report.Report{
		"plan":    report.Build([]report.Result{result(orders, report.Changes, nil), result(local, report.InSync, nil)}),
		"dry run": dryRun,
		"apply, a statement failed": report.Build([]report.Result{result(local, report.Applied, nil),
			result(orders, report.Error, statementFailed)}),
		"apply, a cleanup failed": report.Build([]report.Result{result(orders, report.Error, cleanupFailed)}),
		"apply, the outcome unknown": report.Build([]report.Result{result(orders, report.Unknown,
			&apply.UnknownOutcomeError{Step: "the main transaction", Err: errors.New("unexpected EOF")})}),
		"unreachable": report.Build([]report.Result{{Server: local.desired, Status: report.Error,
			Err: errors.New("connect: dial tcp 127.0.0.1:5433: connection refused")}}),
	}
}
