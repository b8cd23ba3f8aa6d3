package connect

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
)

// The sslmode values, as libpq spells them.
const (
	SSLDisable    = "disable"
	SSLAllow      = "allow"
	SSLPrefer     = "prefer"
	SSLRequire    = "require"
	SSLVerifyCA   = "verify-ca"
	SSLVerifyFull = "verify-full"
)

// tlsAttempts returns the TLS configuration of each connection attempt that
// sslmode makes, in libpq's order; nil is an attempt without TLS.
//
// verify-full checks the certificate chain and the host name, verify-ca only
// the chain; require, prefer and allow check nothing (require with a
// rootCertFile is verify-ca, as in libpq). rootCertFile, when given, holds the
// CAs to trust instead of the system's roots. A host that is a Unix socket
// directory gets no TLS, as in libpq.
func tlsAttempts(host, sslmode, rootCertFile string) ([]*tls.Config, error) {
	if isSocketDir(host) {
		return []*tls.Config{nil}, nil
	}
	switch sslmode {
	case SSLDisable, SSLAllow, SSLPrefer, SSLRequire, SSLVerifyCA, SSLVerifyFull:
	default:
		return nil, fmt.Errorf("unknown sslmode %q: use disable, allow, prefer, require, verify-ca or verify-full", sslmode)
	}
	if sslmode == SSLDisable {
		return []*tls.Config{nil}, nil
	}

	var roots *x509.CertPool // nil: the system's
	if rootCertFile != "" {
		pem, err := os.ReadFile(rootCertFile)
		if err != nil {
			return nil, fmt.Errorf("sslrootcert: %w", err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("sslrootcert %s: no PEM certificate in it", rootCertFile)
		}
	}

	c := &tls.Config{
		MinVersion: tls.VersionTLS12,
		RootCAs:    roots,
		// PostgreSQL up to 17 accepts only P-256 by default (ssl_ecdh_curve),
		// and 18 P-256 or X25519. Go's default first key share is
		// X25519MLKEM768 with an X25519 fallback, which costs such a server a
		// HelloRetryRequest: one more round trip per connection. Leading
		// with SecP256r1MLKEM768 sends a P-256 share as its fallback, and
		// keeps post-quantum key exchange with servers that offer it.
		CurvePreferences: []tls.CurveID{tls.SecP256r1MLKEM768, tls.CurveP256, tls.X25519, tls.CurveP384},
	}
	if net.ParseIP(host) == nil {
		c.ServerName = host // SNI; RFC 6066 has none for an address
	}
	switch {
	case sslmode == SSLVerifyFull:
		c.ServerName = host
	case sslmode == SSLVerifyCA || sslmode == SSLRequire && roots != nil:
		// crypto/tls checks the chain only together with the name, so the
		// chain is checked here and the name is not.
		c.InsecureSkipVerify = true
		c.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("the server sent no certificate")
			}
			opts := x509.VerifyOptions{Roots: roots, Intermediates: x509.NewCertPool()}
			for _, ic := range cs.PeerCertificates[1:] {
				opts.Intermediates.AddCert(ic)
			}
			_, err := cs.PeerCertificates[0].Verify(opts)
			return err
		}
	default:
		c.InsecureSkipVerify = true
	}

	switch sslmode {
	case SSLAllow:
		return []*tls.Config{nil, c}, nil
	case SSLPrefer:
		return []*tls.Config{c, nil}, nil
	}
	return []*tls.Config{c}, nil
}

// isSocketDir reports whether host names a Unix socket directory rather than
// a network host, as libpq decides it.
func isSocketDir(host string) bool {
	return strings.HasPrefix(host, "/")
}
