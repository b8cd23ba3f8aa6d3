package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The command is glue: flags, the prompt, exit codes. A model, a format or
// a view belongs in a package, and docs/maintainers.md promises fewer than
// 1,000 lines of non-test code here; this holds it to that.
func TestCommandIsGlue(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	lines := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines += bytes.Count(b, []byte("\n"))
	}
	if lines >= 1000 {
		t.Errorf("cmd/pgusers holds %d lines of non-test code, 1,000 or more: move what is not flags, prompt or exit codes into a package", lines)
	}
}
