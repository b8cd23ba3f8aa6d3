package apply_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/pgusers/pgusers/internal/pgtest"
	"github.com/pgusers/pgusers/pkg/apply"
	"github.com/pgusers/pgusers/pkg/diff"
	"github.com/pgusers/pgusers/pkg/inspect"
	"github.com/pgusers/pgusers/pkg/spec"
)

// opener signs in as the administrator to another database, counting its
// connections.
func opener(t *testing.T, c *pgtest.Cluster, opened *[]string) inspect.Opener {
	return func(ctx context.Context, db string) (*pgx.Conn, error) {
		*opened = append(*opened, db)
		cfg := c.AdminConfig(t)
		cfg.Database = db
		cfg.DefaultQueryExecMode = pgx.QueryExecModeExec
		return pgx.ConnectConfig(ctx, cfg)
	}
}

// owningCluster has principal old-bot owning a table in database app and
// one in postgres, with a privilege in app on a table of the
// administrator's (DROP OWNED, run as the administrator, can only revoke
// what the administrator may revoke), and role dba to receive them.
func owningCluster(t *testing.T) *pgtest.Cluster {
	t.Helper()
	c := pgtest.New(t)
	c.SuperExec(t, `SELECT pg_catalog.pgaadauth_create_principal_with_oid('old-bot', $1, 'service', false, false)`, pgtest.ObjectID("old-bot"))
	c.SuperExec(t, `CREATE ROLE dba NOLOGIN`)
	c.SuperExec(t, `CREATE DATABASE app`)
	c.SuperExec(t, `CREATE TABLE here (a int)`)
	c.SuperExec(t, `ALTER TABLE here OWNER TO "old-bot"`)
	c.SuperExecIn(t, "app", `CREATE TABLE orders (a int)`, `ALTER TABLE orders OWNER TO "old-bot"`,
		`CREATE TABLE lines (a int)`, `ALTER TABLE lines OWNER TO "pgadmin@contoso.com"`, `GRANT SELECT ON lines TO "old-bot"`)
	return c
}

