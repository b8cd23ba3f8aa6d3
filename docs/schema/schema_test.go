// Package schema_test keeps the JSON Schemas of this directory in step with
// the code: it compiles them with a JSON Schema validator, validates the
// files and documents pgusers reads and writes against them, and walks the
// Go types the documents are encoded from (reflect_test.go).
//
// The validator is github.com/santhosh-tekuri/jsonschema/v6: a maintained
// implementation of draft 2020-12 that passes the JSON Schema test suite
// (optional tests aside), checks the schemas against the meta-schema,
// compiles them from memory (no network) and says where an instance fails.
// It is used by the tests only. Its regular expressions are Go's (RE2);
// the schemas' patterns keep to what RE2 and editors' ECMA-262 read alike.
package schema_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

// root is the repository's root, from this package's directory.
const root = "../.."

// The schemas, by file name; each one's $id is base + its file name, so a
// relative $ref (plan.schema.json's "report.schema.json") means the same
// file whether a tool loads the schemas from disk or from their $id.
const (
	base          = "https://raw.githubusercontent.com/pgusers/pgusers/main/docs/schema/"
	desiredSchema = "pgusers.schema.json"
	reportSchema  = "report.schema.json"
	planSchema    = "plan.schema.json"
	accessSchema  = "access.schema.json"
)

var schemaFiles = []string{desiredSchema, reportSchema, planSchema, accessSchema}

// readSchema decodes a schema file as the validator does (numbers as
// json.Number).
func readSchema(t testing.TB, name string) map[string]any {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	m, ok := doc.(map[string]any)
	if !ok {
		t.Fatalf("%s is not a JSON object", name)
	}
	return m
}

// compiled are the three schemas, compiled together.
type compiled map[string]*jsonschema.Schema

// compile compiles every schema. strict turns every
// "additionalProperties": true into false first: the published report
// schema lets objects grow (the report promises that fields may be added),
// and the tests validate what this pgusers writes against the strict
// variant, so that a field the schema does not describe fails here.
func compile(t testing.TB, strict bool) compiled {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	for _, name := range schemaFiles {
		doc := readSchema(t, name)
		if id := doc["$id"]; id != base+name {
			t.Fatalf("%s: $id is %v, want %s", name, id, base+name)
		}
		if strict {
			forbidAdditional(doc)
		}
		if err := c.AddResource(base+name, doc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	out := compiled{}
	for _, name := range schemaFiles {
		s, err := c.Compile(base + name)
		if err != nil {
			t.Fatalf("compile %s: %v", name, err)
		}
		out[name] = s
	}
	return out
}

// forbidAdditional replaces, anywhere in v, "additionalProperties": true
// with false.
func forbidAdditional(v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if k == "additionalProperties" && x == true {
				v[k] = false
				continue
			}
			forbidAdditional(x)
		}
	case []any:
		for _, x := range v {
			forbidAdditional(x)
		}
	}
}

// validate validates a JSON document (as bytes) against schema name.
func (c compiled) validate(name string, doc []byte) error {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	return c[name].Validate(inst)
}

// yamlToJSON turns a YAML document into JSON as an editor's YAML language
// server sees it: yaml.v3 decodes it into generic values (resolving
// anchors, aliases and "<<" merge keys, and reading YAML 1.2 scalars:
// yes/no are strings, 0x1F and 1_000 numbers), and encoding/json writes
// them. The few values JSON lacks are made text: a mapping key that YAML
// read as a number, and a date (as pgusers takes a date where it wants a
// name, the role called 2024-01-01).
func yamlToJSON(data []byte) ([]byte, error) {
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	return json.Marshal(jsonValue(v))
}

func jsonValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = jsonValue(x)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[fmt.Sprint(k)] = jsonValue(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = jsonValue(x)
		}
		return out
	case time.Time:
		if v.Hour() == 0 && v.Minute() == 0 && v.Second() == 0 && v.Nanosecond() == 0 {
			return v.Format(time.DateOnly)
		}
		return v.Format(time.RFC3339Nano)
	}
	return v
}

// schemas are the schema files as JSON values, by file name, for the
// tests that read them rather than validate with them.
type schemas map[string]map[string]any

func readAll(t testing.TB) schemas {
	t.Helper()
	out := schemas{}
	for _, name := range schemaFiles {
		out[name] = readSchema(t, name)
	}
	return out
}

