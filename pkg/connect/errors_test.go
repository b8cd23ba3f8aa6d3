package connect

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgusers/pgusers/pkg/spec"
)

func entraFor(t *testing.T, kind, clientID string, env map[string]string) *entra {
	t.Helper()
	key, err := credentialKey(kind, clientID, clouds[0])
	if err != nil {
		t.Fatal(err)
	}
	return &entra{creds: NewCredentials(func(k string) string { return env[k] }), key: key, cloud: clouds[0]}
}

func testServer(t *testing.T, s spec.Server) server {
	t.Helper()
	sv, err := newServer(s)
	if err != nil {
		t.Fatal(err)
	}
	return sv
}

func TestCredentialError(t *testing.T) {
	sv := testServer(t, spec.Server{Name: "orders-prod", Connection: spec.Connection{Host: "orders.postgres.database.azure.com", User: "pg-admins"}})
	chained := errors.New("DefaultAzureCredential: failed to acquire a token.\nAttempted credentials:\n" +
		"\tEnvironmentCredential: missing environment variable AZURE_TENANT_ID\n" +
		"\tManagedIdentityCredential: no response from the IMDS endpoint\n" +
		"\tAzureCLICredential: ERROR: Please run 'az login' to setup account.\n\t\tSecond line of detail")
	rule := strings.Repeat("-", 80) + "\n"
	tests := map[string]struct {
		kind, clientID string
		env            map[string]string
		err            error
		want           string
	}{
		"azurecli not signed in": {kind: "azurecli",
			err:  errors.New("AzureCLICredential: ERROR: Please run 'az login' to setup account.\n"),
			want: `sign-in with Entra credential "azurecli" failed: run "az login" (or set credential: in the file); Azure said: AzureCLICredential: ERROR: Please run 'az login' to setup account.`},
		"azurecli not installed": {kind: "azurecli",
			err:  errors.New("AzureCLICredential: Azure CLI not found on path"),
			want: `sign-in with Entra credential "azurecli" failed: install the Azure CLI and run "az login" (or set credential: in the file); Azure said: AzureCLICredential: Azure CLI not found on path`},
		"default: the credentials tried": {kind: "default", err: chained,
			want: `sign-in with Entra credential "default" failed: sign in with "az login", or run where a managed identity or workload identity is available, or choose one with credential: in the file; Azure said: EnvironmentCredential: missing environment variable AZURE_TENANT_ID; ManagedIdentityCredential: no response from the IMDS endpoint; AzureCLICredential: ERROR: Please run 'az login' to setup account.`},
		"managed identity, the response of an AuthenticationFailedError": {kind: "managedidentity",
			err: errors.New("ManagedIdentityCredential authentication failed. \nGET http://169.254.169.254/metadata/identity/oauth2/token\n" + rule +
				"RESPONSE 403: 403 Forbidden\n" + rule + "resolve_deny: denied destination\n" + rule +
				"To troubleshoot, visit https://aka.ms/azsdk/go/identity/troubleshoot#managed-id"),
			want: `sign-in with Entra credential "managedidentity" failed: run pgusers on an Azure resource that has a managed identity; for a user-assigned one set clientId: to its client id (or set credential: in the file); Azure said: ManagedIdentityCredential authentication failed. RESPONSE 403: 403 Forbidden: resolve_deny: denied destination`},
		"default, a chain with an AuthenticationFailedError": {kind: "default",
			err: errors.New("DefaultAzureCredential: failed to acquire a token.\nAttempted credentials:\n" +
				"\tEnvironmentCredential: missing environment variable AZURE_TENANT_ID\n" +
				"\tManagedIdentityCredential authentication failed. \n\t\tGET http://169.254.169.254/metadata/identity/oauth2/token\n" +
				"\t\t" + rule + "\t\tRESPONSE 400: 400 Bad Request\n\t\t" + rule +
				"\t\t" + `{"error":"invalid_request","error_description":"Identity not found"}` + "\n\t\t" + rule),
			want: `sign-in with Entra credential "default" failed: sign in with "az login", or run where a managed identity or workload identity is available, or choose one with credential: in the file; Azure said: EnvironmentCredential: missing environment variable AZURE_TENANT_ID; ManagedIdentityCredential authentication failed. RESPONSE 400: 400 Bad Request: {"error":"invalid_request","error_description":"Identity not found"}`},
		"managed identity": {kind: "managedidentity", err: errors.New("ManagedIdentityCredential: no response from the IMDS endpoint"),
			want: `sign-in with Entra credential "managedidentity" failed: run pgusers on an Azure resource that has a managed identity; for a user-assigned one set clientId: to its client id (or set credential: in the file); Azure said: ManagedIdentityCredential: no response from the IMDS endpoint`},
		"user-assigned managed identity": {kind: "managedidentity", clientID: "6f1e9a3c-0d7b-4c1e-9a51-3b2f4d6e8a90",
			err:  errors.New("ManagedIdentityCredential authentication failed. the requested identity isn't assigned to this resource\nGET http://169.254.169.254/metadata/identity/oauth2/token"),
			want: `sign-in with Entra credential "managedidentity" failed: assign the managed identity of client id 6f1e9a3c-0d7b-4c1e-9a51-3b2f4d6e8a90 to the Azure resource pgusers runs on (or set credential: in the file); Azure said: ManagedIdentityCredential authentication failed. the requested identity isn't assigned to this resource`},
		"workload identity, variables missing": {kind: "workloadidentity", env: map[string]string{"AZURE_CLIENT_ID": "c"},
			err:  errors.New("no token file specified. Check pod configuration or set TokenFilePath in the options"),
			want: `sign-in with Entra credential "workloadidentity" failed: set AZURE_TENANT_ID, AZURE_CLIENT_ID (or clientId: in the file) and AZURE_FEDERATED_TOKEN_FILE, as the workload identity webhook does (not set: AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE); Azure said: no token file specified. Check pod configuration or set TokenFilePath in the options`},
		"environment": {kind: "environment",
			err:  errors.New("EnvironmentCredential: missing environment variable AZURE_TENANT_ID"),
			want: `sign-in with Entra credential "environment" failed: set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (or AZURE_CLIENT_CERTIFICATE_PATH) for a service principal (not set: AZURE_TENANT_ID, AZURE_CLIENT_ID); Azure said: EnvironmentCredential: missing environment variable AZURE_TENANT_ID`},
		"timed out": {kind: "default", err: fmt.Errorf("ManagedIdentityCredential: %w", context.DeadlineExceeded),
			want: `sign-in with Entra credential "default" failed: no token came within the connect timeout; Azure said: ManagedIdentityCredential: context deadline exceeded`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := credentialError(sv, entraFor(t, tc.kind, tc.clientID, tc.env), tc.err)
			if diff := cmp.Diff(tc.want, err.Error()); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
			if !errors.Is(err, tc.err) {
				t.Error("the credential's error is not wrapped")
			}
		})
	}
}

