package e2e_test

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/pgusers/pgusers/internal/pgtest"
)

// canary returns a secret no output may hold: a fixed prefix to find it by
// eye, and 16 random hex digits that nothing else could hold.
func canary(t testing.TB, what string) string {
	t.Helper()
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "pgusers-canary-9f3b7c-" + what + "-" + hex.EncodeToString(b[:])
}

// leaks finds any of the secrets (or their random tails, should a secret
// be cut or quoted) in text, and returns the lines that hold them.
func leaks(text string, secrets ...string) []string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		for _, s := range secrets {
			tail := s[strings.LastIndexByte(s, '-')+1:]
			if strings.Contains(line, s) || strings.Contains(line, tail) {
				out = append(out, excerpt(line, 400))
				break
			}
		}
	}
	return out
}

// logConfigs are every log level and format, -v among them.
func logConfigs() [][]string {
	var out [][]string
	for _, format := range []string{"text", "json"} {
		for _, level := range [][]string{{"-v"}, {"--log-level", "debug"}, {"--log-level", "info"}, {"--log-level", "warn"}, {"--log-level", "error"}} {
			out = append(out, append(append([]string(nil), level...), "--log-format", format))
		}
	}
	return out
}

// secretCheck checks runs and the files under a home for secrets.
type secretCheck struct {
	t       *testing.T
	secrets []string
	runs    int
}

func (c *secretCheck) run(r result, wantCode int) {
	c.t.Helper()
	c.runs++
	if l := leaks(r.stdout, c.secrets...); l != nil {
		c.t.Errorf("pgusers %s: a secret on stdout:\n  %s", strings.Join(r.args, " "), strings.Join(l, "\n  "))
	}
	if l := leaks(r.stderr, c.secrets...); l != nil {
		c.t.Errorf("pgusers %s: a secret on stderr:\n  %s", strings.Join(r.args, " "), strings.Join(l, "\n  "))
	}
	if wantCode >= 0 && r.code != wantCode {
		c.t.Errorf("exit %d, want %d (the run did not go the way the test needs):\n%s", r.code, wantCode, r)
	}
}

// files checks every file under dir, where the runs' HOME, TMPDIR and
// working directory are.
func (c *secretCheck) files(dir string) {
	c.t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n++
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if l := leaks(string(b), c.secrets...); l != nil {
			c.t.Errorf("a secret in the file %s, which pgusers wrote:\n  %s", path, strings.Join(l, "\n  "))
		}
		return nil
	})
	if err != nil {
		c.t.Fatal(err)
	}
}

// TestPasswordNeverAppears makes a canary the administrator's password and
// runs every command, at every log level and format, reading it through
// passwordEnv: validate, plan in every output and to a plan file, apply as
// client and server dry runs, export, an apply of a stale plan file, an
// apply signing in with a wrong canary, and an apply. Neither canary may
// appear on stdout, on stderr or in any file pgusers writes.
func TestPasswordNeverAppears(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	password, wrong := canary(t, "password"), canary(t, "wrong")
	if err := s.c.SetAdminPassword(context.Background(), password); err != nil {
		t.Fatal(err)
	}
	s.createPrincipal(t, "old-svc", "service")
	file := s.file(t, "p.yaml", s.c.Port, `    prune: true
    principals:
      - {name: new-svc, type: service, objectId: `+pgtest.ObjectID("new-svc")+`, memberOf: [reporting]}
`)
	check := &secretCheck{t: t, secrets: []string{password, wrong}}
	for _, logs := range logConfigs() {
		run := newRunner(t, passwordVar+"="+password)
		wrongRun := newRunner(t, passwordVar+"="+wrong)
		wrongRun.home = run.home
		with := func(args ...string) []string { return append(args, logs...) }
		planFile := filepath.Join(run.home, "plan.json")

		check.run(run.run(t, with("validate", "-f", file)...), -1) // validate may take no log flags
		check.run(run.run(t, "validate", "-f", file), 0)
		check.run(run.run(t, with("plan", "-f", file)...), 0)
		check.run(run.run(t, with("plan", "-f", file, "--output", "json")...), 0)
		check.run(run.run(t, with("plan", "-f", file, "--output", "markdown")...), 0)
		check.run(run.run(t, with("plan", "-f", file, "--out", planFile)...), 0)
		check.run(run.run(t, with("apply", "-f", file, "--dry-run")...), 0)
		check.run(run.run(t, with("apply", "-f", file, "--dry-run=server")...), 0)
		check.run(run.run(t, with("export", "-f", file, "--server", "local")...), 0)
		// A stale plan file: the server changed since the plan.
		s.createPrincipal(t, "intruder", "user")
		check.run(run.run(t, with("apply", planFile, "--auto-approve")...), 1)
		s.c.SuperExec(t, `DROP ROLE intruder`)
		check.run(wrongRun.run(t, with("apply", "-f", file, "--auto-approve")...), 1)
		check.run(wrongRun.run(t, with("apply", "-f", file, "--auto-approve", "--output", "json")...), 1)
		check.run(run.run(t, with("apply", "-f", file, "--auto-approve", "--output", "json")...), 0)
		run.mustPlanEmpty(t, "-f", file)
		check.files(run.home)
		// Back to the old state for the next configuration.
		s.c.SuperExec(t, `DROP ROLE "new-svc"`)
		s.createPrincipal(t, "old-svc", "service")
	}
	t.Logf("%d runs checked", check.runs)
}

