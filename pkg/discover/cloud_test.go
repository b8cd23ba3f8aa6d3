package discover

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/google/go-cmp/cmp"

	"github.com/pgusers/pgusers/internal/armfake"
)

func TestSovereign(t *testing.T) {
	for _, tc := range []struct {
		name      string
		authority string
		arm       cloud.ServiceConfiguration
	}{
		{"", "https://login.microsoftonline.com/", cloud.ServiceConfiguration{Endpoint: "https://management.azure.com", Audience: "https://management.core.windows.net/"}},
		{"public", "https://login.microsoftonline.com/", cloud.ServiceConfiguration{Endpoint: "https://management.azure.com", Audience: "https://management.core.windows.net/"}},
		{"USGovernment", "https://login.microsoftonline.us/", cloud.ServiceConfiguration{Endpoint: "https://management.usgovcloudapi.net", Audience: "https://management.core.usgovcloudapi.net/"}},
		{"china", "https://login.chinacloudapi.cn/", cloud.ServiceConfiguration{Endpoint: "https://management.chinacloudapi.cn", Audience: "https://management.core.chinacloudapi.cn/"}},
	} {
		c, err := Sovereign(tc.name)
		if err != nil {
			t.Fatalf("%q: %v", tc.name, err)
		}
		if c.ActiveDirectoryAuthorityHost != tc.authority {
			t.Errorf("%q: authority %q, want %q", tc.name, c.ActiveDirectoryAuthorityHost, tc.authority)
		}
		if d := cmp.Diff(tc.arm, c.Services[cloud.ResourceManager]); d != "" {
			t.Errorf("%q: ARM (-want +got):\n%s", tc.name, d)
		}
	}
	c, _ := Sovereign("public")
	c.Services[cloud.ResourceManager] = cloud.ServiceConfiguration{}
	if cloud.AzurePublic.Services[cloud.ResourceManager].Endpoint == "" {
		t.Error("changing the configuration changed azcore's")
	}
	if _, err := Sovereign("germany"); err == nil || err.Error() != `unknown cloud "germany": use public, usgovernment or china` {
		t.Errorf("error %v", err)
	}
}

// hostRecorder is a transport that answers every request with an empty
// list and records the hosts asked.
type hostRecorder struct {
	mu    sync.Mutex
	hosts []string
}

func (h *hostRecorder) Do(req *http.Request) (*http.Response, error) {
	h.mu.Lock()
	h.hosts = append(h.hosts, req.URL.Host)
	h.mu.Unlock()
	return &http.Response{
		StatusCode: http.StatusOK, Status: "200 OK", Request: req,
		Header: http.Header{"Content-Type": {"application/json"}},
		Body:   io.NopCloser(strings.NewReader(`{"value":[]}`)),
	}, nil
}

// TestDiscoverSovereign: a sovereign cloud's ARM is called, with a token
// for its audience.
func TestDiscoverSovereign(t *testing.T) {
	for _, tc := range []struct{ name, host, scope string }{
		{"public", "management.azure.com", "https://management.core.windows.net//.default"},
		{"usgovernment", "management.usgovcloudapi.net", "https://management.core.usgovcloudapi.net//.default"},
		{"china", "management.chinacloudapi.cn", "https://management.core.chinacloudapi.cn//.default"},
	} {
		c, err := Sovereign(tc.name)
		if err != nil {
			t.Fatal(err)
		}
		rec := &hostRecorder{}
		cred := &armfake.Credential{}
		if _, err := Discover(t.Context(), cred, []Source{{Subscription: subA}}, Options{Cloud: c, Transport: rec}); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if d := cmp.Diff([]string{tc.host}, rec.hosts); d != "" {
			t.Errorf("%s: hosts (-want +got):\n%s", tc.name, d)
		}
		if scopes := cred.Scopes(); !cmp.Equal([]string{tc.scope}, scopes) {
			t.Errorf("%s: scopes %q, want %q", tc.name, scopes, tc.scope)
		}
	}
}
