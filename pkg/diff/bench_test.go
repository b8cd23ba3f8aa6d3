package diff

import (
	"fmt"
	"testing"

	"github.com/pgusers/pgusers/pkg/spec"
)

// BenchmarkCompute10k plans 10,000 principals against a server that has
// none (10,000 creates) and against one that has them all (in sync).
func BenchmarkCompute10k(b *testing.B) {
	s := spec.Server{Name: "bench"}
	var all Observed
	for i := range 10000 {
		name := fmt.Sprintf("svc-%05d", i)
		oid := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
		s.Principals = append(s.Principals, spec.Principal{Name: name, Type: spec.Service, ObjectID: oid})
		all.Principals = append(all.Principals, ObservedPrincipal{Name: name, Type: "service", ObjectID: oid})
	}
	for _, tc := range []struct {
		name     string
		observed Observed
	}{{"creates", Observed{}}, {"in-sync", all}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Compute(s, tc.observed); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
