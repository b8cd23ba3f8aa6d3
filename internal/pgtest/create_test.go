package pgtest

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
)

// Every refusal of the create functions, with its SQLSTATE and message.
// None of them leaves anything behind, so they share one cluster.
func TestCreatePrincipalErrors(t *testing.T) {
	c := New(t)
	c.AddDirectoryObject(t, "Sales Team", "group", "7a1c9e52-0000-4000-8000-000000000001")
	c.AddDirectoryObject(t, "bob@contoso.com", "user", "")
	createRole(t, c, "existing", "LOGIN")
	createRole(t, c, "app_owner", "LOGIN CREATEROLE")
	admin := adminConn(t, c)
	mustExec(t, admin, `SELECT pgaadauth_create_principal('bob@contoso.com', false, false)`)
	callers := map[string]*pgx.Conn{
		"admin": admin,
		// An Entra principal that is not an administrator.
		"bob": loginAs(t, c, "bob@contoso.com", "bob-token"),
		// A role with CREATEROLE that is not an Entra principal at all.
		"app_owner": loginAs(t, c, "app_owner", "owner-password"),
	}
	notAdmin := "42501: permission denied to manage Microsoft Entra principals"
	tests := []struct {
		name, caller, sql string
		args              []any
		want              string
	}{
		{
			"unknown name", "admin", `SELECT pgaadauth_create_principal($1, false, false)`,
			[]any{"nobody@contoso.com"},
			"XX000: Could not validate AAD user nobody@contoso.com because its name is not found in the tenant.",
		},
		{
			"name differs in case from the directory's", "admin", `SELECT pgaadauth_create_principal($1, false, false)`,
			[]any{"sales team"},
			"XX000: Could not validate AAD user sales team because its name is not found in the tenant.",
		},
		{
			"object type differs from the directory's", "admin",
			`SELECT pgaadauth_create_principal_with_oid('sales', $1, 'user', false, false)`,
			[]any{"7a1c9e52-0000-4000-8000-000000000001"},
			"XX000: incorrect object type provided for principal sales",
		},
		{
			"object type that does not exist", "admin",
			`SELECT pgaadauth_create_principal_with_oid('sales', $1, 'application', false, false)`,
			[]any{"7a1c9e52-0000-4000-8000-000000000001"},
			"22023: invalid object type 'application' provided for principal sales",
		},
		{
			"no object id", "admin", `SELECT pgaadauth_create_principal_with_oid('sales', '', 'group', false, false)`,
			nil, "22023: no object id provided for principal sales",
		},
		{
			"name of a role that is not a principal", "admin",
			`SELECT pgaadauth_create_principal_with_oid('existing', $1, 'user', false, false)`,
			[]any{ObjectID("existing")}, `42710: role "existing" already exists`,
		},
		{
			"name of a principal", "admin", `SELECT pgaadauth_create_principal('bob@contoso.com', false, false)`,
			nil, `42710: role "bob@contoso.com" already exists`,
		},
		{
			"non-admin principal by name", "bob", `SELECT pgaadauth_create_principal('Sales Team', false, false)`,
			nil, notAdmin,
		},
		{
			"non-admin principal with oid", "bob",
			`SELECT pgaadauth_create_principal_with_oid('x', $1, 'user', false, false)`,
			[]any{ObjectID("x")}, notAdmin,
		},
		{
			// The caller is checked before the arguments and the directory.
			"non-admin principal with a bad type and a name the directory lacks", "bob",
			`SELECT pgaadauth_create_principal_with_oid('y', '', 'application', false, false)`, nil, notAdmin,
		},
		{
			"non-admin principal by a name the directory lacks", "bob",
			`SELECT pgaadauth_create_principal('nobody@contoso.com', false, false)`, nil, notAdmin,
		},
		{
			"role with CREATEROLE that is not a principal", "app_owner",
			`SELECT pgaadauth_create_principal('Sales Team', true, false)`, nil, notAdmin,
		},
		{
			"group sync while it is off", "admin", `SELECT pgaadauth_sync_roles_for_group_members()`,
			nil, "55000: group sync is not enabled on this server",
		},
		{
			"group sync by a non-admin", "bob", `SELECT pgaadauth_sync_roles_for_group_members()`,
			nil, notAdmin,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := callers[tt.caller].Exec(context.Background(), tt.sql, tt.args...)
			if diff := cmp.Diff(tt.want, pgErr(err)); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
	want := []principal{{"bob@contoso.com", "user", ObjectID("bob@contoso.com"), TenantID, 0, 0}, adminPrincipal}
	if diff := cmp.Diff(want, listPrincipals(t, admin, false)); diff != "" {
		t.Errorf("principals after the refusals (-want +got):\n%s", diff)
	}
}

// By name, the object id and type come from the directory; with an oid, any
// name goes, and an oid the directory does not know is accepted.
func TestCreatePrincipal(t *testing.T) {
	c := New(t)
	if err := c.SeedDirectory(context.Background(),
		DirectoryObject{Name: "alice@contoso.com", Type: "user"},
		DirectoryObject{Name: "Data Readers", Type: "group", ObjectID: "3b0e55c1-0000-4000-8000-00000000000a"},
		DirectoryObject{Name: "orders-api", Type: "service"},
	); err != nil {
		t.Fatal(err)
	}
	conn := adminConn(t, c)
	calls := []struct {
		sql  string
		args []any
		want string
	}{
		{`SELECT pgaadauth_create_principal('alice@contoso.com', false, true)`, nil, `Created role for "alice@contoso.com"`},
		{`SELECT pgaadauth_create_principal('Data Readers', false, false)`, nil, `Created role for "Data Readers"`},
		{`SELECT pgaadauth_create_principal('orders-api', false, false)`, nil, `Created role for "orders-api"`},
		{
			`SELECT pgaadauth_create_principal_with_oid('readers', '3b0e55c1-0000-4000-8000-00000000000a', 'group', false, false)`,
			nil, `Created role for readers`,
		},
		{
			`SELECT pgaadauth_create_principal_with_oid('batch-job', $1, 'service', false, false)`,
			[]any{"c0ffee00-0000-4000-8000-0000000000b1"}, `Created role for "batch-job"`,
		},
	}
	for _, call := range calls {
		var got string
		if err := conn.QueryRow(context.Background(), call.sql, call.args...).Scan(&got); err != nil {
			t.Fatalf("%s: %v", call.sql, err)
		}
		if got != call.want {
			t.Errorf("%s returned %q, want %q", call.sql, got, call.want)
		}
	}
	want := []principal{
		{"Data Readers", "group", "3b0e55c1-0000-4000-8000-00000000000a", TenantID, 0, 0},
		{"alice@contoso.com", "user", ObjectID("alice@contoso.com"), TenantID, 1, 0},
		{"batch-job", "service", "c0ffee00-0000-4000-8000-0000000000b1", TenantID, 0, 0},
		{"orders-api", "service", ObjectID("orders-api"), TenantID, 0, 0},
		adminPrincipal,
		{"readers", "group", "3b0e55c1-0000-4000-8000-00000000000a", TenantID, 0, 0},
	}
	if diff := cmp.Diff(want, listPrincipals(t, conn, false)); diff != "" {
		t.Errorf("principals (-want +got):\n%s", diff)
	}
}

// isadmin makes a LOGIN CREATEROLE CREATEDB member of azure_pg_admin; a
// plain principal is a LOGIN role and nothing more.
func TestAdminFlag(t *testing.T) {
	c := New(t)
	conn := adminConn(t, c)
	mustExec(t, conn, `SELECT pgaadauth_create_principal_with_oid('second-admin@contoso.com', $1, 'user', true, false)`, ObjectID("a"))
	mustExec(t, conn, `SELECT pgaadauth_create_principal_with_oid('plain@contoso.com', $1, 'user', false, false)`, ObjectID("p"))
	type role struct {
		Name                                         string
		Login, CreateRole, CreateDB, Super, AdminMbr bool
	}
	rows, _ := c.SuperIn(t, "postgres").Query(context.Background(), `
		SELECT r.rolname::text, r.rolcanlogin, r.rolcreaterole, r.rolcreatedb, r.rolsuper,
		       EXISTS (SELECT FROM pg_auth_members m WHERE m.member = r.oid AND m.roleid = 'azure_pg_admin'::regrole)
		FROM pg_roles r WHERE r.rolname IN ('second-admin@contoso.com', 'plain@contoso.com')
		ORDER BY r.rolname`)
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[role])
	if err != nil {
		t.Fatal(err)
	}
	want := []role{
		{"plain@contoso.com", true, false, false, false, false},
		{"second-admin@contoso.com", true, true, true, false, true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("roles (-want +got):\n%s", diff)
	}
	// The new administrator may create principals itself.
	second := loginAs(t, c, "second-admin@contoso.com", "second-token")
	mustExec(t, second, `SELECT pgaadauth_create_principal_with_oid('third@contoso.com', $1, 'user', false, false)`, ObjectID("3"))
}

// Removal is a plain DROP ROLE, and nothing of the mapping survives it: the
// same name created again is a new principal.
func TestDropRoleRemovesPrincipal(t *testing.T) {
	c := New(t)
	conn := adminConn(t, c)
	mustExec(t, conn, `SELECT pgaadauth_create_principal_with_oid('gone@contoso.com', 'old-oid', 'user', true, true)`)
	mustExec(t, conn, `DROP ROLE "gone@contoso.com"`)
	if diff := cmp.Diff([]principal{adminPrincipal}, listPrincipals(t, conn, false)); diff != "" {
		t.Errorf("principals after DROP ROLE (-want +got):\n%s", diff)
	}
	// A role of the same name that is not a principal does not inherit anything.
	mustExec(t, conn, `CREATE ROLE "gone@contoso.com"`)
	if diff := cmp.Diff([]principal{adminPrincipal}, listPrincipals(t, conn, false)); diff != "" {
		t.Errorf("principals after CREATE ROLE of the same name (-want +got):\n%s", diff)
	}
	mustExec(t, conn, `DROP ROLE "gone@contoso.com"`)
	mustExec(t, conn, `SELECT pgaadauth_create_principal_with_oid('gone@contoso.com', 'new-oid', 'group', false, false)`)
	want := []principal{{"gone@contoso.com", "group", "new-oid", TenantID, 0, 0}, adminPrincipal}
	if diff := cmp.Diff(want, listPrincipals(t, conn, false)); diff != "" {
		t.Errorf("principals after creating it again (-want +got):\n%s", diff)
	}
	// Dropped from another database, the role is gone from the list too.
	c.CreateDatabase(t, "elsewhere", "")
	config := c.AdminConfig(t)
	config.Database = "elsewhere"
	mustExec(t, connect(t, config), `DROP ROLE "gone@contoso.com"`)
	if diff := cmp.Diff([]principal{adminPrincipal}, listPrincipals(t, conn, false)); diff != "" {
		t.Errorf("principals after DROP ROLE in another database (-want +got):\n%s", diff)
	}
}

// The mapping is keyed by the role's oid, as Azure's security label is: a
// rename keeps the principal, with its object id, type and flags, under the
// new name. The administrator (CREATEROLE, no superuser) may rename a
// principal, though not itself while signed in as it.
func TestRenameKeepsPrincipal(t *testing.T) {
	c := New(t)
	conn := adminConn(t, c)
	ctx := context.Background()
	mustExec(t, conn, `SELECT pgaadauth_create_principal_with_oid('old@contoso.com', 'user-oid', 'user', false, true)`)
	mustExec(t, conn, `SELECT pgaadauth_create_principal_with_oid('Old Group', 'group-oid', 'group', false, false)`)
	roleOID := func(name string) uint32 {
		var oid uint32
		if err := conn.QueryRow(ctx, `SELECT oid FROM pg_roles WHERE rolname = $1`, name).Scan(&oid); err != nil {
			t.Fatalf("the oid of %s: %v", name, err)
		}
		return oid
	}
	before := roleOID("old@contoso.com")
	mustExec(t, conn, `ALTER ROLE "old@contoso.com" RENAME TO "new@contoso.com"`)
	mustExec(t, conn, `ALTER ROLE "Old Group" RENAME TO "New Group"`)
	if after := roleOID("new@contoso.com"); after != before {
		t.Errorf("the role's oid changed from %d to %d", before, after)
	}
	want := []principal{
		{"New Group", "group", "group-oid", TenantID, 0, 0},
		{"new@contoso.com", "user", "user-oid", TenantID, 1, 0},
		adminPrincipal,
	}
	if diff := cmp.Diff(want, listPrincipals(t, conn, false)); diff != "" {
		t.Errorf("principals after the renames (-want +got):\n%s", diff)
	}
	_, err := conn.Exec(ctx, `ALTER ROLE "pgadmin@contoso.com" RENAME TO "renamed-admin@contoso.com"`)
	if got, want := pgErr(err), "0A000: session user cannot be renamed"; got != want {
		t.Errorf("the administrator renames itself: got %q, want %q", got, want)
	}
}

// The functions are PL/pgSQL: a rollback undoes the role and its mapping.
func TestRollbackUndoesCreate(t *testing.T) {
	c := New(t)
	c.AddDirectoryObject(t, "tx@contoso.com", "user", "")
	conn := adminConn(t, c)
	ctx := context.Background()
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{
		`SELECT pgaadauth_create_principal('tx@contoso.com', true, false)`,
		`SELECT pgaadauth_create_principal_with_oid('tx-group', 'some-oid', 'group', false, false)`,
	} {
		if _, err := tx.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	var inside int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM pgaadauth_list_principals(false)`).Scan(&inside); err != nil || inside != 3 {
		t.Errorf("inside the transaction: %d principals, %v; want 3", inside, err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]principal{adminPrincipal}, listPrincipals(t, conn, false)); diff != "" {
		t.Errorf("principals after rollback (-want +got):\n%s", diff)
	}
	if queryBool(t, conn, `SELECT EXISTS (SELECT FROM pg_roles WHERE rolname IN ('tx@contoso.com', 'tx-group'))`) {
		t.Error("a role survived the rollback")
	}
	// And once committed, they are there.
	mustExec(t, conn, `BEGIN; SELECT pgaadauth_create_principal('tx@contoso.com', false, false); COMMIT`)
	if got := len(listPrincipals(t, conn, false)); got != 2 {
		t.Errorf("after commit: %d principals, want 2", got)
	}
}

// Role names are stored and listed exactly, whatever they hold; the return
// text quotes them as quote_ident does.
func TestNamesRoundTrip(t *testing.T) {
	c := New(t)
	conn := adminConn(t, c)
	tests := []struct{ name, quoted string }{
		{"lower_simple", "lower_simple"},
		{"UPPER@Contoso.com", `"UPPER@Contoso.com"`},
		{`O'Brien "the" Admin`, `"O'Brien ""the"" Admin"`},
		{"Sales and Marketing", `"Sales and Marketing"`},
		{"semi;colon'); DROP ROLE x; --", `"semi;colon'); DROP ROLE x; --"`},
		{"Zoë Ünal 日本語", `"Zoë Ünal 日本語"`},
		{"guest_fabrikam.com#EXT#@contoso.onmicrosoft.com", `"guest_fabrikam.com#EXT#@contoso.onmicrosoft.com"`},
		{"select", `"select"`},
		{`back\slash`, `"back\slash"`},
	}
	want := []principal{adminPrincipal}
	for i, tt := range tests {
		typ := "user"
		var got string
		var err error
		if i%2 == 0 { // by name, through the directory
			c.AddDirectoryObject(t, tt.name, typ, "")
			err = conn.QueryRow(context.Background(), `SELECT pgaadauth_create_principal($1, false, false)`, tt.name).Scan(&got)
		} else {
			err = conn.QueryRow(context.Background(), `SELECT pgaadauth_create_principal_with_oid($1, $2, $3, false, false)`,
				tt.name, ObjectID(tt.name), typ).Scan(&got)
		}
		if err != nil {
			t.Fatalf("create %q: %v", tt.name, err)
		}
		if want := "Created role for " + tt.quoted; got != want {
			t.Errorf("create %q returned %q, want %q", tt.name, got, want)
		}
		want = append(want, principal{tt.name, typ, ObjectID(tt.name), TenantID, 0, 0})
	}
	sortPrincipals(want)
	if diff := cmp.Diff(want, listPrincipals(t, conn, false)); diff != "" {
		t.Errorf("principals (-want +got):\n%s", diff)
	}
	// The role is the name itself: it signs in with it.
	var user string
	tricky := tests[2].name
	if err := loginAs(t, c, tricky, "tricky-token").QueryRow(context.Background(), `SELECT session_user`).Scan(&user); err != nil || user != tricky {
		t.Errorf("signed in as %q, %v; want %q", user, err, tricky)
	}
}

// Transient directory errors fail the next calls for a name, then stop.
// The count survives the rollback of the failing calls.
func TestDirectoryFaults(t *testing.T) {
	c := New(t)
	c.AddDirectoryObject(t, "flaky@contoso.com", "user", "")
	conn := adminConn(t, c)
	ctx := context.Background()
	transient := "0LP01: An unexpected error occurred while trying to validate user."

	c.InjectDirectoryFault(t, "flaky@contoso.com", 2)
	byName := `SELECT pgaadauth_create_principal('flaky@contoso.com', false, false)`
	_, err := conn.Exec(ctx, byName)
	if got := pgErr(err); got != transient {
		t.Errorf("first call: got %q, want %q", got, transient)
	}
	// The second one inside a transaction block, which the failure aborts.
	_, err = conn.Exec(ctx, "BEGIN; "+byName+"; COMMIT")
	if got := pgErr(err); got != transient {
		t.Errorf("second call: got %q, want %q", got, transient)
	}
	mustExec(t, conn, `ROLLBACK`)
	mustExec(t, conn, byName)

	// with_oid consults the directory too; a fault for another name does
	// not touch it, and a new fault replaces the old.
	c.InjectDirectoryFault(t, "flaky-app", 5)
	c.InjectDirectoryFault(t, "flaky-app", 1)
	withOID := `SELECT pgaadauth_create_principal_with_oid('flaky-app', 'app-oid', 'service', false, false)`
	_, err = conn.Exec(ctx, withOID)
	if got := pgErr(err); got != transient {
		t.Errorf("with_oid: got %q, want %q", got, transient)
	}
	mustExec(t, conn, withOID)
	if got := len(listPrincipals(t, conn, false)); got != 3 {
		t.Errorf("%d principals, want 3", got)
	}
}

// Group sync follows the server parameter pgaadauth.enable_group_sync: off
// on a new cluster, on with Options.GroupSync. Any role reads it; only an
// administrator may sync, and only while it is on.
func TestGroupSync(t *testing.T) {
	localOnly(t) // an existing server's parameters are its own
	ctx := context.Background()
	for _, tt := range []struct {
		name    string
		opts    Options
		setting string
		sync    string // the administrator's sync: its error, "" for none
	}{
		{"off", Options{}, "off", "55000: group sync is not enabled on this server"},
		{"on", Options{GroupSync: true}, "on", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := New(t, tt.opts)
			admin := adminConn(t, c)
			mustExec(t, admin, `SELECT pgaadauth_create_principal_with_oid('bob@contoso.com', $1, 'user', false, false)`,
				ObjectID("bob@contoso.com"))
			bob := loginAs(t, c, "bob@contoso.com", "bob-token")
			var shown, read string
			if err := admin.QueryRow(ctx, `SHOW pgaadauth.enable_group_sync`).Scan(&shown); err != nil {
				t.Fatal(err)
			}
			if err := bob.QueryRow(ctx, `SELECT current_setting('pgaadauth.enable_group_sync', true)`).Scan(&read); err != nil {
				t.Fatal(err)
			}
			if shown != tt.setting || read != tt.setting {
				t.Errorf("the administrator sees %q, a plain principal %q; want %q", shown, read, tt.setting)
			}
			_, err := admin.Exec(ctx, `SELECT pgaadauth_sync_roles_for_group_members()`)
			if got := pgErr(err); got != tt.sync {
				t.Errorf("sync as the administrator: got %q, want %q", got, tt.sync)
			}
			_, err = bob.Exec(ctx, `SELECT pgaadauth_sync_roles_for_group_members()`)
			if got, want := pgErr(err), "42501: permission denied to manage Microsoft Entra principals"; got != want {
				t.Errorf("sync as a plain principal: got %q, want %q", got, want)
			}
		})
	}
	// No module defines the parameter here, so any session may SET it, and
	// the sync follows the session's value. Whether Azure lets a session
	// change it is not documented; tests turn it on with GroupSync.
	t.Run("set in a session", func(t *testing.T) {
		admin := adminConn(t, New(t))
		mustExec(t, admin, `SET pgaadauth.enable_group_sync = on`)
		mustExec(t, admin, `SELECT pgaadauth_sync_roles_for_group_members()`)
	})
}

// Setting a server up, a superuser may create principals without being one.
func TestSuperuserCreates(t *testing.T) {
	c := New(t)
	c.SuperExec(t, `SELECT pgaadauth_create_principal_with_oid('by-super', 'oid-1', 'service', false, false)`)
	if got := len(listPrincipals(t, adminConn(t, c), false)); got != 2 {
		t.Errorf("%d principals, want 2", got)
	}
}
