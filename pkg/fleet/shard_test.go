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
	// Adding servers moves none of the others: a shard is the name's.
	for _, name := range names[:50] {
		if !(Shard{K: owner[name], N: n}).Holds(name) {
			t.Errorf("%s moved", name)
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
