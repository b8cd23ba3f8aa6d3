package inspect

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pgusers/pgusers/pkg/spec"
)

// Until a plan renames a principal, what it holds is on the server under
// its former name: Ask asks for that name wherever it asks for the new one.
func TestAskAsksForFormerNames(t *testing.T) {
	s := spec.Server{
		Principals: []spec.Principal{{Name: "carol.new", RenamedFrom: "carol.old", MemberOf: []string{"readers"}}, {Name: "dave"}},
		Grants: []spec.Grant{
			{To: "carol.new", Databases: []string{"orders"}, Schemas: []string{"public"},
				Kinds: []spec.KindGrant{{Kind: spec.KindTables, Privileges: []string{"SELECT"}}}, DefaultsFor: []string{"app_owner"}},
			{To: "dave", Databases: []string{"orders"}, Schemas: []string{"sales"},
				Kinds: []spec.KindGrant{{Kind: spec.KindTables, Privileges: []string{"SELECT"}}}, DefaultsFor: []string{"carol.new"}},
		},
	}
	want := Asked{
		Names: []string{"app_owner", "carol.new", "carol.old", "dave", "readers"},
		Scopes: []Scope{{Database: "orders", Schemas: []string{"public", "sales"}, Grantees: []string{"carol.new", "carol.old", "dave"},
			Owners: []string{"app_owner", "carol.new", "carol.old"}}},
	}
	if diff := cmp.Diff(want, Ask(s)); diff != "" {
		t.Errorf("Ask (-want +got):\n%s", diff)
	}
}
