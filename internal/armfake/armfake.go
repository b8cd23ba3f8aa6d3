package armfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/pgusers/pgusers/internal/fakehttp"
)

const (
	// APIVersion is the api-version every request must carry: the one of
	// armpostgresqlflexibleservers/v5.
	APIVersion = "2025-08-01"
	// Audience is the fake cloud's ARM token audience.
	Audience = "https://management.fake"
	// Scope is the token scope azcore asks the credential for when it
	// calls the fake: Audience + "/.default".
	Scope = Audience + "/.default"
	// TenantID is the Entra tenant of every server's authConfig and
	// administrators.
	TenantID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
)

// The principal types of ARM's administrators (PrincipalType).
const (
	User             = "User"
	Group            = "Group"
	ServicePrincipal = "ServicePrincipal"
	Unknown          = "Unknown"
)

// Server is a flexible server as the fake holds it. The zero values of the
// optional fields give a ready PostgreSQL 17 server in westeurope with no
// authConfig (as ARM shows a server made before Entra authentication).
type Server struct {
	Subscription, ResourceGroup, Name string // required
	Tags                              map[string]string
	// Entra is authConfig.activeDirectoryAuth: "Enabled" or "Disabled";
	// "" gives no authConfig at all.
	Entra string
	// Password is authConfig.passwordAuth, when there is an authConfig:
	// "Enabled" or "Disabled" ("").
	Password string
	State    string // properties.state; "" is "Ready"
	// FQDN is properties.fullyQualifiedDomainName; "" is
	// Name + ".postgres.database.azure.com".
	FQDN     string
	Location string // "" is "westeurope"
	Version  string // properties.version; "" is "17"
	Admins   []Admin
}

// Admin is a Microsoft Entra administrator of a server.
type Admin struct {
	Name     string // principalName
	Type     string // principalType: User, Group, ServicePrincipal, Unknown (ARM's spelling, or any other)
	ObjectID string
}

// ID is the server's ARM resource id.
func (s Server) ID() string {
	return "/subscriptions/" + s.Subscription + "/resourceGroups/" + s.ResourceGroup + "/providers/Microsoft.DBforPostgreSQL/flexibleServers/" + s.Name
}

// AdminsPath is the path of the server's administrator list.
func (s Server) AdminsPath() string { return s.ID() + "/administrators" }

// ListPath is the path of the server list of a subscription, or of one of
// its resource groups when rg is not "".
func ListPath(sub, rg string) string {
	p := "/subscriptions/" + sub
	if rg != "" {
		p += "/resourceGroups/" + rg
	}
	return p + "/providers/Microsoft.DBforPostgreSQL/flexibleServers"
}

// Reply is an answer the fake gives instead of the normal one: an ARM
// error, {"error": {"code", "message"}}, with the status and headers.
type Reply struct {
	Status  int
	Header  map[string]string
	Code    string // ARM's error code, such as AuthorizationFailed
	Message string
}

// Throttled is ARM's 429 with Retry-After (whole seconds) or, for less
// than a second or a fraction, Retry-After-Ms: azcore waits that long
// before it tries again.
func Throttled(retryAfter time.Duration) Reply {
	h := map[string]string{"Retry-After-Ms": strconv.FormatInt(retryAfter.Milliseconds(), 10)}
	if retryAfter >= time.Second && retryAfter%time.Second == 0 {
		h = map[string]string{"Retry-After": strconv.FormatInt(int64(retryAfter/time.Second), 10)}
	}
	return Reply{Status: http.StatusTooManyRequests, Header: h, Code: "TooManyRequests",
		Message: "The request is being throttled."}
}

// The identity AuthorizationFailed names.
const (
	DeniedClient   = "alice@contoso.com"
	DeniedObjectID = "11111111-0000-0000-0000-000000000000"
)

// AuthorizationFailed is ARM's 403 for a request to path (ListPath, or
// Server.AdminsPath) by an identity without the role to read it, with the
// message Azure gives: the action, and the scope it was checked on.
func AuthorizationFailed(path string) Reply {
	action, scope := "Microsoft.DBforPostgreSQL/flexibleServers/read", strings.TrimSuffix(path, "/providers/Microsoft.DBforPostgreSQL/flexibleServers")
	if s, ok := strings.CutSuffix(path, "/administrators"); ok {
		action, scope = "Microsoft.DBforPostgreSQL/flexibleServers/administrators/read", s
	}
	return Reply{Status: http.StatusForbidden, Code: "AuthorizationFailed", Message: fmt.Sprintf(
		"The client '%s' with object id '%s' does not have authorization to perform action '%s' over scope '%s' or the scope is invalid. "+
			"If access was recently granted, please refresh your credentials.", DeniedClient, DeniedObjectID, action, scope)}
}

