package connect

import (
	"bytes"
	"context"
	"crypto/tls"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgusers/pgusers/internal/pgtest"
	"github.com/pgusers/pgusers/pkg/spec"
)

// configSummary is what Config decides, in comparable form.
type configSummary struct {
	Host, Database, User string
	Port                 uint16
	Password             string
	Attempts             []attempt
	RuntimeParams        map[string]string
	ConnectTimeout       time.Duration
	ExecMode             pgx.QueryExecMode
	TokenHook            bool
}

func summariseConfig(c *pgx.ConnConfig) configSummary {
	tlsConfigs := []*tls.Config{c.TLSConfig}
	for _, fb := range c.Fallbacks {
		tlsConfigs = append(tlsConfigs, fb.TLSConfig)
	}
	return configSummary{
		Host: c.Host, Port: c.Port, Database: c.Database, User: c.User,
		Password:       c.Password,
		Attempts:       summarise(tlsConfigs),
		RuntimeParams:  c.RuntimeParams,
		ConnectTimeout: c.ConnectTimeout,
		ExecMode:       c.DefaultQueryExecMode,
		TokenHook:      c.AfterNetConnect != nil,
	}
}

func TestConfig(t *testing.T) {
	pki := pgtest.NewPKI(t, "good")
	// None of these may change how pgusers connects.
	t.Setenv("PGPASSWORD", "from-the-environment")
	t.Setenv("PGOPTIONS", "-c search_path=elsewhere")
	t.Setenv("PGAPPNAME", "someone-else")
	t.Setenv("PGSSLMODE", "disable")
	t.Setenv("PGTARGETSESSIONATTRS", "read-write")
	t.Setenv("PGCONNECT_TIMEOUT", "1")

	const host = "orders-prod.postgres.database.azure.com"
	params := map[string]string{"application_name": "pgusers"}
	verified := attempt{TLS: true, ServerName: host}
	unverified := attempt{TLS: true, ServerName: host, SkipVerify: true}
	entraServer := spec.Server{Name: "orders-prod",
		Connection: spec.Connection{Host: host, Database: "postgres", User: "pg-admins", Auth: spec.AuthEntra, Credential: "default", SSLMode: "verify-full"}}
	with := func(s spec.Server, f func(*spec.Server)) spec.Server { f(&s); return s }
	env := map[string]string{"PGUSERS_PW": "hunter2", "PGPASSWORD": "from-getenv"}

	tests := map[string]struct {
		server spec.Server
		opts   Options
		want   configSummary
	}{
		"entra, verify-full": {
			server: entraServer,
			want: configSummary{Host: host, Port: 5432, Database: "postgres", User: "pg-admins",
				Attempts: []attempt{verified}, RuntimeParams: params, ConnectTimeout: 30 * time.Second,
				ExecMode: pgx.QueryExecModeExec, TokenHook: true},
		},
		"entra, sslrootcert, port, timeout": {
			server: with(entraServer, func(s *spec.Server) { s.SSLRootCert = pki.CAFile; s.Port = 6432 }),
			opts:   Options{ConnectTimeout: 5 * time.Second},
			want: configSummary{Host: host, Port: 6432, Database: "postgres", User: "pg-admins",
				Attempts: []attempt{{TLS: true, ServerName: host, OwnRoots: true}}, RuntimeParams: params,
				ConnectTimeout: 5 * time.Second, ExecMode: pgx.QueryExecModeExec, TokenHook: true},
		},
		"entra, require": {
			server: with(entraServer, func(s *spec.Server) { s.SSLMode = "require" }),
			want: configSummary{Host: host, Port: 5432, Database: "postgres", User: "pg-admins",
				Attempts: []attempt{unverified}, RuntimeParams: params, ConnectTimeout: 30 * time.Second,
				ExecMode: pgx.QueryExecModeExec, TokenHook: true},
		},
		"entra, defaults of this package": {
			server: spec.Server{Name: "bare", Connection: spec.Connection{Host: host, User: "pg-admins"}},
			want: configSummary{Host: host, Port: 5432, Database: "postgres", User: "pg-admins",
				Attempts: []attempt{verified}, RuntimeParams: params, ConnectTimeout: 30 * time.Second,
				ExecMode: pgx.QueryExecModeExec, TokenHook: true},
		},
		"password from its variable, prefer": {
			server: spec.Server{Name: "local",
				Connection: spec.Connection{Host: "db.example", Database: "app", User: "admin", Auth: spec.AuthPassword, PasswordEnv: "PGUSERS_PW", SSLMode: "prefer"}},
			opts: Options{Getenv: func(k string) string { return env[k] }},
			want: configSummary{Host: "db.example", Port: 5432, Database: "app", User: "admin", Password: "hunter2",
				Attempts:      []attempt{{TLS: true, ServerName: "db.example", SkipVerify: true}, {}},
				RuntimeParams: params, ConnectTimeout: 30 * time.Second, ExecMode: pgx.QueryExecModeExec, TokenHook: true},
		},
		"password unset: none": {
			server: spec.Server{Name: "local",
				Connection: spec.Connection{Host: "127.0.0.1", User: "admin", Auth: spec.AuthPassword, PasswordEnv: "PGUSERS_UNSET", SSLMode: "disable"}},
			opts: Options{Getenv: func(k string) string { return env[k] }},
			want: configSummary{Host: "127.0.0.1", Port: 5432, Database: "postgres", User: "admin",
				Attempts: []attempt{{}}, RuntimeParams: params, ConnectTimeout: 30 * time.Second,
				ExecMode: pgx.QueryExecModeExec, TokenHook: true},
		},
		"password: PGPASSWORD by default, through Getenv": {
			server: spec.Server{Name: "local", Connection: spec.Connection{Host: "127.0.0.1", User: "admin", Auth: spec.AuthPassword, SSLMode: "disable"}},
			opts:   Options{Getenv: func(k string) string { return env[k] }},
			want: configSummary{Host: "127.0.0.1", Port: 5432, Database: "postgres", User: "admin", Password: "from-getenv",
				Attempts: []attempt{{}}, RuntimeParams: params, ConnectTimeout: 30 * time.Second,
				ExecMode: pgx.QueryExecModeExec, TokenHook: true},
		},
		"quotes and backslashes survive": {
			server: spec.Server{Name: "odd",
				Connection: spec.Connection{Host: "db.example", Database: `it's a \ db`, User: `o'brien \ co`, Auth: spec.AuthPassword, PasswordEnv: "PGUSERS_UNSET", SSLMode: "disable"}},
			opts: Options{Getenv: func(k string) string { return env[k] }},
			want: configSummary{Host: "db.example", Port: 5432, Database: `it's a \ db`, User: `o'brien \ co`,
				Attempts: []attempt{{}}, RuntimeParams: params, ConnectTimeout: 30 * time.Second,
				ExecMode: pgx.QueryExecModeExec, TokenHook: true},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cfg, err := Config(context.Background(), tc.server, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, summariseConfig(cfg)); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
			if cfg.ValidateConnect != nil || cfg.AfterConnect != nil {
				t.Error("PGTARGETSESSIONATTRS or something else set a connect hook")
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	ok := spec.Server{Name: "orders-prod",
		Connection: spec.Connection{Host: "orders.postgres.database.azure.com", User: "pg-admins", Auth: spec.AuthEntra, SSLMode: "verify-full"}}
	with := func(f func(*spec.Server)) spec.Server { s := ok; f(&s); return s }
	tests := map[string]struct {
		server spec.Server
		want   string
	}{
		"no host":       {with(func(s *spec.Server) { s.Host = "" }), "no host"},
		"no user":       {with(func(s *spec.Server) { s.User = "" }), "no user: set user: to the role to sign in as"},
		"unknown auth":  {with(func(s *spec.Server) { s.Auth = "kerberos" }), `unknown auth "kerberos": use entra or password`},
		"unknown cloud": {with(func(s *spec.Server) { s.Cloud = "mars" }), `unknown cloud "mars": use public, usgovernment or china`},
		"unknown credential": {with(func(s *spec.Server) { s.Credential = "browser" }),
			`unknown credential "browser": use default, azurecli, managedidentity, workloadidentity or environment`},
		"clientId with environment": {with(func(s *spec.Server) { s.Credential = "environment"; s.ClientID = "x" }),
			"clientId is for credential managedidentity or workloadidentity, not environment (the default credential reads AZURE_CLIENT_ID)"},
		"unknown sslmode": {with(func(s *spec.Server) { s.SSLMode = "on" }),
			`unknown sslmode "on": use disable, allow, prefer, require, verify-ca or verify-full`},
		"port out of range": {with(func(s *spec.Server) { s.Port = 70000 }), "port 70000 is out of range"},
		"no name: host and port": {with(func(s *spec.Server) { s.Name = ""; s.User = "" }),
			"no user: set user: to the role to sign in as"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Config(context.Background(), tc.server, Options{})
			if err == nil {
				t.Fatal("no error")
			}
			if diff := cmp.Diff(tc.want, err.Error()); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}

// An sslmode that does not verify an Entra server is warned about once per
// server of a run, however often it connects.
func TestConfigWarnsOncePerServerAboutWeakSSLMode(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{ReplaceAttr: dropTime}))
	opts := Options{Credentials: NewCredentialsWith(&fakeCredential{}), Logger: logger,
		Getenv: func(string) string { return "" }}
	servers := []spec.Server{
		{Name: "a", Connection: spec.Connection{Host: "a.postgres.database.azure.com", User: "u", Auth: spec.AuthEntra, SSLMode: "require"}},
		{Name: "a", Connection: spec.Connection{Host: "a.postgres.database.azure.com", User: "u", Auth: spec.AuthEntra, SSLMode: "require"}},
		{Name: "b", Connection: spec.Connection{Host: "b.postgres.database.azure.com", User: "u", Auth: spec.AuthEntra, SSLMode: "verify-ca"}},
		{Name: "c", Connection: spec.Connection{Host: "c.postgres.database.azure.com", User: "u", Auth: spec.AuthEntra, SSLMode: "verify-full"}},
		{Name: "d", Connection: spec.Connection{Host: "127.0.0.1", User: "u", Auth: spec.AuthPassword, SSLMode: "prefer"}},
	}
	for _, s := range servers {
		if _, err := Config(context.Background(), s, opts); err != nil {
			t.Fatal(err)
		}
	}
	const msg = `level=WARN msg="sslmode does not verify the server: the Entra access token, a bearer credential, may reach an impostor; use sslmode verify-full"`
	want := msg + " server=a sslmode=require\n" + msg + " server=b sslmode=verify-ca\n"
	if diff := cmp.Diff(want, logs.String()); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
}

func TestNoticesAreLogged(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug, ReplaceAttr: dropTime}))
	onNotice := noticeLogger(logger, "orders-prod")
	for _, n := range []pgconn.Notice{
		{Severity: "NOTICE", SeverityUnlocalized: "NOTICE", Code: "00000", Message: `role "x" is already a member of role "y"`},
		{Severity: "WARNUNG", SeverityUnlocalized: "WARNING", Code: "01000", Message: "careful", Hint: "do less"},
		{Severity: "DEBUG", Code: "00000", Message: "chatter", Detail: "more chatter"},
	} {
		onNotice(nil, &n)
	}
	want := strings.Join([]string{
		`level=INFO msg="role \"x\" is already a member of role \"y\"" server=orders-prod severity=NOTICE code=00000`,
		`level=WARN msg=careful server=orders-prod severity=WARNING code=01000 hint="do less"`,
		`level=DEBUG msg=chatter server=orders-prod severity=DEBUG code=00000 detail="more chatter"`,
	}, "\n") + "\n"
	if diff := cmp.Diff(want, logs.String()); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
}

func dropTime(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}
