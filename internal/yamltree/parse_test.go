package yamltree

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"
)

// render prints a tree one node a line, indented by depth, for cmp.Diff.
func render(n Node) string {
	var b strings.Builder
	seen := map[Node]bool{}
	var walk func(Node, int)
	walk = func(n Node, depth int) {
		fmt.Fprintf(&b, "%s%d %s %q %d:%d", strings.Repeat("  ", depth), n.Kind(), n.Tag(), n.Value(), n.Line(), n.Column())
		if a := n.Alias(); !a.IsZero() {
			fmt.Fprintf(&b, " -> %d:%d", a.Line(), a.Column())
		}
		b.WriteString("\n")
		if seen[n] {
			return
		}
		seen[n] = true
		for i := range n.Len() {
			walk(n.Child(i), depth+1)
		}
	}
	walk(n, 0)
	return b.String()
}

// reference is what yaml.v3 makes of src: the root of its one document,
// or false when it fails or finds another document.
func reference(src string) (Node, bool) {
	var root Node
	ok := func() (ok bool) {
		defer func() {
			if recover() != nil {
				ok = false
			}
		}()
		dec := yaml.NewDecoder(strings.NewReader(src))
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil || len(doc.Content) != 1 {
			return false
		}
		var next yaml.Node
		if err := dec.Decode(&next); err != io.EOF {
			return false
		}
		root = FromYAML(doc.Content[0])
		return true
	}()
	return root, ok
}

// agree fails t when Parse reads src and its tree is not yaml.v3's.
func agree(t *testing.T, src string) (parsed bool) {
	t.Helper()
	got, ok := Parse(src)
	if !ok {
		return false
	}
	want, wantOK := reference(src)
	if !wantOK {
		t.Fatalf("Parse read a file that yaml.v3 refuses:\n%s", src)
	}
	if diff := cmp.Diff(render(want), render(got)); diff != "" {
		t.Fatalf("Parse and yaml.v3 differ (-yaml.v3 +Parse):\n%s\nfor:\n%s", diff, src)
	}
	return true
}

// The shapes desired-state files are written in: Parse must read each one
// itself, and exactly as yaml.v3 does.
var readFast = map[string]string{
	"scalars": `version: 1
a: plain text with  spaces
b: "double \"quoted\" \\"
c: 'single ''quoted'''
d: true
e: False
f: ~
g: null
h: 0
i: 5432
j: yes
k: on
l: a:b, c [d] {e} #f
m: ünïcödé
n: "#not a comment"
o:
p: # a comment
q:   spaced   # comment
r: o'brien
s: 'it''s ''quoted'' "twice"'
t: ""
u: ''
v: a"b
w: x@y.z/path
x: 127.0.0.1
y: 3a16a2fe-8fb9-5c57-bf03-1c6d8efc844d
z: 1password.example.com
`,
	"block": `# leading comment

version: 1   # the format
defaults:
  user: admin@contoso.com
  port: 5432

servers:
  - name: orders
    host: orders.postgres.database.azure.com
    include: [readers, "writers"]
    principals:
      - name: alice@contoso.com
        type: user
        memberOf:
          - readers
          - writers
      -   name: indented item
          type: group
      -
        name: next line
        type: service
      - {name: "flow", type: service, objectId: 3a16a2fe-8fb9-5c57-bf03-1c6d8efc844d}
      - {name: 'ü nï', type: user, memberOf: [a, 'b c', "d"], admin: true, mfa: false}
      - {}
      -
      - plain item
  # a comment less indented than the block it sits in
  - name: second
    principals: []
    protect: {}
last:
`,
	"compact sequences": `servers:
- name: a
  memberOf:
  - x
  - y
- name: b
principalSets:
  readers:
  - name: r
    type: user
  writers:
`,
	"indented root": `  version: 1
  servers:
    - name: a
`,
	"no final newline":  "version: 1\nservers: []",
	"non-ASCII columns": "ü: {ä: ö, é: [ï, \"ñ\"]}\nk: 'ß' # ç\n",
	"root sequence":     "- a\n- b: c\n  d: e\n",
}

func TestParseReadsTheCommonShapes(t *testing.T) {
	for name, src := range readFast {
		t.Run(name, func(t *testing.T) {
			if !agree(t, src) {
				t.Fatalf("Parse left this to yaml.v3:\n%s", src)
			}
		})
	}
}

