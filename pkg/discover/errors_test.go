package discover

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/google/go-cmp/cmp"

	"github.com/pgusers/pgusers/internal/armfake"
)

const denied = "The client 'alice@contoso.com' with object id '11111111-0000-0000-0000-000000000000' does not have authorization to perform action 'Microsoft.DBforPostgreSQL/flexibleServers/read' over scope '/subscriptions/" + subA + "' or the scope is invalid. If access was recently granted, please refresh your credentials."

func TestDiscoverErrors(t *testing.T) {
	t.Parallel()
	rgProd := "/subscriptions/" + subA + "/resourceGroups/rg-prod/providers/Microsoft.DBforPostgreSQL/flexibleServers"
	for _, tc := range []struct {
		name    string
		fail    map[string]armfake.Reply
		sources []Source
		want    string
		status  int
		code    string
		calls   int // requests to the failing paths: 1, no retry
	}{
		{
			name:    "forbidden subscription",
			fail:    map[string]armfake.Reply{listA: armfake.AuthorizationFailed(listA)},
			sources: []Source{{Subscription: subA}},
			want: "subscription " + subA + ": listing PostgreSQL flexible servers: access denied: the signed-in identity needs the Reader role on the subscription " +
				"(or a role with Microsoft.DBforPostgreSQL/flexibleServers/read and flexibleServers/administrators/read) (403 AuthorizationFailed); Azure said: " + denied,
			status: 403, code: "AuthorizationFailed",
		},
		{
			name:    "forbidden resource group",
			fail:    map[string]armfake.Reply{rgProd: {Status: 403, Code: "AuthorizationFailed", Message: "denied"}},
			sources: []Source{{Subscription: subA, ResourceGroup: "rg-prod"}},
			want: "subscription " + subA + ", resource group rg-prod: listing PostgreSQL flexible servers: access denied: the signed-in identity needs the Reader role on the subscription or resource group " +
				"(or a role with Microsoft.DBforPostgreSQL/flexibleServers/read and flexibleServers/administrators/read) (403 AuthorizationFailed); Azure said: denied",
			status: 403, code: "AuthorizationFailed",
		},
		{
			name:    "unauthorized",
			fail:    map[string]armfake.Reply{listA: armfake.InvalidToken()},
			sources: []Source{{Subscription: subA}},
			want: "subscription " + subA + `: listing PostgreSQL flexible servers: Azure Resource Manager refused the credential: sign in again ("az login", or set AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_FEDERATED_TOKEN_FILE for workload identity) ` +
				"and check that the cloud is the account's (401 InvalidAuthenticationToken); Azure said: The access token is invalid.",
			status: 401, code: "InvalidAuthenticationToken",
		},
		{
			name:    "no such subscription",
			sources: []Source{{Subscription: "00000000-0000-0000-0000-0000000000ff"}},
			want: "subscription 00000000-0000-0000-0000-0000000000ff: listing PostgreSQL flexible servers: subscription 00000000-0000-0000-0000-0000000000ff was not found: " +
				"check the id and that the signed-in account's tenant holds it (404 SubscriptionNotFound); Azure said: The subscription '00000000-0000-0000-0000-0000000000ff' could not be found.",
			status: 404, code: "SubscriptionNotFound",
		},
		{
			name:    "no such resource group",
			sources: []Source{{Subscription: subA, ResourceGroup: "rg-gone"}},
			want: "subscription " + subA + ", resource group rg-gone: listing PostgreSQL flexible servers: resource group rg-gone was not found in subscription " + subA + ": " +
				"check its name (404 ResourceGroupNotFound); Azure said: Resource group 'rg-gone' could not be found.",
			status: 404, code: "ResourceGroupNotFound",
		},
		{
			name:    "administrators forbidden",
			fail:    map[string]armfake.Reply{rgProd + "/pg-prod-2/administrators": {Status: 403, Code: "AuthorizationFailed", Message: "no administrators/read"}},
			sources: []Source{{Subscription: subA}},
			want: "subscription " + subA + ", resource group rg-prod, server pg-prod-2: listing the Microsoft Entra administrators: access denied: the signed-in identity needs the Reader role on the subscription or resource group " +
				"(or a role with Microsoft.DBforPostgreSQL/flexibleServers/read and flexibleServers/administrators/read) (403 AuthorizationFailed); Azure said: no administrators/read",
			status: 403, code: "AuthorizationFailed",
		},
		{
			name:    "server gone",
			fail:    map[string]armfake.Reply{rgProd + "/pg-prod-1/administrators": {Status: 404, Code: "ResourceNotFound", Message: "gone"}},
			sources: []Source{{Subscription: subA, Names: []string{"pg-prod-1"}}},
			want: "subscription " + subA + ", resource group rg-prod, server pg-prod-1: listing the Microsoft Entra administrators: server pg-prod-1 was not found: " +
				"it may have been deleted or moved while discovering; run again (404 ResourceNotFound); Azure said: gone",
			status: 404, code: "ResourceNotFound",
		},
		{
			name:    "server error",
			fail:    map[string]armfake.Reply{listA: {Status: 400, Code: "InvalidApiVersionParameter", Message: "The api-version is invalid."}},
			sources: []Source{{Subscription: subA}},
			want: "subscription " + subA + ": listing PostgreSQL flexible servers: Azure Resource Manager answered Bad Request (400 InvalidApiVersionParameter); " +
				"Azure said: The api-version is invalid.",
			status: 400, code: "InvalidApiVersionParameter",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := armfake.Start(t, armfake.Options{Servers: fleet()})
			for p, r := range tc.fail {
				f.Fail(p, r)
			}
			got, _, err := discover(t, f, tc.sources...)
			if err == nil {
				t.Fatalf("no error; servers %v", names(got))
			}
			if got != nil {
				t.Errorf("servers %v with the error, want none", names(got))
			}
			if d := cmp.Diff(tc.want, err.Error()); d != "" {
				t.Errorf("message (-want +got):\n%s", d)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("%T is not an *Error", err)
			}
			if e.StatusCode != tc.status || e.Code != tc.code {
				t.Errorf("Error has %d %s, want %d %s", e.StatusCode, e.Code, tc.status, tc.code)
			}
			var re *azcore.ResponseError
			if !errors.As(err, &re) || re.StatusCode != tc.status || re.ErrorCode != tc.code {
				t.Errorf("no *azcore.ResponseError %d %s under %v", tc.status, tc.code, err)
			}
			for p := range tc.fail {
				if n := len(f.Hits(p)); n != 1 {
					t.Errorf("%s: %d requests, want 1 (not retried)", p, n)
				}
			}
		})
	}
}

