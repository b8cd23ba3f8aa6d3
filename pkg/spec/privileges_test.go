package spec

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestBuiltinProfiles(t *testing.T) {
	kg := func(k Kind, privileges ...string) KindGrant { return KindGrant{Kind: k, Privileges: privileges} }
	want := []Profile{
		{Name: "readonly", Kinds: []KindGrant{
			kg(KindDatabase, "CONNECT"), kg(KindSchema, "USAGE"), kg(KindTables, "SELECT"), kg(KindSequences, "SELECT"),
		}},
		{Name: "readwrite", Kinds: []KindGrant{
			kg(KindDatabase, "CONNECT", "TEMPORARY"), kg(KindSchema, "USAGE"),
			kg(KindTables, "SELECT", "INSERT", "UPDATE", "DELETE"), kg(KindSequences, "USAGE", "SELECT", "UPDATE"),
		}},
		{Name: "serviceConnector", Kinds: []KindGrant{
			{Kind: KindDatabase, All: true}, kg(KindSchema, "CREATE"), {Kind: KindTables, All: true}, {Kind: KindSequences, All: true},
		}},
	}
	if diff := cmp.Diff(want, BuiltinProfiles()); diff != "" {
		t.Errorf("BuiltinProfiles() mismatch (-want +got):\n%s", diff)
	}
	// Every privilege is one of its kind's, in Privileges order.
	for _, p := range BuiltinProfiles() {
		for _, k := range p.Kinds {
			if diff := cmp.Diff(k, unionKinds(nil, []KindGrant{k})[0]); diff != "" {
				t.Errorf("%s: %s is not in Privileges(%s) order (-as is +ordered):\n%s", p.Name, k.Kind, k.Kind, diff)
			}
		}
	}

	ro, ok := BuiltinProfile("readonly")
	if !ok || ro.Name != "readonly" {
		t.Fatalf("BuiltinProfile(readonly) = %v, %v", ro, ok)
	}
	if _, ok := BuiltinProfile("ReadOnly"); ok {
		t.Error("BuiltinProfile(ReadOnly) found a profile; names are case-sensitive")
	}
	// A caller may change what it gets.
	ro.Kinds[0].Privileges[0] = "changed"
	if again, _ := BuiltinProfile("readonly"); again.Kinds[0].Privileges[0] != "CONNECT" {
		t.Error("changing a returned profile changed the built-in one")
	}
	if kg, ok := ro.Kind(KindTables); !ok || kg.Privileges[0] != "SELECT" {
		t.Errorf("readonly.Kind(tables) = %v, %v", kg, ok)
	}
	if _, ok := ro.Kind(KindFunctions); ok {
		t.Error("readonly.Kind(functions) is managed; want not")
	}
}
