package apply_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgusers/pgusers/internal/pgtest"
	"github.com/pgusers/pgusers/pkg/apply"
	"github.com/pgusers/pgusers/pkg/diff"
	"github.com/pgusers/pgusers/pkg/inspect"
	"github.com/pgusers/pgusers/pkg/spec"
)

func principal(name string, typ spec.PrincipalType, memberOf ...string) spec.Principal {
	return spec.Principal{Name: name, Type: typ, ObjectID: pgtest.ObjectID(name), ManageMemberships: memberOf != nil, MemberOf: memberOf}
}

func desired(prune bool, ps ...spec.Principal) spec.Server {
	return spec.Server{Name: "test", Prune: prune, MaxDrops: 100, Principals: ps}
}

// plan inspects the server and computes the plan for d.
func plan(t *testing.T, conn *pgx.Conn, d spec.Server) apply.Job {
	t.Helper()
	asked := inspect.Ask(d)
	o, err := inspect.Inspect(context.Background(), conn, asked)
	if err != nil {
		t.Fatal(err)
	}
	p, err := diff.Compute(d, o)
	if err != nil {
		t.Fatal(err)
	}
	return apply.Job{Plan: p, Observed: o, Asked: asked}
}

// principals lists the server's Entra principals as the superuser sees them.
func principals(t *testing.T, c *pgtest.Cluster) []string {
	t.Helper()
	return c.SuperStrings(t, "postgres", `SELECT rolname::text || ' ' || principaltype || ' ' || isadmin || ismfa || ' ' ||
	  coalesce((SELECT string_agg(g.rolname, ',' ORDER BY g.rolname) FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
	            JOIN pg_roles r ON r.oid = m.member WHERE r.rolname = p.rolname), '')
	  FROM pg_catalog.pgaadauth_list_principals(false) p ORDER BY 1`)
}

func TestInspectIsOneRoundTrip(t *testing.T) {
	c := pgtest.New(t)
	c.SuperExec(t, `CREATE ROLE reporting NOLOGIN`)
	conn, rt := c.AdminConn(t)
	d := desired(false, principal("a", spec.User, "reporting"), principal("b", spec.Group))
	job := plan(t, conn, d)
	if got := rt.Count(); got != 1 {
		t.Errorf("inspect took %d round trips, want 1", got)
	}
	if job.Observed.SessionUser != c.Admin {
		t.Errorf("session user = %q, want %q", job.Observed.SessionUser, c.Admin)
	}
	if diff := cmp.Diff([]string{"reporting"}, job.Observed.Roles); diff != "" {
		t.Errorf("roles (-want +got):\n%s", diff)
	}
}

// After the read that made the plan, apply is two round trips: BEGIN, the
// lock, the read under it and every statement in one pipeline; then COMMIT.
func TestApplyIsTwoRoundTripsAfterThePlanWhateverTheChanges(t *testing.T) {
	c := pgtest.New(t)
	c.SuperExec(t, `CREATE ROLE reporting NOLOGIN`)
	conn, rt := c.AdminConn(t)
	var ps []spec.Principal
	for _, n := range []string{"p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8"} {
		ps = append(ps, principal(n, spec.Service, "reporting"))
	}
	job := plan(t, conn, desired(false, ps...))
	if got := len(job.Plan.Changes); got != 16 {
		t.Fatalf("plan has %d changes, want 16", got)
	}
	rt.Reset()
	if err := apply.Apply(context.Background(), conn, job); err != nil {
		t.Fatal(err)
	}
	if got := rt.Count(); got != 2 {
		t.Errorf("apply took %d round trips, want 2", got)
	}
	if got := len(principals(t, c)); got != 9 {
		t.Errorf("server has %d principals, want 9 (8 and the admin)", got)
	}
	// A stale plan, a held lock: still two, and nothing stays.
	job = plan(t, conn, desired(false, append(ps, principal("p9", spec.User))...))
	c.SuperExec(t, `SELECT pg_catalog.pgaadauth_create_principal_with_oid('sneaked-in', $1, 'user', false, false)`, pgtest.ObjectID("sneaked-in"))
	rt.Reset()
	var stale *apply.StaleError
	if err := apply.Apply(context.Background(), conn, job); !errors.As(err, &stale) {
		t.Fatalf("apply of a stale plan: %v, want a StaleError", err)
	}
	if got := rt.Count(); got != 2 {
		t.Errorf("a stale apply took %d round trips, want 2", got)
	}
	if got := len(principals(t, c)); got != 10 {
		t.Errorf("server has %d principals after a stale apply, want 10: its statements ran and must have rolled back", got)
	}
}

// failsHalfway plans three creates of which the last fails on the server:
// the directory says zz-team is a group, and the plan creates it as a
// user, after two creates that succeed. It returns the server's principals
// before anything ran.
func failsHalfway(t *testing.T) (*pgtest.Cluster, *pgx.Conn, []string, apply.Job) {
	t.Helper()
	c := pgtest.New(t)
	c.AddDirectoryObject(t, "zz-team", "group", pgtest.ObjectID("zz-team"))
	conn, _ := c.AdminConn(t)
	before := principals(t, c)
	job := plan(t, conn, desired(false, principal("a-first", spec.User), principal("b-second", spec.Service), principal("zz-team", spec.User)))
	return c, conn, before, job
}

