package connect

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pgusers/pgusers/internal/pgtest"
)

// attempt summarises one TLS attempt of tlsAttempts.
type attempt struct {
	TLS          bool
	ServerName   string
	SkipVerify   bool // crypto/tls's own check is off
	ChainChecked bool // our VerifyConnection checks the chain
	OwnRoots     bool // sslrootcert replaces the system roots
}

func summarise(cs []*tls.Config) []attempt {
	var out []attempt
	for _, c := range cs {
		if c == nil {
			out = append(out, attempt{})
			continue
		}
		out = append(out, attempt{
			TLS:          true,
			ServerName:   c.ServerName,
			SkipVerify:   c.InsecureSkipVerify,
			ChainChecked: c.VerifyConnection != nil,
			OwnRoots:     c.RootCAs != nil,
		})
	}
	return out
}

func TestTLSAttempts(t *testing.T) {
	pki := pgtest.NewPKI(t, "good")
	const host = "orders.postgres.database.azure.com"
	unverified := attempt{TLS: true, ServerName: host, SkipVerify: true}
	tests := map[string]struct {
		host, sslmode, rootCert string
		want                    []attempt
		wantErr                 string
	}{
		"verify-full":                  {host: host, sslmode: "verify-full", want: []attempt{{TLS: true, ServerName: host}}},
		"verify-full with sslrootcert": {host: host, sslmode: "verify-full", rootCert: pki.CAFile, want: []attempt{{TLS: true, ServerName: host, OwnRoots: true}}},
		"verify-full on an address":    {host: "127.0.0.1", sslmode: "verify-full", want: []attempt{{TLS: true, ServerName: "127.0.0.1"}}},
		"verify-ca":                    {host: host, sslmode: "verify-ca", want: []attempt{{TLS: true, ServerName: host, SkipVerify: true, ChainChecked: true}}},
		"require":                      {host: host, sslmode: "require", want: []attempt{unverified}},
		"require with sslrootcert is verify-ca": {host: host, sslmode: "require", rootCert: pki.CAFile,
			want: []attempt{{TLS: true, ServerName: host, SkipVerify: true, ChainChecked: true, OwnRoots: true}}},
		"prefer: TLS, then without":   {host: host, sslmode: "prefer", want: []attempt{unverified, {}}},
		"allow: without, then TLS":    {host: host, sslmode: "allow", want: []attempt{{}, unverified}},
		"disable":                     {host: host, sslmode: "disable", want: []attempt{{}}},
		"no SNI for an address":       {host: "10.0.0.1", sslmode: "require", want: []attempt{{TLS: true, SkipVerify: true}}},
		"socket directory has no TLS": {host: "/var/run/postgresql", sslmode: "verify-full", want: []attempt{{}}},
		"unknown sslmode":             {host: host, sslmode: "verify", wantErr: `unknown sslmode "verify": use disable, allow, prefer, require, verify-ca or verify-full`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := tlsAttempts(tc.host, tc.sslmode, tc.rootCert)
			if tc.wantErr != "" {
				if err == nil {
					t.Fatalf("no error, want %q", tc.wantErr)
				}
				if diff := cmp.Diff(tc.wantErr, err.Error()); diff != "" {
					t.Errorf("error (-want +got):\n%s", diff)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, summarise(got)); diff != "" {
				t.Errorf("attempts (-want +got):\n%s", diff)
			}
			for _, c := range got {
				if c != nil && c.MinVersion < tls.VersionTLS12 {
					t.Errorf("MinVersion %x, want TLS 1.2 at least", c.MinVersion)
				}
			}
		})
	}
}

func TestTLSAttemptsBadRootCert(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	tests := map[string]struct{ file, want string }{
		"not PEM": {notPEM, "sslrootcert " + notPEM + ": no PEM certificate in it"},
		"missing": {missing, "sslrootcert: open " + missing + ": no such file or directory"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := tlsAttempts("db", "verify-full", tc.file)
			if err == nil {
				t.Fatal("no error")
			}
			if diff := cmp.Diff(tc.want, err.Error()); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}

// verify-ca checks the chain against sslrootcert and ignores the host name.
func TestVerifyCAChecksChainNotName(t *testing.T) {
	good, other := pgtest.NewPKI(t, "good"), pgtest.NewPKI(t, "other")
	leaf := readCert(t, good.CertFile)
	state := tls.ConnectionState{PeerCertificates: []*x509.Certificate{leaf}}

	tests := map[string]struct {
		rootCert string
		wantOK   bool
	}{
		"its CA":   {good.CAFile, true},
		"other CA": {other.CAFile, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			// The certificate is for localhost; the host name is another.
			cs, err := tlsAttempts("db.example", "verify-ca", tc.rootCert)
			if err != nil {
				t.Fatal(err)
			}
			err = cs[0].VerifyConnection(state)
			if got := err == nil; got != tc.wantOK {
				t.Errorf("verified: %v (%v), want %v", got, err, tc.wantOK)
			}
		})
	}
}

func readCert(t *testing.T, file string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
