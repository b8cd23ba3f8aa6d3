package connect

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"syscall"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgusers/pgusers/pkg/spec"
)

// Open connects to the server of entry s, as Config describes.
//
// A failed sign-in is a *SignInError; a server certificate that does not
// verify, and any other failure, an error that wraps pgx's (for errors.As and errors.Is: *pgconn.PgError, net errors,
// context errors). No error holds the token or the password.
func Open(ctx context.Context, s spec.Server, opts Options) (*pgx.Conn, error) {
	sv, err := newServer(s)
	if err != nil {
		return nil, err
	}
	cfg, en, err := config(sv, opts)
	if err != nil {
		return nil, err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, connectFailure(sv, en, cfg.Password != "", err)
	}
	return conn, nil
}

// connectError is a connection failure with a message of pgusers' own.
type connectError struct {
	msg string
	err error
}

func (e *connectError) Error() string { return e.msg }
func (e *connectError) Unwrap() error { return e.err }

func connectFailure(sv server, en *entra, passwordSet bool, err error) error {
	// pgconn's error keeps the config of the attempt, and with it the token
	// or password that was sent.
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) && ce.Config != nil {
		ce.Config.Password = ""
	}

	var tf tokenFailure
	if errors.As(err, &tf) {
		return tf.err
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		if e := refusedError(sv, en, pgErr, passwordSet); e != nil {
			return e
		}
	}
	if msg := certificateProblem(sv, err); msg != "" {
		return &CertificateError{msg: msg, err: err}
	}
	if hint := networkHint(sv, err); hint != "" {
		return &connectError{msg: err.Error() + "; " + hint, err: err}
	}
	return &connectError{msg: err.Error(), err: err}
}

// CertificateError is a server certificate that did not verify: pgusers
// sent no credentials.
type CertificateError struct {
	msg string
	err error
}

func (e *CertificateError) Error() string { return e.msg }
func (e *CertificateError) Unwrap() error { return e.err }

// Unreachable reports an error of a server that could not be reached at
// all: its name did not resolve, or nothing answered or let the
// connection in.
func Unreachable(err error) bool {
	var dns *net.DNSError
	var op *net.OpError
	return errors.As(err, &dns) || (errors.As(err, &op) && op.Op == "dial") || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH)
}

// networkHint says what usually stands between a client and a flexible
// server that cannot be reached, or returns "".
func networkHint(sv server, err error) string {
	var dns *net.DNSError
	switch {
	case errors.As(err, &dns):
		return fmt.Sprintf("the name %s did not resolve: check the host name; a server with a private endpoint resolves only "+
			"where its private DNS zone (privatelink.postgres.database.azure.com) is linked, so run pgusers inside that network "+
			"or link the zone to it", sv.Host)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("nothing accepted the connection on %s port %d: check the host and port, and that the server is started", sv.Host, sv.Port)
	case Unreachable(err), errors.Is(err, context.DeadlineExceeded):
		return "the server did not answer: check that a firewall rule of the server admits this machine's public IP " +
			"(Networking in the Azure portal, or az postgres flexible-server firewall-rule create), or, for a server with " +
			"private access, that this machine is in or peered with its virtual network (VPN, VNet peering)"
	}
	return ""
}

// certificateProblem describes a server certificate that did not verify,
// or returns "" when err is not about one.
func certificateProblem(sv server, err error) string {
	var (
		hostname x509.HostnameError
		unknown  x509.UnknownAuthorityError
		invalid  x509.CertificateInvalidError
		cause    error
		hint     string
	)
	switch {
	case errors.As(err, &hostname):
		cause, hint = hostname, "connect with a host: that the certificate names"
	case errors.As(err, &unknown):
		cause, hint = unknown, "if a private CA signed it, set sslrootcert: to that CA's file"
		if sv.SSLRootCert != "" {
			hint = fmt.Sprintf("the CA in sslrootcert %s did not sign it", sv.SSLRootCert)
		}
	case errors.As(err, &invalid):
		cause, hint = invalid, "the server's certificate must be renewed or fixed"
	default:
		return ""
	}
	return fmt.Sprintf("the certificate of %s did not verify (sslmode %s), so pgusers sent no credentials: %v; %s",
		sv.Host, sv.SSLMode, cause, hint)
}
