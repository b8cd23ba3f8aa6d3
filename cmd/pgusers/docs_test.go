package main

import (
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra/doc"
)

var update = flag.Bool("update", false, "regenerate docs/cli/ from the commands' definitions")

// docsDir is the generated command-line reference, one page per command.
const docsDir = "../../docs/cli"

// TestDocs fails when docs/cli/ is not what the commands' definitions
// generate; `go generate ./cmd/pgusers` (or go test ./cmd/pgusers -run
// Docs -update) writes it again.
func TestDocs(t *testing.T) {
	root := newRootCommand(&app{env: env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard}})
	gen := t.TempDir()
	if err := doc.GenMarkdownTree(root, gen); err != nil {
		t.Fatal(err)
	}
	want := readDocs(t, gen)
	if len(want) < 7 {
		t.Fatalf("generated %d pages", len(want))
	}
	if *update {
		old, _ := filepath.Glob(filepath.Join(docsDir, "*.md"))
		for _, f := range old {
			if err := os.Remove(f); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.MkdirAll(docsDir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, body := range want {
			if err := os.WriteFile(filepath.Join(docsDir, name), body, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	got := readDocs(t, docsDir)
	for name := range want {
		if _, ok := got[name]; !ok {
			t.Errorf("docs/cli/%s is missing", name)
		} else if !bytes.Equal(got[name], want[name]) {
			t.Errorf("docs/cli/%s is out of date", name)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("docs/cli/%s documents no command", name)
		}
	}
	if t.Failed() {
		t.Log("regenerate with: go generate ./cmd/pgusers (go test ./cmd/pgusers -run Docs -update)")
	}
}

func readDocs(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = b
	}
	return out
}
