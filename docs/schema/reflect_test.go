package schema_test

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/pgusers/pgusers/pkg/access"
	"github.com/pgusers/pgusers/pkg/diff"
	"github.com/pgusers/pgusers/pkg/planfile"
	"github.com/pgusers/pgusers/pkg/report"
	"github.com/pgusers/pgusers/pkg/spec"
)

// The reflection walk: a field added to the Go types of a document and
// not to its schema (or the other way round) fails CI.
//
// It starts at each document type with the schema object that describes
// it, and goes down field by field the way encoding/json encodes them:
//
//   - a struct's JSON fields (jsonFields) must be exactly the schema's
//     "properties" (but for the announced ones below), a field written
//     always (no omitempty) must be "required" and one left out when
//     empty must not be, and the schema must say "additionalProperties"
//     explicitly;
//   - each value's Go kind must be among the schema's "type"s: string,
//     boolean, integer (Go ints), number (floats), array (slices), object
//     (structs and maps); any (a statement's arguments) is anything;
//   - slices go on with "items", pointers with what they point to, fields
//     with their property's schema; "$ref"s are followed, the referring
//     schema's own keywords winning (schemas.at).
//
// Whether a nil slice may be null is left to the tests that validate
// documents pgusers wrote: it depends on what the code puts there, not on
// the type.
var roots = []struct {
	name   string
	typ    reflect.Type
	schema string // file#pointer
}{
	{"the report", reflect.TypeFor[report.Report](), reportSchema + "#/$defs/report"},
	{"a saved plan", reflect.TypeFor[planfile.Plan](), planSchema + "#/$defs/plan"},
	{"a planned server's desired entry", reflect.TypeFor[spec.Server](), planSchema + "#/$defs/desired"},
	{"a planned server's observed state", reflect.TypeFor[diff.Observed](), planSchema + "#/$defs/observed"},
	{"a planned server's plan", reflect.TypeFor[diff.Plan](), planSchema + "#/$defs/serverPlan"},
	{"an access review", reflect.TypeFor[access.Document](), accessSchema + "#/$defs/document"},
}

// announced are properties a schema describes before the Go types have
// them (a field announced to consumers ahead of the code that writes it),
// by Go type and JSON name, such as "report.Server.errorKind". None now.
var announced = map[string]bool{}

// jsonField is one field of a struct's JSON encoding.
type jsonField struct {
	name      string
	typ       reflect.Type
	omitEmpty bool
}

// jsonFields lists the fields encoding/json writes for struct type typ, in
// order: exported fields not tagged "-", named by their tag or else their
// Go name, with the fields of an embedded struct without a name of its own
// in the tag flattened into typ's (spec.Server's Connection).
func jsonFields(typ reflect.Type) []jsonField {
	var out []jsonField
	for f := range typ.Fields() {
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			t := f.Type
			if t.Kind() == reflect.Pointer {
				t = t.Elem()
			}
			if t.Kind() == reflect.Struct {
				out = append(out, jsonFields(t)...)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, jsonField{name: name, typ: f.Type, omitEmpty: slices.Contains(strings.Split(opts, ","), "omitempty")})
	}
	return out
}

// jsonType is the JSON type a Go kind encodes as, "" for any.
func jsonType(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Struct, reflect.Map:
		return "object"
	}
	return ""
}

// types are a schema's "type"s.
func types(m map[string]any) []string {
	switch v := m["type"].(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			out = append(out, x.(string))
		}
		return out
	}
	return nil
}

type walker struct {
	t       testing.TB // for the schemas' own faults (a $ref that leads nowhere)
	s       schemas
	errorf  func(format string, args ...any)
	visited int // structs walked, so that a walk that stops early shows
}

