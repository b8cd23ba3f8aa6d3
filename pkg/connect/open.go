package connect

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"

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
		return &connectError{msg: msg, err: err}
	}
	return &connectError{msg: err.Error(), err: err}
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
