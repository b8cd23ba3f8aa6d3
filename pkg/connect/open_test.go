package connect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgusers/pgusers/internal/pgtest"
	"github.com/pgusers/pgusers/pkg/spec"
)

const publicScope = "https://ossrdbms-aad.database.windows.net/.default"

// tlsCluster starts a cluster that requires TLS with a certificate for
// localhost only, and returns it with its PKI.
func tlsCluster(t *testing.T, logConnections bool) (*pgtest.Cluster, pgtest.PKI) {
	t.Helper()
	pki := pgtest.NewPKI(t, "cluster", "localhost")
	c := pgtest.New(t, pgtest.Options{TLSCertFile: pki.CertFile, TLSKeyFile: pki.KeyFile, LogConnections: logConnections})
	return c, pki
}

// entraEntry is the server entry of c's Entra administrator, verified
// against the CA of pki.
func entraEntry(c *pgtest.Cluster, pki pgtest.PKI) spec.Server {
	return spec.Server{Name: "throwaway",
		Connection: spec.Connection{Host: "localhost", Port: c.Port, Database: "postgres", User: c.Admin, Auth: spec.AuthEntra, Credential: CredentialDefault, SSLMode: SSLVerifyFull, SSLRootCert: pki.CAFile}}
}

// signedInAs returns who conn is, under which application name, and
// whether over TLS.
func signedInAs(t *testing.T, conn *pgx.Conn) string {
	t.Helper()
	var user, app string
	var ssl bool
	err := conn.QueryRow(context.Background(), `
		SELECT current_user::text, current_setting('application_name'), ssl
		FROM pg_stat_ssl WHERE pid = pg_backend_pid()`).Scan(&user, &app, &ssl)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%s app=%s ssl=%v", user, app, ssl)
}

