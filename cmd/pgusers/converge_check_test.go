package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pgusers/pgusers/pkg/report"
)

// convergeWorld is the one cluster a convergence test runs its cases on,
// one after the other, reset between them.
type convergeWorld struct {
	f        *fixture
	baseline []string // the roles the cluster had before any case: reset keeps these
	last     *convergeCase
	// outcomes count the cases that passed by how: their first plan was
	// refused, in sync, or had changes that one apply made.
	outcomes  map[string]int
	shrinking bool // cases run by shrink are not counted
}

func newConvergeWorld(t *testing.T) *convergeWorld {
	t.Helper()
	f := newFixture(t)
	return &convergeWorld{f: f, outcomes: map[string]int{}, baseline: f.c.SuperStrings(t, "postgres", `SELECT rolname::text FROM pg_roles ORDER BY 1`)}
}

// caseFailure is a check a case failed, and what it saw.
type caseFailure struct {
	check  string // one line: what must hold and did not
	detail string
}

// superExec runs sql as the superuser in database db.
func (w *convergeWorld) superExec(db, sql string) error {
	ctx := context.Background()
	config, err := w.f.c.SuperConfig()
	if err != nil {
		return err
	}
	config.Database = db
	conn, err := pgx.ConnectConfig(ctx, config)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

// reset drops what the last case made: its databases first (with their
// objects, privileges and default privileges), then every role the
// cluster did not have at the start, and the group sync setting.
func (w *convergeWorld) reset(t *testing.T) {
	t.Helper()
	if w.last == nil {
		return
	}
	for _, db := range w.last.Databases {
		w.f.c.SuperExec(t, "DROP DATABASE IF EXISTS "+sqlIdent(db)+" WITH (FORCE)")
	}
	extra := w.f.c.SuperStrings(t, "postgres", `SELECT rolname::text FROM pg_roles WHERE NOT rolname = ANY($1) AND rolname !~ '^pg_'`, w.baseline)
	for _, r := range extra {
		w.f.c.SuperExec(t, "DROP OWNED BY "+sqlIdent(r))
	}
	if len(extra) > 0 {
		quoted := make([]string, len(extra))
		for i, r := range extra {
			quoted[i] = sqlIdent(r)
		}
		w.f.c.SuperExec(t, "DROP ROLE "+strings.Join(quoted, ", "))
	}
	w.f.c.SuperExec(t, `ALTER DATABASE postgres RESET pgaadauth.enable_group_sync`)
	w.last = nil
}

// setup resets the cluster and makes c's server state; an error is a fact
// that cannot run (a shrink dropped what it needs).
func (w *convergeWorld) setup(t *testing.T, c *convergeCase) error {
	t.Helper()
	w.reset(t)
	w.last = c
	for _, db := range c.Databases {
		if err := w.superExec("postgres", "CREATE DATABASE "+sqlIdent(db)); err != nil {
			return err
		}
	}
	for _, f := range c.Facts {
		if err := w.superExec(f.DB, f.SQL); err != nil {
			return fmt.Errorf("fact %q in %s: %w", f.SQL, f.DB, err)
		}
	}
	return nil
}

// dumpRolesSQL and dumpDatabaseSQL are what a case's checks compare byte for byte: roles with their
// oids and attributes, memberships, Entra principals, and every owner and
// access list the case's databases hold (databases, schemas, relations,
// columns, functions, default privileges).
const dumpRolesSQL = `
SELECT format('role %s oid=%s login=%s inherit=%s comment=%s', r.rolname, r.oid, r.rolcanlogin, r.rolinherit, shobj_description(r.oid, 'pg_authid'))
FROM pg_roles r WHERE r.rolname !~ '^pg_'
UNION ALL
SELECT format('member %s in %s admin=%s by %s', m.member::regrole, m.roleid::regrole, m.admin_option, m.grantor::regrole) FROM pg_auth_members m
UNION ALL
SELECT format('principal %s %s %s admin=%s mfa=%s', p.rolname, p.principaltype, p.objectid, p.isadmin, p.ismfa) FROM pg_catalog.pgaadauth_list_principals(false) p
UNION ALL
SELECT format('database %s owner=%s acl=%s', d.datname, d.datdba::regrole, d.datacl) FROM pg_database d WHERE d.datname = ANY($1)
UNION ALL
SELECT format('setting %s %s', s.setdatabase, s.setconfig) FROM pg_db_role_setting s
ORDER BY 1`

const dumpDatabaseSQL = `
SELECT format('schema %s owner=%s acl=%s', n.nspname, n.nspowner::regrole, n.nspacl) FROM pg_namespace n
WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
UNION ALL
SELECT format('relation %s.%s kind=%s owner=%s acl=%s', n.nspname, c.relname, c.relkind, c.relowner::regrole, c.relacl)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
UNION ALL
SELECT format('column %s.%s.%s acl=%s', n.nspname, c.relname, a.attname, a.attacl)
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE a.attacl IS NOT NULL AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
UNION ALL
SELECT format('function %s owner=%s acl=%s', p.oid::regprocedure, p.proowner::regrole, p.proacl)
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
UNION ALL
SELECT format('defaults %s %s %s acl=%s', d.defaclrole::regrole, d.defaclnamespace::regnamespace, d.defaclobjtype, d.defaclacl) FROM pg_default_acl d
ORDER BY 1`

// dump is the state the checks compare, as the superuser reads it.
func (w *convergeWorld) dump(t *testing.T, c *convergeCase) string {
	t.Helper()
	lines := w.f.c.SuperStrings(t, "postgres", dumpRolesSQL, c.Databases)
	for _, db := range c.Databases {
		lines = append(lines, "-- "+db)
		lines = append(lines, w.f.c.SuperStrings(t, db, dumpDatabaseSQL)...)
	}
	return strings.Join(lines, "\n")
}

// runQuiet runs pgusers in-process as pgusers() does, without logging the
// run: a case runs a dozen and shows only those of a failure.
func runQuiet(e env, args ...string) result {
	var out, errOut bytes.Buffer
	e.stdout, e.stderr, e.stdin = &out, &errOut, strings.NewReader("")
	code := runCommand(context.Background(), args, e)
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}

func (r result) show(args ...string) string {
	return fmt.Sprintf("pgusers %s → exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
}

// runCase sets c up on a reset cluster and checks it: the first check that
// fails, nil when every one holds, or an error when the facts cannot run.
func (w *convergeWorld) runCase(t *testing.T, c *convergeCase) (*caseFailure, error) {
	t.Helper()
	if err := w.setup(t, c); err != nil {
		return nil, err
	}
	e := w.f.env
	file := w.f.file(t, "case.yaml", c.serverYAML())
	sel := []string{"-f", file}
	run := func(args ...string) result { return runQuiet(e, args...) }
	fail := func(check string, r result, args ...string) *caseFailure {
		return &caseFailure{check: check, detail: r.show(args...)}
	}

	planArgs := append(slices.Clone(sel), "--output", "json")
	first := run(append([]string{"plan"}, planArgs...)...)
	if first.code != exitOK && first.code != exitError {
		return fail("the plan neither succeeds nor fails cleanly", first, planArgs...), nil
	}
	firstReport, problem := planReport(first)
	if problem != "" {
		return fail(problem, first, planArgs...), nil
	}
	if f := w.viewsAgree(sel, firstReport); f != nil {
		return f, nil
	}
	refused := firstReport.Status == report.Error

	before := w.dump(t, c)
	dry := run(append([]string{"apply", "--dry-run=server"}, sel...)...)
	if after := w.dump(t, c); after != before {
		return &caseFailure{check: "apply --dry-run=server changed the server", detail: dry.show("apply --dry-run=server") + "\n" + dumpDiff(before, after)}, nil
	}
	if f := dryRunAgrees(dry, firstReport); f != nil {
		return f, nil
	}

	// Every other case applies a saved plan (plan --out, apply PLANFILE),
	// which apply recomputes: it must converge the same.
	applyArgs := append([]string{"apply", "--auto-approve", "--output", "json"}, sel...)
	if c.Seed%2 == 1 && !refused {
		planFile := filepath.Join(w.f.dir, "case-plan.json")
		if saved := run(append([]string{"plan", "--out", planFile}, sel...)...); saved.code != exitOK {
			return fail("plan --out fails where plan does not", saved, "plan --out"), nil
		}
		applyArgs = []string{"apply", planFile, "--auto-approve", "--output", "json"}
	}
	apply := run(applyArgs...)
	afterApply := w.dump(t, c)
	second := run(append([]string{"plan"}, planArgs...)...)
	secondReport, problem := planReport(second)
	switch {
	case refused:
		// The first plan named why it cannot be made (a blocker, an error
		// of the plan): apply must refuse it the same way, change nothing,
		// and the next plan must say the same.
		if apply.code != exitError {
			return fail("a plan that is refused applies", apply, "apply"), nil
		}
		if afterApply != before {
			return &caseFailure{check: "a refused apply changed the server", detail: apply.show("apply") + "\n" + dumpDiff(before, afterApply)}, nil
		}
		if problem != "" || secondReport.Status != report.Error || secondReport.Error != firstReport.Error {
			return &caseFailure{check: "a refused plan does not refuse the same way twice", detail: first.show("plan") + "\n" + second.show("plan")}, nil
		}
	default:
		if apply.code != exitOK {
			return fail("apply of a plan that is not refused fails", apply, "apply"), nil
		}
		applied, applyProblem := planReport(apply)
		wantStatus := map[report.Status]report.Status{report.InSync: report.InSync, report.Changes: report.Applied}[firstReport.Status]
		if applyProblem != "" || applied.Status != wantStatus || len(applied.Changes) != len(firstReport.Changes) {
			return &caseFailure{check: "the apply's JSON report does not say what the plan's did", detail: first.show("plan") + "\n" + apply.show("apply")}, nil
		}
		// What remains may only be what the first plan named as blocked.
		blockedOnly := len(firstReport.Blockers) > 0 && len(secondReport.Changes) == 0 &&
			slices.Equal(firstReport.Blockers, secondReport.Blockers)
		if problem != "" || (secondReport.Status != report.InSync && !blockedOnly) {
			return &caseFailure{check: "the plan after one apply is not empty", detail: first.show("first plan") + "\n" + apply.show("apply") + "\n" + second.show("plan after apply")}, nil
		}
		// What the plan withholds it says on every plan, the first too.
		if !slices.EqualFunc(firstReport.Withheld, secondReport.Withheld, func(a, b report.Withheld) bool { return a == b }) {
			return &caseFailure{check: "the plan after one apply withholds what the first plan did not", detail: first.show("first plan") + "\n" + second.show("plan after apply")}, nil
		}
		// A cell a blocker holds back cannot be exact, nor one whose
		// changes the plan withheld; every other must be.
		if f := w.cellsExact(t, file, secondReport.Withheld); f != nil && !blockedOnly {
			f.detail += "\n" + apply.show("apply")
			return f, nil
		}
	}

	again := run(append([]string{"apply", "--auto-approve"}, sel...)...)
	if after := w.dump(t, c); after != afterApply {
		return &caseFailure{check: "a second apply changed the server", detail: again.show("apply") + "\n" + dumpDiff(afterApply, after)}, nil
	}
	if f, err := w.exportConverges(t, c); f != nil || err != nil {
		return f, err
	}
	if !refused {
		if f := w.repairsDrift(t, c, sel); f != nil {
			return f, nil
		}
	}
	switch {
	case w.shrinking:
	case refused:
		w.outcomes["refused"]++
		why := strings.SplitN(firstReport.Error, "\n", 3) // "cannot plan:" and the first reason
		t.Logf("seed %d: refused: %s", c.Seed, strings.Join(why[:min(2, len(why))], " "))
	case firstReport.Status == report.InSync:
		w.outcomes["in sync"]++
	default:
		w.outcomes["converged in one apply"]++
	}
	return nil, nil
}

// repairsDrift runs the case's grants, revokes, default privileges and
// comments again, as someone undoing the apply by hand would (errors, such
// as a grant to a role the apply dropped, are ignored), and wants one apply
// to converge again.
func (w *convergeWorld) repairsDrift(t *testing.T, c *convergeCase, sel []string) *caseFailure {
	t.Helper()
	for _, f := range c.Facts {
		if strings.HasPrefix(f.SQL, "GRANT ") || strings.HasPrefix(f.SQL, "REVOKE ") || strings.HasPrefix(f.SQL, "ALTER DEFAULT PRIVILEGES ") ||
			strings.HasPrefix(f.SQL, "COMMENT ON ") || strings.HasPrefix(f.SQL, "SET ROLE ") {
			_ = w.superExec(f.DB, f.SQL)
		}
	}
	apply := runQuiet(w.f.env, append([]string{"apply", "--auto-approve"}, sel...)...)
	if apply.code != exitOK {
		return &caseFailure{check: "the apply that repairs drift fails", detail: apply.show("apply")}
	}
	if plan := runQuiet(w.f.env, append([]string{"plan", "--detailed-exitcode"}, sel...)...); plan.code != exitOK {
		return &caseFailure{check: "the plan after the apply that repairs drift is not empty", detail: apply.show("apply") + "\n" + plan.show("plan")}
	}
	return nil
}

// planReport decodes a plan's JSON report of the one server, or says why
// it cannot.
func planReport(r result) (report.Server, string) {
	var rep report.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		return report.Server{}, "the plan's stdout is not the JSON report: " + err.Error()
	}
	if len(rep.Servers) != 1 {
		return report.Server{}, fmt.Sprintf("the plan's JSON report has %d servers, want 1", len(rep.Servers))
	}
	return rep.Servers[0], ""
}

// dumpDiff lists the lines only a has (-) and only b has (+).
func dumpDiff(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for _, l := range la {
		if !slices.Contains(lb, l) {
			out = append(out, "- "+l)
		}
	}
	for _, l := range lb {
		if !slices.Contains(la, l) {
			out = append(out, "+ "+l)
		}
	}
	return strings.Join(out, "\n")
}
