package bench

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/pgusers/pgusers/internal/pgtest"
	"github.com/pgusers/pgusers/pkg/diff"
	"github.com/pgusers/pgusers/pkg/inspect"
)

// The reads of pg_shdepend before they became one statement that only
// aggregates: the reference BenchmarkOwnershipRead measures against and
// TestOwnershipReadAsBefore compares with. Two statements, each scanning
// pg_shdepend; the second joins the owner entries with the privilege
// entries, which a planner misled by stale statistics once ran as 300,000
// index probes (1.9 s).
const (
	dependenciesBefore = `SELECT r.rolname::text, coalesce(d.datname::text, ''), s.deptype::text, count(*)::int
FROM pg_catalog.pg_shdepend s
JOIN pg_catalog.pg_roles r ON r.oid = s.refobjid
LEFT JOIN pg_catalog.pg_database d ON d.oid = s.dbid
WHERE s.refclassid = 'pg_catalog.pg_authid'::pg_catalog.regclass
GROUP BY r.rolname, d.datname, s.deptype`
	heldFromBefore = `WITH o AS MATERIALIZED (
  SELECT dbid, classid, objid, refobjid FROM pg_catalog.pg_shdepend
  WHERE deptype = 'o' AND refclassid = 'pg_catalog.pg_authid'::pg_catalog.regclass
), a AS MATERIALIZED (
  SELECT dbid, classid, objid, refobjid FROM pg_catalog.pg_shdepend
  WHERE deptype = 'a' AND refclassid = 'pg_catalog.pg_authid'::pg_catalog.regclass
), h AS (
  SELECT DISTINCT a.refobjid AS holder, a.dbid, o.refobjid AS owner
  FROM a JOIN o ON o.dbid = a.dbid AND o.classid = a.classid AND o.objid = a.objid
  WHERE a.refobjid <> o.refobjid
)
SELECT r.rolname::text, coalesce(d.datname::text, ''), w.rolname::text, w.rolsuper
FROM h
JOIN pg_catalog.pg_roles r ON r.oid = h.holder
JOIN pg_catalog.pg_roles w ON w.oid = h.owner
LEFT JOIN pg_catalog.pg_database d ON d.oid = h.dbid`
)

// ownershipStatements are the statements of the postgres read that scan
// pg_shdepend, as the read sends them.
func ownershipStatements(tb testing.TB) []string {
	tb.Helper()
	var out []string
	for _, sql := range inspect.Statements() {
		if strings.Contains(sql, "pg_shdepend") {
			out = append(out, sql)
		}
	}
	if len(out) == 0 {
		tb.Fatal("no statement of the postgres read scans pg_shdepend")
	}
	return out
}

// readBefore runs the reads of before on conn, as one batch, into what the
// read reports.
func readBefore(tb testing.TB, conn *pgx.Conn) ([]diff.Dependency, []diff.HeldFrom) {
	tb.Helper()
	ctx := context.Background()
	b := &pgx.Batch{}
	b.Queue(dependenciesBefore)
	b.Queue(heldFromBefore)
	br := conn.SendBatch(ctx, b)
	defer br.Close()
	rows, _ := br.Query()
	deps, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (diff.Dependency, error) {
		var d diff.Dependency
		var deptype string
		err := row.Scan(&d.Principal, &d.Database, &deptype, &d.Count)
		d.Kind = diff.KindOf(deptype)
		return d, err
	})
	if err != nil {
		tb.Fatal(err)
	}
	rows, _ = br.Query()
	held, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (diff.HeldFrom, error) {
		var h diff.HeldFrom
		err := row.Scan(&h.Principal, &h.Database, &h.Owner, &h.Super)
		return h, err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return deps, held
}

// sendAll sends statements as one batch and reads every row.
func sendAll(tb testing.TB, conn *pgx.Conn, statements ...string) {
	tb.Helper()
	b := &pgx.Batch{}
	for _, sql := range statements {
		b.Queue(sql)
	}
	if err := conn.SendBatch(context.Background(), b).Close(); err != nil {
		tb.Fatal(err)
	}
}