// Every new connection asks for a token: rotating the password (the
// "token") between two connections, with the first token past its life,
// both sign in.
func TestOpenFetchesATokenPerConnection(t *testing.T) {
	c, pki := tlsCluster(t, false)
	ctx := context.Background()
	clock := newFakeClock()
	fake := &fakeCredential{token: c.AdminPassword, now: clock.now}
	creds := NewCredentialsWith(fake)
	creds.now = clock.now
	opts := Options{Credentials: creds}
	entry := entraEntry(c, pki)

	open := func() {
		t.Helper()
		conn, err := Open(ctx, entry, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if got, want := signedInAs(t, conn), c.Admin+" app=pgusers ssl=true"; got != want {
			t.Errorf("signed in as %q, want %q", got, want)
		}
	}
	open()
	open() // the token still lives: no fetch

	if err := c.SetAdminPassword(ctx, "second-token-"+fmt.Sprint(time.Now().UnixNano())); err != nil {
		t.Fatal(err)
	}
	fake.set(c.AdminPassword)
	clock.advance(56 * time.Minute) // the first token has 4 minutes left
	open()

	calls, scopes := fake.asked()
	if calls != 2 || creds.TokenFetches() != 2 {
		t.Errorf("GetToken called %d times, TokenFetches %d; want 2 and 2", calls, creds.TokenFetches())
	}
	if diff := cmp.Diff([]string{publicScope, publicScope}, scopes); diff != "" {
		t.Errorf("scopes (-want +got):\n%s", diff)
	}
}

// Servers connecting at once with one Credentials fetch one token.
func TestOpenConcurrentConnectionsShareAFetch(t *testing.T) {
	c, pki := tlsCluster(t, false)
	fake := &fakeCredential{token: c.AdminPassword, delay: 20 * time.Millisecond}
	opts := Options{Credentials: NewCredentialsWith(fake)}
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for range 10 {
		wg.Go(func() {
			conn, err := Open(context.Background(), entraEntry(c, pki), opts)
			if err != nil {
				errs <- err
				return
			}
			conn.Close(context.Background())
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := opts.Credentials.TokenFetches(); got != 1 {
		t.Errorf("TokenFetches = %d, want 1", got)
	}
}

// A credential that gives no token fails the server with one message that
// says what to do.
func TestOpenCredentialFailure(t *testing.T) {
	c, pki := tlsCluster(t, false)
	azErr := errors.New("AzureCLICredential: ERROR: Please run 'az login' to setup account.\n")
	entry := entraEntry(c, pki)
	entry.Name, entry.Credential = "orders-prod", CredentialAzureCLI

	_, err := Open(context.Background(), entry, Options{Credentials: NewCredentialsWith(&fakeCredential{err: azErr})})
	var signIn *SignInError
	if !errors.As(err, &signIn) {
		t.Fatalf("error %v (%T), want a *SignInError", err, err)
	}
	want := `sign-in with Entra credential "azurecli" failed: run "az login" (or set credential: in the file); Azure said: AzureCLICredential: ERROR: Please run 'az login' to setup account.`
	if diff := cmp.Diff(want, err.Error()); diff != "" {
		t.Errorf("message (-want +got):\n%s", diff)
	}
	if !errors.Is(err, azErr) {
		t.Error("the credential's error is not wrapped")
	}
}

// A token fetch is bounded by the connect timeout.
func TestOpenTokenWithinConnectTimeout(t *testing.T) {
	c, pki := tlsCluster(t, false)
	opts := Options{Credentials: NewCredentialsWith(&fakeCredential{token: "late", delay: time.Minute}),
		ConnectTimeout: 300 * time.Millisecond}
	start := time.Now()
	_, err := Open(context.Background(), entraEntry(c, pki), opts)
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("Open took %v", took)
	}
	var signIn *SignInError
	if !errors.As(err, &signIn) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want a *SignInError of context.DeadlineExceeded", err)
	}
	if want := "no token came within the connect timeout"; signIn.Hint != want {
		t.Errorf("hint %q, want %q", signIn.Hint, want)
	}
}

// A certificate that does not verify fails the connection before the token
// is even asked for, and the server never sees a sign-in: its log shows the
// connection, then no authentication. verify-full succeeds with the right CA
// and name.
func TestOpenVerifiesTheServerBeforeSigningIn(t *testing.T) {
	c, pki := tlsCluster(t, true)
	other := pgtest.NewPKI(t, "other", "localhost")
	ctx := context.Background()

	tests := map[string]struct {
		host, rootCert string
		wantErr        string // "" for success
	}{
		"verify-full with its CA and name": {host: "localhost", rootCert: pki.CAFile},
		"another CA": {host: "localhost", rootCert: other.CAFile,
			wantErr: "the certificate of localhost did not verify (sslmode verify-full), so pgusers sent no credentials: " +
				"x509: certificate signed by unknown authority; " +
				"the CA in sslrootcert " + other.CAFile + " did not sign it"},
		"another name": {host: "127.0.0.1", rootCert: pki.CAFile,
			wantErr: "the certificate of 127.0.0.1 did not verify (sslmode verify-full), so pgusers sent no credentials: " +
				"x509: cannot validate certificate for 127.0.0.1 because it doesn't contain any IP SANs; connect with a host: that the certificate names"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			fake := &fakeCredential{token: c.AdminPassword}
			entry := entraEntry(c, pki)
			entry.Host, entry.SSLRootCert = tc.host, tc.rootCert
			logStart := serverLog(t, c)

			conn, err := Open(ctx, entry, Options{Credentials: NewCredentialsWith(fake)})
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				conn.Close(ctx)
				// The log shows a sign-in when there was one.
				waitForLog(t, c, logStart, "connection authorized: user="+c.Admin)
				return
			}
			if err == nil {
				conn.Close(ctx)
				t.Fatal("connected")
			}
			if diff := cmp.Diff(tc.wantErr, err.Error()); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if calls, _ := fake.asked(); calls != 0 {
				t.Errorf("the credential was asked for a token %d times before the server was verified", calls)
			}
			attempt := waitForLog(t, c, logStart, "could not accept SSL connection")
			if !strings.Contains(attempt, "connection received: host=127.0.0.1") {
				t.Errorf("the log does not show the connection:\n%s", attempt)
			}
			for _, signIn := range []string{"connection authorized", "connection authenticated", "authentication failed", "password"} {
				if strings.Contains(attempt, signIn) {
					t.Errorf("the server log shows %q for a connection that should never have signed in:\n%s", signIn, attempt)
				}
			}
		})
	}
}

func serverLog(t *testing.T, c *pgtest.Cluster) int {
	t.Helper()
	log, err := c.Log()
	if err != nil {
		t.Fatal(err)
	}
	return len(log)
}

// waitForLog waits until the server log after offset from holds want, and
// returns that part of the log.
func waitForLog(t *testing.T, c *pgtest.Cluster, from int, want string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		log, err := c.Log()
		if err != nil {
			t.Fatal(err)
		}
		part := log[from:]
		if strings.Contains(part, want) {
			return part
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server log does not show %q:\n%s", want, part)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestOpenWithPassword(t *testing.T) {
	c := pgtest.New(t)
	ctx := context.Background()
	entry := spec.Server{Name: "local",
		Connection: spec.Connection{Host: c.Host, Port: c.Port, Database: "postgres", User: c.Admin, Auth: spec.AuthPassword, PasswordEnv: "PGUSERS_TEST_PASSWORD", SSLMode: SSLPrefer}}
	env := func(password string) Options {
		return Options{Getenv: func(k string) string {
			if k == "PGUSERS_TEST_PASSWORD" {
				return password
			}
			return ""
		}}
	}

	conn, err := Open(ctx, entry, env(c.AdminPassword))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := signedInAs(t, conn), c.Admin+" app=pgusers ssl=false"; got != want {
		t.Errorf("signed in as %q, want %q", got, want)
	}
	conn.Close(ctx)

	tests := map[string]struct {
		password, want string
	}{
		"wrong password": {"not-the-password",
			`the server refused the password sign-in as "` + c.Admin + `": $PGUSERS_TEST_PASSWORD does not hold the password of "` + c.Admin + `"; the server said: password authentication failed for user "` + c.Admin + `"`},
		"no password": {"",
			`the server refused the password sign-in as "` + c.Admin + `": $PGUSERS_TEST_PASSWORD is empty: set it to the password of "` + c.Admin + `" (or name another variable with passwordEnv: in the file); the server said: password authentication failed for user "` + c.Admin + `"`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Open(ctx, entry, env(tc.password))
			var signIn *SignInError
			if !errors.As(err, &signIn) {
				t.Fatalf("error %v (%T), want a *SignInError", err, err)
			}
			if diff := cmp.Diff(tc.want, err.Error()); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || pgErr.Code != "28P01" {
				t.Errorf("no SQLSTATE 28P01 in %v", err)
			}
		})
	}
}

