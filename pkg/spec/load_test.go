package spec

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// entra is a server as the defaults of the format leave it, so that a
// case spells out only what it changes.
func entra(name, host string, pos Position) Server {
	return Server{
		Name:       name,
		Connection: Connection{Host: host, Port: 5432, Database: "postgres", Auth: AuthEntra, Credential: "default", SSLMode: "verify-full"},
		MaxDrops:   DefaultMaxDrops, Pos: pos}
}

func at(file string, line, col int) Position { return Position{File: file, Line: line, Column: col} }

func TestLoadValid(t *testing.T) {
	const full = "testdata/full.yaml"
	alice := Principal{
		Name: "alice@contoso.com", Type: User, ObjectID: "6f1e9a3c-0d7b-4c1e-9a51-3b2f4d6e8a90",
		ManageMemberships: true, MemberOf: []string{"reporting"}, Set: "platform-team", Pos: at(full, 15, 7),
	}
	engineers := Principal{Name: "Platform Engineers", Type: Group, Set: "platform-team", Pos: at(full, 19, 7)}

	const multi = "testdata/multi"
	bi := Principal{Name: "bi-readers", Type: Group, ManageMemberships: true, MemberOf: []string{"reporting"},
		Set: "readers", Pos: at(multi+"/20-sets.yml", 6, 7)}
	bob := Principal{Name: "bob@contoso.com", Type: User, MFA: true, Set: "oncall", Pos: at(multi+"/20-sets.yml", 10, 7)}

	const inherit = "testdata/inherit.yaml"
	const anchors = "testdata/anchors.yaml"
	carol := Principal{Name: "carol@contoso.com", Type: User, ManageMemberships: true, MemberOf: []string{"reporting"},
		Set: "ops", Pos: at(anchors, 5, 7)}

	const privs = "testdata/privileges.yaml"
	kg := func(k Kind, privileges ...string) KindGrant { return KindGrant{Kind: k, Privileges: privileges} }
	ro := Role{Name: "orders_ro", Comment: "read-only on orders", ManageComment: true, Set: "app-roles", Pos: at(privs, 10, 7)}
	rw := Role{Name: "orders_rw", ManageMemberships: true, MemberOf: []string{"orders_ro"}, Set: "app-roles", Pos: at(privs, 12, 7)}

	tests := map[string]struct {
		paths []string
		want  *Desired
	}{
		"group roles, profiles and grants": {
			paths: []string{privs},
			want: &Desired{Files: []string{privs}, Servers: []Server{
				func() Server {
					s := entra("orders-prod", "orders-prod.postgres.database.azure.com", at(privs, 22, 5))
					s.User = "pg-admins"
					s.Principals = []Principal{{Name: "aad_orders_conn", Type: Service, Pos: at(privs, 26, 9)}}
					s.Roles = []Role{
						{Name: "auditors", Pos: at(privs, 29, 9)},
						{Name: "legacy_rw", Absent: true, Pos: at(privs, 30, 9)},
						ro, rw,
					}
					s.Grants = []Grant{
						{To: "orders_ro", Databases: []string{"orders"}, Schemas: []string{"public", "sales"},
							Kinds: []KindGrant{
								kg(KindDatabase, "CONNECT"), kg(KindSchema, "USAGE"), kg(KindTables, "SELECT"), kg(KindSequences, "SELECT"),
							},
							DefaultsFor: []string{"orders_owner"}, Profile: "readonly", Pos: at(privs, 32, 9)},
						// write: readonly's, and its own.
						{To: "orders_rw", Databases: []string{"orders"}, Schemas: []string{"sales"},
							Kinds: []KindGrant{
								kg(KindDatabase, "CONNECT"), kg(KindSchema, "USAGE"),
								kg(KindTables, "SELECT", "INSERT", "UPDATE", "DELETE"), kg(KindSequences, "USAGE", "SELECT", "UPDATE"),
							},
							DefaultsFor: []string{"orders_owner"}, Profile: "write", Pos: at(privs, 37, 9)},
						{To: "aad_orders_conn", Databases: []string{"orders"}, Schemas: []string{"public"},
							Kinds: []KindGrant{
								{Kind: KindDatabase, All: true}, kg(KindSchema, "CREATE"), {Kind: KindTables, All: true}, {Kind: KindSequences, All: true},
							},
							Profile: "serviceConnector", Pos: at(privs, 42, 9)},
						// Only database: no schemas.
						{To: Public, Databases: []string{"orders"}, Kinds: []KindGrant{{Kind: KindDatabase}}, Pos: at(privs, 45, 9)},
					}
					return s
				}(),
				func() Server {
					s := entra("orders-dev", "orders-dev.postgres.database.azure.com", at(privs, 49, 5))
					s.User = "pg-admins"
					s.Roles = []Role{ro, rw}
					s.Grants = []Grant{
						// Case, TEMP, ALL PRIVILEGES and duplicates.
						{To: Public, Databases: []string{"orders", "orders_test"}, Schemas: []string{"public"},
							Kinds: []KindGrant{
								kg(KindDatabase, "CONNECT", "TEMPORARY"), kg(KindSchema, "USAGE", "CREATE"),
								{Kind: KindTables, All: true, Privileges: []string{Maintain}}, kg(KindFunctions, "EXECUTE"),
							},
							Pos: at(privs, 53, 9)},
						// readwrite and its own, kind by kind; sequences: [] adds nothing.
						{To: "orders_rw", Databases: []string{"orders"}, Schemas: []string{"public", "sales"},
							Kinds: []KindGrant{
								kg(KindDatabase, "CONNECT", "TEMPORARY"), kg(KindSchema, "USAGE"),
								{Kind: KindTables, All: true, Privileges: []string{"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE"}},
								kg(KindSequences, "USAGE", "SELECT", "UPDATE"),
							},
							Profile: "readwrite", Pos: at(privs, 59, 9)},
					}
					return s
				}(),
			}},
		},
		"the example of docs/file-format.md": {
			paths: []string{full},
			want: &Desired{Files: []string{full}, Servers: []Server{
				func() Server {
					s := entra("orders-prod", "orders-prod.postgres.database.azure.com", at(full, 23, 5))
					s.User, s.Cloud, s.SSLRootCert = "pg-admins", "public", "testdata/ca.pem"
					s.Prune, s.Protect, s.ReassignOwnedTo = true, []string{"breakglass-*"}, "dba"
					s.Principals = []Principal{engineers, alice, {
						Name: "orders-api", Type: Service, ObjectID: "2b7c1d0e-5f4a-4b3c-8d2e-1f0a9b8c7d6e",
						ManageMemberships: true, MemberOf: []string{"orders_ro", "orders_rw"}, Pos: at(full, 34, 9),
					}}
					return s
				}(),
				func() Server {
					s := entra("orders-dev", "orders-dev.postgres.database.azure.com", at(full, 41, 5))
					s.User = "pg-admins"
					s.Principals = []Principal{engineers, alice, {
						Name: "dev-admins", Type: Group, Admin: true, ManageMemberships: true, Pos: at(full, 45, 9),
					}}
					return s
				}(),
			}},
		},
		"a directory merges its yaml files in name order": {
			paths: []string{multi},
			want: &Desired{
				Files: []string{multi + "/10-defaults.yaml", multi + "/20-sets.yml", multi + "/30-servers.yaml"},
				Servers: []Server{
					func() Server {
						s := entra("billing-prod", "billing-prod.postgres.database.azure.com", at(multi+"/30-servers.yaml", 3, 5))
						s.User, s.Credential, s.ReassignOwnedTo = "pg-admins", "azurecli", "dba"
						s.Prune, s.Protect, s.MaxDrops = true, []string{"breakglass-*", "dba-*"}, 2
						s.Principals = []Principal{bi, bob}
						return s
					}(),
					{
						Name: "legacy", Connection: Connection{Host: "localhost", Port: 5433, Database: "app", User: "postgres", Auth: AuthPassword, PasswordEnv: "PGPASSWORD", SSLMode: "prefer"},
						ReassignOwnedTo: "dba", MaxDrops: 0, Pos: at(multi+"/30-servers.yaml", 7, 5)},
				},
			},
		},
		"files named one by one merge in the order given": {
			paths: []string{multi + "/30-servers.yaml", multi + "/20-sets.yml", multi + "/10-defaults.yaml", multi},
			want: func() *Desired {
				d := &Desired{Files: []string{multi + "/30-servers.yaml", multi + "/20-sets.yml", multi + "/10-defaults.yaml"}}
				s := entra("billing-prod", "billing-prod.postgres.database.azure.com", at(multi+"/30-servers.yaml", 3, 5))
				s.User, s.Credential, s.ReassignOwnedTo = "pg-admins", "azurecli", "dba"
				s.Prune, s.Protect, s.MaxDrops = true, []string{"breakglass-*", "dba-*"}, 2
				s.Principals = []Principal{bi, bob}
				d.Servers = append(d.Servers, s, Server{
					Name:            "legacy",
					Connection:      Connection{Host: "localhost", Port: 5433, Database: "app", User: "postgres", Auth: AuthPassword, PasswordEnv: "PGPASSWORD", SSLMode: "prefer"},
					ReassignOwnedTo: "dba", MaxDrops: 0, Pos: at(multi+"/30-servers.yaml", 7, 5)})
				return d
			}(),
		},
		"defaults are inherited where they apply and overridden by the server": {
			paths: []string{inherit},
			want: &Desired{Files: []string{inherit}, Servers: []Server{
				func() Server {
					s := entra("azure", "x.postgres.database.usgovcloudapi.net", at(inherit, 11, 5))
					s.User, s.Cloud, s.SSLMode, s.InsecureSkipTLSVerify = "admin", "usgovernment", "require", true
					s.Credential, s.ClientID = "managedidentity", "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
					return s
				}(),
				func() Server {
					s := entra("azure-cli", "y.postgres.database.azure.com", at(inherit, 14, 5))
					s.User, s.SSLMode, s.Credential, s.InsecureSkipTLSVerify = "admin", "require", "azurecli", true
					return s
				}(),
				{
					Name: "local", Connection: Connection{Host: "127.0.0.1", Port: 5432, Database: "postgres", User: "admin", Auth: AuthPassword, PasswordEnv: "PGPASSWORD", SSLMode: "require"},
					MaxDrops: DefaultMaxDrops, Pos: at(inherit, 17, 5)},
				{
					Name: "local-env", Connection: Connection{Host: "127.0.0.1", Port: 5433, Database: "postgres", User: "postgres", Auth: AuthPassword, PasswordEnv: "LOCAL_PG_PASSWORD", SSLMode: "disable"},
					MaxDrops: DefaultMaxDrops, Pos: at(inherit, 20, 5)},
			}},
		},
		"password defaults do not leak into an entra server": {
			paths: []string{"testdata/password.yaml"},
			want: &Desired{Files: []string{"testdata/password.yaml"}, Servers: []Server{
				{
					Name: "local", Connection: Connection{Host: "localhost", Port: 5432, Database: "postgres", User: "postgres", Auth: AuthPassword, PasswordEnv: "TEST_PG_PASSWORD", SSLMode: "prefer"},
					MaxDrops: DefaultMaxDrops, Pos: at("testdata/password.yaml", 11, 5)},
				func() Server {
					s := entra("cloud", "c.postgres.database.chinacloudapi.cn", at("testdata/password.yaml", 13, 5))
					s.User, s.Cloud = "pg-admins", "china"
					s.Principals = []Principal{{Name: "2024", Type: Group, Pos: at("testdata/password.yaml", 19, 9)}}
					return s
				}(),
			}},
		},
		"anchors, aliases and merge keys": {
			paths: []string{anchors},
			want: &Desired{Files: []string{anchors}, Servers: []Server{
				func() Server {
					s := entra("a", "a.postgres.database.azure.com", at(anchors, 10, 5))
					s.User, s.Prune = "pg-admins", true
					s.Principals = []Principal{{Name: "etl", Type: Service, ManageMemberships: true,
						MemberOf: []string{"reporting"}, Pos: at(anchors, 16, 9)}}
					return s
				}(),
				func() Server {
					s := entra("b", "b.postgres.database.azure.com", at(anchors, 19, 5))
					s.User, s.Prune = "pg-admins", true
					carol := carol
					carol.Set = ""
					s.Principals = []Principal{carol}
					return s
				}(),
			}},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Load(context.Background(), tt.paths)
			if err != nil {
				t.Fatalf("Load(%q): %v", tt.paths, err)
			}
			// Warnings have a test of their own.
			if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreFields(Desired{}, "Warnings")); diff != "" {
				t.Errorf("Load(%q) mismatch (-want +got):\n%s", tt.paths, diff)
			}
		})
	}
}

