package discover

import (
	"fmt"
	"testing"

	"github.com/pgusers/pgusers/internal/armfake"
)

// BenchmarkDiscover1000 discovers 1,000 servers of one subscription, listed
// in 10 pages of 100, then lists each one's administrators (two each): 1,010
// calls to a local fake ARM over HTTP/2 and TLS, as azcore's default
// transport talks to ARM. The figures include the fake's own work (JSON
// encoding, TLS) in the same process, so they bound what discovery costs
// the client; against Azure the round trips dominate.
func BenchmarkDiscover1000(b *testing.B) {
	servers := make([]armfake.Server, 1000)
	for i := range servers {
		servers[i] = armfake.Server{
			Subscription: subA, ResourceGroup: fmt.Sprintf("rg-%d", i%10), Name: fmt.Sprintf("pg-%04d", i),
			Tags:  map[string]string{"env": "prod", "team": fmt.Sprint(i % 7)},
			Entra: "Enabled",
			Admins: []armfake.Admin{
				{Name: "pgusers-app", Type: "ServicePrincipal", ObjectID: "33333333-0000-0000-0000-000000000000"},
				{Name: "pg-admins", Type: "Group", ObjectID: "22222222-0000-0000-0000-000000000000"},
			},
		}
	}
	sources := []Source{{Subscription: subA, Tags: map[string]string{"env": "prod"}}}
	for _, parallel := range []int{DefaultParallel, 50} {
		b.Run(fmt.Sprintf("parallel=%d", parallel), func(b *testing.B) {
			f := armfake.Start(b, armfake.Options{Servers: servers, PageSize: 100, HTTP2: true})
			opts := options(f)
			opts.Parallel = parallel
			cred := &armfake.Credential{}
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
			if n, want := f.Requests(), b.N*(10+len(servers)); n != want {
				b.Errorf("%d requests, want %d", n, want)
			}
		})
	}
}
