package run

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pgusers/pgusers/pkg/fleet"
	"github.com/pgusers/pgusers/pkg/spec"
)

func TestSelect(t *testing.T) {
	d := &spec.Desired{}
	for _, n := range []string{"orders-prod", "orders-test", "billing", "search", "audit"} {
		d.Servers = append(d.Servers, spec.Server{Name: n})
	}
	names := func(servers []spec.Server) []string {
		var out []string
		for _, s := range servers {
			out = append(out, s.Name)
		}
		return out
	}
	got, err := Select(d, []string{"search", "orders-prod"}, fleet.Shard{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"orders-prod", "search"}, names(got)); diff != "" {
		t.Errorf("--server keeps the files' order (-want +got):\n%s", diff)
	}
	_, err = Select(d, []string{"orders-prd"}, fleet.Shard{})
	if err == nil || !strings.Contains(err.Error(), `--server "orders-prd" is not in the files; did you mean "orders-prod"?`) {
		t.Errorf("a misspelt --server: %v", err)
	}
	// A long name is quoted bounded, as the files' errors quote values.
	_, err = Select(d, []string{strings.Repeat("x", 100_000)}, fleet.Shard{})
	if err == nil || len(err.Error()) > 500 || !strings.Contains(err.Error(), `…" (100,000 bytes) is not in the files`) {
		t.Errorf("a long --server: %.600v", err)
	}
	// The shards of a fleet hold every server once.
	seen := map[string]int{}
	for k := range 3 {
		part, err := Select(d, nil, fleet.Shard{K: k, N: 3})
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range names(part) {
			seen[n]++
		}
	}
	if len(seen) != len(d.Servers) {
		t.Errorf("the shards hold %v, want each of the %d servers once", seen, len(d.Servers))
	}
	for n, times := range seen {
		if times != 1 {
			t.Errorf("%s is in %d shards", n, times)
		}
	}
}
