package cli

import (
	"os"
	"path/filepath"
	"testing"
)

// /dev/null is a character device, and no terminal: nobody types at it.
// Nor are a pipe or a regular file.
func TestIsTerminal(t *testing.T) {
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	file, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	for name, f := range map[string]*os.File{os.DevNull: devNull, "a pipe": r, "a file": file} {
		if IsTerminal(f) {
			t.Errorf("IsTerminal(%s) = true", name)
		}
	}
}
