package discover

import (
	"fmt"
	"testing"
)

// BenchmarkDiscover1000 discovers 1,000 servers of one subscription, listed
// in 10 pages of 100, then lists each one's administrators (two each): 1,010
// calls to a local fake ARM over HTTP/2 and TLS, as azcore's default
// transport talks to ARM. The figures include the fake's own work (JSON
// encoding, TLS) in the same process, so they bound what discovery costs
// the client; against Azure the round trips dominate.
func BenchmarkDiscover1000(b *testing.B) {
	servers := make([]fakeServer, 1000)
	for i := range servers {
		servers[i] = fakeServer{
			sub: subA, rg: fmt.Sprintf("rg-%d", i%10), name: fmt.Sprintf("pg-%04d", i),
			tags:  map[string]string{"env": "prod", "team": fmt.Sprint(i % 7)},
			entra: "Enabled",
			admins: []fakeAdmin{
				{name: "pgusers-app", typ: "ServicePrincipal", objectID: "33333333-0000-0000-0000-000000000000"},
				{name: "pg-admins", typ: "Group", objectID: "22222222-0000-0000-0000-000000000000"},
			},
		}
	}
	sources := []Source{{Subscription: subA, Tags: map[string]string{"env": "prod"}}}
	for _, parallel := range []int{DefaultParallel, 50} {
		b.Run(fmt.Sprintf("parallel=%d", parallel), func(b *testing.B) {
			f := startFakeARM(b, true, servers...)
			f.pageSize = 100
			opts := f.options()
			opts.Parallel = parallel
			cred := &fakeCredential{}
			b.ReportAllocs()
			for b.Loop() {
				got, err := Discover(b.Context(), cred, sources, opts)
				if err != nil {
					b.Fatal(err)
				}
				if len(got) != len(servers) || len(got[0].Admins) != 2 {
					b.Fatalf("%d servers, %d admins of the first; want %d and 2", len(got), len(got[0].Admins), len(servers))
				}
			}
			b.StopTimer()
			if n, want := f.total(), b.N*(10+len(servers)); n != want {
				b.Errorf("%d requests, want %d", n, want)
			}
		})
	}
}