// fakeEntra stands in for Microsoft Entra ID, which this machine cannot
// reach: an HTTPS server for login.microsoftonline.com, signed by a CA of
// the test's (SSL_CERT_FILE), behind an HTTP CONNECT proxy (HTTPS_PROXY).
// It answers instance discovery and the OpenID configuration, and refuses
// every token request as Entra refuses a wrong client secret
// (AADSTS7000215). With echo, it quotes the form it was sent in its error,
// as a careless or hostile endpoint might.
type fakeEntra struct {
	env []string // what the command needs to reach it

	mu      sync.Mutex
	secrets []string // client_secret values it was sent
	paths   []string
}

func startFakeEntra(t *testing.T, echo bool) *fakeEntra {
	t.Helper()
	const host = "login.microsoftonline.com"
	pki := pgtest.NewPKI(t, "entra", host, "login.windows.net", "login.microsoft.com")
	cert, err := tls.LoadX509KeyPair(pki.CertFile, pki.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeEntra{}
	entra := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		f.mu.Lock()
		f.paths = append(f.paths, r.Method+" "+r.URL.Path)
		if s := form.Get("client_secret"); s != "" {
			f.secrets = append(f.secrets, s)
		}
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		tenant := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")[0]
		base := "https://" + host + "/" + tenant
		switch {
		case strings.HasSuffix(r.URL.Path, "/discovery/instance"):
			fmt.Fprintf(w, `{"tenant_discovery_endpoint":"https://%s/%s/v2.0/.well-known/openid-configuration","api-version":"1.1",`+
				`"metadata":[{"preferred_network":"%s","preferred_cache":"login.windows.net","aliases":["%s","login.windows.net","login.microsoft.com"]}]}`,
				host, r.URL.Query().Get("tenant"), host, host)
		case strings.HasSuffix(r.URL.Path, "/.well-known/openid-configuration"):
			fmt.Fprintf(w, `{"token_endpoint":"%s/oauth2/v2.0/token","authorization_endpoint":"%s/oauth2/v2.0/authorize",`+
				`"issuer":"https://login.microsoftonline.com/%s/v2.0","device_authorization_endpoint":"%s/oauth2/v2.0/devicecode"}`,
				base, base, tenant, base)
		case strings.HasSuffix(r.URL.Path, "/token"):
			w.WriteHeader(http.StatusUnauthorized)
			desc := "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID."
			if echo {
				desc += " Request body: " + string(body)
			}
			fmt.Fprintf(w, `{"error":"invalid_client","error_description":%q,"error_codes":[7000215]}`, desc)
		default:
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprintf(w, `{"error":"not_found","error_description":"no such endpoint in the test's Entra ID: %s"}`, r.URL.Path)
		}
	}))
	entra.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	entra.StartTLS()
	t.Cleanup(entra.Close)
	entraAddr := entra.Listener.Addr().String()

	// CONNECT to any host reaches the fake Entra ID.
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		up, err := net.Dial("tcp", entraAddr)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		down, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			up.Close()
			return
		}
		io.WriteString(down, "HTTP/1.1 200 Connection established\r\n\r\n")
		go func() {
			io.Copy(up, buf)
			up.Close()
		}()
		io.Copy(down, up)
		down.Close()
	}))
	t.Cleanup(proxy.Close)
	f.env = []string{"HTTPS_PROXY=" + proxy.URL, "SSL_CERT_FILE=" + pki.CAFile, "NO_PROXY=", "no_proxy="}
	return f
}