// TestDiscoverErrorsEverySource reports every source whose listing failed.
func TestDiscoverErrorsEverySource(t *testing.T) {
	t.Parallel()
	f := armfake.Start(t, armfake.Options{Servers: fleet()})
	f.Fail(listA, armfake.Reply{Status: 403, Code: "AuthorizationFailed", Message: "a"})
	_, _, err := discover(t, f, Source{Subscription: subA}, Source{Subscription: subB}, Source{Subscription: "00000000-0000-0000-0000-0000000000ff"})
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], subA+": listing") || !strings.Contains(lines[1], "0000000000ff: listing") {
		t.Errorf("error does not name the two failed subscriptions, one a line:\n%v", err)
	}
}

func TestDiscoverCredentialFails(t *testing.T) {
	t.Parallel()
	f := armfake.Start(t, armfake.Options{Servers: fleet()})
	cred := &armfake.Credential{Err: errors.New("AzureCLICredential: ERROR: Please run 'az login' to setup account.\n")}
	_, err := Discover(t.Context(), cred, []Source{{Subscription: subA}}, options(f))
	want := "subscription " + subA + `: listing PostgreSQL flexible servers: getting a token for Azure Resource Manager failed: sign in again ("az login", or set AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_FEDERATED_TOKEN_FILE for workload identity) ` +
		"and check that the cloud is the account's; the credential said: AzureCLICredential: ERROR: Please run 'az login' to setup account."
	if err == nil {
		t.Fatal("no error")
	}
	if d := cmp.Diff(want, err.Error()); d != "" {
		t.Errorf("message (-want +got):\n%s", d)
	}
	if !errors.Is(err, cred.Err) {
		t.Errorf("the credential's error is not under %v", err)
	}
	if calls := cred.Calls(); calls != 1 {
		t.Errorf("credential asked %d times, want 1 (its errors are not retried)", calls)
	}
	if n := f.Requests(); n != 0 {
		t.Errorf("%d requests sent without a token", n)
	}
}

// TestDiscoverThrottledOut: a 429 that lasts beyond the retries says so.
func TestDiscoverThrottledOut(t *testing.T) {
	t.Parallel()
	f := armfake.Start(t, armfake.Options{Servers: fleet()})
	r := armfake.Reply{Status: http.StatusTooManyRequests, Header: map[string]string{"Retry-After-Ms": "1"}, Code: "TooManyRequests", Message: "throttled"}
	f.Fail(listA, r, r, r)
	_, _, err := discover(t, f, Source{Subscription: subA})
	want := "subscription " + subA + ": listing PostgreSQL flexible servers: Azure Resource Manager is throttling and the retries ran out: try again later, or with fewer calls at once (429 TooManyRequests); Azure said: throttled"
	if err == nil || err.Error() != want {
		t.Errorf("error %v\nwant %s", err, want)
	}
	if n := len(f.Hits(listA)); n != 3 {
		t.Errorf("%d requests, want 3 (MaxRetries 2)", n)
	}
}

func TestOneLine(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"a\n\tb  c\n", "a b c"},
		{strings.Repeat("é", 10), "éééé…"},
		{"abcdefghij", "abcdefghi…"},
	} {
		if got := oneLine(tc.in, 9); got != tc.want {
			t.Errorf("oneLine(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
