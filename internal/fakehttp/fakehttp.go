// Package fakehttp is what the tests' fakes of Azure services share: a TLS
// server that stays quiet, and the record of requests a fake did not
// expect, on which the test fails when it ends.
package fakehttp

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// Unexpected records the requests a fake did not expect.
type Unexpected struct {
	mu   sync.Mutex
	list []string
}

// Add records a request ("GET /path?query"), and why the fake did not
// expect it.
func (u *Unexpected) Add(request, why string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.list = append(u.list, request+": "+why)
}

// StartTLS serves h over TLS (HTTP/2 too, with http2) for the test, which
// closes it when it ends and fails if the fake, named name in the message,
// recorded a request in u. The server does not log: a client that cancels
// a call during its TLS handshake is no fault of the fake's.
func StartTLS(t testing.TB, name string, h http.Handler, http2 bool, u *Unexpected) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.EnableHTTP2 = http2
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(func() {
		srv.Close()
		u.mu.Lock()
		defer u.mu.Unlock()
		if len(u.list) > 0 {
			t.Errorf("fake %s got unexpected requests:\n%s", name, strings.Join(u.list, "\n"))
		}
	})
	return srv
}