// The constructs Parse leaves to yaml.v3, valid or not.
var leftToYAMLv3 = map[string]string{
	"empty":                   "",
	"only comments":           "# nothing\n\n",
	"anchor and alias":        "a: &x 1\nb: *x\n",
	"merge key":               "a: {b: 1}\nc:\n  <<: {b: 2}\n",
	"tag":                     "a: !!str 1\n",
	"custom tag":              "a: !secret x\n",
	"literal block":           "a: |\n  text\n",
	"folded block":            "a: >\n  text\n",
	"multi-line plain":        "a: one\n  two\n",
	"multi-line quoted":       "a: \"one\n  two\"\n",
	"multi-line flow":         "a: {b: c,\n  d: e}\n",
	"document marker":         "---\na: 1\n",
	"document end":            "a: 1\n...\n",
	"two documents":           "a: 1\n---\nb: 2\n",
	"directive":               "%YAML 1.2\n---\na: 1\n",
	"tab indent":              "a:\n\tb: 1\n",
	"tab in value":            "a: b\tc\n",
	"carriage return":         "a: 1\r\nb: 2\r\n",
	"byte order mark":         "\ufeffa: 1\n",
	"next line character":     "a: b\u0085c\n",
	"line separator":          "a: b\u2028c\n",
	"invalid UTF-8":           "a: \xff\n",
	"float":                   "a: 1.5\n",
	"octal-looking":           "a: 012\n",
	"hex":                     "a: 0x1f\n",
	"negative":                "a: -1\n",
	"timestamp":               "a: 2024-01-01\n",
	"date-like name":          "a: 2024-team\n",
	"exponent":                "a: 1e-5\n",
	"version number":          "a: 1.2\n",
	"huge integer":            "a: 123456789012345678901234567890\n",
	"boolean key":             "true: 1\n",
	"null key":                "~: 1\n",
	"integer key":             "1: a\n",
	"quoted key":              "\"a\": 1\n",
	"complex key":             "? a\n: 1\n",
	"nested sequence":         "a:\n- - b\n",
	"scalar on its own line":  "a:\n  b\n",
	"flow mapping in flow":    "a: {b: {c: d}}\n",
	"trailing comma":          "a: [b, c,]\n",
	"empty flow value":        "a: {b: , c: d}\n",
	"flow key without space":  "a: {b:c}\n",
	"value after value":       "a: b: c\n",
	"key with space before :": "a : b\n",
	"escape other than quote": "a: \"\\n\"\n",
	"comment without space":   "a: 'b'#c\n",
	"under-indented key":      "a:\n  b: 1\n c: 2\n",
	"over-indented key":       "a: 1\n  b: 2\n",
	"sequence after value":    "a: 1\n- b\n",
	"mapping after sequence":  "a:\n  - b\n  c: d\n",
	"unclosed quote":          "a: 'b\n",
	"unclosed flow":           "a: [b\n",
	"garbage after flow":      "a: [b] c\n",
	"alias in sequence":       "a: [*x]\n",
}

func TestParseLeavesTheRestToYAMLv3(t *testing.T) {
	for name, src := range leftToYAMLv3 {
		t.Run(name, func(t *testing.T) {
			if agree(t, src) {
				t.Fatalf("Parse read what it should leave to yaml.v3:\n%s", src)
			}
		})
	}
}

// Every example and test file of the repository reads the same both ways.
func TestParseAgreesOnTheRepositorysFiles(t *testing.T) {
	var files []string
	for _, glob := range []string{"../../examples/*.yaml", "../../examples/*/*.yaml", "../../pkg/spec/testdata/*/*.yaml", "../../pkg/spec/testdata/*.yaml"} {
		m, err := filepath.Glob(glob)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 3 {
		t.Fatalf("found only %d files to compare; did the layout change?", len(files))
	}
	fast := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if agree(t, string(data)) {
			fast++
		}
	}
	t.Logf("%d of %d files read by Parse, the rest by yaml.v3", fast, len(files))
	if fast == 0 {
		t.Fatal("Parse read none of the repository's files")
	}
}

