package discover

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// fakeToken is what fakeCredential hands out; no error may contain it.
const fakeToken = "fake-arm-token-s3cr3t"

// fakeAudience is the fake cloud's ARM audience.
const fakeAudience = "https://management.fake"

// fakeCredential stands for an azidentity credential and records the scopes
// it is asked for.
type fakeCredential struct {
	mu     sync.Mutex
	err    error
	calls  int
	scopes []string
}

func (f *fakeCredential) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.scopes = append(f.scopes, opts.Scopes...)
	if f.err != nil {
		return azcore.AccessToken{}, f.err
	}
	return azcore.AccessToken{Token: fakeToken, ExpiresOn: time.Now().Add(time.Hour)}, nil
}

func (f *fakeCredential) asked() (calls int, scopes []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls, append([]string(nil), f.scopes...)
}

// fakeServer is a flexible server as the fake ARM holds it.
type fakeServer struct {
	sub, rg, name string
	tags          map[string]string
	entra         string // activeDirectoryAuth: Enabled | Disabled | "" (no authConfig)
	password      string
	state         string
	admins        []fakeAdmin
}

type fakeAdmin struct {
	name, typ, objectID string
}

func (s fakeServer) id() string {
	return "/subscriptions/" + s.sub + "/resourceGroups/" + s.rg + "/providers/Microsoft.DBforPostgreSQL/flexibleServers/" + s.name
}

// A reply the fake gives instead of the normal answer.
type reply struct {
	status int
	header map[string]string
	code   string // ARM error code
	msg    string
}

// fakeARM is a local ARM endpoint serving the flexible server list and
// administrator list calls of API 2025-08-01, as JSON shaped like Azure's.
type fakeARM struct {
	t        testing.TB
	srv      *httptest.Server
	servers  []fakeServer
	byPath   map[string]int  // "sub/rg/name" in lower case: index in servers
	rgs      map[string]bool // extra empty resource groups ("sub/rg")
	pageSize int             // servers per page; 0: all on one
	// adminDelay holds each administrator list call, to see how many run
	// at once.
	adminDelay time.Duration

	mu      sync.Mutex
	replies map[string][]reply // by path: given once each, in order, before the normal answer
	hits    map[string][]time.Time
	bad     []string // requests the fake did not expect

	inflight, maxInflight int // administrator list calls
}

const apiVersion = "2025-08-01"

func newFakeARM(t testing.TB, servers ...fakeServer) *fakeARM {
	return startFakeARM(t, false, servers...)
}

func startFakeARM(t testing.TB, http2 bool, servers ...fakeServer) *fakeARM {
	f := &fakeARM{t: t, servers: servers, byPath: map[string]int{}, rgs: map[string]bool{}, replies: map[string][]reply{}, hits: map[string][]time.Time{}}
	for i, s := range servers {
		f.byPath[strings.ToLower(s.sub+"/"+s.rg+"/"+s.name)] = i
	}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.srv.EnableHTTP2 = http2
	// Discover cancels the calls in flight when one fails, some during
	// their TLS handshake: the server need not log that.
	f.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	f.srv.StartTLS()
	t.Cleanup(func() {
		f.srv.Close()
		f.mu.Lock()
		defer f.mu.Unlock()
		if len(f.bad) > 0 {
			t.Errorf("fake ARM got unexpected requests:\n%s", strings.Join(f.bad, "\n"))
		}
	})
	return f
}

// options point Discover at the fake, with short retry delays.
func (f *fakeARM) options() Options {
	return Options{
		Cloud: cloud.Configuration{Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
			cloud.ResourceManager: {Endpoint: f.srv.URL, Audience: fakeAudience},
		}},
		Transport: f.srv.Client(),
		Retry:     policy.RetryOptions{MaxRetries: 2, RetryDelay: time.Millisecond, MaxRetryDelay: 5 * time.Second},
	}
}

// failOnce makes the next requests to p get the replies, in order.
func (f *fakeARM) failOnce(p string, rs ...reply) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.replies[p] = append(f.replies[p], rs...)
}

// hitsOf returns when p was requested.
func (f *fakeARM) hitsOf(p string) []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.hits[p]...)
}

