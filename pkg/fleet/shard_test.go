package fleet

import (
	"fmt"
	"strings"
	"testing"
)

func TestShardsPartitionAndAreStable(t *testing.T) {
	const n = 4
	names := make([]string, 1000)
	for i := range names {
		names[i] = fmt.Sprintf("orders-%04d", i)
	}
	owner := map[string]int{}
	sizes := make([]int, n)
	for k := range n {
		for _, name := range names {
			if (Shard{K: k, N: n}).Holds(name) {
				if prev, dup := owner[name]; dup {
					t.Fatalf("%s is in shards %d and %d", name, prev, k)
				}
				owner[name] = k
				sizes[k]++
			}
		}
	}
	if len(owner) != len(names) {
		t.Fatalf("%d of %d servers are in a shard", len(owner), len(names))
	}
	for k, size := range sizes {
		if size < 200 || size > 300 {
			t.Errorf("shard %d holds %d of 1000 servers: not balanced", k, size)
		}
	}
}

// A server's shard is the FNV-1a 64-bit hash of its name alone, modulo N
// (docs/commands.md#--shard): the same in every release and whatever else
// the fleet holds, since running jobs and CI matrices are split by it.
// The shards below were computed outside Go, by the FNV-1a definition;
// a change of hash fails here.
func TestShardIsTheNamesAlone(t *testing.T) {
	for _, tc := range []struct {
		name string
		of4  int // the shard with N = 4
		of3  int // with N = 3
	}{
		{"orders-prod", 2, 0},
		{"orders-dev", 2, 2},
		{"reporting-us", 0, 1},
		{"payments-us", 1, 1},
		{"payments-eu", 3, 1},
		{"search-01", 3, 0},
		{"search-02", 2, 1},
		{"search-03", 1, 2},
		{"auth-prod", 3, 2},
		{"pg-ünïcødé", 2, 0},
		{"a", 0, 1},
	} {
		for _, n := range []struct{ n, want int }{{4, tc.of4}, {3, tc.of3}} {
			var in []int
			for k := range n.n {
				if (Shard{K: k, N: n.n}).Holds(tc.name) {
					in = append(in, k)
				}
			}
			if len(in) != 1 || in[0] != n.want {
				t.Errorf("%q is in shards %v of %d, want %d", tc.name, in, n.n, n.want)
			}
		}
		if !(Shard{K: 0, N: 1}).Holds(tc.name) {
			t.Errorf("%q is not in the one shard of 1", tc.name)
		}
	}
}

func TestParseShard(t *testing.T) {
	for in, want := range map[string]string{
		"0/4": "", "3/4": "", "0/1": "",
		"4/4": "K must be from 0 to 3", "-1/4": "K must be from 0 to 3", "1/0": "N must be at least 1",
		"1": "is not K/N", "a/b": "is not K/N",
	} {
		_, err := ParseShard(in)
		switch {
		case want == "" && err != nil:
			t.Errorf("ParseShard(%q) = %v", in, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("ParseShard(%q) = %v, want %q", in, err, want)
		}
	}
}
