package run

import (
	"fmt"

	"github.com/pgusers/pgusers/pkg/fleet"
	"github.com/pgusers/pgusers/pkg/spec"
)

// Select are the servers of d that names names (every one when names is
// empty), in the files' order, that shard holds (all of them when shard.N
// is 0 or 1). A name that is not a server of d is an error that says which
// name was meant. A shard that holds none of a small fleet is not an error:
// the other shards hold them.
func Select(d *spec.Desired, names []string, shard fleet.Shard) ([]spec.Server, error) {
	servers := d.Servers
	if len(names) > 0 {
		want := map[string]bool{}
		for _, n := range names {
			if _, ok := d.Server(n); !ok {
				known := make([]string, len(d.Servers))
				for i, s := range d.Servers {
					known[i] = s.Name
				}
				hint := ""
				if s := spec.Suggest(n, known); s != "" {
					hint = fmt.Sprintf("; did you mean %q?", s)
				}
				return nil, fmt.Errorf("--server %s is not in the files%s (servers: %v); nothing was changed", spec.Quote(n), hint, known)
			}
			want[n] = true
		}
		servers = nil
		for _, s := range d.Servers {
			if want[s.Name] {
				servers = append(servers, s)
			}
		}
	}
	if shard.N <= 1 {
		return servers, nil
	}
	var out []spec.Server
	for _, s := range servers {
		if shard.Holds(s.Name) {
			out = append(out, s)
		}
	}
	return out, nil
}
