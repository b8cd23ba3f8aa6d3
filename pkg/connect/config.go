package connect

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"

	"github.com/pgusers/pgusers/pkg/spec"
)

// ApplicationName is the application_name of every connection, what the
// server's pg_stat_activity and logs show.
const ApplicationName = "pgusers"

// DefaultConnectTimeout bounds a connection attempt, token included, when
// Options.ConnectTimeout is 0.
const DefaultConnectTimeout = 30 * time.Second

// Options are what the servers of a run share.
type Options struct {
	// Credentials sign in with Entra ID; share one across the servers of a
	// run, so that they share tokens. nil: NewCredentials(Getenv) for this
	// call alone.
	Credentials *Credentials
	// Getenv reads the password variable of auth: password (nil: os.Getenv).
	Getenv func(string) string
	// Logger receives the warning about an sslmode that does not verify an
	// Entra server (once per server and Credentials) and the server's
	// notices: WARNING at warn level, NOTICE at info, the others at debug.
	// nil: discard.
	Logger *slog.Logger
	// ConnectTimeout bounds each connection attempt (0: DefaultConnectTimeout).
	ConnectTimeout time.Duration
	// DialFunc dials the server (nil: pgconn's dialer); tests wrap it to
	// count round trips or add delay.
	DialFunc pgconn.DialFunc
}

// server is a server entry with the defaults of this package applied.
type server struct {
	spec.Server
	label string // what errors and logs call it
}

func newServer(s spec.Server) (server, error) {
	sv := server{Server: s, label: s.Name}
	if sv.label == "" {
		sv.label = net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
	}
	if sv.Host == "" {
		return sv, errors.New("no host")
	}
	if sv.User == "" {
		return sv, errors.New("no user: set user: to the role to sign in as")
	}
	if sv.Port == 0 {
		sv.Port = 5432
	}
	if sv.Port < 0 || sv.Port > 65535 {
		return sv, fmt.Errorf("port %d is out of range", sv.Port)
	}
	if sv.Database == "" {
		sv.Database = "postgres"
	}
	switch sv.Auth {
	case "":
		sv.Auth = spec.AuthEntra
	case spec.AuthEntra, spec.AuthPassword:
	default:
		return sv, fmt.Errorf("unknown auth %q: use entra or password", sv.Auth)
	}
	if sv.SSLMode == "" {
		sv.SSLMode = SSLVerifyFull
		if sv.Auth == spec.AuthPassword {
			sv.SSLMode = SSLPrefer
		}
	}
	if sv.PasswordEnv == "" {
		sv.PasswordEnv = "PGPASSWORD"
	}
	return sv, nil
}

// entra is how one server signs in with Entra ID.
type entra struct {
	creds *Credentials
	key   sourceKey
	cloud azureCloud
}

// Config returns the connection configuration of server entry s. Each
// connection made from it, and each of its attempts (another address of the
// host, sslmode prefer's attempt without TLS), asks opts.Credentials for a
// token right after TLS is up: the configuration holds no token, and may be
// used for as long as needed. It does no I/O but reading sslrootcert.
//
// Open connects with it and turns a failure into an error for users; who
// connects with Config's result directly gets pgx's errors, whose
// pgconn.ConnectError.Config holds the password or token that was sent.
func Config(ctx context.Context, s spec.Server, opts Options) (*pgx.ConnConfig, error) {
	sv, err := newServer(s)
	if err != nil {
		return nil, err
	}
	cfg, _, err := config(sv, opts)
	return cfg, err
}

