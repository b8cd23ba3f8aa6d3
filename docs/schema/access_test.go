package schema_test

import (
	"bytes"
	"testing"

	"github.com/pgusers/pgusers/pkg/access"
	"github.com/pgusers/pgusers/pkg/spec"
)

// accessDocument is a review with every field: a server reviewed with
// changes, rows "*" and of some, and a server that failed.
func accessDocument() access.Document {
	srv := &access.Server{
		Version:    150000,
		Principals: []access.EntraPrincipal{{Name: "alice@contoso.com", Type: "user", ObjectID: "00000000-0000-0000-0000-00000000000a"}},
		Roles: []access.Role{{Name: "alice@contoso.com", Inherit: true, Login: true, CreateRole: true},
			{Name: "reader", Inherit: true}, {Name: "azure_pg_admin", Inherit: true}},
		Edges: []access.Edge{{Member: "alice@contoso.com", Role: "reader", Inherit: true, Set: true},
			{Member: "alice@contoso.com", Role: "azure_pg_admin", Inherit: true, Set: true}},
		Databases: []access.Database{{Name: "shop", Owner: "alice@contoso.com", Read: true,
			ACL:     []access.Entry{{Grantee: "PUBLIC", Privilege: "CREATE"}},
			Schemas: []access.Schema{{Name: "sales", Owner: "reader"}},
			Groups: []access.Group{
				{Schema: "sales", Kind: access.KindTable, Owner: "reader", Names: []string{"a", "b"}, ACL: []access.Entry{{Grantee: "reader", Privilege: "UPDATE"}}},
				{Schema: "sales", Kind: access.KindTable, Owner: "reader", Names: []string{"c"}},
			},
		}},
	}
	files := spec.Server{Name: "shop", Principals: []spec.Principal{{Name: "alice@contoso.com", Type: spec.User, ObjectID: "00000000-0000-0000-0000-00000000000a"}}}
	d := access.Document{Version: access.FormatVersion, Generated: "2026-12-08T02:40:00Z", Pgusers: "v1.4.0 0123456789ab (go1.26.8 linux/amd64)", Servers: []access.ServerReview{
		{Name: "shop", MissingDatabases: []string{"gone"}, Review: access.Compute(files, srv, access.Options{})},
		{Name: "down", Error: "connection refused", Review: access.Unreviewed()},
	}}
	access.Compare(&d, access.Document{})
	return d
}

// TestAccessDocument validates a review as access writes it against the
// strict access schema, and checks that it has every kind of field.
func TestAccessDocument(t *testing.T) {
	c := compile(t, true)
	var b bytes.Buffer
	if err := access.WriteJSON(&b, accessDocument()); err != nil {
		t.Fatal(err)
	}
	if err := c.validate(accessSchema, b.Bytes()); err != nil {
		t.Fatalf("%v\n%s", err, b.Bytes())
	}
	for _, field := range []string{`"objects"`, `"of"`, `"objectId"`, `"missingDatabases"`, `"error"`, `"gained"`, `"findings"`, `"generated"`} {
		if !bytes.Contains(b.Bytes(), []byte(field)) {
			t.Errorf("the document lacks %s: the test covers less of the schema than it should", field)
		}
	}
}
