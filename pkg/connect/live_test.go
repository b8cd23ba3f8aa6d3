//go:build live

// The live test needs a real Azure server, which no CI here can reach: it
// is built only with -tags live, so that it never sits skipped in a run.

package connect

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/pgusers/pgusers/internal/pgtest"
	"github.com/pgusers/pgusers/pkg/spec"
)

// The variables of the opt-in live test.
const (
	// envLiveHost is the server's host name, e.g. x.postgres.database.azure.com.
	envLiveHost = "PGUSERS_LIVE_HOST"
	// envLiveAdmin is the role name of a Microsoft Entra administrator of the
	// server that DefaultAzureCredential signs in as.
	envLiveAdmin = "PGUSERS_LIVE_ADMIN"
	// envLiveObjectID, optional, is the object id of an Entra principal that
	// the test creates as a throwaway role, then drops; it must not be a
	// server administrator. envLiveObjectType is its type (user, group or
	// service; default service).
	envLiveObjectID   = "PGUSERS_LIVE_OBJECT_ID"
	envLiveObjectType = "PGUSERS_LIVE_OBJECT_TYPE"
)

// TestLiveAzure signs in to a real Azure Database for PostgreSQL Flexible
// Server with DefaultAzureCredential (az login, a managed or workload
// identity, or the AZURE_* variables of a service principal), checks
// pgaadauth_list_principals column by column against the emulation's, and,
// given an object id, creates, lists and drops a throwaway principal.
func TestLiveAzure(t *testing.T) {
	host, admin := os.Getenv(envLiveHost), os.Getenv(envLiveAdmin)
	if host == "" || admin == "" {
		t.Fatalf("set %s (the server's host name) and %s (an Entra administrator's role name), and optionally %s and %s (a throwaway principal), to sign in to a real Azure server with DefaultAzureCredential",
			envLiveHost, envLiveAdmin, envLiveObjectID, envLiveObjectType)
	}
	ctx := context.Background()
	creds := NewCredentials(nil)
	entry := spec.Server{Name: "live",
		Connection: spec.Connection{Host: host, Database: "postgres", User: admin, Auth: spec.AuthEntra, Credential: CredentialDefault, SSLMode: SSLVerifyFull}}
	var conns []*pgx.Conn
	for range 2 {
		conn, err := Open(ctx, entry, Options{Credentials: creds})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		conns = append(conns, conn)
	}
	if got := creds.TokenFetches(); got != 1 {
		t.Errorf("TokenFetches = %d after two connections, want 1", got)
	}

	emulated := pgtest.New(t)
	emuConn, err := pgx.ConnectConfig(ctx, emulated.AdminConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	defer emuConn.Close(ctx)
	if diff := cmp.Diff(listColumns(t, emuConn), listColumns(t, conns[0])); diff != "" {
		t.Errorf("pgaadauth_list_principals columns (-emulation +Azure):\n%s", diff)
	}

	objectType := os.Getenv(envLiveObjectType)
	if objectType == "" {
		objectType = string(spec.Service)
	}
	checkPrincipals(t, conns[0], admin, os.Getenv(envLiveObjectID), objectType)
}

// The emulation answers as the reference says, through the same checks as
// the live test's.
func TestEmulationAsTheLiveTestSeesIt(t *testing.T) {
	c, pki := tlsCluster(t, false)
	ctx := context.Background()
	conn, err := Open(ctx, entraEntry(c, pki), Options{Credentials: NewCredentialsWith(&fakeCredential{token: c.AdminPassword})})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	want := []column{{"rolname", "name"}, {"principaltype", "text"}, {"objectid", "text"},
		{"tenantid", "text"}, {"ismfa", "int4"}, {"isadmin", "int4"}}
	if diff := cmp.Diff(want, listColumns(t, conn)); diff != "" {
		t.Errorf("columns (-reference +emulation):\n%s", diff)
	}
	checkPrincipals(t, conn, c.Admin, pgtest.ObjectID("throwaway"), "service")
}

// listedPrincipal is a row of pgaadauth_list_principals, read by position.
type listedPrincipal struct {
	Name, Type, ObjectID, TenantID string
	MFA, Admin                     int32
}

// column is a result column of pgaadauth_list_principals.
type column struct{ Name, Type string }

func listColumns(t *testing.T, conn *pgx.Conn) []column {
	t.Helper()
	rows, err := conn.Query(context.Background(), `SELECT * FROM pg_catalog.pgaadauth_list_principals(false)`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var cols []column
	for i, fd := range rows.FieldDescriptions() {
		name := fd.Name
		if i == 0 && name == "rolename" { // a newer doc page's spelling
			name = "rolname"
		}
		c := column{Name: name, Type: fmt.Sprintf("oid %d", fd.DataTypeOID)}
		if typ, ok := conn.TypeMap().TypeForOID(fd.DataTypeOID); ok {
			c.Type = typ.Name
		}
		cols = append(cols, c)
	}
	return cols
}

// checkPrincipals checks the administrators' list, then, given an object
// id, creates a throwaway principal with it, lists it and drops it.
func checkPrincipals(t *testing.T, conn *pgx.Conn, admin, objectID, objectType string) {
	t.Helper()
	ctx := context.Background()
	found := false
	for _, p := range listPrincipals(t, conn, true) {
		checkListed(t, p)
		if p.Admin != 1 {
			t.Errorf("%s: isadmin %d in the administrators' list", p.Name, p.Admin)
		}
		found = found || p.Name == admin
	}
	if !found {
		t.Errorf("%s is not among the administrators", admin)
	}
	if objectID == "" {
		t.Logf("%s not set: no throwaway principal created", envLiveObjectID)
		return
	}

	suffix := make([]byte, 4)
	rand.Read(suffix)
	name := "pgusers-live-" + hex.EncodeToString(suffix)
	quoted := pgx.Identifier{name}.Sanitize()
	defer conn.Exec(context.WithoutCancel(ctx), "DROP ROLE IF EXISTS "+quoted)

	var created string
	err := conn.QueryRow(ctx, `SELECT pg_catalog.pgaadauth_create_principal_with_oid($1, $2, $3, false, false)`,
		name, objectID, objectType).Scan(&created)
	if err != nil {
		t.Fatal(err)
	}
	if want := "Created role for " + quoted; created != want {
		t.Errorf("create returned %q, want %q", created, want)
	}
	var got *listedPrincipal
	for _, p := range listPrincipals(t, conn, false) {
		checkListed(t, p)
		if p.Name == name {
			got = &p
		}
	}
	if got == nil {
		t.Fatalf("%s is not listed after its creation", name)
	}
	want := listedPrincipal{Name: name, Type: objectType, ObjectID: strings.ToLower(objectID), TenantID: got.TenantID}
	got.ObjectID = strings.ToLower(got.ObjectID)
	if diff := cmp.Diff(want, *got); diff != "" {
		t.Errorf("listed (-want +got):\n%s", diff)
	}

	if _, err := conn.Exec(ctx, "DROP ROLE "+quoted); err != nil {
		t.Fatal(err)
	}
	for _, p := range listPrincipals(t, conn, false) {
		if p.Name == name {
			t.Errorf("%s is still listed after DROP ROLE", name)
		}
	}
}

func listPrincipals(t *testing.T, conn *pgx.Conn, admins bool) []listedPrincipal {
	t.Helper()
	rows, _ := conn.Query(context.Background(), `SELECT * FROM pg_catalog.pgaadauth_list_principals($1)`, admins)
	ps, err := pgx.CollectRows(rows, pgx.RowToStructByPos[listedPrincipal])
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

var guid = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// checkListed checks the values of a listed principal against the reference.
func checkListed(t *testing.T, p listedPrincipal) {
	t.Helper()
	switch spec.PrincipalType(p.Type) {
	case spec.User, spec.Group, spec.Service:
	default:
		t.Errorf("%s: principaltype %q", p.Name, p.Type)
	}
	if !guid.MatchString(p.ObjectID) {
		t.Errorf("%s: objectid %q is not a GUID", p.Name, p.ObjectID)
	}
	if !guid.MatchString(p.TenantID) {
		t.Errorf("%s: tenantid %q is not a GUID", p.Name, p.TenantID)
	}
	if p.MFA != 0 && p.MFA != 1 || p.Admin != 0 && p.Admin != 1 {
		t.Errorf("%s: ismfa %d, isadmin %d: want 1 or 0", p.Name, p.MFA, p.Admin)
	}
}
