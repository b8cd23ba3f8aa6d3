package diff

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pgusers/pgusers/pkg/spec"
)

const (
	oldName = "carol.old@contoso.com"
	newName = "carol.new@contoso.com"
	oidC    = "9d3a5e71-2c4b-4f8e-a016-7b5c3d2e1f40"
	oidD    = "0c8b7a65-4d3e-4f21-b0a9-8e7d6c5b4a31"
)

// renaming is a server where oldName (object oidC) holds, in database
// orders: CONNECT, SELECT on every table of public, the default privileges of app_owner's tables, and ownership of 5 tables and
// of the default privileges of its own tables; staff is a member of it.
func renaming() Observed {
	o := privObserved(ObservedDatabase{Name: "orders", Exists: true, Owner: "app_owner", Read: true,
		ACL: []Privilege{{Grantee: oldName, Privilege: "CONNECT"}},
		Schemas: []ObservedSchema{{Name: "public", Owner: spec.AdminRole,
			Objects: []ObjectCount{{Kind: spec.KindTables, Owner: "app_owner", Count: 2000}, {Kind: spec.KindTables, Owner: oldName, Count: 5}},
			Holdings: []Holding{{Kind: spec.KindTables, Grantee: oldName, Privilege: "SELECT", Count: 2000},
				{Kind: spec.KindTables, Grantee: "readers", Privilege: "SELECT", Count: 2005}}}},
		Defaults: []DefaultPrivilege{
			{Owner: "app_owner", Schema: "public", Kind: spec.KindTables, Privilege: Privilege{Grantee: oldName, Privilege: "SELECT"}},
			{Owner: oldName, Schema: "public", Kind: spec.KindTables, Privilege: Privilege{Grantee: "readers", Privilege: "SELECT"}}}})
	o.Principals = append(o.Principals[:0:0], admin, // not aad_orders
		ObservedPrincipal{Name: oldName, Type: "group", ObjectID: oidC, MemberOf: []string{"readers"}},
		ObservedPrincipal{Name: "staff", Type: "group", MemberOf: []string{oldName}})
	o.Roles = append(o.Roles, oldName, "staff")
	o.Owners = append(o.Owners, RoleFact{Name: oldName})
	slices.SortFunc(o.Owners, func(a, b RoleFact) int { return strings.Compare(a.Name, b.Name) })
	o.Normalize()
	return o
}

func renameChange() Change {
	return Change{Action: Rename, Principal: newName, From: oldName, Type: "group", ObjectID: oidC,
		Reason:     "renamedFrom: its name changed in Entra; the role keeps its object id, memberships, grants and objects",
		Statements: []Statement{{SQL: `ALTER ROLE "carol.old@contoso.com" RENAME TO "carol.new@contoso.com"`}}}
}

// A rename carries everything the role holds into the plan: the plan
// compares the declaration with what the old name holds, and the rest of
// the plan sees the new name.
func TestRenameCarriesWhatTheRoleHolds(t *testing.T) {
	carol := spec.Principal{Name: newName, Type: spec.Group, ObjectID: oidC, RenamedFrom: oldName, ManageMemberships: true,
		MemberOf: []string{"readers"}, Pos: spec.Position{File: "f.yaml", Line: 4, Column: 7}}
	staff := spec.Principal{Name: "staff", Type: spec.Group, ManageMemberships: true, MemberOf: []string{newName}}
	orders := func(to string, k spec.KindGrant, defaultsFor ...string) spec.Grant {
		return spec.Grant{To: to, Databases: []string{"orders"}, Schemas: []string{"public"},
			Kinds: kinds(kg(spec.KindDatabase, "CONNECT"), k), DefaultsFor: defaultsFor}
	}
	tests := map[string]struct {
		grants []spec.Grant
		roles  []spec.Role
		want   []Change
		lends  []Lend
	}{
		"what it holds as declared: the rename alone": {
			grants: []spec.Grant{orders(newName, kg(spec.KindTables, "SELECT"), "app_owner")},
			want:   []Change{renameChange()},
		},
		"an undeclared privilege it holds is revoked, under its new name": {
			grants: []spec.Grant{orders(newName, kg(spec.KindTables))},
			want: []Change{renameChange(),
				{Action: RevokePrivileges, Grantee: newName, Database: "orders", On: spec.KindTables, Schema: "public",
					Privileges: []string{"SELECT"}, In: "orders", Reason: "not declared, SELECT held on 2000 of 2000 tables",
					Statements: []Statement{{SQL: `REVOKE SELECT ON ALL TABLES IN SCHEMA "public" FROM "carol.new@contoso.com"`}}}},
			lends: []Lend{{In: "orders", Roles: []string{"app_owner", newName}}},
		},
		"default privileges of its own objects, as their owner under its new name": {
			grants: []spec.Grant{orders(newName, kg(spec.KindTables, "SELECT"), "app_owner"),
				{To: "readers", Databases: []string{"orders"}, Schemas: []string{"public"}, Kinds: kinds(kg(spec.KindTables, "SELECT")),
					DefaultsFor: []string{newName}}},
			want: []Change{renameChange()},
		},
		"objects it owns are lent as the new name": {
			grants: []spec.Grant{{To: "readers", Databases: []string{"orders"}, Schemas: []string{"public"},
				Kinds: kinds(kg(spec.KindTables, "SELECT", "INSERT"))}},
			want: []Change{renameChange(),
				{Action: GrantPrivileges, Grantee: "readers", Database: "orders", On: spec.KindTables, Schema: "public",
					Privileges: []string{"INSERT"}, In: "orders", Reason: "declared, INSERT on none of 2005 tables",
					Statements: []Statement{{SQL: `GRANT INSERT ON ALL TABLES IN SCHEMA "public" TO "readers"`}}}},
			lends: []Lend{{In: "orders", Roles: []string{"app_owner", newName}}},
		},
		"a group role that is a member of it keeps the membership": {
			roles: []spec.Role{{Name: "auditors", ManageMemberships: true, MemberOf: []string{newName}}},
			want:  []Change{renameChange()},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			s := grantServer(tt.grants, tt.roles...)
			s.Principals = []spec.Principal{carol, staff}
			s.Prune = true
			o := renaming()
			if tt.roles != nil {
				o.GroupRoles = append(o.GroupRoles, ObservedRole{Name: "auditors", MemberOf: []string{oldName}})
				slices.SortFunc(o.GroupRoles, func(a, b ObservedRole) int { return strings.Compare(a.Name, b.Name) })
				o.Roles = append(o.Roles, "auditors")
				o.Normalize()
			}
			before := o.Fingerprint()
			got, err := Compute(s, o)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got.Changes); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.lends, got.Lends); diff != "" {
				t.Errorf("lends (-want +got):\n%s", diff)
			}
			if o.Fingerprint() != before || o.Principals[0].Name != oldName {
				t.Error("Compute changed the observed state its caller holds")
			}
		})
	}
}

