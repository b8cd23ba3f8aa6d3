package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// encodingJSON is what writeJSON must write: encoding/json's indented
// document, HTML left unescaped.
func encodingJSON(t testing.TB, r report) string {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func writtenJSON(t testing.TB, r report) string {
	t.Helper()
	var b bytes.Buffer
	if err := writeJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// fill sets every field of v, at every depth, to a value that is not
// empty, taking strings from words in turn: a field the writer forgot
// shows in encoding/json's output and not in its own.
func fill(v reflect.Value, words *[]string) {
	switch v.Kind() {
	case reflect.String:
		w := (*words)[0]
		*words = append((*words)[1:], w)
		v.SetString(w)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int:
		v.SetInt(int64(len(*words)))
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		for i := range 2 {
			fill(v.Index(i), words)
		}
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), words)
	case reflect.Struct:
		for i := range v.NumField() {
			fill(v.Field(i), words)
		}
	default:
		panic("fill: a report field of kind " + v.Kind().String() + ": teach fill and writeJSON about it")
	}
}

// TestWriteJSONMatchesEncodingJSON holds the streaming writer to
// encoding/json byte for byte: for reports of every state a plan and an
// apply can show, for one with every field set, and for strings that need
// escaping.
func TestWriteJSONMatchesEncodingJSON(t *testing.T) {
	var full report
	words := []string{"plain", `quote " and \ backslash`, "line\nbreak\ttab\r\b\f\x00\x1f\x7f",
		"<html> & more", "non-ASCII: Zoë, Ø, 東京", "bad UTF-8: \xff\xfe", "separators \u2028 \u2029", ""}
	fill(reflect.ValueOf(&full).Elem(), &words)

	var empty report // nil lists are null, not []
	cases := map[string]report{
		"every field set": full,
		"zero":            empty,
		"plan":            buildReport(fleetTargets(t)),
	}
	withoutOptional := full
	withoutOptional.DryRun = ""
	withoutOptional.Servers = []serverReport{{Name: "a", Changes: []changeReport{}}, {Name: "b", Changes: []changeReport{{SQL: []string{}}}}}
	cases["optional fields left out"] = withoutOptional

	for name, r := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(encodingJSON(t, r), writtenJSON(t, r)); diff != "" {
				t.Errorf("writeJSON differs from encoding/json (-want +got):\n%s", diff)
			}
		})
	}
	if !strings.Contains(writtenJSON(t, full), `\u2028`) {
		t.Error("the filled report did not reach the strings that need escaping")
	}
}

func FuzzWriteJSONString(f *testing.F) {
	for _, s := range []string{"", "a", `"`, "\\", "\n", "\x00", "é", "\xff", "\u2028", "<>&"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := report{FormatVersion: s, Servers: []serverReport{{Name: s, Changes: []changeReport{{Principal: s, SQL: []string{s}}}}}}
		if want, got := encodingJSON(t, r), writtenJSON(t, r); want != got {
			t.Errorf("for %q:\nencoding/json %s\nwriteJSON     %s", s, want, got)
		}
	})
}

// A write error reaches the caller.
func TestWriteJSONReportsWriteErrors(t *testing.T) {
	if err := writeJSON(failingWriter{}, buildReport(fleetTargets(t))); err == nil {
		t.Error("writeJSON to a failing writer returned no error")
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("the disk is full") }