// at returns the schema object at ref, "file#/json/pointer" or
// "#/json/pointer" relative to file, following every $ref it lands on (a
// schema that is only a $ref, or a $ref beside other keywords: the
// keywords of both count, the local ones winning). It fails the test when
// the pointer leads nowhere.
func (s schemas) at(t testing.TB, file, ref string) (string, map[string]any) {
	t.Helper()
	f, ptr, _ := strings.Cut(ref, "#")
	if f != "" {
		file = path.Base(f)
	}
	doc, ok := s[file]
	if !ok {
		t.Fatalf("%s#%s: no such schema file", file, ptr)
	}
	var v any = doc
	for _, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		if tok == "" {
			continue
		}
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		switch x := v.(type) {
		case map[string]any:
			v, ok = x[tok]
		case []any:
			var i int
			_, err := fmt.Sscan(tok, &i)
			ok = err == nil && i >= 0 && i < len(x)
			if ok {
				v = x[i]
			}
		default:
			ok = false
		}
		if !ok {
			t.Fatalf("%s#%s: the pointer leads nowhere", file, ptr)
		}
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s#%s is not a schema object", file, ptr)
	}
	return s.follow(t, file, m)
}

// follow merges the schema a $ref names into m (m's own keywords win), as
// often as there are $refs.
func (s schemas) follow(t testing.TB, file string, m map[string]any) (string, map[string]any) {
	t.Helper()
	for range 16 {
		ref, ok := m["$ref"].(string)
		if !ok {
			return file, m
		}
		f, target := s.at(t, file, ref)
		merged := map[string]any{}
		for k, v := range target {
			merged[k] = v
		}
		for k, v := range m {
			if k != "$ref" {
				merged[k] = v
			}
		}
		file, m = f, merged
	}
	t.Fatalf("%s: $ref chain too long", file)
	return "", nil
}

// propertyNames are the keys of a schema object's "properties", sorted.
func propertyNames(m map[string]any) []string {
	props, _ := m["properties"].(map[string]any)
	names := make([]string, 0, len(props))
	for k := range props {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

func TestSchemasCompile(t *testing.T) {
	compile(t, false)
	compile(t, true)
}

// keywords are those the schemas may use: draft 2020-12's, restricted to
// those draft-07 tools also understand, since editors' YAML support
// (yaml-language-server, in VS Code and JetBrains IDEs) implements
// draft-07 best. No unevaluatedProperties, prefixItems, dependentRequired
// or $dynamicRef; $defs is only where the $refs point.
var keywords = []string{
	"$schema", "$id", "$ref", "$defs", "title", "description", "default", "examples",
	"type", "enum", "const", "pattern", "minLength", "maxLength", "minimum", "maximum",
	"properties", "additionalProperties", "required", "propertyNames", "items", "minItems",
	"allOf", "anyOf", "oneOf", "not", "if", "then", "else",
}

// TestSchemaKeywords walks every schema object of the three files: each
// uses only keywords. Those that describe a document's objects (not the
// conditions of if, then, not and the like) give every property a
// description (its own or that of the schema its $ref names), and say
// whether properties they do not list may appear.
func TestSchemaKeywords(t *testing.T) {
	s := readAll(t)
	for _, name := range schemaFiles {
		// shape is true for a schema that describes the document's
		// shape, false for one that is a condition on it.
		var check func(v any, at string, shape bool)
		check = func(v any, at string, shape bool) {
			if _, ok := v.(bool); ok {
				return // true or false: anything, nothing
			}
			m, ok := v.(map[string]any)
			if !ok {
				t.Errorf("%s#%s: not a schema", name, at)
				return
			}
			for k, x := range m {
				if !slices.Contains(keywords, k) {
					t.Errorf("%s#%s: keyword %q", name, at, k)
				}
				switch k {
				case "$defs":
					for p, sub := range x.(map[string]any) {
						check(sub, at+"/$defs/"+p, true)
					}
				case "properties":
					for p, sub := range x.(map[string]any) {
						check(sub, at+"/properties/"+p, shape)
						if sm, ok := sub.(map[string]any); ok && shape {
							if _, target := s.follow(t, name, sm); target["description"] == nil {
								t.Errorf("%s#%s/properties/%s: no description", name, at, p)
							}
						}
					}
				case "items", "additionalProperties":
					check(x, at+"/"+k, shape)
				case "propertyNames", "not", "if", "then", "else":
					check(x, at+"/"+k, false)
				case "allOf", "anyOf", "oneOf":
					for i, sub := range x.([]any) {
						check(sub, fmt.Sprintf("%s/%s/%d", at, k, i), false)
					}
				}
			}
			if _, ok := m["properties"]; ok && shape && m["additionalProperties"] == nil {
				t.Errorf("%s#%s: lists properties and does not say whether others may appear", name, at)
			}
		}
		check(s[name], "", true)
	}
}