// renamedFrom asserts one Entra object under two names: naming a role
// that is another object, or no Entra object at all, is an error, and
// nothing is planned (prune would otherwise drop the old role).
func TestRenamedFromAnotherObject(t *testing.T) {
	pos := spec.Position{File: "f.yaml", Line: 4, Column: 7}
	tests := map[string]struct {
		renamedFrom, objectID string
		taken                 bool // a role of the new name exists
		want                  []Problem
	}{
		"another Entra object": {
			renamedFrom: oldName,
			objectID:    oidD,
			want: []Problem{{Principal: newName, Msg: "renamedFrom names carol.old@contoso.com, whose objectId on the server is " + oidC +
				", but this entry declares objectId " + oidD + ": renamedFrom says both names are one Entra object, and these are two; " +
				"fix the objectId (or renamedFrom) if it is a rename, or remove renamedFrom if carol.old@contoso.com is another principal " +
				"(declared at f.yaml:4:7)"}},
		},
		"the new name taken by a role that is not an Entra principal": {
			renamedFrom: oldName,
			objectID:    oidC,
			taken:       true,
			want: []Problem{{Principal: newName, Msg: "renamedFrom carol.old@contoso.com: a role named carol.new@contoso.com already " +
				"exists and is not an Entra principal, so PostgreSQL cannot rename carol.old@contoso.com to it; drop or rename that " +
				"role by hand first (declared at f.yaml:4:7)"}},
		},
		"a role that is not an Entra principal": {
			renamedFrom: "readers",
			objectID:    oidD,
			want: []Problem{{Principal: newName, Msg: "renamedFrom names readers, a role that is not an Entra principal " +
				"(pgaadauth_list_principals does not list it), so it cannot be objectId " + oidD + " under another name: " +
				"fix renamedFrom, or remove it (declared at f.yaml:4:7)"}},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			carol := spec.Principal{Name: newName, Type: spec.Group, ObjectID: tt.objectID, RenamedFrom: tt.renamedFrom, Pos: pos}
			s := server(true, carol)
			o := renaming()
			o.Principals = o.Principals[:len(o.Principals)-1] // no staff
			if tt.taken {
				o.Roles = append(o.Roles, newName)
				o.Normalize()
			}
			plan, err := Compute(s, o)
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("Compute = %v, %v; want a *diff.Error", plan.Changes, err)
			}
			if diff := cmp.Diff(tt.want, pe.Problems); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// The hand-overs in other databases run before the main transaction
// renames: they name the renamed role by its old name, whether it receives
// what a drop owns or owns what the dropped principal holds privileges on.
func TestHandOversBeforeARenameUseTheOldName(t *testing.T) {
	const me = `"pgadmin@contoso.com"`
	o := observed(ObservedPrincipal{Name: oldName, Type: "group", ObjectID: oidC},
		ObservedPrincipal{Name: "old-bot", Type: "service", ObjectID: oidA})
	o.Database = "postgres"
	o.Roles = []string{oldName}
	o.Dependencies = []Dependency{{Principal: "old-bot", Database: "app", Kind: Privileges, Count: 1}}
	o.HeldFrom = []HeldFrom{{Principal: "old-bot", Database: "app", Owner: oldName}}
	o.SessionRoles = []string{"old-bot"}
	s := server(true, spec.Principal{Name: newName, Type: spec.Group, ObjectID: oidC, RenamedFrom: oldName})
	s.ReassignOwnedTo = newName
	got, err := Compute(s, o)
	if err != nil {
		t.Fatal(err)
	}
	want := []Cleanup{{Database: "app", Principals: []string{"old-bot"}, Statements: []Statement{
		{SQL: `GRANT "carol.old@contoso.com" TO ` + me},
		{SQL: `REASSIGN OWNED BY "old-bot" TO "carol.old@contoso.com"`},
		{SQL: `DROP OWNED BY "old-bot"`},
		{SQL: `REVOKE "carol.old@contoso.com" FROM ` + me},
	}}}
	if diff := cmp.Diff(want, got.Cleanups); diff != "" {
		t.Errorf("cleanups (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]Action{Rename, Drop}, []Action{got.Changes[0].Action, got.Changes[len(got.Changes)-1].Action}); diff != "" {
		t.Errorf("actions (-want +got):\n%s", diff)
	}
}

// withRenames renames every field of Observed that holds a role name. A
// field added to Observed that holds one must be renamed too, or plans
// with renames read it under the old name: this test lists every string
// field left as it was, and fails on one it does not know.
func TestWithRenamesCoversEveryRoleName(t *testing.T) {
	var o Observed
	fill(reflect.ValueOf(&o).Elem(), oldName)
	kept := map[string]bool{}
	left(reflect.ValueOf(o.withRenames(map[string]string{oldName: newName})), "Observed", oldName, kept)
	var got []string
	for path := range kept {
		got = append(got, path)
	}
	slices.Sort(got)
	// None of these is a role's name.
	want := []string{
		"Observed.Database",
		"Observed.Databases.Defaults.Kind",
		"Observed.Databases.Defaults.Privilege.Privilege",
		"Observed.Databases.Defaults.Schema",
		"Observed.Databases.Delegated.Kind",
		"Observed.Databases.Delegated.Objects",
		"Observed.Databases.Delegated.Privilege",
		"Observed.Databases.Name",
		"Observed.Databases.Schemas.Delegated.Kind",
		"Observed.Databases.Schemas.Delegated.Objects",
		"Observed.Databases.Schemas.Delegated.Privilege",
		"Observed.Databases.Schemas.Holdings.Kind",
		"Observed.Databases.Schemas.Holdings.Objects",
		"Observed.Databases.Schemas.Holdings.Privilege",
		"Observed.Databases.Schemas.Name",
		"Observed.Databases.Schemas.Objects.Kind",
		"Observed.Databases.ACL.Privilege",
		"Observed.Databases.Schemas.ACL.Privilege",
		"Observed.Databases.Schemas.Columns.ACL.Privilege",
		"Observed.Databases.Schemas.Columns.Column",
		"Observed.Databases.Schemas.Columns.Delegated.Kind", "Observed.Databases.Schemas.Columns.Delegated.Objects",
		"Observed.Databases.Schemas.Columns.Delegated.Privilege",
		"Observed.Databases.Schemas.Columns.Table",
		"Observed.Dependencies.Database",
		"Observed.Dependencies.Kind",
		"Observed.GroupRoles.Comment",
		"Observed.GroupRoles.Name", // a group role is never an Entra principal, never renamed
		"Observed.HeldFrom.Database",
		"Observed.Principals.ObjectID",
		"Observed.Principals.TenantID",
		"Observed.Principals.Type",
		"Observed.SessionUser", // the plan never renames the signed-in user
	}
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("string fields withRenames leaves as they were (-want +got): a role name among the new ones must be renamed in withRenames\n%s", diff)
	}
}

// fill sets every string of v, in every struct and a one-element slice
// of every list, to s.
func fill(v reflect.Value, s string) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Struct:
		for i := range v.NumField() {
			fill(v.Field(i), s)
		}
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0), s)
	}
}

// left adds to out the path of every string of v that is still s.
func left(v reflect.Value, path, s string, out map[string]bool) {
	switch v.Kind() {
	case reflect.String:
		if v.String() == s {
			out[path] = true
		}
	case reflect.Struct:
		for i := range v.NumField() {
			f := v.Type().Field(i)
			p := path + "." + f.Name
			if f.Anonymous {
				p = path + "." + f.Type.Name()
			}
			left(v.Field(i), p, s, out)
		}
	case reflect.Slice:
		for i := range v.Len() {
			left(v.Index(i), path, s, out)
		}
	}
}