// InvalidToken is ARM's 401 for a token it does not take, with the
// WWW-Authenticate challenge it sends.
func InvalidToken() Reply {
	return Reply{Status: http.StatusUnauthorized, Code: "InvalidAuthenticationToken", Message: "The access token is invalid.",
		Header: map[string]string{"WWW-Authenticate": `Bearer authorization_uri="https://login.windows.net/", error="invalid_token", ` +
			`error_description="The access token is invalid."`}}
}

// Options configure the fake.
type Options struct {
	Servers []Server
	// ResourceGroups are "subscription/resourceGroup" pairs that exist
	// without servers (their listing is empty, not 404).
	ResourceGroups []string
	// PageSize is how many servers a list page holds; 0 puts all on one.
	PageSize int
	// AdminDelay holds each administrator list call that long, to see how
	// many run at once (MaxAdminsInFlight).
	AdminDelay time.Duration
	// HTTP2 serves HTTP/2, as ARM does to azcore's default transport;
	// otherwise HTTP/1.1.
	HTTP2 bool
}

// ARM is a running fake Resource Manager.
type ARM struct {
	srv    *httptest.Server
	opts   Options
	byPath map[string]int  // "sub/rg/name" in lower case: index in opts.Servers
	rgs    map[string]bool // lower case "sub/rg" of opts.ResourceGroups

	bad fakehttp.Unexpected

	mu       sync.Mutex
	replies  map[string][]Reply // by path: given once each, in order, before the normal answer
	hits     map[string][]time.Time
	inflight int // administrator list calls
	maxIn    int
}

// Start starts the fake over TLS for the test, which closes it when it
// ends and fails if the fake got a request it did not expect.
func Start(t testing.TB, opts Options) *ARM {
	t.Helper()
	f := &ARM{opts: opts, byPath: map[string]int{}, rgs: map[string]bool{},
		replies: map[string][]Reply{}, hits: map[string][]time.Time{}}
	for i, s := range opts.Servers {
		f.byPath[strings.ToLower(s.Subscription+"/"+s.ResourceGroup+"/"+s.Name)] = i
	}
	for _, rg := range opts.ResourceGroups {
		f.rgs[strings.ToLower(rg)] = true
	}
	f.srv = fakehttp.StartTLS(t, "ARM", http.HandlerFunc(f.serve), opts.HTTP2, &f.bad)
	return f
}

// URL is the fake's https://127.0.0.1:port.
func (f *ARM) URL() string { return f.srv.URL }

// Cloud is a cloud whose Resource Manager is the fake, with Audience.
func (f *ARM) Cloud() cloud.Configuration {
	return cloud.Configuration{Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
		cloud.ResourceManager: {Endpoint: f.srv.URL, Audience: Audience},
	}}
}

// Transport sends requests to the fake, trusting its certificate.
func (f *ARM) Transport() policy.Transporter { return f.srv.Client() }

// Retry are azcore retry options for tests: two retries, a millisecond
// apart unless the fake says Retry-After (honoured up to 5s).
func Retry() policy.RetryOptions {
	return policy.RetryOptions{MaxRetries: 2, RetryDelay: time.Millisecond, MaxRetryDelay: 5 * time.Second}
}

// Fail makes the next requests to path get the replies, one each, in
// order, before it is answered normally again.
func (f *ARM) Fail(path string, replies ...Reply) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.replies[path] = append(f.replies[path], replies...)
}

// Hits returns when path was requested, whatever the answer.
func (f *ARM) Hits(path string) []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.hits[path]...)
}

// Requests counts every request the fake got.
func (f *ARM) Requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, h := range f.hits {
		n += len(h)
	}
	return n
}

// MaxAdminsInFlight is the most administrator list calls the fake served
// at once.
func (f *ARM) MaxAdminsInFlight() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.maxIn
}

func (f *ARM) badRequest(w http.ResponseWriter, r *http.Request, why string) {
	f.bad.Add(r.Method+" "+r.URL.String(), why)
	armError(w, Reply{Status: http.StatusBadRequest, Code: "BadRequest", Message: why})
}