// TestClientSecretNeverAppears signs in with credential environment: a
// service principal whose client secret, a canary, is in
// AZURE_CLIENT_SECRET. The test's Entra ID refuses it, so every command
// that signs in fails; at every log level and format the canary must not
// appear on stdout, on stderr or in any file pgusers writes. Then again
// with an Entra ID that quotes the request, secret and all, in its error:
// what pgusers relays from outside must not carry its secret either.
func TestClientSecretNeverAppears(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	for _, echo := range []bool{false, true} {
		name := "entra"
		if echo {
			name = "entra-that-echoes"
		}
		t.Run(name, func(t *testing.T) {
			entra := startFakeEntra(t, echo)
			secret := canary(t, "client-secret")
			file := filepath.Join(t.TempDir(), "entra.yaml")
			body := fmt.Sprintf(`version: 1
defaults:
  user: %q
  credential: environment
  sslmode: disable
  insecureSkipTLSVerify: true
servers:
  - name: local
    host: 127.0.0.1
    port: %d
    principals:
      - {name: new-svc, type: service, objectId: %s}
`, s.c.Admin, s.c.Port, pgtest.ObjectID("new-svc"))
			if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			check := &secretCheck{t: t, secrets: []string{secret}}
			configs := logConfigs()
			if echo {
				configs = [][]string{{"-v", "--log-format", "text"}, {"-v", "--log-format", "json"}, {"--log-level", "error"}}
			}
			for _, logs := range configs {
				vars := append([]string{
					"AZURE_TENANT_ID=7b0c2d4e-8f1a-4b3c-9d5e-6f7a8b9c0d1e",
					"AZURE_CLIENT_ID=2c4e6a8b-0d1f-4e3a-8b5c-7d9e1f2a3b4c",
					"AZURE_CLIENT_SECRET=" + secret,
				}, entra.env...)
				run := newRunner(t, vars...)
				with := func(args ...string) []string { return append(args, logs...) }
				check.run(run.run(t, "validate", "-f", file), 0)
				check.run(run.run(t, with("plan", "-f", file)...), 1)
				check.run(run.run(t, with("plan", "-f", file, "--output", "json")...), 1)
				check.run(run.run(t, with("plan", "-f", file, "--output", "markdown")...), 1)
				check.run(run.run(t, with("plan", "-f", file, "--out", filepath.Join(run.home, "plan.json"))...), 1)
				check.run(run.run(t, with("apply", "-f", file, "--dry-run")...), 1)
				check.run(run.run(t, with("apply", "-f", file, "--dry-run=server")...), 1)
				check.run(run.run(t, with("apply", "-f", file, "--auto-approve")...), 1)
				check.run(run.run(t, with("apply", "-f", file, "--auto-approve", "--output", "json")...), 1)
				check.run(run.run(t, with("export", "-f", file, "--server", "local")...), 1)
				check.files(run.home)
			}
			entra.mu.Lock()
			sent, paths := len(entra.secrets), entra.paths
			for _, s := range entra.secrets {
				if s != secret {
					t.Errorf("the test's Entra ID was sent client secret %q, not the canary", s)
				}
			}
			entra.mu.Unlock()
			if sent == 0 {
				t.Fatalf("no token request carried the client secret, so the test proves nothing; requests: %v", paths)
			}
			t.Logf("%d runs checked; the test's Entra ID refused the canary %d times", check.runs, sent)
		})
	}
}
