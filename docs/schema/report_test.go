package schema_test

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pgusers/pgusers/pkg/diff"
	"github.com/pgusers/pgusers/pkg/report"
	"github.com/pgusers/pgusers/pkg/spec"
)

// TestReportGoldens validates the report package's JSON golden files
// against the strict report schema.
func TestReportGoldens(t *testing.T) {
	c := compile(t, true)
	files, err := filepath.Glob(filepath.Join(root, "pkg/report/testdata/*.json.golden"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no pkg/report/testdata/*.json.golden")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.validate(reportSchema, data); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestReports validates reports built in-process, as plan and apply print
// them, against the strict report schema: every field the report has
// appears in one of them.
func TestReports(t *testing.T) {
	c := compile(t, true)
	for name, r := range reports(t) {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := report.JSON(&b, r); err != nil {
				t.Fatal(err)
			}
			if err := c.validate(reportSchema, b.Bytes()); err != nil {
				t.Errorf("%v\n%s", err, b.Bytes())
			}
		})
	}
}

// TestReportFields checks that the reports of TestReports between them
// hold every field of the report's types, so that every part of the
// schema is validated against real output.
func TestReportFields(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range reports(t) {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		collectKeys(v, seen)
	}
	for _, typ := range []any{report.Report{}, report.Server{}, report.Change{}, report.Kept{}, report.Withheld{}, report.Blocker{},
		report.Cleanup{}, report.Failed{}, report.Managed{}, report.ManagedKind{}, report.Summary{}} {
		for _, f := range jsonFields(reflect.TypeOf(typ)) {
			// No code writes objects: pgusers' statements cover every
			// object of a kind in a schema.
			if !seen[f.name] && f.name != "objects" {
				t.Errorf("%T: no report of the fixture has %q", typ, f.name)
			}
		}
	}
}

func collectKeys(v any, seen map[string]bool) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			seen[k] = true
			collectKeys(x, seen)
		}
	case []any:
		for _, x := range v {
			collectKeys(x, seen)
		}
	}
}

// TestErrorsDocument: the document --output json prints for problems in
// the files or on the command line.
func TestErrorsDocument(t *testing.T) {
	c := compile(t, true)
	valid := []string{
		`{"formatVersion": "1", "errors": [{"file": "pgusers.yaml", "line": 3, "column": 5, "message": "server s: host is required"}]}`,
		`{"formatVersion": "1", "errors": [{"file": "a.yaml", "line": 2, "message": "invalid YAML: did not find expected key"}, {"message": "unknown flag: --nope"}]}`,
		`{"formatVersion": "1", "errors": [{"file": "", "line": 0, "column": 0, "message": "no pgusers.yaml in the working directory"}]}`,
	}
	invalid := []string{
		`{"formatVersion": "1", "errors": []}`,
		`{"formatVersion": "2", "errors": [{"message": "x"}]}`,
		`{"formatVersion": "1", "errors": [{"file": "a.yaml", "line": 1}]}`,
		`{"formatVersion": "1", "errors": [{"message": "x", "line": -1}]}`,
		`{"errors": [{"message": "x"}]}`,
		// Both shapes at once match neither alone.
		`{"formatVersion": "1", "errors": [{"message": "x"}], "servers": [], "summary": {}}`,
	}
	for _, doc := range valid {
		if err := c.validate(reportSchema, []byte(doc)); err != nil {
			t.Errorf("%s: %v", doc, err)
		}
	}
	for _, doc := range invalid {
		if err := c.validate(reportSchema, []byte(doc)); err == nil {
			t.Errorf("%s: valid, want invalid", doc)
		}
	}
}

// TestReportGrows: the published schema lets a report carry fields it does
// not describe (the report promises that fields may be added); the strict
// variant the other tests use does not.
func TestReportGrows(t *testing.T) {
	lenient, strict := compile(t, false), compile(t, true)
	var b bytes.Buffer
	if err := report.JSON(&b, reports(t)["plan"]); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	doc["servers"].([]any)[0].(map[string]any)["newField"] = 1
	grown, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := lenient.validate(reportSchema, grown); err != nil {
		t.Errorf("the published schema refuses a new field: %v", err)
	}
	if err := strict.validate(reportSchema, grown); err == nil || !strings.Contains(err.Error(), "newField") {
		t.Errorf("the strict variant accepts a field it does not describe: %v", err)
	}
}

// TestReportEnumsMatchTheCode compares the report schema's enums with the
// values the code defines.
func TestReportEnumsMatchTheCode(t *testing.T) {
	s := readAll(t)
	enum := func(ptr string) []string {
		_, m := s.at(t, reportSchema, ptr)
		var out []string
		for _, v := range m["enum"].([]any) {
			out = append(out, v.(string))
		}
		return out
	}
	var actions []string
	for _, a := range diff.Actions {
		actions = append(actions, string(a))
	}
	if got := enum("#/$defs/action"); !slices.Equal(got, actions) {
		t.Errorf("action: the schema has %q, diff.Actions %q", got, actions)
	}
	var kinds []string
	for _, k := range spec.Kinds {
		kinds = append(kinds, string(k))
	}
	if got := enum("#/$defs/kind"); !slices.Equal(got, kinds) {
		t.Errorf("kind: the schema has %q, spec.Kinds %q", got, kinds)
	}
	var privileges []string
	for _, k := range spec.Kinds {
		for _, p := range spec.Privileges(k) {
			if !slices.Contains(privileges, p) {
				privileges = append(privileges, p)
			}
		}
	}
	got := enum("#/$defs/privilege")
	if a, b := slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(privileges)); !slices.Equal(a, b) {
		t.Errorf("privilege: the schema has %q, spec.Privileges %q", a, b)
	}
	statuses := []string{string(report.InSync), string(report.Changes), string(report.Applied), string(report.Error), string(report.Unknown)}
	if got := enum("#/$defs/status"); !slices.Equal(got, statuses) {
		t.Errorf("status: the schema has %q, want %q", got, statuses)
	}
	var dependencies []string
	for _, d := range []diff.DependencyKind{diff.Owner, diff.Privileges, diff.Policy, diff.InitialPrivileges} {
		dependencies = append(dependencies, string(d))
	}
	_, m := s.at(t, reportSchema, "#/$defs/dependency/anyOf/0")
	var gotDeps []string
	for _, v := range m["enum"].([]any) {
		gotDeps = append(gotDeps, v.(string))
	}
	if !slices.Equal(gotDeps, dependencies) {
		t.Errorf("dependency: the schema has %q, the code %q", gotDeps, dependencies)
	}
	// errorKind: the words report.Kind returns, read from its source.
	errorKinds := errorKinds(t)
	if got := enum("#/$defs/errorKind"); !slices.Equal(slices.Sorted(slices.Values(got)), errorKinds) {
		t.Errorf("errorKind: the schema has %q, report.Kind returns %q", got, errorKinds)
	}
	c := compile(t, true)
	for _, k := range []diff.DependencyKind{diff.KindOf("x"), diff.KindOf("o")} {
		doc := `{"formatVersion": "1", "servers": [{"name": "s", "host": "h", "status": "error", "error": "e", "changes": [], "principals": 1,
			"blockers": [{"principal": "p", "database": "", "dependency": "` + string(k) + `", "count": 1}]}],
			"summary": {"create": 0, "drop": 0, "replace": 0, "grant": 0, "revoke": 0, "rename": 0, "createRole": 0, "alterRole": 0,
			"dropRole": 0, "grantPrivileges": 0, "revokePrivileges": 0, "grantDefaults": 0, "revokeDefaults": 0,
			"inSync": 0, "withChanges": 0, "applied": 0, "failed": 1, "unknown": 0}}`
		if err := c.validate(reportSchema, []byte(doc)); err != nil {
			t.Errorf("dependency %q: %v", k, err)
		}
	}
}

// errorKinds are the string literals function Kind of package report
// returns, sorted: the values of errorKind.
func errorKinds(t *testing.T) []string {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join(root, "pkg/report/*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Name.Name != "Kind" || fn.Recv != nil {
				continue
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				if ret, ok := n.(*ast.ReturnStmt); ok && len(ret.Results) == 1 {
					if lit, ok := ret.Results[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						k, err := strconv.Unquote(lit.Value)
						if err != nil {
							t.Fatal(err)
						}
						kinds = append(kinds, k)
					}
				}
				return true
			})
		}
	}
	if len(kinds) < 5 {
		t.Fatalf("found %d errorKinds in report.Kind: %q", len(kinds), kinds)
	}
	slices.Sort(kinds)
	return slices.Compact(kinds)
}