func TestFailedStatementRollsBackTheServer(t *testing.T) {
	c, conn, before, job := failsHalfway(t)

	err := apply.Apply(context.Background(), conn, job)
	var se *apply.StatementError
	if !errors.As(err, &se) {
		t.Fatalf("Apply error = %v, want *StatementError", err)
	}
	if se.Change.Principal != "zz-team" {
		t.Errorf("failed principal = %q, want zz-team", se.Change.Principal)
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "XX000" {
		t.Errorf("error does not carry the server's XX000: %v", err)
	}
	if diff := cmp.Diff(before, principals(t, c)); diff != "" {
		t.Errorf("server changed after a failed apply (-before +after):\n%s", diff)
	}
	// The connection is usable again.
	if _, err := inspect.Inspect(context.Background(), conn, inspect.Asked{}); err != nil {
		t.Errorf("inspect after a failed apply: %v", err)
	}
}

// A plan longer than the pipeline sends at once still applies in four round
// trips, and a failure after several sends names its statement and rolls
// back everything sent before it.
func TestLongPlanIsOnePipeline(t *testing.T) {
	c := pgtest.New(t)
	c.AddDirectoryObject(t, "zz-team", "group", pgtest.ObjectID("zz-team"))
	conn, rt := c.AdminConn(t)
	before := principals(t, c)
	var ps []spec.Principal
	for i := range 1200 {
		ps = append(ps, principal(fmt.Sprintf("svc-%04d", i), spec.Service))
	}
	// Sorted last, and created as a user where the directory says group.
	failing := append(ps, principal("zz-team", spec.User))
	job := plan(t, conn, desired(false, failing...))
	err := apply.Apply(context.Background(), conn, job)
	var se *apply.StatementError
	if !errors.As(err, &se) || se.Change.Principal != "zz-team" {
		t.Fatalf("Apply error = %v, want a *StatementError for zz-team", err)
	}
	if diff := cmp.Diff(before, principals(t, c)); diff != "" {
		t.Errorf("server changed after a failed apply (-before +after):\n%s", diff)
	}

	job = plan(t, conn, desired(false, ps...))
	rt.Reset()
	if err := apply.Apply(context.Background(), conn, job); err != nil {
		t.Fatal(err)
	}
	if got := rt.Count(); got > 4 {
		t.Errorf("apply of 1,200 creates took %d round trips, want at most 4", got)
	}
	if got := len(principals(t, c)); got != 1201 {
		t.Errorf("server has %d principals, want 1201 (1,200 and the admin)", got)
	}
}

func TestStalePlanTouchesNothing(t *testing.T) {
	c := pgtest.New(t)
	conn, _ := c.AdminConn(t)
	job := plan(t, conn, desired(false, principal("new-one", spec.User)))
	// Someone adds a principal by hand between plan and apply.
	c.SuperExec(t, `SELECT pg_catalog.pgaadauth_create_principal_with_oid('by-hand', $1, 'user', false, false)`, pgtest.ObjectID("by-hand"))
	before := principals(t, c)

	err := apply.Apply(context.Background(), conn, job)
	var stale *apply.StaleError
	if !errors.As(err, &stale) {
		t.Fatalf("Apply error = %v, want *StaleError", err)
	}
	if diff := cmp.Diff([]string{"by-hand: created since the plan"}, stale.Changes); diff != "" {
		t.Errorf("stale changes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(before, principals(t, c)); diff != "" {
		t.Errorf("a stale plan changed the server (-before +after):\n%s", diff)
	}
}

func TestSecondApplyFailsFastOnTheLock(t *testing.T) {
	c := pgtest.New(t)
	ctx := context.Background()
	holder := c.SuperIn(t, "postgres")
	if _, err := holder.Exec(ctx, `SELECT pg_advisory_lock($1)`, apply.LockKey); err != nil {
		t.Fatal(err)
	}
	conn, _ := c.AdminConn(t)
	job := plan(t, conn, desired(false, principal("x", spec.User)))
	if err := apply.Apply(ctx, conn, job); !errors.Is(err, apply.ErrLocked) {
		t.Fatalf("Apply error = %v, want ErrLocked", err)
	}
	if got := len(principals(t, c)); got != 1 {
		t.Errorf("server has %d principals, want only the admin", got)
	}
}

func TestRehearseLeavesNothingBehind(t *testing.T) {
	c := pgtest.New(t)
	c.SuperExec(t, `CREATE ROLE reporting NOLOGIN`)
	conn, _ := c.AdminConn(t)
	before := principals(t, c)
	job := plan(t, conn, desired(false, principal("r1", spec.User, "reporting"), principal("r2", spec.Group)))
	if err := apply.Run(context.Background(), conn, job, apply.Rollback); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, principals(t, c)); diff != "" {
		t.Errorf("rehearsal changed the server (-before +after):\n%s", diff)
	}
	// The same job still applies: the rehearsal changed nothing it saw.
	if err := apply.Apply(context.Background(), conn, job); err != nil {
		t.Fatal(err)
	}
}

func TestInspectOutsideThePostgresDatabase(t *testing.T) {
	c := pgtest.New(t)
	c.SuperExec(t, `CREATE DATABASE other`)
	cfg := c.AdminConfig(t)
	cfg.Database = "other"
	cfg.DefaultQueryExecMode = pgx.QueryExecModeExec
	conn, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	_, err = inspect.Inspect(context.Background(), conn, inspect.Asked{})
	if err == nil || !strings.Contains(err.Error(), `the database "postgres"`) {
		t.Errorf("inspect in another database: %v, want advice naming the postgres database", err)
	}
}