func (f *fakeARM) total() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, h := range f.hits {
		n += len(h)
	}
	return n
}

func (f *fakeARM) badRequest(w http.ResponseWriter, r *http.Request, why string) {
	f.mu.Lock()
	f.bad = append(f.bad, r.Method+" "+r.URL.String()+": "+why)
	f.mu.Unlock()
	armError(w, reply{status: http.StatusBadRequest, code: "BadRequest", msg: why})
}

func (f *fakeARM) serve(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	f.mu.Lock()
	f.hits[p] = append(f.hits[p], time.Now())
	var rp *reply
	if q := f.replies[p]; len(q) > 0 {
		rp, f.replies[p] = &q[0], q[1:]
	}
	f.mu.Unlock()

	if r.Method != http.MethodGet {
		f.badRequest(w, r, "not a GET")
		return
	}
	if got := r.URL.Query().Get("api-version"); got != apiVersion {
		f.badRequest(w, r, "api-version "+got)
		return
	}
	if got := r.Header.Get("Authorization"); got != "Bearer "+fakeToken {
		f.badRequest(w, r, "authorization "+got)
		return
	}
	if rp != nil {
		armError(w, *rp)
		return
	}

	// /subscriptions/{sub}[/resourceGroups/{rg}]/providers/Microsoft.DBforPostgreSQL/flexibleServers[/{name}/administrators]
	parts := strings.Split(strings.Trim(p, "/"), "/")
	if len(parts) < 2 || parts[0] != "subscriptions" {
		f.badRequest(w, r, "unknown path")
		return
	}
	sub, rest := parts[1], parts[2:]
	rg := ""
	if len(rest) >= 2 && rest[0] == "resourceGroups" {
		rg, rest = rest[1], rest[2:]
	}
	if len(rest) < 3 || rest[0] != "providers" || rest[1] != "Microsoft.DBforPostgreSQL" || rest[2] != "flexibleServers" {
		f.badRequest(w, r, "unknown path")
		return
	}
	rest = rest[3:]
	if !f.hasSub(sub) {
		armError(w, reply{status: http.StatusNotFound, code: "SubscriptionNotFound", msg: fmt.Sprintf("The subscription '%s' could not be found.", sub)})
		return
	}
	if rg != "" && !f.hasRG(sub, rg) {
		armError(w, reply{status: http.StatusNotFound, code: "ResourceGroupNotFound", msg: fmt.Sprintf("Resource group '%s' could not be found.", rg)})
		return
	}
	switch {
	case len(rest) == 0:
		f.serveList(w, r, sub, rg)
	case len(rest) == 2 && rest[1] == "administrators" && rg != "":
		f.serveAdmins(w, r, sub, rg, rest[0])
	default:
		f.badRequest(w, r, "unknown path")
	}
}

func (f *fakeARM) hasSub(sub string) bool {
	for _, s := range f.servers {
		if strings.EqualFold(s.sub, sub) {
			return true
		}
	}
	for k := range f.rgs {
		if strings.EqualFold(strings.Split(k, "/")[0], sub) {
			return true
		}
	}
	return false
}

func (f *fakeARM) hasRG(sub, rg string) bool {
	for _, s := range f.servers {
		if strings.EqualFold(s.sub, sub) && strings.EqualFold(s.rg, rg) {
			return true
		}
	}
	return f.rgs[strings.ToLower(sub+"/"+rg)]
}

// The wire shapes of API 2025-08-01 (models_serde.go).
type (
	wireList[T any] struct {
		Value    []T    `json:"value"`
		NextLink string `json:"nextLink,omitempty"`
	}
	wireServer struct {
		ID         string            `json:"id"`
		Name       string            `json:"name"`
		Type       string            `json:"type"`
		Location   string            `json:"location"`
		Tags       map[string]string `json:"tags,omitempty"`
		Properties wireServerProps   `json:"properties"`
	}
	wireServerProps struct {
		FQDN         string          `json:"fullyQualifiedDomainName"`
		Version      string          `json:"version"`
		MinorVersion string          `json:"minorVersion"`
		State        string          `json:"state"`
		AuthConfig   *wireAuthConfig `json:"authConfig,omitempty"`
	}
	wireAuthConfig struct {
		ActiveDirectoryAuth string `json:"activeDirectoryAuth,omitempty"`
		PasswordAuth        string `json:"passwordAuth,omitempty"`
		TenantID            string `json:"tenantId,omitempty"`
	}
	wireAdmin struct {
		ID         string         `json:"id"`
		Name       string         `json:"name"`
		Type       string         `json:"type"`
		Properties wireAdminProps `json:"properties"`
	}
	wireAdminProps struct {
		PrincipalName string `json:"principalName"`
		PrincipalType string `json:"principalType"`
		ObjectID      string `json:"objectId"`
		TenantID      string `json:"tenantId"`
	}
)

const fakeTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"

func (s fakeServer) wire() wireServer {
	w := wireServer{
		ID: s.id(), Name: s.name, Type: "Microsoft.DBforPostgreSQL/flexibleServers", Location: "westeurope",
		Tags: s.tags,
		Properties: wireServerProps{
			FQDN: s.name + ".postgres.database.azure.com", Version: "17", MinorVersion: "5",
			State: cmpOr(s.state, "Ready"),
		},
	}
	if s.entra != "" {
		w.Properties.AuthConfig = &wireAuthConfig{ActiveDirectoryAuth: s.entra, PasswordAuth: cmpOr(s.password, "Disabled"), TenantID: fakeTenant}
	}
	return w
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (f *fakeARM) serveList(w http.ResponseWriter, r *http.Request, sub, rg string) {
	var all []wireServer
	for _, s := range f.servers {
		if strings.EqualFold(s.sub, sub) && (rg == "" || strings.EqualFold(s.rg, rg)) {
			all = append(all, s.wire())
		}
	}
	start := 0
	if tok := r.URL.Query().Get("$skipToken"); tok != "" {
		n, err := strconv.Atoi(tok)
		if err != nil || n > len(all) {
			f.badRequest(w, r, "bad $skipToken")
			return
		}
		start = n
	}
	end := len(all)
	if f.pageSize > 0 && start+f.pageSize < end {
		end = start + f.pageSize
	}
	page := wireList[wireServer]{Value: all[start:end]}
	if page.Value == nil {
		page.Value = []wireServer{}
	}
	if end < len(all) {
		q := url.Values{"api-version": {apiVersion}, "$skipToken": {strconv.Itoa(end)}}
		page.NextLink = f.srv.URL + r.URL.Path + "?" + q.Encode()
	}
	writeJSON(w, http.StatusOK, page)
}

func (f *fakeARM) serveAdmins(w http.ResponseWriter, r *http.Request, sub, rg, name string) {
	f.mu.Lock()
	f.inflight++
	f.maxInflight = max(f.maxInflight, f.inflight)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inflight--
		f.mu.Unlock()
	}()
	if f.adminDelay > 0 {
		time.Sleep(f.adminDelay)
	}
	if i, ok := f.byPath[strings.ToLower(sub+"/"+rg+"/"+name)]; ok {
		s := f.servers[i]
		page := wireList[wireAdmin]{Value: []wireAdmin{}}
		for _, a := range s.admins {
			page.Value = append(page.Value, wireAdmin{
				ID:   s.id() + "/administrators/" + a.objectID,
				Name: a.objectID,
				Type: "Microsoft.DBforPostgreSQL/flexibleServers/administrators",
				Properties: wireAdminProps{
					PrincipalName: a.name, PrincipalType: a.typ, ObjectID: a.objectID, TenantID: fakeTenant,
				},
			})
		}
		writeJSON(w, http.StatusOK, page)
		return
	}
	armError(w, reply{status: http.StatusNotFound, code: "ResourceNotFound", msg: fmt.Sprintf("The Resource 'Microsoft.DBforPostgreSQL/flexibleServers/%s' under resource group '%s' was not found.", name, rg)})
}

func armError(w http.ResponseWriter, rp reply) {
	for k, v := range rp.header {
		w.Header().Set(k, v)
	}
	body := map[string]any{"error": map[string]string{"code": rp.code, "message": rp.msg}}
	writeJSON(w, rp.status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		panic(err)
	}
}
