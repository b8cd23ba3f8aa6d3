package diff

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pgusers/pgusers/pkg/spec"
)

const (
	oidA = "2b7c1d0e-5f4a-4b3c-8d2e-1f0a9b8c7d6e"
	oidB = "6f1e9a3c-0d7b-4c1e-9a51-3b2f4d6e8a90"
)

func server(prune bool, ps ...spec.Principal) spec.Server {
	return spec.Server{Name: "orders-prod", Prune: prune, MaxDrops: spec.DefaultMaxDrops, Principals: ps}
}

func withMembers(p spec.Principal, roles ...string) spec.Principal {
	p.ManageMemberships = true
	p.MemberOf = roles
	return p
}

var (
	api   = spec.Principal{Name: "orders-api", Type: spec.Service, ObjectID: oidA}
	alice = spec.Principal{Name: "alice@contoso.com", Type: spec.User}
	admin = ObservedPrincipal{Name: "pgadmin@contoso.com", Type: "user", ObjectID: oidB, Admin: true, MemberOf: []string{spec.AdminRole}}
)

func observed(ps ...ObservedPrincipal) Observed {
	return Observed{Principals: append([]ObservedPrincipal{admin}, ps...), SessionUser: admin.Name}
}

func TestCompute(t *testing.T) {
	tests := map[string]struct {
		desired  spec.Server
		observed Observed
		want     Plan
	}{
		"empty server, nothing declared": {
			desired:  server(false),
			observed: observed(),
			want:     Plan{Server: "orders-prod"},
		},
		"create with object id, then grant": {
			desired: server(false, withMembers(api, "orders_rw")),
			observed: func() Observed {
				o := observed()
				o.Roles = []string{"orders_rw"}
				return o
			}(),
			want: Plan{Server: "orders-prod", Changes: []Change{
				{Action: Create, Principal: "orders-api", Type: "service", ObjectID: oidA, Reason: "declared, not on the server",
					Statements: []Statement{{SQL: "SELECT pg_catalog.pgaadauth_create_principal_with_oid($1, $2, $3, $4, $5)",
						Args: []any{"orders-api", oidA, "service", false, false}}}},
				{Action: Grant, Principal: "orders-api", Role: "orders_rw", Reason: "declared in memberOf",
					Statements: []Statement{{SQL: `GRANT "orders_rw" TO "orders-api"`}}},
			}},
		},
		"memberOf a principal the plan creates: granted after the create": {
			desired:  server(false, withMembers(alice, "team"), spec.Principal{Name: "team", Type: spec.Group}),
			observed: observed(),
			want: Plan{Server: "orders-prod", Changes: []Change{
				{Action: Create, Principal: "alice@contoso.com", Type: "user", Reason: "declared, not on the server",
					Statements: []Statement{{SQL: "SELECT pg_catalog.pgaadauth_create_principal($1, $2, $3)",
						Args: []any{"alice@contoso.com", false, false}}}},
				{Action: Create, Principal: "team", Type: "group", Reason: "declared, not on the server",
					Statements: []Statement{{SQL: "SELECT pg_catalog.pgaadauth_create_principal($1, $2, $3)",
						Args: []any{"team", false, false}}}},
				{Action: Grant, Principal: "alice@contoso.com", Role: "team", Reason: "declared in memberOf",
					Statements: []Statement{{SQL: `GRANT "team" TO "alice@contoso.com"`}}},
			}},
		},
		"create by name with admin and mfa": {
			desired:  server(false, spec.Principal{Name: "alice@contoso.com", Type: spec.User, Admin: true, MFA: true}),
			observed: observed(),
			want: Plan{Server: "orders-prod", Changes: []Change{
				{Action: Create, Principal: "alice@contoso.com", Type: "user", Admin: true, MFA: true, Reason: "declared, not on the server",
					Statements: []Statement{{SQL: "SELECT pg_catalog.pgaadauth_create_principal($1, $2, $3)",
						Args: []any{"alice@contoso.com", true, true}}}},
			}},
		},
		"in sync: object id compared without case, memberOf omitted leaves memberships alone": {
			desired: server(true, spec.Principal{Name: "orders-api", Type: spec.Service, ObjectID: strings.ToUpper(oidA)}),
			observed: observed(ObservedPrincipal{Name: "orders-api", Type: "service", ObjectID: oidA,
				MemberOf: []string{"orders_rw", "reporting"}}),
			want: Plan{Server: "orders-prod", Kept: []Kept{{Principal: admin.Name, Why: "the signed-in user"}}},
		},
		"memberships: grant missing, revoke extra, azure_pg_admin untouched": {
			desired: server(false, withMembers(spec.Principal{Name: "boss", Type: spec.User, Admin: true}, "a", "c")),
			observed: Observed{
				Principals:  []ObservedPrincipal{admin, {Name: "boss", Type: "user", Admin: true, MemberOf: []string{spec.AdminRole, "b", "c"}}},
				Roles:       []string{"a", "c"},
				SessionUser: admin.Name,
			},
			want: Plan{Server: "orders-prod", Changes: []Change{
				{Action: Grant, Principal: "boss", Role: "a", Reason: "declared in memberOf, not a member on the server",
					Statements: []Statement{{SQL: `GRANT "a" TO "boss"`}}},
				{Action: Revoke, Principal: "boss", Role: "b", Reason: "a member on the server, not in memberOf",
					Statements: []Statement{{SQL: `REVOKE "b" FROM "boss"`}}},
			}},
		},
		"memberOf [] revokes everything but azure_pg_admin": {
			desired:  server(false, withMembers(spec.Principal{Name: "bob", Type: spec.User})),
			observed: observed(ObservedPrincipal{Name: "bob", Type: "user", MemberOf: []string{"x"}}),
			want: Plan{Server: "orders-prod", Changes: []Change{
				{Action: Revoke, Principal: "bob", Role: "x", Reason: "a member on the server, not in memberOf",
					Statements: []Statement{{SQL: `REVOKE "x" FROM "bob"`}}},
			}},
		},
		"replace on type difference regrants declared memberships": {
			desired: server(true, withMembers(spec.Principal{Name: "team", Type: spec.Group, ObjectID: oidA}, "r")),
			observed: func() Observed {
				o := observed(ObservedPrincipal{Name: "team", Type: "service", ObjectID: oidA, MemberOf: []string{"r"}})
				o.Roles = []string{"r", "team"}
				return o
			}(),
			want: Plan{Server: "orders-prod", Kept: []Kept{{Principal: admin.Name, Why: "the signed-in user"}}, Changes: []Change{
				{Action: Replace, Principal: "team", Type: "group", ObjectID: oidA,
					Reason: "type service on the server, group declared; forces replacement",
					Statements: []Statement{{SQL: `DROP ROLE "team"`}, {SQL: "SELECT pg_catalog.pgaadauth_create_principal_with_oid($1, $2, $3, $4, $5)",
						Args: []any{"team", oidA, "group", false, false}}}},
				{Action: Grant, Principal: "team", Role: "r", Reason: "declared in memberOf",
					Statements: []Statement{{SQL: `GRANT "r" TO "team"`}}},
			}},
		},
		"prune drops the undeclared and keeps admin, session user, protected, reserved": {
			desired: func() spec.Server {
				s := server(true, alice)
				s.Protect = []string{"breakglass-*"}
				return s
			}(),
			observed: Observed{
				Principals: []ObservedPrincipal{
					{Name: "alice@contoso.com", Type: "user"},
					{Name: "breakglass-1", Type: "user"},
					{Name: "ci-bot", Type: "service", ObjectID: oidA},
					{Name: "me", Type: "user"},
					{Name: "other-admin", Type: "group", Admin: true},
					{Name: "pg_weird", Type: "user"},
				},
				SessionUser: "me",
			},
			want: Plan{Server: "orders-prod",
				Changes: []Change{{Action: Drop, Principal: "ci-bot", Type: "service", ObjectID: oidA,
					Reason: "on the server, not declared; prune is on", Statements: []Statement{{SQL: `DROP ROLE "ci-bot"`}}}},
				Kept: []Kept{
					{Principal: "breakglass-1", Why: `protected by "breakglass-*"`},
					{Principal: "me", Why: "the signed-in user"},
					{Principal: "other-admin", Why: "an Entra administrator (isadmin = 1), which Azure manages"},
					{Principal: "pg_weird", Why: "a reserved role"},
				}},
		},
		"no prune, no drops": {
			desired:  server(false),
			observed: observed(ObservedPrincipal{Name: "ci-bot", Type: "service"}),
			want:     Plan{Server: "orders-prod"},
		},
		"names are quoted as identifiers": {
			desired: server(false, withMembers(spec.Principal{Name: `we"ird; DROP ROLE x; --`, Type: spec.Group}, "Ünïcode role")),
			observed: func() Observed {
				o := observed()
				o.Roles = []string{"Ünïcode role"}
				return o
			}(),
			want: Plan{Server: "orders-prod", Changes: []Change{
				{Action: Create, Principal: `we"ird; DROP ROLE x; --`, Type: "group", Reason: "declared, not on the server",
					Statements: []Statement{{SQL: "SELECT pg_catalog.pgaadauth_create_principal($1, $2, $3)",
						Args: []any{`we"ird; DROP ROLE x; --`, false, false}}}},
				{Action: Grant, Principal: `we"ird; DROP ROLE x; --`, Role: "Ünïcode role", Reason: "declared in memberOf",
					Statements: []Statement{{SQL: `GRANT "Ünïcode role" TO "we""ird; DROP ROLE x; --"`}}},
			}},
		},
		"a grant of a principal created in the same plan": {
			desired:  server(false, withMembers(alice, "team"), spec.Principal{Name: "team", Type: spec.Group}),
			observed: observed(),
			want: Plan{Server: "orders-prod", Changes: []Change{
				{Action: Create, Principal: "alice@contoso.com", Type: "user", Reason: "declared, not on the server",
					Statements: []Statement{{SQL: "SELECT pg_catalog.pgaadauth_create_principal($1, $2, $3)", Args: []any{"alice@contoso.com", false, false}}}},
				{Action: Create, Principal: "team", Type: "group", Reason: "declared, not on the server",
					Statements: []Statement{{SQL: "SELECT pg_catalog.pgaadauth_create_principal($1, $2, $3)", Args: []any{"team", false, false}}}},
				{Action: Grant, Principal: "alice@contoso.com", Role: "team", Reason: "declared in memberOf",
					Statements: []Statement{{SQL: `GRANT "team" TO "alice@contoso.com"`}}},
			}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Compute(tc.desired, tc.observed)
			if err != nil {
				t.Fatalf("Compute: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
		})
	}
}

func TestComputeRefuses(t *testing.T) {
	sixUsers := func() Observed {
		o := observed()
		for _, n := range []string{"u1", "u2", "u3", "u4", "u5", "u6"} {
			o.Principals = append(o.Principals, ObservedPrincipal{Name: n, Type: "user"})
		}
		return o
	}
	tests := map[string]struct {
		desired  spec.Server
		observed Observed
		want     []Problem
	}{
		"a declared name that is a role but not an Entra principal": {
			desired:  server(false, alice),
			observed: Observed{Roles: []string{"alice@contoso.com"}, SessionUser: "me"},
			want: []Problem{{Principal: "alice@contoso.com", Msg: "a role of this name exists but is not an Entra principal " +
				"(pgaadauth_list_principals does not list it); pgusers does not take over other roles: " +
				"drop or rename that role by hand, or remove the principal from the file"}},
		},
		"a memberOf role that does not exist": {
			desired:  server(false, withMembers(alice, "nope")),
			observed: observed(),
			want: []Problem{{Principal: "alice@contoso.com", Msg: `memberOf names role "nope", which does not exist on the server: ` +
				"create it first (pgusers manages Entra principals, not other roles), or remove it from memberOf"}},
		},
		"a replace without prune": {
			desired:  server(false, spec.Principal{Name: "x", Type: spec.User, MFA: true}),
			observed: observed(ObservedPrincipal{Name: "x", Type: "user"}),
			want: []Problem{{Principal: "x", Msg: "differs from the server (mfa false on the server, true declared); pgaadauth cannot change it in place, " +
				"so it must be dropped and created again, losing its grants: set prune: true on server orders-prod to allow replaces, " +
				"or fix the file to match the server"}},
		},
		"a replace of an admin": {
			desired:  server(true, spec.Principal{Name: "pgadmin@contoso.com", Type: spec.User}),
			observed: observed(),
			want: []Problem{{Principal: "pgadmin@contoso.com", Msg: "differs from the server (admin true on the server, false declared), " +
				"and a replace would drop it, but it is the signed-in user; fix the file to match the server, or change the principal in Azure"}},
		},
		"more drops than maxDrops": {
			desired:  server(true),
			observed: sixUsers(),
			want: []Problem{{Msg: "the plan would drop or replace 6 principals, more than maxDrops allows (5); a broken include or an emptied list " +
				"looks like this: check the files, and if the drops are meant, raise maxDrops for server orders-prod or pass --max-drops 6"}},
		},
	}
	tests["the position of the declaration is named"] = struct {
		desired  spec.Server
		observed Observed
		want     []Problem
	}{
		desired:  server(false, spec.Principal{Name: "x", Type: spec.User, Pos: spec.Position{File: "a.yaml", Line: 3, Column: 7}}),
		observed: Observed{Roles: []string{"x"}},
		want: []Problem{{Principal: "x", Msg: "a role of this name exists but is not an Entra principal " +
			"(pgaadauth_list_principals does not list it); pgusers does not take over other roles: " +
			"drop or rename that role by hand, or remove the principal from the file (declared at a.yaml:3:7)"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Compute(tc.desired, tc.observed)
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("Compute error = %v, want *diff.Error", err)
			}
			if diff := cmp.Diff(tc.want, pe.Problems); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestComputeIsDeterministic(t *testing.T) {
	d := server(true, withMembers(alice, "b", "a"), api)
	o1 := Observed{Principals: []ObservedPrincipal{{Name: "z", Type: "user"}, {Name: "y", Type: "user"}}, Roles: []string{"b", "a"}}
	o2 := Observed{Principals: []ObservedPrincipal{{Name: "y", Type: "user"}, {Name: "z", Type: "user"}}, Roles: []string{"a", "b"}}
	d.Principals[0].MemberOf = []string{"a", "b"}
	p1, err1 := Compute(d, o1)
	p2, err2 := Compute(d, o2)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if diff := cmp.Diff(p1, p2); diff != "" {
		t.Errorf("row order changed the plan (-first +second):\n%s", diff)
	}
	if o1.Fingerprint() != o2.Fingerprint() {
		t.Error("row order changed the fingerprint")
	}
}

func TestStatementDisplay(t *testing.T) {
	for _, tc := range []struct {
		s    Statement
		want string
	}{
		{Statement{SQL: "SELECT f($1, $2, $3, $10)", Args: []any{"it's", true, false, "x", "", "", "", "", "", "ten"}},
			"SELECT f('it''s', true, false, 'ten')"},
		{Statement{SQL: "SELECT $1, $2, $3", Args: []any{"''a'b''", nil, 42}}, "SELECT '''''a''b''''', NULL, 42"},
		{Statement{SQL: `DROP ROLE "$1"`}, `DROP ROLE "$1"`},
		// Not a parameter of the statement: left as it is.
		{Statement{SQL: "SELECT $0, $2, $", Args: []any{"a"}}, "SELECT $0, $2, $"},
		{Statement{SQL: "SELECT $1", Args: []any{"Zoë 東京"}}, "SELECT 'Zoë 東京'"},
	} {
		if got := tc.s.Display(); got != tc.want {
			t.Errorf("%q with %v: Display() = %q, want %q", tc.s.SQL, tc.s.Args, got, tc.want)
		}
	}
}

func TestChanges(t *testing.T) {
	before := Observed{Principals: []ObservedPrincipal{{Name: "a", Type: "user"}, {Name: "b", Type: "user"}}, Roles: []string{"r"}}
	after := Observed{Principals: []ObservedPrincipal{{Name: "a", Type: "group"}, {Name: "c", Type: "user", MemberOf: []string{"r"}}}}
	want := []string{
		"a: changed since the plan (type user → group)",
		"b: dropped since the plan",
		"c: created since the plan",
		"role r: dropped since the plan",
	}
	if diff := cmp.Diff(want, Changes(before, after)); diff != "" {
		t.Errorf("Changes (-want +got):\n%s", diff)
	}
	if before.Fingerprint() == after.Fingerprint() {
		t.Error("different states share a fingerprint")
	}
}

// A plan refused as stale always says why: each change the fingerprint
// sees is named.
func TestChangesNameEveryDifference(t *testing.T) {
	base := Observed{Principals: []ObservedPrincipal{{Name: "a", Type: "user"}}, Roles: []string{"r"}, SessionUser: "admin", Database: "postgres", ServerVersion: 150000}
	for name, change := range map[string]struct {
		mutate func(*Observed)
		want   string
	}{
		"group sync":     {func(o *Observed) { o.GroupSync = true }, "pgaadauth.enable_group_sync changed since the plan (off → on)"},
		"server version": {func(o *Observed) { o.ServerVersion = 160000 }, "the server's version changed"},
		"session user":   {func(o *Observed) { o.SessionUser = "other" }, "signed in as other"},
		"session roles":  {func(o *Observed) { o.SessionRoles = []string{"r"} }, "role r: the signed-in user has its privileges"},
		"group roles":    {func(o *Observed) { o.GroupRoles = []ObservedRole{{Name: "g"}} }, "group roles"},
	} {
		after := base
		change.mutate(&after)
		if base.Fingerprint() == after.Fingerprint() {
			t.Errorf("%s: the fingerprint does not see the change", name)
		}
		got := strings.Join(Changes(base, after), "; ")
		if !strings.Contains(got, change.want) {
			t.Errorf("%s: Changes = %q, want %q", name, got, change.want)
		}
	}
}