// TestOwnershipReadAsBefore compares what the read reports of pg_shdepend
// with what the reads before reported, on a state that has every kind of
// entry: owners, grantees and grantors of tables, columns, schemas,
// sequences, functions, types, large objects and default privileges, a
// policy, objects of the bootstrap superuser, a database owned by a
// principal, in two databases.
func TestOwnershipReadAsBefore(t *testing.T) {
	c := pgtest.New(t)
	for _, p := range []string{"ent-owner", "ent-reader", `ent "odd", name`} {
		c.SuperExec(t, `SELECT pg_catalog.pgaadauth_create_principal_with_oid($1, $2, 'service', false, false)`, p, pgtest.ObjectID(p))
	}
	c.SuperExec(t, `CREATE ROLE app_owner NOLOGIN`)
	c.SuperExec(t, `CREATE ROLE reader NOLOGIN`)
	c.SuperExec(t, `CREATE ROLE grantor NOLOGIN`)
	c.SuperExec(t, `CREATE ROLE su SUPERUSER NOLOGIN`)
	c.CreateDatabase(t, "one", "app_owner")
	c.CreateDatabase(t, "two", "ent-owner")
	odd := pgx.Identifier{`ent "odd", name`}.Sanitize()
	in := func(db string) {
		c.SuperExecIn(t, db,
			`CREATE SCHEMA app AUTHORIZATION app_owner`,
			`CREATE TABLE app.t1 (a int, b int)`, `ALTER TABLE app.t1 OWNER TO app_owner`,
			`CREATE TABLE app.t2 (a int)`, `ALTER TABLE app.t2 OWNER TO "ent-owner"`,
			`CREATE TABLE app.t3 (a int)`, // the bootstrap superuser's: no owner entry
			`CREATE TABLE app.t4 (a int)`, `ALTER TABLE app.t4 OWNER TO su`,
			`CREATE SEQUENCE app.q`, `ALTER SEQUENCE app.q OWNER TO app_owner`,
			`CREATE FUNCTION app.f() RETURNS int LANGUAGE sql AS 'SELECT 1'`, `ALTER FUNCTION app.f() OWNER TO "ent-owner"`,
			`CREATE TYPE app.e AS ENUM ('x')`, `ALTER TYPE app.e OWNER TO app_owner`,
			`GRANT USAGE ON SCHEMA app TO "ent-reader", reader, grantor`,
			`GRANT SELECT ON app.t1, app.t2, app.t3, app.t4 TO "ent-reader"`,
			`GRANT SELECT ON app.t1 TO grantor WITH GRANT OPTION`,
			`SET ROLE grantor`, `GRANT SELECT ON app.t1 TO `+odd, `RESET ROLE`,
			`GRANT SELECT (a), UPDATE (a, b) ON app.t1 TO reader`,
			`GRANT UPDATE (a) ON app.t2 TO "ent-reader"`,
			`GRANT USAGE ON SEQUENCE app.q TO "ent-reader"`,
			`GRANT EXECUTE ON FUNCTION app.f() TO reader`,
			`GRANT USAGE ON TYPE app.e TO `+odd,
			`ALTER DEFAULT PRIVILEGES FOR ROLE app_owner IN SCHEMA app GRANT SELECT ON TABLES TO "ent-reader"`,
			`ALTER DEFAULT PRIVILEGES FOR ROLE "ent-owner" GRANT EXECUTE ON FUNCTIONS TO reader`,
			`ALTER TABLE app.t1 ENABLE ROW LEVEL SECURITY`,
			`CREATE POLICY p ON app.t1 TO "ent-reader" USING (true)`,
			// A policy's role holds no privilege: ent-owner holds none of su's.
			`CREATE POLICY p ON app.t4 TO "ent-owner" USING (true)`,
			`SELECT lo_create(4242)`, `ALTER LARGE OBJECT 4242 OWNER TO "ent-owner"`,
			`GRANT SELECT ON LARGE OBJECT 4242 TO reader`,
		)
	}
	in("one")
	in("two")
	conn, _ := c.AdminConn(t)
	roles := c.SuperStrings(t, "postgres", `SELECT rolname::text FROM pg_roles`)
	o, err := inspect.Inspect(context.Background(), conn, inspect.Asked{Names: roles})
	if err != nil {
		t.Fatal(err)
	}
	deps, held := readBefore(t, conn)
	before := diff.Observed{Dependencies: deps, HeldFrom: held}
	before.Normalize()
	if len(before.HeldFrom) < 10 || len(before.Dependencies) < 10 {
		t.Fatalf("the state is not rich: %d dependency counts, %d held from", len(before.Dependencies), len(before.HeldFrom))
	}
	if d := cmp.Diff(before.Dependencies, o.Dependencies); d != "" {
		t.Errorf("dependencies (-before +now):\n%s", d)
	}
	if d := cmp.Diff(before.HeldFrom, o.HeldFrom); d != "" {
		t.Errorf("held from (-before +now):\n%s", d)
	}
}