// No error holds the token or the password, in its message or anywhere
// down its chain.
func TestOpenErrorsHoldNoSecret(t *testing.T) {
	c, pki := tlsCluster(t, false)
	other := pgtest.NewPKI(t, "other", "localhost")
	ctx := context.Background()
	// The password is the secret; a refused token or password contains it.
	const secret = "s3cret-token-or-password"
	if err := c.SetAdminPassword(ctx, secret); err != nil {
		t.Fatal(err)
	}
	const refused = secret + "-but-not-this-one"

	tests := map[string]struct {
		password string
		change   func(*spec.Server)
	}{
		"token refused":               {refused, func(s *spec.Server) {}},
		"signed in, database missing": {secret, func(s *spec.Server) { s.Database = "nope" }},
		"certificate not verified":    {secret, func(s *spec.Server) { s.SSLRootCert = other.CAFile }},
		"password refused": {refused, func(s *spec.Server) {
			s.Auth, s.Credential, s.PasswordEnv = spec.AuthPassword, "", "PGUSERS_SECRET"
		}},
		"password, database missing": {secret, func(s *spec.Server) {
			s.Auth, s.Credential, s.PasswordEnv, s.Database = spec.AuthPassword, "", "PGUSERS_SECRET", "nope"
		}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			entry := entraEntry(c, pki)
			tc.change(&entry)
			opts := Options{
				Credentials: NewCredentialsWith(&fakeCredential{token: tc.password}),
				Getenv:      func(k string) string { return map[string]string{"PGUSERS_SECRET": tc.password}[k] },
			}
			_, err := Open(ctx, entry, opts)
			if err == nil {
				t.Fatal("connected")
			}
			for e := error(err); e != nil; e = errors.Unwrap(e) {
				for _, text := range []string{e.Error(), fmt.Sprintf("%+v", e), fmt.Sprintf("%#v", e)} {
					if strings.Contains(text, secret) {
						t.Errorf("%T holds the secret: %s", e, text)
					}
				}
			}
			var ce *pgconn.ConnectError
			if errors.As(err, &ce) && ce.Config.Password != "" {
				t.Error("pgconn.ConnectError.Config keeps the password")
			}
			t.Log(err)
		})
	}
}

// The connections behave as the packages using them expect: a batch is one
// round trip, and the server's notices reach the logger.
func TestOpenConnectionBehaviour(t *testing.T) {
	c, pki := tlsCluster(t, false)
	ctx := context.Background()
	var counter pgtest.RoundTripCounter
	var logs bytes.Buffer
	opts := Options{
		Credentials: NewCredentialsWith(&fakeCredential{token: c.AdminPassword}),
		DialFunc:    counter.Dial(nil),
		Logger:      slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{ReplaceAttr: dropTime})),
	}
	conn, err := Open(ctx, entraEntry(c, pki), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	// SSLRequest, the TLS handshake (no HelloRetryRequest), the startup
	// message, and SCRAM's two; Azure's plain password takes one fewer.
	if got := counter.Count(); got != 5 {
		t.Errorf("signing in with a token over TLS took %d round trips, want 5", got)
	}

	counter.Reset()
	batch := &pgx.Batch{}
	batch.Queue(`SELECT $1::text`, "one")
	batch.Queue(`SELECT $1::int + $2::int`, 1, 2)
	batch.Queue(`SELECT count(*) FROM pg_roles WHERE rolname = $1`, c.Admin)
	if err := conn.SendBatch(ctx, batch).Close(); err != nil {
		t.Fatal(err)
	}
	if got := counter.Count(); got != 1 {
		t.Errorf("a batch of 3 new statements took %d round trips, want 1", got)
	}

	if _, err := conn.Exec(ctx, `DO $$ BEGIN RAISE NOTICE 'hello from the server'; END $$`); err != nil {
		t.Fatal(err)
	}
	want := "level=INFO msg=\"hello from the server\" server=throwaway severity=NOTICE code=00000\n"
	if diff := cmp.Diff(want, logs.String()); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
}
