package schema_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/pgusers/pgusers/pkg/spec"
)

// The schema and the loader agree on a grant entry's columns: the
// privileges a column takes, in every spelling, and the shapes around
// them.
func TestColumnsMatchTheLoader(t *testing.T) {
	c := compile(t, false)
	words := []string{"ALL", "ALL PRIVILEGES", "all  privileges", " select ", "DELETE", "USAGE", "TEMP", "SELECTS", "READ"}
	words = append(words, spec.ColumnPrivileges...)
	var variants []string
	for _, w := range words {
		variants = append(variants, w, strings.ToLower(w), strings.ToUpper(w[:1])+strings.ToLower(w[1:]))
	}
	slices.Sort(variants)
	variants = slices.Compact(variants)
	accepted := 0
	for _, v := range variants {
		file := grant(`to: readers, databases: [d], tables: [], columns: {t: {c: ["` + v + `"]}}`)
		loaderOK := loadFile(t, file) == nil
		if schemaErr := c.validateYAML(t, []byte(file)); loaderOK != (schemaErr == nil) {
			t.Errorf("[%q]: the loader accepts it: %t; the schema: %v", v, loaderOK, schemaErr)
		}
		if loaderOK {
			accepted++
		}
	}
	if accepted < 3*4+3*3 {
		t.Errorf("only %d column privileges accepted", accepted)
	}
	for _, tt := range []struct {
		name, keys string
		ok         bool
	}{
		{"with a profile", `to: readers, databases: [d], profile: readonly, columns: {t: {c: [UPDATE]}, u: {a: [], b: [all]}}`, true},
		{"with tables: []", `to: readers, databases: [d], tables: [], columns: {t: {c: [UPDATE]}}`, true},
		{"without tables", `to: readers, databases: [d], database: [CONNECT], columns: {t: {c: [UPDATE]}}`, false},
		{"a list", `to: readers, databases: [d], tables: [], columns: [t]`, false},
		{"no value", `to: readers, databases: [d], tables: [], columns: ~`, false},
		{"a table without columns", `to: readers, databases: [d], tables: [], columns: {t: ~}`, false},
		{"a privilege as a string", `to: readers, databases: [d], tables: [], columns: {t: {c: UPDATE}}`, false},
		{"an empty table name", `to: readers, databases: [d], tables: [], columns: {"": {c: [UPDATE]}}`, false},
		{"a control character in a column", `to: readers, databases: [d], tables: [], columns: {t: {"a\tb": [UPDATE]}}`, false},
	} {
		file := grant(tt.keys)
		if err := loadFile(t, file); (err == nil) != tt.ok {
			t.Errorf("%s: the loader says %v, want accepted %t", tt.name, err, tt.ok)
		}
		if err := c.validateYAML(t, []byte(file)); (err == nil) != tt.ok {
			t.Errorf("%s: the schema says %v, want accepted %t", tt.name, err, tt.ok)
		}
	}
}