func TestRefusedError(t *testing.T) {
	entraSrv := testServer(t, spec.Server{Name: "orders-prod", Connection: spec.Connection{Host: "orders.postgres.database.azure.com", User: "pg-admins", Auth: spec.AuthEntra}})
	pwSrv := testServer(t, spec.Server{Name: "local", Connection: spec.Connection{Host: "127.0.0.1", User: "admin", Auth: spec.AuthPassword, PasswordEnv: "PGUSERS_PW", SSLMode: "disable"}})
	fatal := func(code, msg string) *pgconn.PgError {
		return &pgconn.PgError{Severity: "FATAL", Code: code, Message: msg}
	}
	tests := map[string]struct {
		sv          server
		entra       bool
		pgErr       *pgconn.PgError
		passwordSet bool
		want        string // "" for not a sign-in error
	}{
		"expired token": {sv: entraSrv, entra: true, pgErr: fatal("28000", "The access token has expired. Acquire a new token and try again."),
			want: `the server refused the Entra sign-in as "pg-admins" (credential "default"): the token had expired when the server checked it: check this machine's clock (pgusers fetches a token for every connection); the server said: The access token has expired. Acquire a new token and try again.`},
		"wrong audience": {sv: entraSrv, entra: true,
			pgErr: fatal("XX000", `The access token does not have a valid audience claim. Please acquire a new token for the resource "https://ossrdbms-aad.database.windows.net".`),
			want:  `the server refused the Entra sign-in as "pg-admins" (credential "default"): the token is for another resource (pgusers asked for https://ossrdbms-aad.database.windows.net/.default): set cloud: in the file to the server's cloud (public, usgovernment or china); the server said: The access token does not have a valid audience claim. Please acquire a new token for the resource "https://ossrdbms-aad.database.windows.net".`},
		"token type": {sv: entraSrv, entra: true, pgErr: fatal("28000", "Service Principals cannot generate AAD_AUTH_TOKENTYPE_APP_USER tokens for role[pg-admins]"),
			want: `the server refused the Entra sign-in as "pg-admins" (credential "default"): the credential signs in as another kind of principal than role "pg-admins" is (user, group or service): set user: to the role of the identity the credential signs in as (a managed identity or service principal: its own role; a user: their UPN or a group of theirs); the server said: Service Principals cannot generate AAD_AUTH_TOKENTYPE_APP_USER tokens for role[pg-admins]`},
		"entra, password authentication failed": {sv: entraSrv, entra: true, pgErr: fatal("28P01", `password authentication failed for user "pg-admins"`),
			want: `the server refused the Entra sign-in as "pg-admins" (credential "default"): role "pg-admins" does not accept the token of credential "default": set user: to the name of a Microsoft Entra administrator of the server that this credential signs in as (a UPN, a group name or a managed identity's name); the server said: password authentication failed for user "pg-admins"`},
		"entra, no encryption": {sv: testServer(t, spec.Server{Name: "orders-prod", Connection: spec.Connection{Host: "orders.postgres.database.azure.com", User: "pg-admins", SSLMode: "disable"}}), entra: true,
			pgErr: fatal("28000", `no pg_hba.conf entry for host "10.0.0.4", user "pg-admins", database "postgres", no encryption`),
			want:  `the server refused the Entra sign-in as "pg-admins" (credential "default"): the server's pg_hba.conf admits no connection of this user, database and encryption from this address; Azure requires TLS: use sslmode verify-full; the server said: no pg_hba.conf entry for host "10.0.0.4", user "pg-admins", database "postgres", no encryption`},
		"password wrong": {sv: pwSrv, pgErr: fatal("28P01", `password authentication failed for user "admin"`), passwordSet: true,
			want: `the server refused the password sign-in as "admin": $PGUSERS_PW does not hold the password of "admin"; the server said: password authentication failed for user "admin"`},
		"password unset": {sv: pwSrv, pgErr: fatal("28P01", `password authentication failed for user "admin"`),
			want: `the server refused the password sign-in as "admin": $PGUSERS_PW is empty: set it to the password of "admin" (or name another variable with passwordEnv: in the file); the server said: password authentication failed for user "admin"`},
		"role cannot log in": {sv: pwSrv, pgErr: fatal("28000", `role "admin" is not permitted to log in`), passwordSet: true,
			want: `the server refused the password sign-in as "admin": the server does not let "admin" sign in; the server said: role "admin" is not permitted to log in`},
		"not about signing in": {sv: pwSrv, pgErr: fatal("3D000", `database "nope" does not exist`)},
		"token FATAL words on password auth are not about tokens": {sv: pwSrv, pgErr: fatal("XX000", "The access token has expired")},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var en *entra
			if tc.entra {
				en = entraFor(t, "default", "", nil)
			}
			err := refusedError(tc.sv, en, tc.pgErr, tc.passwordSet)
			got := ""
			if err != nil {
				got = err.Error()
				var pgErr *pgconn.PgError
				if !errors.As(err, &pgErr) || pgErr != tc.pgErr {
					t.Error("the server's error is not wrapped")
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
		})
	}
}