// walk checks the value of Go type typ against schema m of file at.
func (w *walker) walk(typ reflect.Type, file string, m map[string]any, at string) {
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	want := jsonType(typ.Kind())
	if want == "" {
		return // any: anything goes
	}
	if got := types(m); !slices.Contains(got, want) && !(want == "integer" && slices.Contains(got, "number")) {
		w.errorf("%s (Go %s): the schema's type is %q, want it to allow %q", at, typ, got, want)
		return
	}
	switch typ.Kind() {
	case reflect.Slice, reflect.Array:
		items, ok := m["items"].(map[string]any)
		if !ok {
			w.errorf("%s (Go %s): the schema has no items", at, typ)
			return
		}
		f, items := w.s.follow(w.t, file, items)
		w.walk(typ.Elem(), f, items, at+"[]")
	case reflect.Struct:
		w.structure(typ, file, m, at)
	}
}

func (w *walker) structure(typ reflect.Type, file string, m map[string]any, at string) {
	w.visited++
	props, _ := m["properties"].(map[string]any)
	var required []string
	if r, ok := m["required"].([]any); ok {
		for _, x := range r {
			required = append(required, x.(string))
		}
	}
	if _, ok := m["additionalProperties"].(bool); !ok {
		w.errorf("%s (Go %s): the schema does not say whether other properties may appear", at, typ)
	}
	fields := jsonFields(typ)
	for _, f := range fields {
		where := fmt.Sprintf("%s.%s (Go %s)", at, f.name, typ)
		p, ok := props[f.name].(map[string]any)
		if !ok {
			w.errorf("%s: not in the schema's properties", where)
			continue
		}
		switch isRequired := slices.Contains(required, f.name); {
		case !f.omitEmpty && !isRequired:
			w.errorf("%s: always written, and not required by the schema", where)
		case f.omitEmpty && isRequired:
			w.errorf("%s: left out when empty, and required by the schema", where)
		}
		pf, p := w.s.follow(w.t, file, p)
		w.walk(f.typ, pf, p, at+"."+f.name)
	}
	for name := range props {
		if !slices.ContainsFunc(fields, func(f jsonField) bool { return f.name == name }) && !announced[typ.String()+"."+name] {
			w.errorf("%s.%s: in the schema, and no field of Go %s", at, name, typ)
		}
	}
}

// TestSchemasDescribeTheGoTypes walks every document type of roots.
func TestSchemasDescribeTheGoTypes(t *testing.T) {
	s := readAll(t)
	for _, r := range roots {
		t.Run(r.name, func(t *testing.T) {
			file, ptr, _ := strings.Cut(r.schema, "#")
			file, m := s.at(t, file, "#"+ptr)
			w := &walker{t: t, s: s, errorf: t.Errorf}
			w.walk(r.typ, file, m, r.typ.String())
			if w.visited < 2 {
				t.Errorf("walked %d structs", w.visited)
			}
		})
	}
}

// TestTheWalkFindsAMissingField: the walk fails on a type with a field the
// schema lacks, one it has in excess, and an omitempty that disagrees.
func TestTheWalkFindsAMissingField(t *testing.T) {
	type kept struct {
		Principal string `json:"principal"`
		Why       string `json:"why"`
		Since     string `json:"since"`
	}
	type blocker struct {
		Principal string `json:"principal"`
		Database  string `json:"database,omitempty"`
	}
	s := readAll(t)
	for _, tc := range []struct {
		typ  reflect.Type
		ptr  string
		want string
	}{
		{reflect.TypeFor[kept](), "#/$defs/kept", "since (Go schema_test.kept): not in the schema's properties"},
		{reflect.TypeFor[blocker](), "#/$defs/blocker", "left out when empty, and required by the schema"},
		{reflect.TypeFor[blocker](), "#/$defs/blocker", "in the schema, and no field of Go"},
	} {
		var errs []string
		file, m := s.at(t, reportSchema, tc.ptr)
		w := &walker{t: t, s: s, errorf: func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }}
		w.walk(tc.typ, file, m, tc.typ.String())
		if !slices.ContainsFunc(errs, func(e string) bool { return strings.Contains(e, tc.want) }) {
			t.Errorf("%s: the walk says %q, want %q", tc.typ, errs, tc.want)
		}
	}
}
