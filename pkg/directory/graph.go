package directory

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
)

// Endpoints are Graph's root per cloud, as the files name clouds; the
// token scope is the root + "/.default".
var Endpoints = map[string]string{
	"public":       "https://graph.microsoft.com",
	"usgovernment": "https://graph.microsoft.us",
	"china":        "https://microsoftgraph.chinacloudapi.cn",
}

// BatchSize is how many requests Graph takes in one $batch.
const BatchSize = 20

// maxAttempts bounds how often a throttled request is sent again.
const maxAttempts = 5

// selected are the properties read of every object.
const selected = "id,displayName,userPrincipalName,accountEnabled,userType,appId"

// Object is an Entra object as Graph describes it.
type Object struct {
	ID string `json:"id"`
	// Type is user, group or servicePrincipal (from @odata.type).
	Type        string `json:"type"`
	DisplayName string `json:"displayName,omitempty"`
	UPN         string `json:"userPrincipalName,omitempty"`
	AppID       string `json:"appId,omitempty"`
	// Enabled is accountEnabled: users and service principals have it,
	// groups do not (true).
	Enabled bool `json:"accountEnabled"`
	// Guest: a user of another tenant (userType Guest).
	Guest bool `json:"guest,omitempty"`
}

// Name is the name pgaadauth gives the object's role: a user's UPN, a
// group's or service principal's display name.
func (o Object) Name() string {
	if o.Type == "user" {
		return o.UPN
	}
	return o.DisplayName
}

// wireObject is an object as Graph sends it.
type wireObject struct {
	Type           string `json:"@odata.type"`
	ID             string `json:"id"`
	DisplayName    string `json:"displayName"`
	UPN            string `json:"userPrincipalName"`
	AppID          string `json:"appId"`
	AccountEnabled *bool  `json:"accountEnabled"`
	UserType       string `json:"userType"`
}

func (w wireObject) object() Object {
	o := Object{ID: strings.ToLower(w.ID), Type: strings.TrimPrefix(w.Type, "#microsoft.graph."), DisplayName: w.DisplayName,
		UPN: w.UPN, AppID: w.AppID, Enabled: w.AccountEnabled == nil || *w.AccountEnabled, Guest: strings.EqualFold(w.UserType, "Guest")}
	return o
}

// Options say how a Client reaches Graph.
type Options struct {
	// Endpoint is Graph's root, e.g. https://graph.microsoft.com.
	Endpoint string
	// Transport and Retry replace azcore's (tests).
	Transport policy.Transporter
	Retry     *policy.RetryOptions
}

// Client asks Graph, and caches the answers for the run.
type Client struct {
	pl       runtime.Pipeline
	endpoint string
	// RoundTrips counts the HTTP requests sent (each $batch is one).
	mu         sync.Mutex
	roundTrips int
	objects    map[string]*Object // nil: gone (asked, and absent)
	members    map[string][]Object
}

// New is a Client of Graph at opts.Endpoint that signs in with cred for
// the endpoint's scope.
func New(cred azcore.TokenCredential, opts Options) *Client {
	co := &policy.ClientOptions{Transport: opts.Transport}
	if opts.Retry != nil {
		co.Retry = *opts.Retry
	}
	scope := strings.TrimSuffix(opts.Endpoint, "/") + "/.default"
	pl := runtime.NewPipeline("pgusers-directory", "v1", runtime.PipelineOptions{
		PerRetry: []policy.Policy{runtime.NewBearerTokenPolicy(cred, []string{scope}, nil)},
	}, co)
	return &Client{pl: pl, endpoint: strings.TrimSuffix(opts.Endpoint, "/"), objects: map[string]*Object{}, members: map[string][]Object{}}
}

// RoundTrips is how many HTTP requests the client sent.
func (c *Client) RoundTrips() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.roundTrips
}

// RefusedError is Graph's refusal of a read: the identity lacks
// Permission.
type RefusedError struct {
	What, Permission, Message string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("Microsoft Graph refused to read %s: %s; grant the identity pgusers signs in as the application "+
		"permission %s on Microsoft Graph (with admin consent), or leave out --expand-groups and directory: graph", e.What, e.Message, e.Permission)
}

// request is one request of a batch, and what becomes of its answer.
type request struct {
	url      string
	what     string // for messages
	perm     string // the permission a 403 names
	attempts int
	handle   func(status int, body json.RawMessage) error
}

