package spec

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// An error quotes at most a bounded prefix of a value from the files: a
// 60 MB name (valid YAML) was echoed whole in a 60,000,157-byte line.
func TestErrorsQuoteABoundedPrefix(t *testing.T) {
	n := 60_000_000
	if testing.Short() {
		n = 6_000_000 // parsing 60 MB of YAML takes seconds
	}
	huge, big := strings.Repeat("a", n), strings.Repeat("a", 1_000_000)
	writeFiles(t, map[string]string{"a.yaml": `version: 1
servers:
  - name: s
    host: h
    principals:
      - {name: ` + huge + `, type: user}
`, "b.yaml": `version: 1
servers:
  - name: t
    host: h2
    principals:
      - {name: ok, type: robot-` + big + `}
    ? ` + big + `
    : 1
`})
	start := time.Now()
	_, err := Load(context.Background(), []string{"a.yaml", "b.yaml"})
	if err == nil {
		t.Fatal("Load accepted the file")
	}
	msg := err.Error()
	for _, want := range []string{
		fmt.Sprintf(`name "%s…" is %d bytes; PostgreSQL silently truncates names over 63 bytes`, strings.Repeat("a", quoteMax), n),
		`type "robot-` + strings.Repeat("a", quoteMax-6) + `…" (1,000,006 bytes) is not one of user, group, service`,
		`unknown key "` + strings.Repeat("a", quoteMax) + `…" (1,000,000 bytes)`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("the errors do not say %q", want)
		}
	}
	if len(msg) > 2000 {
		t.Errorf("the errors are %d bytes; want a bounded quote of each value:\n%.3000s", len(msg), msg)
	}
	t.Logf("loading and reporting took %v", time.Since(start))
}

func TestBoundedLeavesShortValuesAlone(t *testing.T) {
	for _, c := range []struct{ format, want string }{
		{errorMsg("type %q is not one of %s", "robot", "user, group, service"), `type "robot" is not one of user, group, service`},
		{errorMsg("%q", strings.Repeat("é", 40)), `"` + strings.Repeat("é", 32) + `…" (80 bytes)`},
		{errorMsg("100%% of %q", "x"), `100% of "x"`},
		{thousands(1234567), "1,234,567"},
		{Quote("orders-prod"), `"orders-prod"`},
		{Quote(strings.Repeat("x", 70)), `"` + strings.Repeat("x", 64) + `…" (70 bytes)`},
	} {
		if c.format != c.want {
			t.Errorf("got %s, want %s", c.format, c.want)
		}
	}
}