func TestLoadDefaultFile(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.WriteFile(DefaultFile, []byte("version: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := Load(context.Background(), nil)
	if err != nil {
		t.Fatalf("Load(context.Background(), nil): %v", err)
	}
	want := &Desired{Files: []string{DefaultFile}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Load(context.Background(), nil) mismatch (-want +got):\n%s", diff)
	}
}

// A principal reached through two sets' anchors must not share its
// memberships slice between servers: a caller may sort or append to one.
func TestLoadDoesNotShareSlices(t *testing.T) {
	d, err := Load(context.Background(), []string{"testdata/full.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := d.Server("orders-prod")
	b, _ := d.Server("orders-dev")
	a.Principals[1].MemberOf[0] = "changed"
	if got := b.Principals[1].MemberOf[0]; got != "reporting" {
		t.Errorf("orders-dev's alice.MemberOf[0] = %q after changing orders-prod's; want %q", got, "reporting")
	}
}

func TestSSLRootCertAbsoluteStays(t *testing.T) {
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	file := filepath.Join(dir, "sub", "a.yaml")
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		t.Fatal(err)
	}
	body := "version: 1\nservers:\n  - {name: a, host: h, user: u, sslrootcert: " + ca + "}\n  - {name: b, host: i, user: u, sslrootcert: ../ca.pem}\n"
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := Load(context.Background(), []string{file})
	if err != nil {
		t.Fatal(err)
	}
	got := []string{d.Servers[0].SSLRootCert, d.Servers[1].SSLRootCert}
	if diff := cmp.Diff([]string{ca, ca}, got); diff != "" {
		t.Errorf("SSLRootCert mismatch (-want +got):\n%s", diff)
	}
}

// Connections gives what Decode gives, minus the principals, group roles
// and grants, without looking at them: a caller starts connecting on it
// while Decode runs.
func TestFilesConnections(t *testing.T) {
	for _, paths := range [][]string{{"testdata/full.yaml"}, {"testdata/multi"}, {"testdata/inherit.yaml"}, {"testdata/anchors.yaml"}, {"testdata/privileges.yaml"}} {
		files := mustRead(t, paths)
		conns, ok := files.Connections(context.Background())
		if !ok {
			t.Fatalf("%v: Connections refused valid files", paths)
		}
		d, err := files.Decode(context.Background())
		if err != nil {
			t.Fatalf("%v: %v", paths, err)
		}
		want := slices.Clone(d.Servers)
		for i := range want {
			want[i].Principals, want[i].Roles, want[i].Grants = nil, nil, nil
		}
		if diff := cmp.Diff(want, conns); diff != "" {
			t.Errorf("%v: Connections differs from Decode (-Decode +Connections):\n%s", paths, diff)
		}
	}

	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const server = "version: 1\nservers:\n  - name: a\n    host: a.example.com\n    user: admin\n"
	badPrincipal := write("principal.yaml", server+"    principals:\n      - {name: x, type: robot}\n")
	if _, ok := mustRead(t, []string{badPrincipal}).Connections(context.Background()); !ok {
		t.Error("Connections refused a file whose settings are fine because of a principal")
	}
	if _, err := mustRead(t, []string{badPrincipal}).Decode(context.Background()); err == nil {
		t.Error("Decode accepted a principal of type robot")
	}
	badPrivileges := write("privileges.yaml", `version: 1
roleSets: {app: [{name: pg_x}]}
privilegeProfiles: {a: {include: [a]}, b: {tables: [EXECUTE]}}
servers:
  - name: a
    host: a.example.com
    user: admin
    includeRoles: [app, nope]
    roles: [{name: r, absent: maybe}]
    grants: [{to: r, profile: nope}]
`)
	if _, ok := mustRead(t, []string{badPrivileges}).Connections(context.Background()); !ok {
		t.Error("Connections refused a file whose settings are fine because of its roles, profiles or grants")
	}
	if _, err := mustRead(t, []string{badPrivileges}).Decode(context.Background()); err == nil {
		t.Error("Decode accepted bad roles, profiles and grants")
	}
	for name, text := range map[string]string{
		"setting.yaml": server + "    sslmode: sometimes\n",
		"syntax.yaml":  server + "    port: [\n",
		"missing.yaml": "",
	} {
		p := filepath.Join(dir, name)
		if text != "" {
			p = write(name, text)
		}
		if conns, ok := mustRead(t, []string{p}).Connections(context.Background()); ok {
			t.Errorf("%s: Connections gave %v for files with a problem", name, conns)
		}
	}
}

func mustRead(t *testing.T, paths []string) *Files {
	t.Helper()
	f, err := Read(context.Background(), paths)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestLoadWarnsOfTablesGrantsWithoutDefaults(t *testing.T) {
	writeFiles(t, map[string]string{"a.yaml": `version: 1
defaults: {user: u}
servers:
  - name: s
    host: j
    roles: [{name: readers}]
    grants:
      - {to: readers, databases: [app], profile: readonly}
      - {to: readers, databases: [app], tables: [SELECT], defaultsFor: [app_owner]}
      - {to: readers, databases: [app], database: [CONNECT]}
`})
	d, err := Load(context.Background(), []string{"a.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a.yaml:8:9: server s: the entry grants on the tables of app as they are now: tables created later will not be covered; " +
		"add defaultsFor with the roles that create them"}
	var got []string
	for _, w := range d.Warnings {
		got = append(got, w.Error())
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}
