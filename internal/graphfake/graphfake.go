// Package graphfake is a fake Microsoft Graph over TLS for tests: the
// calls pkg/directory makes ($batch of GET /directoryObjects/{id} and GET
// /groups/{id}/transitiveMembers), with users, groups (nested), service
// principals, paging, throttling (429 with Retry-After) and refusals (403)
// on demand, as internal/armfake does for Resource Manager.
package graphfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/pgusers/pgusers/internal/fakehttp"
)

// Object is an Entra object the fake holds.
type Object struct {
	ID   string
	Type string // user, group or servicePrincipal
	// Name is a user's userPrincipalName, else the displayName.
	Name     string
	Disabled bool
	Guest    bool
	// Members are a group's direct members, by id.
	Members []string
}

// Reply is an answer the fake gives to a request of a batch instead of
// the normal one.
type Reply struct {
	Status     int
	RetryAfter int // seconds, for 429
	Code       string
	Message    string
}

// Throttled is Graph's 429 inside a batch.
func Throttled(seconds int) Reply {
	return Reply{Status: http.StatusTooManyRequests, RetryAfter: seconds, Code: "TooManyRequests", Message: "Too many requests"}
}

// Forbidden is Graph's 403 for an identity without the permission.
func Forbidden() Reply {
	return Reply{Status: http.StatusForbidden, Code: "Authorization_RequestDenied", Message: "Insufficient privileges to complete the operation."}
}

// Graph is a running fake.
type Graph struct {
	srv *httptest.Server
	// PageSize is how many members a page holds at most (default 100).
	PageSize int

	bad fakehttp.Unexpected

	mu      sync.Mutex
	objects map[string]Object
	replies map[string][]Reply // by request path (before ?): given once each
	batches int
	sizes   []int
	token   string
}

// Start starts the fake over TLS with objects; every request must carry
// "Bearer " + token. The test closes it and fails on requests the fake did
// not expect.
func Start(t testing.TB, token string, objects ...Object) *Graph {
	t.Helper()
	g := &Graph{PageSize: 100, objects: map[string]Object{}, replies: map[string][]Reply{}, token: token}
	for _, o := range objects {
		g.objects[strings.ToLower(o.ID)] = o
	}
	g.srv = fakehttp.StartTLS(t, "Graph", http.HandlerFunc(g.serve), false, &g.bad)
	return g
}

// URL is the fake's root, https://127.0.0.1:port (Graph's
// https://graph.microsoft.com).
func (g *Graph) URL() string { return g.srv.URL }

// Transport sends requests to the fake, trusting its certificate.
func (g *Graph) Transport() policy.Transporter { return g.srv.Client() }

// Fail makes the next requests of a batch to path (e.g.
// /groups/ID/transitiveMembers) get the replies, one each, in order.
func (g *Graph) Fail(path string, replies ...Reply) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.replies[path] = append(g.replies[path], replies...)
}

// Batches is how many $batch requests the fake served, and their sizes.
func (g *Graph) Batches() (int, []int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.batches, slices.Clone(g.sizes)
}

func (g *Graph) badRequest(w http.ResponseWriter, r *http.Request, why string) {
	g.bad.Add(r.Method+" "+r.URL.String(), why)
	writeJSON(w, http.StatusBadRequest, errorBody("BadRequest", why))
}

func errorBody(code, message string) map[string]any {
	return map[string]any{"error": map[string]string{"code": code, "message": message}}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

type batchRequest struct {
	ID     string `json:"id"`
	Method string `json:"method"`
	URL    string `json:"url"`
}

type batchResponse struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    any               `json:"body"`
}

