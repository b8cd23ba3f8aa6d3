package access

import (
	"fmt"
	"io"
	"testing"

	"github.com/pgusers/pgusers/pkg/spec"
)

// BenchmarkCompute10k: Compute and the JSON view of a server of 10,000
// Entra users, each a member of one of 10 group roles, each group role
// granted SELECT on every table of 3 schemas (2,000 tables each, alike)
// in 5 databases: every user holds 15 rows "*" through its group, 150,000
// rows and more in all.
func BenchmarkCompute10k(b *testing.B) {
	srv := &Server{Version: 150000}
	for g := range 10 {
		srv.Roles = append(srv.Roles, Role{Name: fmt.Sprintf("group_%02d", g), Inherit: true})
	}
	for i := range 10000 {
		name := fmt.Sprintf("user%05d@contoso.com", i)
		srv.Principals = append(srv.Principals, EntraPrincipal{Name: name, Type: "user"})
		srv.Roles = append(srv.Roles, Role{Name: name, Inherit: true, Login: true})
		srv.Edges = append(srv.Edges, Edge{Member: name, Role: fmt.Sprintf("group_%02d", i%10), Inherit: true, Set: true})
	}
	names := make([]string, 2000)
	for i := range names {
		names[i] = fmt.Sprintf("t%04d", i)
	}
	for d := range 5 {
		db := Database{Name: fmt.Sprintf("db%d", d), Owner: "app_owner", Read: true}
		for s := range 3 {
			schema := fmt.Sprintf("s%d", s)
			var acl []Entry
			for g := range 10 {
				acl = append(acl, Entry{Grantee: fmt.Sprintf("group_%02d", g), Privilege: "SELECT"})
			}
			db.Schemas = append(db.Schemas, Schema{Name: schema, Owner: "app_owner"})
			db.Groups = append(db.Groups, Group{Schema: schema, Kind: KindTable, Owner: "app_owner", Names: names, ACL: acl})
		}
		srv.Databases = append(srv.Databases, db)
	}
	srv.sort()
	b.ReportAllocs()
	for b.Loop() {
		rv := Compute(spec.Server{Name: "s"}, srv, Options{})
		if err := WriteJSON(io.Discard, Document{Version: 1, Servers: []ServerReview{{Name: "s", Review: rv}}}); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(len(rv.Rows)), "rows")
	}
}
