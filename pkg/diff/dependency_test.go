package diff

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pgusers/pgusers/pkg/spec"
)

// owning is a server where old-bot (undeclared, so prune drops it) owns a
// table in database app, holds privileges in postgres and owns a database.
func owning() Observed {
	o := observed(ObservedPrincipal{Name: "old-bot", Type: "service", ObjectID: oidA})
	o.Database = "postgres"
	o.Roles = []string{"dba"}
	o.Dependencies = []Dependency{
		{Principal: "old-bot", Database: "", Kind: Owner, Count: 1},
		{Principal: "old-bot", Database: "app", Kind: Owner, Count: 2},
		{Principal: "old-bot", Database: "postgres", Kind: Privileges, Count: 3},
		// The admin owns things too; it is never dropped, so they never block.
		{Principal: admin.Name, Database: "postgres", Kind: Owner, Count: 9},
	}
	return o
}

func reassigning(to string) spec.Server {
	s := server(true)
	s.ReassignOwnedTo = to
	return s
}

func TestComputeHandsOverWhatDropsOwn(t *testing.T) {
	const me = `"pgadmin@contoso.com"`
	tests := map[string]struct {
		observed Observed
		want     Plan
	}{
		"the signed-in user lacks both roles: granted for the statements' time": {
			observed: owning(),
			want: Plan{
				Server: "orders-prod",
				Kept:   []Kept{{Principal: admin.Name, Why: "the signed-in user"}},
				Changes: []Change{{Action: Drop, Principal: "old-bot", Type: "service", ObjectID: oidA,
					Reason: "on the server, not declared; prune is on; what it owns and holds goes to dba (REASSIGN OWNED, DROP OWNED)",
					Statements: []Statement{
						{SQL: `GRANT "old-bot" TO ` + me},
						{SQL: `GRANT "dba" TO ` + me},
						{SQL: `REASSIGN OWNED BY "old-bot" TO "dba"`},
						{SQL: `DROP OWNED BY "old-bot"`},
						{SQL: `REVOKE "dba" FROM ` + me},
						{SQL: `REVOKE "old-bot" FROM ` + me},
						{SQL: `DROP ROLE "old-bot"`},
					}}},
				Cleanups: []Cleanup{{Database: "app", Principals: []string{"old-bot"}, Statements: []Statement{
					{SQL: `GRANT "old-bot" TO ` + me},
					{SQL: `GRANT "dba" TO ` + me},
					{SQL: `REASSIGN OWNED BY "old-bot" TO "dba"`},
					{SQL: `DROP OWNED BY "old-bot"`},
					{SQL: `REVOKE "dba" FROM ` + me},
					{SQL: `REVOKE "old-bot" FROM ` + me},
				}}},
				Blockers: []Blocker{
					{Principal: "old-bot", Database: "", Kind: Owner, Count: 1},
					{Principal: "old-bot", Database: "app", Kind: Owner, Count: 2},
					{Principal: "old-bot", Database: "postgres", Kind: Privileges, Count: 3},
				},
			},
		},
		"the signed-in user has both roles' privileges: no grants": {
			observed: func() Observed {
				o := owning()
				o.Dependencies = o.Dependencies[2:3] // only the privileges in postgres
				o.SessionRoles = []string{"dba", "old-bot"}
				return o
			}(),
			want: Plan{
				Server: "orders-prod",
				Kept:   []Kept{{Principal: admin.Name, Why: "the signed-in user"}},
				Changes: []Change{{Action: Drop, Principal: "old-bot", Type: "service", ObjectID: oidA,
					Reason: "on the server, not declared; prune is on; what it owns and holds goes to dba (REASSIGN OWNED, DROP OWNED)",
					Statements: []Statement{
						{SQL: `REASSIGN OWNED BY "old-bot" TO "dba"`},
						{SQL: `DROP OWNED BY "old-bot"`},
						{SQL: `DROP ROLE "old-bot"`},
					}}},
				Blockers: []Blocker{{Principal: "old-bot", Database: "postgres", Kind: Privileges, Count: 3}},
			},
		},
		"only another database: the change is a plain drop after the cleanup": {
			observed: func() Observed {
				o := owning()
				o.Dependencies = o.Dependencies[1:2]
				o.SessionRoles = []string{"dba", "old-bot"}
				return o
			}(),
			want: Plan{
				Server: "orders-prod",
				Kept:   []Kept{{Principal: admin.Name, Why: "the signed-in user"}},
				Changes: []Change{{Action: Drop, Principal: "old-bot", Type: "service", ObjectID: oidA,
					Reason:     "on the server, not declared; prune is on; what it owns and holds goes to dba (REASSIGN OWNED, DROP OWNED)",
					Statements: []Statement{{SQL: `DROP ROLE "old-bot"`}}}},
				Cleanups: []Cleanup{{Database: "app", Principals: []string{"old-bot"}, Statements: []Statement{
					{SQL: `REASSIGN OWNED BY "old-bot" TO "dba"`},
					{SQL: `DROP OWNED BY "old-bot"`},
				}}},
				Blockers: []Blocker{{Principal: "old-bot", Database: "app", Kind: Owner, Count: 2}},
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Compute(reassigning("dba"), tc.observed)
			if err != nil {
				t.Fatalf("Compute: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
		})
	}
}

func TestComputeCleansUpManyPrincipalsPerDatabase(t *testing.T) {
	o := observed(ObservedPrincipal{Name: "b", Type: "user"}, ObservedPrincipal{Name: "a", Type: "user"},
		ObservedPrincipal{Name: "c", Type: "group", MFA: true})
	o.Database = "postgres"
	o.Roles = []string{"c", "dba"}
	o.SessionRoles = []string{"a", "b", "c", "dba"}
	o.Dependencies = []Dependency{
		{Principal: "b", Database: "zeta", Kind: Privileges, Count: 1},
		{Principal: "a", Database: "zeta", Kind: Owner, Count: 1},
		{Principal: "a", Database: "zeta", Kind: Privileges, Count: 1},
		{Principal: "c", Database: "app", Kind: Owner, Count: 1},
	}
	d := reassigning("dba")
	d.Principals = []spec.Principal{{Name: "c", Type: spec.Group}} // c is replaced: mfa differs
	got, err := Compute(d, o)
	if err != nil {
		t.Fatal(err)
	}
	want := []Cleanup{
		{Database: "app", Principals: []string{"c"}, Statements: []Statement{
			{SQL: `REASSIGN OWNED BY "c" TO "dba"`}, {SQL: `DROP OWNED BY "c"`}}},
		{Database: "zeta", Principals: []string{"a", "b"}, Statements: []Statement{
			{SQL: `REASSIGN OWNED BY "a", "b" TO "dba"`}, {SQL: `DROP OWNED BY "a", "b"`}}},
	}
	if diff := cmp.Diff(want, got.Cleanups); diff != "" {
		t.Errorf("cleanups (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"a", "b", "c"}, got.Dropping()); diff != "" {
		t.Errorf("Dropping (-want +got):\n%s", diff)
	}
}

func TestComputeRefusesBlockedDrops(t *testing.T) {
	tests := map[string]struct {
		desired     spec.Server
		observed    Observed
		want        []Problem
		wantBlocked []Blocker
	}{
		"a drop that owns things, without reassignOwnedTo": {
			desired:  server(true),
			observed: owning(),
			want: []Problem{{Principal: "old-bot", Msg: `dropping it would fail: it owns 1 object of the whole cluster (databases, tablespaces); ` +
				`owns 2 objects in database "app"; holds privileges on 3 objects in database "postgres"; ` +
				"set reassignOwnedTo on server orders-prod to the role that should receive what it owns (apply then runs " +
				"REASSIGN OWNED and DROP OWNED in each of these databases before the drop), or move those objects and privileges away by hand"}},
			wantBlocked: []Blocker{
				{Principal: "old-bot", Database: "", Kind: Owner, Count: 1},
				{Principal: "old-bot", Database: "app", Kind: Owner, Count: 2},
				{Principal: "old-bot", Database: "postgres", Kind: Privileges, Count: 3},
			},
		},
		"a replace that holds a privilege, without reassignOwnedTo": {
			desired: server(true, spec.Principal{Name: "old-bot", Type: spec.Service, ObjectID: oidB}),
			observed: func() Observed {
				o := owning()
				o.Dependencies = []Dependency{{Principal: "old-bot", Database: "app", Kind: Policy, Count: 1}}
				return o
			}(),
			want: []Problem{{Principal: "old-bot", Msg: `the replace drops it, which would fail: it is named by 1 row security policy in database "app"; ` +
				"set reassignOwnedTo on server orders-prod to the role that should receive what it owns (apply then runs " +
				"REASSIGN OWNED and DROP OWNED in each of these databases before the drop), or move those objects and privileges away by hand"}},
			wantBlocked: []Blocker{{Principal: "old-bot", Database: "app", Kind: Policy, Count: 1}},
		},
		"reassignOwnedTo names a missing role": {
			desired:  reassigning("nobody"),
			observed: observed(),
			want: []Problem{{Msg: `reassignOwnedTo names role "nobody", which does not exist on the server: create it first, ` +
				"or name a role that exists on server orders-prod"}},
		},
		"reassignOwnedTo names a principal the plan drops": {
			desired: reassigning("old-bot"),
			observed: func() Observed {
				o := owning()
				o.Roles = []string{"old-bot"}
				return o
			}(),
			want: []Problem{{Msg: `reassignOwnedTo names "old-bot", which this plan drops: declare it, or name a role that stays`}},
		},
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
			if diff := cmp.Diff(tc.wantBlocked, pe.Blocked); diff != "" {
				t.Errorf("blocked (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDependenciesOfKeptPrincipalsNeverBlock(t *testing.T) {
	o := owning()
	o.Dependencies = append(o.Dependencies, Dependency{Principal: "orders-api", Database: "app", Kind: Owner, Count: 40})
	o.Principals = append(o.Principals, ObservedPrincipal{Name: "orders-api", Type: "service", ObjectID: oidA})
	p, err := Compute(server(false, api), o)
	if err != nil {
		t.Fatalf("a server that drops nothing: %v", err)
	}
	if !p.InSync() || p.Blockers != nil || p.Cleanups != nil {
		t.Errorf("plan = %+v, want in sync", p)
	}
}

func TestBasisKeepsOnlyTheDependenciesOfDrops(t *testing.T) {
	o := owning()
	p, err := Compute(reassigning("dba"), o)
	if err != nil {
		t.Fatal(err)
	}
	b := p.Basis(o)
	if diff := cmp.Diff(o.Dependencies[:3], b.Dependencies); diff != "" {
		t.Errorf("basis dependencies (-want +got):\n%s", diff)
	}
	// A new grant to the admin (kept) leaves the basis alone; one more
	// table owned by old-bot (dropped) does not.
	later := owning()
	later.Dependencies[3].Count++
	if p.Basis(later).Fingerprint() != b.Fingerprint() {
		t.Error("a dependency of a kept principal changed the basis")
	}
	later.Dependencies[1].Count++
	if p.Basis(later).Fingerprint() == b.Fingerprint() {
		t.Error("a new dependency of a dropped principal left the basis alone")
	}
	want := []string{"old-bot: owns 3 objects in database app, 2 when planned"}
	if diff := cmp.Diff(want, Changes(b, p.Basis(later))); diff != "" {
		t.Errorf("Changes (-want +got):\n%s", diff)
	}
}

func TestChangesOfDependenciesAndSessionRoles(t *testing.T) {
	before := Observed{
		Dependencies: []Dependency{{Principal: "x", Database: "", Kind: Owner, Count: 1}, {Principal: "x", Database: "a", Kind: Privileges, Count: 2}},
		SessionRoles: []string{"dba"},
		Database:     "postgres",
	}
	after := Observed{
		Dependencies: []Dependency{{Principal: "x", Database: "b", Kind: Owner, Count: 1}, {Principal: "x", Database: "a", Kind: Privileges, Count: 2}},
		SessionRoles: []string{"x"},
		Database:     "postgres",
	}
	want := []string{
		"role dba: the signed-in user lost its privileges since the plan",
		"role x: the signed-in user has its privileges since the plan",
		"x: owns 0 objects of the whole cluster, 1 when planned",
		"x: owns 1 object in database b, 0 when planned",
	}
	if diff := cmp.Diff(want, Changes(before, after)); diff != "" {
		t.Errorf("Changes (-want +got):\n%s", diff)
	}
}

func TestKindOf(t *testing.T) {
	for deptype, want := range map[string]DependencyKind{"o": Owner, "a": Privileges, "r": Policy, "i": InitialPrivileges, "z": "deptype z"} {
		if got := KindOf(deptype); got != want {
			t.Errorf("KindOf(%q) = %q, want %q", deptype, got, want)
		}
	}
}

func TestFingerprintIgnoresNilAgainstEmpty(t *testing.T) {
	a := Observed{Principals: []ObservedPrincipal{{Name: "x", Type: "user"}}}
	b := Observed{Principals: []ObservedPrincipal{{Name: "x", Type: "user", MemberOf: []string{}}},
		Roles: []string{}, Dependencies: []Dependency{}, SessionRoles: []string{}}
	if a.Fingerprint() != b.Fingerprint() {
		t.Error("an empty list and no list give different fingerprints")
	}
	if (Observed{}).Fingerprint() != (Observed{Principals: []ObservedPrincipal{}}).Fingerprint() {
		t.Error("an empty server has two fingerprints")
	}
}

func TestFingerprintDoesNotSortTheCallersLists(t *testing.T) {
	o := Observed{Principals: []ObservedPrincipal{{Name: "x", MemberOf: []string{"b", "a"}}}}
	o.Fingerprint()
	if diff := cmp.Diff([]string{"b", "a"}, o.Principals[0].MemberOf); diff != "" {
		t.Errorf("Fingerprint changed its receiver's lists (-want +got):\n%s", diff)
	}
}