func config(sv server, opts Options) (*pgx.ConnConfig, *entra, error) {
	fail := func(err error) (*pgx.ConnConfig, *entra, error) {
		return nil, nil, err
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	timeout := opts.ConnectTimeout
	if timeout <= 0 {
		timeout = DefaultConnectTimeout
	}

	var en *entra
	if sv.Auth == spec.AuthEntra {
		cl, err := cloudOf(sv.Host, sv.Cloud)
		if err != nil {
			return fail(err)
		}
		key, err := credentialKey(sv.Credential, sv.ClientID, cl)
		if err != nil {
			return fail(err)
		}
		creds := opts.Credentials
		if creds == nil {
			creds = NewCredentials(opts.Getenv)
		}
		en = &entra{creds: creds, key: key, cloud: cl}
	}

	attempts, err := tlsAttempts(sv.Host, sv.SSLMode, sv.SSLRootCert)
	if err != nil {
		return fail(err)
	}

	// ParseConfig is the only way to a config pgx accepts. It also reads
	// PG* variables, ~/.pgpass and a service file: every field that matters
	// is set below, so none of those changes how pgusers connects.
	cfg, err := pgx.ParseConfig(keywordValues(
		"host", sv.Host,
		"port", strconv.Itoa(sv.Port),
		"dbname", sv.Database,
		"user", sv.User,
		"sslmode", SSLDisable,
		"sslnegotiation", "postgres",
		"target_session_attrs", "any",
		"connect_timeout", strconv.Itoa(int((timeout+time.Second-1)/time.Second)),
	))
	if err != nil {
		return fail(err)
	}
	cfg.Host, cfg.Port = sv.Host, uint16(sv.Port)
	cfg.Database, cfg.User = sv.Database, sv.User
	cfg.Password = ""
	if sv.Auth == spec.AuthPassword {
		getenv := opts.Getenv
		if getenv == nil {
			getenv = os.Getenv
		}
		cfg.Password = getenv(sv.PasswordEnv)
	}
	cfg.TLSConfig = attempts[0]
	cfg.Fallbacks = nil
	for _, t := range attempts[1:] {
		cfg.Fallbacks = append(cfg.Fallbacks, &pgconn.FallbackConfig{Host: sv.Host, Port: uint16(sv.Port), TLSConfig: t})
	}
	cfg.RuntimeParams = map[string]string{"application_name": ApplicationName}
	cfg.ConnectTimeout = timeout
	if opts.DialFunc != nil {
		cfg.DialFunc = opts.DialFunc
	}
	cfg.KerberosSrvName, cfg.KerberosSpn = "", ""
	cfg.ValidateConnect, cfg.AfterConnect = nil, nil
	cfg.MinProtocolVersion, cfg.MaxProtocolVersion = "3.0", "3.0"
	cfg.ChannelBinding, cfg.RequireAuth = "prefer", ""
	cfg.OnNotice = noticeLogger(logger, sv.label)
	cfg.AfterNetConnect = afterTLS(sv, en)
	cfg.Tracer = nil
	// A pgx.Batch in exec mode is one round trip; the default mode adds a
	// round trip to describe each new statement.
	cfg.DefaultQueryExecMode = pgx.QueryExecModeExec
	cfg.StatementCacheCapacity, cfg.DescriptionCacheCapacity = 0, 0
	// When a run is interrupted or a server's --timeout runs out, ask the
	// server to cancel the statement (a backend waiting on a lock would
	// otherwise wait on, holding the open transaction) and only then drop
	// the connection if it does not answer.
	cfg.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: pc, DeadlineDelay: 2 * time.Second}
	}

	if en != nil && sv.SSLMode != SSLVerifyFull && !isSocketDir(sv.Host) && en.creds.firstWarning(sv.label) {
		logger.Warn("sslmode does not verify the server: the Entra access token, a bearer credential, may reach an impostor; use sslmode verify-full",
			"server", sv.label, "sslmode", sv.SSLMode)
	}
	return cfg, en, nil
}

// afterTLS is the AfterNetConnect hook of every connection attempt. It
// completes the TLS handshake, which crypto/tls would otherwise leave to the
// first write, so that a certificate that does not verify fails the attempt
// before a token is even asked for. Then, for Entra, it puts a token into
// the attempt's password: pgx copies the config for each connection, so
// connections made concurrently from one config never see each other's.
func afterTLS(sv server, en *entra) func(context.Context, *pgconn.Config, net.Conn) (net.Conn, error) {
	return func(ctx context.Context, pc *pgconn.Config, conn net.Conn) (net.Conn, error) {
		// pgconn closes the conn it gets back, even on error.
		if tc, ok := conn.(*tls.Conn); ok {
			if err := tc.HandshakeContext(ctx); err != nil {
				return conn, err
			}
		}
		if en == nil {
			return conn, nil
		}
		token, err := en.creds.token(ctx, en.key, en.cloud)
		if err != nil {
			return conn, tokenFailure{credentialError(sv, en, err)}
		}
		pc.Password = token
		return conn, nil
	}
}

// tokenFailure carries a credential's failure through pgconn, which would
// replace an error that wraps a timeout (a token fetch cut short by the
// connect timeout) with a bare "timeout: context deadline exceeded". It has
// no Unwrap, so pgconn does not see the timeout; Open takes the SignInError
// out.
type tokenFailure struct{ err *SignInError }

func (f tokenFailure) Error() string { return f.err.Error() }

func noticeLogger(logger *slog.Logger, label string) pgconn.NoticeHandler {
	return func(_ *pgconn.PgConn, n *pgconn.Notice) {
		severity := n.SeverityUnlocalized
		if severity == "" {
			severity = n.Severity
		}
		level := slog.LevelDebug
		switch severity {
		case "WARNING":
			level = slog.LevelWarn
		case "NOTICE":
			level = slog.LevelInfo
		}
		attrs := []any{"server", label, "severity", severity, "code", n.Code}
		if n.Detail != "" {
			attrs = append(attrs, "detail", n.Detail)
		}
		if n.Hint != "" {
			attrs = append(attrs, "hint", n.Hint)
		}
		logger.Log(context.Background(), level, n.Message, attrs...)
	}
}

// keywordValues renders key, value pairs as a libpq keyword/value
// connection string, every value quoted.
func keywordValues(kv ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(kv[i])
		b.WriteString("='")
		b.WriteString(strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(kv[i+1]))
		b.WriteByte('\'')
	}
	return b.String()
}