func TestInspectCountsWhatPrincipalsOwnInOneRoundTrip(t *testing.T) {
	c := owningCluster(t)
	conn, rt := c.AdminConn(t)
	o, err := inspect.Inspect(context.Background(), conn, inspect.Asked{Names: []string{"dba"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := rt.Count(); got != 1 {
		t.Errorf("inspect took %d round trips, want 1", got)
	}
	want := []diff.Dependency{
		{Principal: "old-bot", Database: "app", Kind: diff.Owner, Count: 1},
		{Principal: "old-bot", Database: "app", Kind: diff.Privileges, Count: 1},
		{Principal: "old-bot", Database: "postgres", Kind: diff.Owner, Count: 1},
	}
	// The administrator may own things of its own; only old-bot's matter here.
	if diff := cmp.Diff(want, o.DependenciesOf("old-bot")); diff != "" {
		t.Errorf("dependencies (-want +got):\n%s", diff)
	}
	if o.Database != "postgres" {
		t.Errorf("database = %q, want postgres", o.Database)
	}
	if o.HasSessionRole("old-bot") || o.HasSessionRole("dba") {
		t.Errorf("session roles = %v, want neither old-bot nor dba", o.SessionRoles)
	}
}

func TestDescribeNamesObjectsInEveryDatabase(t *testing.T) {
	c := owningCluster(t)
	c.SuperExec(t, `GRANT CONNECT ON DATABASE app TO "old-bot"`)
	conn, rt := c.AdminConn(t)
	o, err := inspect.Inspect(context.Background(), conn, inspect.Asked{})
	if err != nil {
		t.Fatal(err)
	}
	var opened []string
	rt.Reset()
	got, err := inspect.Describe(context.Background(), conn, o.Database, opener(t, c, &opened), diff.Blockers(o.DependenciesOf("old-bot")))
	if err != nil {
		t.Fatal(err)
	}
	want := []diff.Blocker{
		{Principal: "old-bot", Database: "", Kind: diff.Privileges, ObjectType: "database", Object: "app", Count: 1},
		{Principal: "old-bot", Database: "app", Kind: diff.Owner, ObjectType: "table", Object: "public.orders", Count: 1},
		{Principal: "old-bot", Database: "app", Kind: diff.Privileges, ObjectType: "table", Object: "public.lines", Count: 1},
		{Principal: "old-bot", Database: "postgres", Kind: diff.Owner, ObjectType: "table", Object: "public.here", Count: 1},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("blockers (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"app"}, opened); diff != "" {
		t.Errorf("databases connected to (-want +got):\n%s", diff)
	}
	if n := rt.Count(); n != 1 {
		t.Errorf("describe took %d round trips on the main connection, want 1", n)
	}
}

func TestDescribeCountsWhatItCannotName(t *testing.T) {
	c := owningCluster(t)
	conn, _ := c.AdminConn(t)
	o, err := inspect.Inspect(context.Background(), conn, inspect.Asked{})
	if err != nil {
		t.Fatal(err)
	}
	failing := func(ctx context.Context, db string) (*pgx.Conn, error) { return nil, errors.New("no route") }
	got, err := inspect.Describe(context.Background(), conn, o.Database, failing, diff.Blockers(o.DependenciesOf("old-bot")))
	if err == nil || !strings.Contains(err.Error(), "database app: no route") {
		t.Errorf("error = %v, want one naming database app", err)
	}
	want := []diff.Blocker{
		{Principal: "old-bot", Database: "app", Kind: diff.Owner, Count: 1},
		{Principal: "old-bot", Database: "app", Kind: diff.Privileges, Count: 1},
		{Principal: "old-bot", Database: "postgres", Kind: diff.Owner, ObjectType: "table", Object: "public.here", Count: 1},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("blockers (-want +got):\n%s", diff)
	}
}

func pruneTo(to string) spec.Server {
	s := desired(true)
	s.ReassignOwnedTo = to
	return s
}

func TestApplyHandsOverAndDrops(t *testing.T) {
	c := owningCluster(t)
	conn, _ := c.AdminConn(t)
	job := plan(t, conn, pruneTo("dba"))
	var opened []string
	job.Open = opener(t, c, &opened)
	if got := job.Plan.Dropping(); !cmp.Equal(got, []string{"old-bot"}) {
		t.Fatalf("plan drops %v, want old-bot", got)
	}
	if err := apply.Apply(context.Background(), conn, job); err != nil {
		t.Fatal(err)
	}
	if got := principals(t, c); len(got) != 1 {
		t.Errorf("principals after apply: %v, want only the admin", got)
	}
	if diff := cmp.Diff([]string{"dba"}, c.SuperStrings(t, "app", `SELECT tableowner::text FROM pg_tables WHERE tablename = 'orders'`)); diff != "" {
		t.Errorf("owner of app's orders (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"dba"}, c.SuperStrings(t, "postgres", `SELECT tableowner::text FROM pg_tables WHERE tablename = 'here'`)); diff != "" {
		t.Errorf("owner of postgres's here (-want +got):\n%s", diff)
	}
	// The administrator was lent the roles for the statements' time only.
	if got := c.SuperStrings(t, "postgres", `SELECT g.rolname::text FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
		JOIN pg_roles r ON r.oid = m.member WHERE r.rolname = 'pgadmin@contoso.com' AND g.rolname = 'dba'`); len(got) != 0 {
		t.Errorf("the administrator is still a member of dba")
	}
}

func TestRehearseWithCleanupsLeavesNothingBehind(t *testing.T) {
	c := owningCluster(t)
	conn, _ := c.AdminConn(t)
	before := principals(t, c)
	job := plan(t, conn, pruneTo("dba"))
	var opened []string
	job.Open = opener(t, c, &opened)
	if err := apply.Run(context.Background(), conn, job, apply.Rollback); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, principals(t, c)); diff != "" {
		t.Errorf("rehearsal changed the principals (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"old-bot"}, c.SuperStrings(t, "app", `SELECT tableowner::text FROM pg_tables WHERE tablename = 'orders'`)); diff != "" {
		t.Errorf("rehearsal changed the owner of app's orders (-want +got):\n%s", diff)
	}
	if err := apply.Apply(context.Background(), conn, job); err != nil {
		t.Fatalf("the rehearsed job no longer applies: %v", err)
	}
}

// A cleanup that cannot run in its database leaves every principal in
// place; those done before stay handed over; the next plan finishes.
func TestFailedCleanupLeavesThePrincipalAndTheNextRunConverges(t *testing.T) {
	c := owningCluster(t)
	c.SuperExec(t, `CREATE DATABASE zeta`)
	c.SuperExecIn(t, "zeta", `CREATE TABLE z (a int)`, `ALTER TABLE z OWNER TO "old-bot"`)
	// The administrator cannot connect to zeta.
	c.SuperExec(t, `REVOKE CONNECT ON DATABASE zeta FROM PUBLIC`)
	conn, _ := c.AdminConn(t)
	job := plan(t, conn, pruneTo("dba"))
	var opened []string
	job.Open = opener(t, c, &opened)

	err := apply.Apply(context.Background(), conn, job)
	var ce *apply.CleanupError
	if !errors.As(err, &ce) {
		t.Fatalf("Apply error = %v, want *CleanupError", err)
	}
	if ce.Database != "zeta" || !cmp.Equal(ce.Done, []string{"app"}) {
		t.Errorf("failed in %q after %v, want zeta after [app]", ce.Database, ce.Done)
	}
	for _, s := range []string{"in database zeta", "already handed over", "still present"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error does not say %q: %v", s, err)
		}
	}
	if got := principals(t, c); len(got) != 2 {
		t.Fatalf("principals after a failed cleanup: %v, want old-bot still there", got)
	}
	if diff := cmp.Diff([]string{"dba"}, c.SuperStrings(t, "app", `SELECT tableowner::text FROM pg_tables WHERE tablename = 'orders'`)); diff != "" {
		t.Errorf("app was handed over before the failure (-want +got):\n%s", diff)
	}

	// The cause is fixed; a new plan only has zeta left to hand over.
	c.SuperExec(t, `GRANT CONNECT ON DATABASE zeta TO PUBLIC`)
	job = plan(t, conn, pruneTo("dba"))
	job.Open = opener(t, c, &opened)
	var dbs []string
	for _, cl := range job.Plan.Cleanups {
		dbs = append(dbs, cl.Database)
	}
	if diff := cmp.Diff([]string{"zeta"}, dbs); diff != "" {
		t.Errorf("cleanups of the second plan (-want +got):\n%s", diff)
	}
	if err := apply.Apply(context.Background(), conn, job); err != nil {
		t.Fatal(err)
	}
	if got := principals(t, c); len(got) != 1 {
		t.Errorf("principals after the second apply: %v, want only the admin", got)
	}
	if diff := cmp.Diff([]string{"dba"}, c.SuperStrings(t, "zeta", `SELECT tableowner::text FROM pg_tables WHERE tablename = 'z'`)); diff != "" {
		t.Errorf("owner of zeta's z (-want +got):\n%s", diff)
	}
}

func TestANewObjectOfADroppedPrincipalStalesThePlan(t *testing.T) {
	c := owningCluster(t)
	conn, _ := c.AdminConn(t)
	job := plan(t, conn, pruneTo("dba"))
	var opened []string
	job.Open = opener(t, c, &opened)
	c.SuperExecIn(t, "app", `CREATE TABLE later (a int)`, `ALTER TABLE later OWNER TO "old-bot"`)
	err := apply.Apply(context.Background(), conn, job)
	var stale *apply.StaleError
	if !errors.As(err, &stale) {
		t.Fatalf("Apply error = %v, want *StaleError", err)
	}
	if diff := cmp.Diff([]string{"old-bot: owns 2 objects in database app, 1 when planned"}, stale.Changes); diff != "" {
		t.Errorf("stale changes (-want +got):\n%s", diff)
	}
	if len(opened) != 0 {
		t.Errorf("a stale plan connected to %v", opened)
	}
	if diff := cmp.Diff([]string{"old-bot"}, c.SuperStrings(t, "app", `SELECT tableowner::text FROM pg_tables WHERE tablename = 'orders'`)); diff != "" {
		t.Errorf("a stale plan handed over app (-want +got):\n%s", diff)
	}
}

func TestRehearseReportsTheStatementThatFailsHalfway(t *testing.T) {
	c, conn, before, job := failsHalfway(t)
	err := apply.Run(context.Background(), conn, job, apply.Rollback)
	var se *apply.StatementError
	if !errors.As(err, &se) {
		t.Fatalf("Rehearse error = %v, want *StatementError", err)
	}
	if se.Change.Principal != "zz-team" || !strings.Contains(se.Statement.Display(), "'zz-team'") {
		t.Errorf("failed at %s %s (%s), want the create of zz-team", se.Change.Action, se.Change.Principal, se.Statement.Display())
	}
	if diff := cmp.Diff(before, principals(t, c)); diff != "" {
		t.Errorf("a rehearsal that failed halfway changed the server (-before +after):\n%s", diff)
	}
}

func TestJobAfterCommittedCleanups(t *testing.T) {
	job := apply.Job{
		Plan: diff.Plan{Cleanups: []diff.Cleanup{
			{Database: "app", Principals: []string{"a"}},
			{Database: "zeta", Principals: []string{"a", "b"}},
		}},
		Observed: diff.Observed{Dependencies: []diff.Dependency{
			{Principal: "a", Database: "app", Kind: diff.Owner, Count: 1},
			{Principal: "a", Database: "postgres", Kind: diff.Owner, Count: 1},
			{Principal: "a", Database: "zeta", Kind: diff.Owner, Count: 1},
			{Principal: "c", Database: "app", Kind: diff.Owner, Count: 1},
		}},
	}
	got := job.After([]string{"app"})
	if diff := cmp.Diff(job.Plan.Cleanups[1:], got.Plan.Cleanups); diff != "" {
		t.Errorf("cleanups (-want +got):\n%s", diff)
	}
	want := []diff.Dependency{
		{Principal: "a", Database: "postgres", Kind: diff.Owner, Count: 1},
		{Principal: "a", Database: "zeta", Kind: diff.Owner, Count: 1},
		{Principal: "c", Database: "app", Kind: diff.Owner, Count: 1}, // not handed over: c had no cleanup there
	}
	if diff := cmp.Diff(want, got.Observed.Dependencies); diff != "" {
		t.Errorf("dependencies (-want +got):\n%s", diff)
	}
	if len(job.Plan.Cleanups) != 2 {
		t.Error("After changed the job it was called on")
	}
}
