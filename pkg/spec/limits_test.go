package spec

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

func TestLoadRefusesAFileOverTheLimit(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	f, err := os.Create("huge.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// Sparse: the size is what is checked, before anything is read.
	if err := f.Truncate(MaxFileBytes + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	checkErrors(t, []string{"huge.yaml"}, []wantErr{
		{Pos: "huge.yaml", Msg: "the file is larger than 64 MiB, the most pgusers reads; split it into several files"},
	})
}

// A large file stops loading as soon as the run is interrupted (Ctrl-C,
// SIGTERM), in the parse or in the walk.
func TestLoadStopsWhenTheContextEnds(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	var b strings.Builder
	b.WriteString("version: 1\ndefaults: {user: u}\nservers:\n  - name: a\n    host: h\n    principals:\n")
	for i := range 15_000 {
		fmt.Fprintf(&b, "      - {name: user-%06d@contoso.com, type: user, memberOf: [readers, writers]}\n", i)
	}
	if err := os.WriteFile("big.yaml", []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	full, err := Load(context.Background(), []string{"big.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	whole := time.Since(start)
	if n := len(full.Servers[0].Principals); n != 15_000 {
		t.Fatalf("read %d principals, want 15000", n)
	}
	for _, after := range []time.Duration{0, whole / 10, whole / 2} {
		ctx, cancel := context.WithTimeout(context.Background(), after)
		start := time.Now()
		_, err := Load(ctx, []string{"big.yaml"})
		took := time.Since(start)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("cancelled after %v: err = %v, want the context's error", after, err)
		}
		if took > after+whole/2+200*time.Millisecond {
			t.Errorf("cancelled after %v, Load returned after %v (a whole load takes %v)", after, took, whole)
		}
	}
}