// run sends reqs, BatchSize a round trip, sending again those throttled
// (after the longest Retry-After of the batch) and those a handler adds
// (pages) until none is left.
func (c *Client) run(ctx context.Context, reqs []*request) error {
	for len(reqs) > 0 {
		n := min(len(reqs), BatchSize)
		batch, rest := reqs[:n], reqs[n:]
		again, wait, more, err := c.send(ctx, batch)
		if err != nil {
			return err
		}
		reqs = append(append(rest, more...), again...)
		if len(again) > 0 && len(rest) == 0 && len(more) == 0 {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	return nil
}

type batchRequest struct {
	ID     string `json:"id"`
	Method string `json:"method"`
	URL    string `json:"url"`
}

type batchResponse struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
}

// send sends one $batch and hands each answer to its handler.
func (c *Client) send(ctx context.Context, batch []*request) (again []*request, wait time.Duration, more []*request, err error) {
	var body struct {
		Requests []batchRequest `json:"requests"`
	}
	for i, r := range batch {
		body.Requests = append(body.Requests, batchRequest{ID: strconv.Itoa(i), Method: http.MethodGet, URL: r.url})
	}
	req, err := runtime.NewRequest(ctx, http.MethodPost, c.endpoint+"/v1.0/$batch")
	if err != nil {
		return nil, 0, nil, err
	}
	if err := runtime.MarshalAsJSON(req, body); err != nil {
		return nil, 0, nil, err
	}
	c.mu.Lock()
	c.roundTrips++
	c.mu.Unlock()
	resp, err := c.pl.Do(req)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("Microsoft Graph: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("Microsoft Graph: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		code, msg := graphError(data)
		if resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusUnauthorized {
			return nil, 0, nil, &RefusedError{What: "the directory", Permission: "User.Read.All, GroupMember.Read.All and Application.Read.All",
				Message: fmt.Sprintf("%d %s: %s", resp.StatusCode, code, msg)}
		}
		return nil, 0, nil, fmt.Errorf("Microsoft Graph: $batch: %d %s: %s", resp.StatusCode, code, msg)
	}
	var answer struct {
		Responses []batchResponse `json:"responses"`
	}
	if err := json.Unmarshal(data, &answer); err != nil {
		return nil, 0, nil, fmt.Errorf("Microsoft Graph: $batch: %w", err)
	}
	seen := make([]bool, len(batch))
	for _, a := range answer.Responses {
		i, err := strconv.Atoi(a.ID)
		if err != nil || i < 0 || i >= len(batch) || seen[i] {
			return nil, 0, nil, fmt.Errorf("Microsoft Graph: $batch: an answer to no request (id %q)", a.ID)
		}
		seen[i] = true
		r := batch[i]
		switch a.Status {
		case http.StatusTooManyRequests, http.StatusServiceUnavailable:
			r.attempts++
			if r.attempts >= maxAttempts {
				return nil, 0, nil, fmt.Errorf("Microsoft Graph: %s: still throttled after %d attempts", r.what, r.attempts)
			}
			again = append(again, r)
			wait = max(wait, retryAfter(a.Headers))
		case http.StatusForbidden, http.StatusUnauthorized:
			code, msg := graphError(a.Body)
			return nil, 0, nil, &RefusedError{What: r.what, Permission: r.perm, Message: fmt.Sprintf("%d %s: %s", a.Status, code, msg)}
		default:
			if err := r.handle(a.Status, a.Body); err != nil {
				var page pageError
				if errors.As(err, &page) {
					more = append(more, page.next)
					continue
				}
				return nil, 0, nil, err
			}
		}
	}
	for i, ok := range seen {
		if !ok {
			return nil, 0, nil, fmt.Errorf("Microsoft Graph: $batch: no answer to %s", batch[i].what)
		}
	}
	return again, wait, more, nil
}

// pageError is how a handler asks for the next page: not an error.
type pageError struct{ next *request }

func (pageError) Error() string { return "next page" }

// retryAfter is a throttled answer's Retry-After (seconds), 1s without one,
// at most a minute.
func retryAfter(h map[string]string) time.Duration {
	for k, v := range h {
		if strings.EqualFold(k, "Retry-After") {
			if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
				return min(time.Duration(s)*time.Second, time.Minute)
			}
		}
	}
	return time.Second
}

// graphError reads {"error": {"code", "message"}}.
func graphError(body []byte) (code, message string) {
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil || e.Error.Code == "" {
		return "", strings.TrimSpace(string(bytes.ToValidUTF8(body[:min(len(body), 200)], nil)))
	}
	return e.Error.Code, e.Error.Message
}

// relative is a nextLink as a $batch url: the path after /v1.0.
func (c *Client) relative(link string) (string, error) {
	for _, root := range []string{c.endpoint + "/v1.0", "/v1.0"} {
		if rest, ok := strings.CutPrefix(link, root); ok && strings.HasPrefix(rest, "/") {
			return rest, nil
		}
	}
	return "", fmt.Errorf("Microsoft Graph: a nextLink outside %s: %q", c.endpoint, link)
}