func (f *ARM) serve(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	f.mu.Lock()
	f.hits[p] = append(f.hits[p], time.Now())
	var rp *Reply
	if q := f.replies[p]; len(q) > 0 {
		rp, f.replies[p] = &q[0], q[1:]
	}
	f.mu.Unlock()

	if r.Method != http.MethodGet {
		f.badRequest(w, r, "not a GET")
		return
	}
	if got := r.URL.Query().Get("api-version"); got != APIVersion {
		f.badRequest(w, r, "api-version "+got)
		return
	}
	if got := r.Header.Get("Authorization"); got != "Bearer "+Token {
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
		armError(w, Reply{Status: http.StatusNotFound, Code: "SubscriptionNotFound", Message: fmt.Sprintf("The subscription '%s' could not be found.", sub)})
		return
	}
	if rg != "" && !f.hasRG(sub, rg) {
		armError(w, Reply{Status: http.StatusNotFound, Code: "ResourceGroupNotFound", Message: fmt.Sprintf("Resource group '%s' could not be found.", rg)})
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

func (f *ARM) hasSub(sub string) bool {
	for _, s := range f.opts.Servers {
		if strings.EqualFold(s.Subscription, sub) {
			return true
		}
	}
	for k := range f.rgs {
		if s, _, _ := strings.Cut(k, "/"); strings.EqualFold(s, sub) {
			return true
		}
	}
	return false
}

func (f *ARM) hasRG(sub, rg string) bool {
	for _, s := range f.opts.Servers {
		if strings.EqualFold(s.Subscription, sub) && strings.EqualFold(s.ResourceGroup, rg) {
			return true
		}
	}
	return f.rgs[strings.ToLower(sub+"/"+rg)]
}

// The wire shapes of API 2025-08-01 (models_serde.go of
// armpostgresqlflexibleservers/v5): ServerList, Server, ServerProperties,
// AuthConfig, AdministratorMicrosoftEntraList, AdministratorMicrosoftEntra,
// AdministratorMicrosoftEntraProperties, and ARM's error body.
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
	wireError struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
)

func (s Server) wire() wireServer {
	w := wireServer{
		ID: s.ID(), Name: s.Name, Type: "Microsoft.DBforPostgreSQL/flexibleServers", Location: or(s.Location, "westeurope"),
		Tags: s.Tags,
		Properties: wireServerProps{
			FQDN:    or(s.FQDN, s.Name+".postgres.database.azure.com"),
			Version: or(s.Version, "17"), MinorVersion: "5",
			State: or(s.State, "Ready"),
		},
	}
	if s.Entra != "" {
		w.Properties.AuthConfig = &wireAuthConfig{ActiveDirectoryAuth: s.Entra, PasswordAuth: or(s.Password, "Disabled"), TenantID: TenantID}
	}
	return w
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (f *ARM) serveList(w http.ResponseWriter, r *http.Request, sub, rg string) {
	var all []wireServer
	for _, s := range f.opts.Servers {
		if strings.EqualFold(s.Subscription, sub) && (rg == "" || strings.EqualFold(s.ResourceGroup, rg)) {
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
	if f.opts.PageSize > 0 && start+f.opts.PageSize < end {
		end = start + f.opts.PageSize
	}
	page := wireList[wireServer]{Value: all[start:end]}
	if page.Value == nil {
		page.Value = []wireServer{}
	}
	if end < len(all) {
		q := url.Values{"api-version": {APIVersion}, "$skipToken": {strconv.Itoa(end)}}
		page.NextLink = f.srv.URL + r.URL.Path + "?" + q.Encode()
	}
	writeJSON(w, http.StatusOK, page)
}

func (f *ARM) serveAdmins(w http.ResponseWriter, r *http.Request, sub, rg, name string) {
	f.mu.Lock()
	f.inflight++
	f.maxIn = max(f.maxIn, f.inflight)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inflight--
		f.mu.Unlock()
	}()
	if f.opts.AdminDelay > 0 {
		select {
		case <-time.After(f.opts.AdminDelay):
		case <-r.Context().Done(): // the client gave up
			return
		}
	}
	i, ok := f.byPath[strings.ToLower(sub+"/"+rg+"/"+name)]
	if !ok {
		armError(w, Reply{Status: http.StatusNotFound, Code: "ResourceNotFound", Message: fmt.Sprintf(
			"The Resource 'Microsoft.DBforPostgreSQL/flexibleServers/%s' under resource group '%s' was not found.", name, rg)})
		return
	}
	s := f.opts.Servers[i]
	page := wireList[wireAdmin]{Value: []wireAdmin{}}
	for _, a := range s.Admins {
		page.Value = append(page.Value, wireAdmin{
			ID:   s.ID() + "/administrators/" + a.ObjectID,
			Name: a.ObjectID,
			Type: "Microsoft.DBforPostgreSQL/flexibleServers/administrators",
			Properties: wireAdminProps{
				PrincipalName: a.Name, PrincipalType: a.Type, ObjectID: a.ObjectID, TenantID: TenantID,
			},
		})
	}
	writeJSON(w, http.StatusOK, page)
}

func armError(w http.ResponseWriter, rp Reply) {
	for k, v := range rp.Header {
		w.Header().Set(k, v)
	}
	var body wireError
	body.Error.Code, body.Error.Message = rp.Code, rp.Message
	writeJSON(w, rp.Status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		panic(err)
	}
}
