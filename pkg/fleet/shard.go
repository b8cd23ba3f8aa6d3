package fleet

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
)

// Shard is one of N disjoint parts of a fleet: K, from 0 to N-1.
type Shard struct {
	K, N int
}

// ParseShard reads "K/N" (K from 0 to N-1, as a Kubernetes Indexed Job's
// JOB_COMPLETION_INDEX or a matrix index counts).
func ParseShard(s string) (Shard, error) {
	k, n, ok := strings.Cut(s, "/")
	ki, err1 := strconv.Atoi(strings.TrimSpace(k))
	ni, err2 := strconv.Atoi(strings.TrimSpace(n))
	switch {
	case !ok || err1 != nil || err2 != nil:
		return Shard{}, fmt.Errorf("%q is not K/N, such as 0/4 (K from 0 to N-1)", s)
	case ni < 1:
		return Shard{}, fmt.Errorf("%q: N must be at least 1", s)
	case ki < 0 || ki >= ni:
		return Shard{}, fmt.Errorf("%q: K must be from 0 to %d (it counts from 0, as JOB_COMPLETION_INDEX does)", s, ni-1)
	}
	return Shard{K: ki, N: ni}, nil
}

// Holds reports whether the shard runs the server called name. A server's
// shard depends on its name alone (a stable hash), so adding or removing
// a server moves no other server between shards, and every server is in
// exactly one of the N.
func (s Shard) Holds(name string) bool {
	if s.N <= 1 {
		return true
	}
	h := fnv.New64a()
	h.Write([]byte(name))
	return h.Sum64()%uint64(s.N) == uint64(s.K)
}

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.K, s.N) }