// plannerSettings are the choices a planner misled by statistics can make,
// forced: no hash, no merge, no sort, no index. Each must leave the read
// linear.
var plannerSettings = [][]string{
	nil,
	{"enable_hashjoin", "enable_mergejoin"},
	{"enable_hashjoin", "enable_mergejoin", "enable_hashagg"},
	{"enable_hashjoin", "enable_sort", "enable_indexscan", "enable_bitmapscan"},
	{"enable_nestloop"},
}

// planWork is what a plan did: the rows every node produced and those its
// filters removed, over all its loops (EXPLAIN ANALYZE gives both per loop).
// A quadratic plan does work that grows with the product of its sides.
func planWork(node map[string]any) float64 {
	num := func(k string) float64 { f, _ := node[k].(float64); return f }
	work := (num("Actual Rows") + num("Rows Removed by Filter") + num("Rows Removed by Join Filter")) * max(1, num("Actual Loops"))
	children, _ := node["Plans"].([]any)
	for _, c := range children {
		if m, ok := c.(map[string]any); ok {
			work += planWork(m)
		}
	}
	return work
}

// worstWork runs each of statements under each of plannerSettings and
// returns the most work a plan did, and the settings it took.
func worstWork(t *testing.T, conn *pgx.Conn, statements []string) (float64, []string) {
	t.Helper()
	ctx := context.Background()
	var worst float64
	var worstSettings []string
	for _, settings := range plannerSettings {
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range settings {
			if _, err := tx.Exec(ctx, `SET LOCAL `+s+` = off`); err != nil {
				t.Fatal(err)
			}
		}
		for _, sql := range statements {
			var plans []map[string]any
			if err := tx.QueryRow(ctx, `EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) `+sql).Scan(&plans); err != nil {
				t.Fatal(err)
			}
			plan, _ := plans[0]["Plan"].(map[string]any)
			if w := planWork(plan); w > worst {
				worst, worstSettings = w, settings
			}
		}
		if err := tx.Rollback(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return worst, worstSettings
}

// TestOwnershipReadIsNeverQuadratic runs the read of pg_shdepend under every
// plan a planner misled by statistics could choose (forced by turning the
// others off) on 400 tables granted to 10 roles (4,400 entries), and
// bounds the work of the worst plan by a multiple of the entries. The reads
// before exceed it: with hash and merge joins off, they joined the owner
// and privilege entries by a nested loop, 4,000 × 400.
func TestOwnershipReadIsNeverQuadratic(t *testing.T) {
	c := pgtest.New(t)
	c.SuperExec(t, `CREATE ROLE app_owner NOLOGIN`)
	var grantees []string
	for i := range privRoles {
		grantees = append(grantees, fmt.Sprintf("role_%02d", i))
		c.SuperExec(t, `CREATE ROLE `+grantees[i]+` NOLOGIN`)
	}
	c.CreateDatabase(t, "db1", "app_owner")
	c.SuperExecIn(t, "db1", `CREATE SCHEMA s AUTHORIZATION app_owner`, `SET ROLE app_owner`,
		`DO $$ BEGIN FOR i IN 1..400 LOOP EXECUTE format('CREATE TABLE s.t%s (id int)', i); END LOOP; END $$`,
		`GRANT SELECT ON ALL TABLES IN SCHEMA s TO `+strings.Join(grantees, ", "))
	entries, err := strconv.ParseFloat(c.SuperStrings(t, "postgres", `SELECT count(*)::text FROM pg_catalog.pg_shdepend`)[0], 64)
	if err != nil {
		t.Fatal(err)
	}
	conn, _ := c.AdminConn(t)
	const bound = 20 // the read now does 9 times the entries at worst
	if work, settings := worstWork(t, conn, ownershipStatements(t)); work > bound*entries {
		t.Errorf("the read of pg_shdepend did %.0f rows of work with %v off, over %d × the %.0f entries", work, settings, bound, entries)
	} else {
		t.Logf("the read: at worst %.1f × the entries (%v off)", work/entries, settings)
	}
	if work, _ := worstWork(t, conn, []string{dependenciesBefore, heldFromBefore}); work <= bound*entries {
		t.Errorf("the reads before did at worst %.0f rows of work, within %d × the %.0f entries: the bound proves nothing", work, bound, entries)
	} else {
		t.Logf("the reads before: at worst %.1f × the entries", work/entries)
	}
}

// ownershipCatalog is a cluster whose pg_shdepend holds databases × 3
// schemas × tables entries per table owner and per each of 10 roles
// granted SELECT on every table, with autovacuum off: its statistics stay
// as they were before the objects were made. With analyseFirst, pg_shdepend
// is analysed while it is nearly empty (statistics that are wrong: a
// handful of rows, none of them a privilege); else it is never analysed.
func ownershipCatalog(b *testing.B, databases, tables int, analyseFirst bool) (*pgtest.Cluster, time.Duration) {
	b.Helper()
	start := time.Now()
	c := pgtest.New(b)
	c.SuperExec(b, `ALTER SYSTEM SET autovacuum = off`)
	c.SuperExec(b, `SELECT pg_catalog.pg_reload_conf()`)
	if analyseFirst {
		c.SuperExec(b, `ANALYZE pg_catalog.pg_shdepend`)
	}
	c.SuperExec(b, `CREATE ROLE app_owner NOLOGIN`)
	var grantees []string
	for i := range privRoles {
		r := fmt.Sprintf("role_%02d", i)
		c.SuperExec(b, `CREATE ROLE `+r+` NOLOGIN`)
		grantees = append(grantees, r)
	}
	c.CreateDatabase(b, "db1", "app_owner")
	var setup []string
	for s := 1; s <= privSchemas; s++ {
		setup = append(setup, fmt.Sprintf(`CREATE SCHEMA s%d AUTHORIZATION app_owner`, s),
			`SET ROLE app_owner`,
			fmt.Sprintf(`DO $$ BEGIN FOR i IN 1..%d LOOP EXECUTE format('CREATE TABLE s%d.t%%s (id int)', i); END LOOP; END $$`, tables, s),
			fmt.Sprintf(`GRANT SELECT ON ALL TABLES IN SCHEMA s%d TO %s`, s, strings.Join(grantees, ", ")),
			`RESET ROLE`)
	}
	c.SuperExecIn(b, "db1", setup...)
	for d := 2; d <= databases; d++ {
		c.SuperExec(b, fmt.Sprintf(`CREATE DATABASE db%d TEMPLATE db1 OWNER app_owner`, d))
		b.Cleanup(func() { c.SuperExec(b, fmt.Sprintf(`DROP DATABASE IF EXISTS db%d WITH (FORCE)`, d)) })
	}
	stats := c.SuperStrings(b, "postgres", `SELECT count(*)::text FROM pg_catalog.pg_statistic WHERE starelid = 'pg_catalog.pg_shdepend'::pg_catalog.regclass`)
	if (stats[0] == "0") == analyseFirst {
		b.Fatalf("pg_shdepend has %s columns of statistics; want them only with analyseFirst (%v)", stats[0], analyseFirst)
	}
	return c, time.Since(start)
}

// BenchmarkOwnershipRead: the statements of the postgres read that scan
// pg_shdepend, against the reads before (one batch each, alternating run by
// run, medians), on a catalog of 5 databases × 3 schemas × 2,000 tables
// granted to 10 roles (330,000 entries) whose statistics were never
// analysed, and on the same catalog with statistics taken when it was
// nearly empty. Target: no plan is quadratic; it is no slower than before.
func BenchmarkOwnershipRead(b *testing.B) {
	for _, stats := range []string{"never-analysed", "analysed-when-empty"} {
		b.Run(stats, func(b *testing.B) {
			c, setup := ownershipCatalog(b, privDatabases, privTables, stats != "never-analysed")
			b.Logf("setup: %v", setup)
			conn, _ := c.AdminConn(b)
			now := ownershipStatements(b)
			sendAll(b, conn, now...) // warm the caches
			sendAll(b, conn, dependenciesBefore, heldFromBefore)
			times := map[string][]float64{}
			order := []string{"before", "now"}
			statements := map[string][]string{"before": {dependenciesBefore, heldFromBefore}, "now": now}
			for b.Loop() {
				for _, who := range order {
					t := time.Now()
					sendAll(b, conn, statements[who]...)
					times[who] = append(times[who], time.Since(t).Seconds()*1000)
				}
				slices.Reverse(order)
			}
			before, after := times["before"], times["now"]
			b.ReportMetric(median(after), "read-ms")
			b.ReportMetric(median(before), "before-ms")
			b.ReportMetric(median(after)/median(before), "read/before")
		})
	}
}