func (g *Graph) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+g.token {
		writeJSON(w, http.StatusUnauthorized, errorBody("InvalidAuthenticationToken", "Access token is empty or invalid."))
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/v1.0/$batch" {
		g.badRequest(w, r, "only POST /v1.0/$batch is served")
		return
	}
	var body struct {
		Requests []batchRequest `json:"requests"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		g.badRequest(w, r, err.Error())
		return
	}
	if len(body.Requests) == 0 || len(body.Requests) > 20 {
		g.badRequest(w, r, fmt.Sprintf("a batch of %d requests: Graph takes 1 to 20", len(body.Requests)))
		return
	}
	g.mu.Lock()
	g.batches++
	g.sizes = append(g.sizes, len(body.Requests))
	g.mu.Unlock()
	var out struct {
		Responses []batchResponse `json:"responses"`
	}
	for _, q := range body.Requests {
		out.Responses = append(out.Responses, g.answer(q))
	}
	writeJSON(w, http.StatusOK, out)
}

func (g *Graph) answer(q batchRequest) batchResponse {
	u, err := url.Parse(q.URL)
	if err != nil || q.Method != http.MethodGet || !strings.HasPrefix(q.URL, "/") {
		return batchResponse{ID: q.ID, Status: 400, Body: errorBody("BadRequest", "bad request "+q.Method+" "+q.URL)}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if rs := g.replies[u.Path]; len(rs) > 0 {
		rp := rs[0]
		g.replies[u.Path] = rs[1:]
		resp := batchResponse{ID: q.ID, Status: rp.Status, Body: errorBody(rp.Code, rp.Message)}
		if rp.RetryAfter > 0 {
			resp.Headers = map[string]string{"Retry-After": strconv.Itoa(rp.RetryAfter)}
		}
		return resp
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	switch {
	case len(parts) == 2 && parts[0] == "directoryObjects":
		o, ok := g.objects[strings.ToLower(parts[1])]
		if !ok {
			return batchResponse{ID: q.ID, Status: 404, Body: errorBody("Request_ResourceNotFound", "Resource '"+parts[1]+"' does not exist.")}
		}
		return batchResponse{ID: q.ID, Status: 200, Body: wire(o)}
	case len(parts) == 3 && parts[0] == "groups" && parts[2] == "transitiveMembers":
		o, ok := g.objects[strings.ToLower(parts[1])]
		if !ok || o.Type != "group" {
			return batchResponse{ID: q.ID, Status: 404, Body: errorBody("Request_ResourceNotFound", "Resource '"+parts[1]+"' does not exist.")}
		}
		all := g.transitive(o)
		skip, _ := strconv.Atoi(u.Query().Get("$skiptoken"))
		end := min(skip+g.PageSize, len(all))
		page := map[string]any{"value": wireAll(all[min(skip, len(all)):end])}
		if end < len(all) {
			page["@odata.nextLink"] = g.srv.URL + "/v1.0/groups/" + parts[1] + "/transitiveMembers?$select=" +
				url.QueryEscape(u.Query().Get("$select")) + "&$skiptoken=" + strconv.Itoa(end)
		}
		return batchResponse{ID: q.ID, Status: 200, Body: page}
	}
	g.bad.Add("GET "+q.URL, "not a call pgusers makes")
	return batchResponse{ID: q.ID, Status: 400, Body: errorBody("BadRequest", "unexpected "+q.URL)}
}

// transitive are a group's members and theirs, each once, in id order.
func (g *Graph) transitive(group Object) []Object {
	seen := map[string]bool{}
	var out []Object
	var walk func(o Object)
	walk = func(o Object) {
		for _, id := range o.Members {
			id = strings.ToLower(id)
			m, ok := g.objects[id]
			if !ok || seen[id] {
				continue
			}
			seen[id] = true
			out = append(out, m)
			if m.Type == "group" {
				walk(m)
			}
		}
	}
	walk(group)
	slices.SortFunc(out, func(a, b Object) int { return strings.Compare(a.ID, b.ID) })
	return out
}

func wire(o Object) map[string]any {
	w := map[string]any{"@odata.type": "#microsoft.graph." + o.Type, "id": o.ID}
	switch o.Type {
	case "user":
		w["userPrincipalName"], w["displayName"], w["accountEnabled"] = o.Name, o.Name, !o.Disabled
		w["userType"] = "Member"
		if o.Guest {
			w["userType"] = "Guest"
		}
	case "servicePrincipal":
		w["displayName"], w["accountEnabled"], w["appId"] = o.Name, !o.Disabled, "app-"+o.ID
	default:
		w["displayName"] = o.Name
	}
	return w
}

func wireAll(os []Object) []map[string]any {
	out := []map[string]any{}
	for _, o := range os {
		out = append(out, wire(o))
	}
	return out
}
