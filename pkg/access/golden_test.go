package access

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenDocument is the review of server() against files(), and a server
// that could not be reviewed.
func goldenDocument() Document {
	return Document{Version: FormatVersion, Servers: []ServerReview{
		{Name: "shop", Review: Compute(files(), server(), Options{})},
		{Name: "down", Error: "connection refused", Review: Unreviewed()},
	}}
}

// TestViewsGolden renders the review in every view, compared with
// testdata/review.*.golden (go test ./pkg/access -run Golden -update
// writes them again; review the diff as code).
func TestViewsGolden(t *testing.T) {
	d := goldenDocument()
	for _, output := range []string{"text", "markdown", "csv", "json"} {
		t.Run(output, func(t *testing.T) {
			var b bytes.Buffer
			if err := View(output, false)(&b, d); err != nil {
				t.Fatal(err)
			}
			ext := map[string]string{"text": "txt", "markdown": "md", "csv": "csv", "json": "json"}[output]
			path := filepath.Join("testdata", "review."+ext+".golden")
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (go test ./pkg/access -run Golden -update writes it)", err)
			}
			if diff := cmp.Diff(string(want), b.String()); diff != "" {
				t.Errorf("%s (-want +got):\n%s", path, diff)
			}
		})
	}
}