func TestFromYAMLKeepsAliases(t *testing.T) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte("a: &x [1, *x]\nb: *x\n"), &doc); err != nil {
		t.Fatal(err)
	}
	root := FromYAML(doc.Content[0])
	anchor := root.Child(1)
	if got := root.Child(3).Alias(); got != anchor {
		t.Fatalf("b's alias points at %+v, want the anchored sequence", got)
	}
	if got := anchor.Child(1).Alias(); got != anchor {
		t.Fatalf("the self-reference points at %+v, want the sequence itself", got)
	}
}

func TestNodeBoolAndInt(t *testing.T) {
	for _, tc := range []struct {
		tag, value string
		want       bool
		err        bool
	}{
		{"!!bool", "true", true, false},
		{"!!bool", "FALSE", false, false},
		{"!!bool", "yes", false, true},
		{"!!str", "true", false, true},
	} {
		got, err := FromYAML(&yaml.Node{Kind: yaml.ScalarNode, Tag: tc.tag, Value: tc.value}).Bool()
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("Bool of %s %q = %v, %v; want %v, error %v", tc.tag, tc.value, got, err, tc.want, tc.err)
		}
	}
	for _, tc := range []struct {
		value string
		want  int
		err   bool
	}{
		{"5432", 5432, false},
		{"0x1f", 31, false},
		{"1_000", 1000, false},
		{"99999999999999999999", 0, true},
	} {
		got, err := FromYAML(&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: tc.value}).Int()
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("Int of %q = %v, %v; want %v, error %v", tc.value, got, err, tc.want, tc.err)
		}
	}
}

// FuzzParse holds Parse to yaml.v3's tree on whatever it reads, and to
// never failing in any other way.
func FuzzParse(f *testing.F) {
	for _, src := range readFast {
		f.Add(src)
	}
	for _, src := range leftToYAMLv3 {
		f.Add(src)
	}
	f.Fuzz(func(t *testing.T, src string) {
		agree(t, src)
	})
}

// A file of n principals in the shape of the benchmarks: one flow mapping
// a line.
func principalsFile(n int) string {
	var b bytes.Buffer
	b.WriteString("version: 1\nservers:\n  - name: bench\n    host: 127.0.0.1\n    principals:\n")
	for i := range n {
		fmt.Fprintf(&b, "      - {name: svc-%05d, type: service, objectId: 3a16a2fe-8fb9-5c57-bf03-%012d}\n", i, i)
	}
	return b.String()
}

func TestParseReadsALargeFile(t *testing.T) {
	src := principalsFile(2000)
	if !agree(t, src) {
		t.Fatal("Parse left the principals file to yaml.v3")
	}
}

// BenchmarkParse10k compares Parse with yaml.v3 on a 10,000-principal file.
func BenchmarkParse10k(b *testing.B) {
	src := principalsFile(10000)
	b.Run("yamltree", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := Parse(src); !ok {
				b.Fatal("not parsed")
			}
		}
	})
	b.Run("yaml.v3", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		b.ReportAllocs()
		for b.Loop() {
			var doc yaml.Node
			if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// What only yaml.v3 reads keeps its tags, values and positions through
// FromYAML: a custom tag, an explicit standard one, an escaped value.
func TestFromYAMLKeepsWhatOnlyYAMLv3Reads(t *testing.T) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte("a: !secret x\nb: !!str 1\nc: \"tab\\there\"\nd: |\n  text\n"), &doc); err != nil {
		t.Fatal(err)
	}
	got := render(FromYAML(doc.Content[0]))
	want := `4 !!map "" 1:1
  8 !!str "a" 1:1
  8 !secret "x" 1:4
  8 !!str "b" 2:1
  8 !!str "1" 2:4
  8 !!str "c" 3:1
  8 !!str "tab\there" 3:4
  8 !!str "d" 4:1
  8 !!str "text\n" 4:4
`
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("FromYAML (-want +got):\n%s", diff)
	}
}

// Columns on a line of many non-ASCII values are counted as yaml.v3 counts
// them, left to right.
func TestParseCountsColumnsAlongALine(t *testing.T) {
	var b strings.Builder
	b.WriteString("ä: [")
	for i := range 200 {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "ö%d", i)
	}
	b.WriteString("]\nb: {ü: é, ñ: 'ß'}\n")
	if !agree(t, b.String()) {
		t.Fatal("Parse left the file to yaml.v3")
	}
}
